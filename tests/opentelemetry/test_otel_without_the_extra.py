"""OpenTelemetry is never a cost without being asked for: nothing of it is imported by tomodachi, its command line, its
publish path or its test plugin; and without the extra, asking for it fails with a message naming the extra."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# makes every opentelemetry import fail, as in an environment without the extra
WITHOUT_OPENTELEMETRY = """
import importlib.abc, sys

class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Missing())
"""


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, cwd=cwd
    )


def test_importing_tomodachi_and_its_publish_path_imports_no_opentelemetry() -> None:
    result = _python(
        """
        import sys
        import tomodachi, tomodachi.cli, tomodachi.testing.plugin, tomodachi.testing.otel
        import tomodachi.messaging.amqp.api, tomodachi.messaging.sns_sqs.api, tomodachi.messaging.outgoing
        tomodachi.Service, tomodachi.http, tomodachi.amqp_publish
        loaded = sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry")
        print(loaded)
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_command_line_without_the_option_imports_no_opentelemetry(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import tomodachi\n\nclass S(tomodachi.Service):\n    name = 's'\n")
    result = _python(
        """
        import sys
        from tomodachi.cli import parse_run_arguments, print_banner
        print_banner(parse_run_arguments(["app.py"]))
        print(sorted(name for name in sys.modules if name.split(".")[0] == "opentelemetry"))
        """,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_the_option_without_the_extra_is_a_usage_error_naming_the_extra(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text("import tomodachi\n\nclass S(tomodachi.Service):\n    name = 's'\n")
    result = _python(
        WITHOUT_OPENTELEMETRY
        + "\nfrom tomodachi.cli import main\nsys.exit(main(['--opentelemetry-instrument', 'run', 'app.py']))\n",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "pip install 'tomodachi[opentelemetry]'" in result.stderr


def test_importing_the_instrumentation_without_the_extra_names_the_extra() -> None:
    result = _python(WITHOUT_OPENTELEMETRY + "\nimport tomodachi.opentelemetry\n")
    assert result.returncode != 0
    assert "pip install 'tomodachi[opentelemetry]'" in result.stderr


def test_the_fixture_without_the_extra_fails_naming_the_extra(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(WITHOUT_OPENTELEMETRY)
    (tmp_path / "test_spans.py").write_text("def test_spans(otel_spans):\n    pass\n")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "test_spans.py"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "recording spans needs the OpenTelemetry SDK" in result.stdout
    assert "pip install 'tomodachi[opentelemetry]'" in result.stdout
