"""Upstream's module-level API that its own test suite and helpers use: ServiceImporter, the polling Watcher,
tomodachi.logging.reset_context."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tomodachi.importer import ServiceImporter
from tomodachi.logging import bind_handler_context, get_handler_context, reset_context
from tomodachi.watcher import Watcher


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "service.py").write_text("VALUE = 1\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not watched")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "cached.py").write_text("")
    (tmp_path / "vendor").mkdir()
    (tmp_path / "vendor" / "lib.py").write_text("")
    return tmp_path


def test_watcher_indexes_source_files_outside_ignored_folders(tree: Path) -> None:
    watcher = Watcher(root=[str(tree)])
    assert sorted(Path(path).name for path in watcher.watched_files) == ["lib.py", "service.py"]
    configured = Watcher(root=[str(tree)], configuration={"options": {"watcher": {"ignored_dirs": ["vendor"]}}})
    assert [Path(path).name for path in configured.watched_files] == ["service.py"]


def test_watcher_reports_added_removed_and_updated_files_relative_to_the_root(tree: Path) -> None:
    watcher = Watcher(root=[str(tree)])
    assert watcher.update_watched_files() == {}
    service = tree / "pkg" / "service.py"
    (tree / "pkg" / "gone.py").write_text("")
    watcher.update_watched_files()
    (tree / "pkg" / "gone.py").unlink()
    (tree / "pkg" / "new.py").write_text("")
    service.write_text("VALUE = 2\n")
    os.utime(service, (1, 1))  # a modification time surely different from before
    assert watcher.update_watched_files(reindex=True) == {
        "added": ["pkg/new.py"],
        "removed": ["pkg/gone.py"],
        "updated": ["pkg/service.py"],
    }


def test_watcher_ignores_a_file_touched_without_a_change(tree: Path) -> None:
    watcher = Watcher(root=[str(tree)])
    os.utime(tree / "pkg" / "service.py", (1, 1))
    assert watcher.update_watched_files() == {}


async def test_watcher_watch_calls_back_after_a_change(tree: Path) -> None:
    watcher = Watcher(root=[str(tree)])
    changed = asyncio.Event()

    seen: list[set[str]] = []

    async def callback(files: set[str]) -> None:
        seen.append(files)
        changed.set()

    task = await watcher.watch(callback_func=callback)
    try:
        service = tree / "pkg" / "service.py"
        service.write_text("VALUE = 3\n")
        os.utime(service, (1, 1))  # a different modification time, whatever the file system's resolution
        await asyncio.wait_for(changed.wait(), timeout=5)
    finally:
        task.cancel()
    assert seen == [{"pkg/service.py"}]


def test_service_importer_imports_a_file_with_or_without_py(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    try:
        assert ServiceImporter.import_service_file("pkg/service").VALUE == 1
        assert ServiceImporter.import_service_file("pkg/service.py").VALUE == 1
        assert ServiceImporter.import_module("pkg/service.py").VALUE == 1
    finally:
        sys.modules.pop("service", None)
        sys.path[:] = [p for p in sys.path if not p.startswith(str(tree))]


def test_reset_context_forgets_the_bound_logging_fields() -> None:
    with bind_handler_context("tomodachi.test", handler="h"):
        assert get_handler_context() == {"handler": "h"}
        reset_context()
        assert get_handler_context() == {}


def test_the_message_attribute_type_names_import_from_the_transport_module() -> None:
    from tomodachi.transport.aws_sns_sqs import MessageAttributesType, MessageAttributesTypeDef
    from tomodachi.transport.awssnssqs import MessageAttributesType as Alias

    attributes: MessageAttributesType = {"priority": 1}
    wire: MessageAttributesTypeDef = {"priority": {"DataType": "Number", "StringValue": "1"}}
    assert Alias is MessageAttributesType and attributes and wire


def test_the_console_script_takes_a_whole_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from tomodachi.cli import cli_entrypoint

    with pytest.raises(SystemExit) as info:
        cli_entrypoint(["tomodachi", "--version"])  # program name first, as sys.argv (and upstream's tests) give it
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("tomodachi ")


def test_transport_submodules_are_attributes_of_the_package() -> None:
    import tomodachi.transport

    assert tomodachi.transport.awssnssqs.aws_sns_sqs_publish is not None
    assert tomodachi.transport.amqp.amqp_publish is not None
    with pytest.raises(AttributeError):
        tomodachi.transport.nope  # noqa: B018


def test_upstream_logging_names() -> None:
    import tomodachi.logging as tlog

    assert tlog.getLogger is tlog.get_logger
    assert issubclass(tlog.StderrHandler, logging.Handler)


async def test_a_service_finds_its_http_port_in_its_context(tomodachi_service: Any) -> None:
    import tomodachi

    class Ported(tomodachi.Service):
        name = "ported"

        @tomodachi.http("GET", r"/")
        async def index(self) -> str:
            return str(self.context["_http_port"])

    svc = await tomodachi_service(Ported)
    async with svc.http.get("/") as response:
        assert int(await response.text()) == svc.container.transports["http"].bound_address[1]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("import tomodachi\ndef broken(:\n", SyntaxError),
        ("import tomodachi\nundefined_name\n", NameError),
        ("import tomodachi\nimport no_such_module_anywhere\n", ImportError),
    ],
)
def test_service_importer_raises_the_import_error_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str, error: type[Exception]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad_service.py").write_text(source)
    try:
        with pytest.raises(error):
            ServiceImporter.import_service_file("bad_service")
        with pytest.raises(OSError):
            ServiceImporter.import_service_file("no_such_service")
    finally:
        sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]


@pytest.mark.parametrize(
    ("file_name", "source", "raised", "logged"),
    [
        ("no_such_service", None, OSError, "no such service file"),
        ("syntax_error_service", "def broken(:\n", SyntaxError, "unable to load service file"),
        ("name_error_service", "undefined_name\n", NameError, "unable to load service file"),
        ("import_error_service", "import no_such_module_anywhere\n", ImportError, "unable to load service file"),
    ],
)
def test_service_importer_logs_why_a_file_could_not_be_loaded(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    file_name: str,
    source: str | None,
    raised: type[Exception],
    logged: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if source is not None:
        (tmp_path / f"{file_name}.py").write_text(source)
    try:
        with caplog.at_level("ERROR", logger="tomodachi.importer"), pytest.raises(raised):
            ServiceImporter.import_service_file(file_name)
    finally:
        sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]
    messages = [record.getMessage() for record in caplog.records if record.name == "tomodachi.importer"]
    assert any(logged in message for message in messages), messages


@pytest.mark.parametrize("proto_class", [str, dict, "Person", 42])
def test_protobuf_envelope_refuses_a_proto_class_that_is_not_a_protobuf_message(proto_class: Any) -> None:
    pytest.importorskip("google.protobuf")
    from tomodachi.envelope import ProtobufBase

    with pytest.raises(TypeError, match="must be a protobuf message class"):
        ProtobufBase.validate(proto_class=proto_class)
