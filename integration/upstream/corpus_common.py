"""Shared plumbing for ``run_upstream_corpus.py``: staging an upstream checkout without its package, bounded
subprocesses (started in their own session and always ended), a moto server, and the environments that the
upstream service files and test suite read."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
OUR_PACKAGE = REPO_ROOT / "tomodachi"
VENV_BIN = Path(sys.executable).parent
PYTHON = str(VENV_BIN / "python")
TOMODACHI = str(VENV_BIN / "tomodachi")

# the values upstream's CI exports for its test suite (with the endpoints pointed at our moto server)
TEST_AWS_REGION = "eu-west-1"
TEST_AWS_ACCESS_KEY_ID = "000000000000"
TEST_AWS_ACCESS_SECRET = "X" * 40
TEST_SERVICE_UUID = "5ecd36d4-99a7-46bb-b620-06bb0575edbd"
TEST_SNS_KMS_KEY = "arn:aws:kms:eu-west-1:000000000000:key/2af37855-cd62-4e38-bca5-7b907d948131"
TEST_SQS_KMS_KEY = "arn:aws:kms:eu-west-1:000000000000:key/63710c9b-75e6-4398-94c7-f67cf3f53802"

# the port the "localstack" flavoured upstream examples hard-code as their AWS endpoint
LOCALSTACK_EXAMPLE_PORT = 4567

EXTRA_SITE_VAR = "UPSTREAM_CORPUS_EXTRA_SITE"
SITECUSTOMIZE = f'''"""Written by run_upstream_corpus.py: append the dirs in ${EXTRA_SITE_VAR} to the end of sys.path."""
import os
import sys

for _dir in os.environ.get("{EXTRA_SITE_VAR}", "").split(os.pathsep):
    if _dir and _dir not in sys.path:
        sys.path.append(_dir)
'''


def log(message: str) -> None:
    print(f"[corpus] {message}", file=sys.stderr, flush=True)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def end_process(proc: subprocess.Popen[bytes], first: int = signal.SIGINT, grace: float = 10.0) -> int | None:
    """End a process this script started in its own session: ``first`` to its group, then SIGKILL."""
    if proc.poll() is not None:
        return proc.returncode
    for sig, wait in ((first, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    return proc.poll()


def run_bounded(argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float) -> tuple[int | None, str, bool]:
    """Run ``argv`` to completion or ``timeout`` (then SIGINT, SIGKILL); (returncode, merged output, timed out)."""
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        end_process(proc)
        out, _ = proc.communicate()
    except BaseException:  # interrupted: leave nothing running
        end_process(proc)
        raise
    return proc.returncode, out.decode("utf-8", "replace"), timed_out


class MotoServer:
    """A moto server on 127.0.0.1 that this script started (or an external one given by URL)."""

    def __init__(self, url: str | None, log_dir: Path) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_dir = log_dir
        self.url = url or ""
        self.external = url is not None

    def start(self) -> str:
        if self.external:
            self.wait_ready()
            return self.url
        # prefer the port the localstack-flavoured examples hard-code, so they can reach it too
        port = LOCALSTACK_EXAMPLE_PORT if port_is_free(LOCALSTACK_EXAMPLE_PORT) else free_port()
        self.url = f"http://127.0.0.1:{port}"
        out = (self.log_dir / "moto_server.log").open("wb")
        self.proc = subprocess.Popen(
            [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.wait_ready()
        log(f"moto server (pid {self.proc.pid}) at {self.url}")
        return self.url

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self.proc.returncode}; see {self.log_dir}")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2):
                    return
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        raise RuntimeError(f"moto server at {self.url} not ready within {timeout} s")

    def reset(self) -> None:
        """Forget every queue and topic (between phases, so one phase's leftovers do not leak into the next)."""
        try:
            request = urllib.request.Request(f"{self.url}/moto-api/reset", method="POST")
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError) as exc:
            log(f"moto reset failed: {exc}")

    def stop(self) -> None:
        if self.proc is not None:
            end_process(self.proc, first=signal.SIGTERM)
            self.proc = None


def stage_upstream(upstream: Path, dest: Path) -> Path:
    """Copy upstream's tests, examples and pytest configuration (never its ``tomodachi`` package) to ``dest``,
    so that nothing on the import path of the runs below can resolve ``tomodachi`` to upstream's code."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in ("tests", "examples"):
        shutil.copytree(upstream / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(upstream / "pyproject.toml", dest / "pyproject.toml")
    if (dest / "tomodachi").exists():  # pragma: no cover - defensive
        raise RuntimeError("staged copy unexpectedly contains a tomodachi package")
    return dest


def clean_env() -> dict[str, str]:
    """This process's environment without anything that could redirect imports or AWS/tomodachi settings."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TOMODACHI_", "OTEL_", "PYTEST_")) and key not in ("PYTHONPATH", "PYTHONHOME")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def suite_env(moto_url: str, hooks: Path | None = None, extra_site: Sequence[str] = ()) -> dict[str, str]:
    """The variables upstream's CI sets for ``pytest tests`` (its .github workflow), pointed at our moto."""
    env = clean_env()
    env.update(
        {
            "TOMODACHI_TEST_AWS_REGION": TEST_AWS_REGION,
            "TOMODACHI_TEST_AWS_ACCESS_KEY_ID": TEST_AWS_ACCESS_KEY_ID,
            "TOMODACHI_TEST_AWS_ACCESS_SECRET": TEST_AWS_ACCESS_SECRET,
            "TOMODACHI_TEST_SQS_QUEUE_PREFIX": "pytest-",
            "TOMODACHI_TEST_SNS_TOPIC_PREFIX": "pytest-",
            "TOMODACHI_TEST_AWS_SNS_ENDPOINT_URL": moto_url,
            "TOMODACHI_TEST_AWS_SQS_ENDPOINT_URL": moto_url,
            "TOMODACHI_TEST_SERVICE_UUID": TEST_SERVICE_UUID,
            "TOMODACHI_TEST_SNS_KMS_MASTER_KEY_ID": TEST_SNS_KMS_KEY,
            "TOMODACHI_TEST_SQS_KMS_MASTER_KEY_ID": TEST_SQS_KMS_KEY,
            "TOMODACHI_TEST_RABBITMQ_ENABLED": "true",
        }
    )
    if hooks is not None:
        # the hooks dir holds only sitecustomize.py (appends extra_site to the END of sys.path, so our venv's
        # packages win) and this script's pytest plugins; it holds no tomodachi
        env["PYTHONPATH"] = str(hooks)
        env[EXTRA_SITE_VAR] = os.pathsep.join(extra_site)
    return env


def service_env(moto_url: str, hooks: Path | None = None, extra_site: Sequence[str] = ()) -> dict[str, str]:
    """For ``tomodachi run`` of single files: the suite's variables plus botocore's own (examples leave region,
    credentials and endpoints as ``None``, so botocore's default chain must find the moto server)."""
    env = suite_env(moto_url, hooks, extra_site)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": TEST_AWS_REGION,
            "AWS_REGION": TEST_AWS_REGION,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_ENDPOINT_URL_SNS": moto_url,
            "AWS_ENDPOINT_URL_SQS": moto_url,
            "AWS_ENDPOINT_URL_STS": moto_url,
            "TOMODACHI_NO_COLOR": "1",
        }
    )
    return env


def check_tomodachi_resolution(cwd: Path, env: dict[str, str]) -> str:
    """Where ``import tomodachi`` resolves with this cwd and environment; raises unless it is our package."""
    code, out, _ = run_bounded(
        [PYTHON, "-c", "import tomodachi; print(tomodachi.__file__)"], cwd=cwd, env=env, timeout=60
    )
    location = out.strip().splitlines()[-1] if out.strip() else ""
    if code != 0 or Path(location).resolve().parent != OUR_PACKAGE.resolve():
        raise RuntimeError(f"tomodachi resolves to {location!r} (expected {OUR_PACKAGE}); output: {out[-500:]}")
    return location


def first_error_line(text: str) -> str:
    """The first line of ``text`` that reads like an error, with log timestamps stripped."""
    markers = ("[error", "[critical", "[fatal", "Error:", "Error(", "Exception:", "Traceback", "error:")
    for line in text.splitlines():
        if any(marker in line for marker in markers):
            return strip_timestamp(line)
    return ""


def strip_timestamp(line: str) -> str:
    parts = line.strip().split(" ", 1)
    if len(parts) == 2 and len(parts[0]) >= 19 and parts[0][:4].isdigit() and "T" in parts[0]:
        return parts[1].strip()
    return line.strip()
