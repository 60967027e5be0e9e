"""Unit tests of the pure parts: settings, argument injection, static path resolution, pre_handler_func."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tomodachi
from tomodachi.options import Options
from tomodachi.transport.http.injection import InjectionError, call_arguments
from tomodachi.transport.http.settings import HttpSettings, parse_size, split_content_type
from tomodachi.transport.http.static import resolve_file


@pytest.mark.parametrize(
    ("value", "size"),
    [(2048, 2048), ("1K", 1024), ("1 kb", 1024), ("10M", 10 * 1024**2), ("1GB", 1024**3), ("4096B", 4096)],
)
def test_parse_size(value: Any, size: int) -> None:
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["", "12 parsecs", "1023", 2 * 1024**3, True, None, "-5K"])
def test_parse_size_rejects_bad_values(value: Any) -> None:
    with pytest.raises(ValueError, match="client_max_size"):
        parse_size(value)


def test_split_content_type() -> None:
    assert split_content_type("text/html; charset=latin-1", "utf-8") == ("text/html", "latin-1")
    assert split_content_type("application/json", "utf-8") == ("application/json", "utf-8")


def test_settings_from_options_mapping_and_none() -> None:
    assert HttpSettings.from_options(None).port == 9700
    from_mapping = HttpSettings.from_options({"http.port": 8080, "http.keepalive_expiry": 5})
    assert (from_mapping.port, from_mapping.keepalive_timeout, from_mapping.keepalive) == (8080, 5.0, True)
    typed = HttpSettings.from_options(Options(http={"real_ip_from": ["10.0.0.0/8"], "port": 0}))
    assert typed.port is None and [str(n) for n in typed.real_ip_from] == ["10.0.0.0/8"]


def test_injection_fills_positional_only_and_var_keyword() -> None:
    def handler(req: Any, /, item: str, *, flag: bool = False, **rest: Any) -> None: ...

    request = object()
    args, kwargs = call_arguments(
        handler, groups={"item": "7"}, named={"request": request, "user": "u"}, positional=(request,)
    )
    assert args == [request]
    assert kwargs == {"item": "7", "request": request, "user": "u"}


def test_injection_websocket_positional_order() -> None:
    def handler(ws: Any, req: Any) -> None: ...

    websocket, request = object(), object()
    args, kwargs = call_arguments(
        handler, groups={}, named={"request": request, "websocket": websocket}, positional=(websocket, request)
    )
    assert kwargs == {"ws": websocket, "req": request} and args == []


def test_injection_reports_the_missing_parameter() -> None:
    def handler(request: Any, unknown: str) -> None: ...

    with pytest.raises(InjectionError, match="'unknown'"):
        call_arguments(handler, groups={}, named={"request": 1}, positional=(1,))


def test_injection_worked_out_once_still_follows_what_each_call_gives() -> None:
    """The same handler called with a request a middleware replaced, then with the original, then with a url
    group that did not take part: each call gets what it alone would (the remembered plan is per shape)."""

    def handler(request: Any, other: Any, item: str = "default") -> None: ...

    original, replaced = object(), object()
    args, kwargs = call_arguments(handler, groups={}, named={"request": replaced}, positional=(original,))
    assert (args, kwargs) == ([], {"request": replaced, "other": original})
    with pytest.raises(InjectionError, match="'other'"):
        call_arguments(handler, groups={}, named={"request": original}, positional=(original,))
    args, kwargs = call_arguments(handler, groups={"item": None}, named={"request": replaced}, positional=(original,))
    assert kwargs == {"request": replaced, "other": original}
    args, kwargs = call_arguments(handler, groups={"item": "7"}, named={"request": replaced}, positional=(original,))
    assert kwargs == {"request": replaced, "other": original, "item": "7"}


@pytest.fixture(scope="module")
def static_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("tree")
    root = base / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (base / "outside.txt").write_text("x")
    os.symlink(base, root / "escape")
    return root.resolve()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["..", ".", "sub", "a.txt", "b.txt", "escape", "outside.txt", "", "/", "%2e", "\\", "\x00"]),
        max_size=6,
    )
)
def test_resolve_file_never_leaves_the_root(static_tree: Path, parts: list[str]) -> None:
    resolved = resolve_file(static_tree, "/".join(parts))
    if resolved is not None:
        assert resolved.is_relative_to(static_tree) and resolved.is_file()


class PreHandled:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def check(self, service: Any, request: Any) -> None:
        service.seen.append(f"pre:{request.path}")

    @tomodachi.http(
        "GET", r"/guarded", pre_handler_func=lambda service, request: PreHandled.check(service, service, request)
    )
    async def guarded(self) -> str:
        self.seen.append("handler")
        return "ok"


async def test_pre_handler_func_runs_before_the_handler(serve: Any) -> None:
    service = PreHandled()
    async with serve(service) as served:
        async with served.client.get("/guarded") as response:
            assert await response.text() == "ok"
    assert service.seen == ["pre:/guarded", "handler"]
