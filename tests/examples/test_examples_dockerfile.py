"""examples/Dockerfile (not built here: no Docker engine) copies existing paths and runs an example in production."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tomodachi.cli import parse_run_arguments
from tomodachi.runtime.importer import load_services

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "examples" / "Dockerfile").read_text(encoding="utf-8")


def instructions(keyword: str) -> list[str]:
    """Arguments of every ``KEYWORD ...`` instruction (the Dockerfile uses no line continuations outside ENV)."""
    return [m.group(1).strip() for m in re.finditer(rf"^{keyword}\s+(.+)$", DOCKERFILE, flags=re.MULTILINE)]


def test_cmd_runs_an_existing_example_in_production() -> None:
    [cmd] = instructions("CMD")
    argv = json.loads(cmd)  # exec form: tomodachi is PID 1 and receives SIGTERM itself
    assert argv[:2] == ["tomodachi", "run"]
    arguments = parse_run_arguments(argv[2:])
    assert arguments.production and "--production" in argv
    for file in arguments.files:
        path, classes = load_services(ROOT / file)
        assert path.is_file() and classes, file


def test_copied_paths_exist_relative_to_the_repository_root() -> None:
    for copy in instructions("COPY"):
        *sources, _destination = copy.split()
        for source in sources:
            assert (ROOT / source).exists(), f"COPY source {source} is missing"


def test_exposed_port_matches_the_example_service() -> None:
    [cmd] = instructions("CMD")
    file = parse_run_arguments(json.loads(cmd)[2:]).files[0]
    _, [service_class] = load_services(ROOT / file)
    service: Any = service_class
    assert instructions("EXPOSE") == [str(service.options.http.port)]


def test_the_constraints_pin_every_runtime_dependency_at_a_version_pyproject_accepts() -> None:
    import tomllib
    from packaging.requirements import Requirement

    pins = {}
    for line in (ROOT / "examples" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[name.strip().lower()] = version.strip()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["uvloop"]]]
    for requirement in requirements:
        if requirement.marker is not None and not requirement.marker.evaluate({"sys_platform": "linux"}):
            continue  # not installed in the (Linux) image
        version = pins.get(requirement.name.lower())
        assert version is not None, f"{requirement.name} is not pinned in examples/constraints.txt"
        assert requirement.specifier.contains(version), f"{requirement.name}=={version} does not meet {requirement}"
