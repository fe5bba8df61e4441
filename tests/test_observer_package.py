"""The observers' distribution (``observer/``): one pip command installs the verifier and
the trustees' tool into a fresh virtualenv without Django, and they work there."""

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from elections import crypto
from tests.verify.golden.regenerate import build_record

ROOT = Path(__file__).resolve().parents[1]
OBSERVER = ROOT / "observer"
VERIFIED = "VERIFIED: every check holds"


def shipped_modules() -> tuple[str, ...]:
    """``MODULES`` of observer/hatch_build.py, read without importing hatchling."""
    tree = ast.parse((OBSERVER / "hatch_build.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "MODULES":
            return tuple(ast.literal_eval(node.value))
    raise AssertionError("observer/hatch_build.py has no MODULES")


def shipped_files() -> list[Path]:
    files: list[Path] = []
    for module in shipped_modules():
        path = ROOT / module
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def imported_names(path: Path) -> set[str]:
    """Every module an ``import`` anywhere in ``path`` names, absolute, in full."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    if path.name == "__init__.py":
        package = ".".join(path.relative_to(ROOT).parts[:-1])
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(part for part in (base, node.module or "") if part)
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def pinned(lines: list[str]) -> dict[str, str]:
    pins = {}
    for line in lines:
        requirement = line.split("#")[0].strip()
        if "==" in requirement:
            name, version = requirement.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_distribution_imports_nothing_outside_what_it_ships():
    shipped = {
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in shipped_files()
    }
    dependencies = pinned(
        tomllib.loads((OBSERVER / "pyproject.toml").read_text())["project"]["dependencies"]
    )
    third_party = set()
    for path in shipped_files():
        for name in imported_names(path):
            top = name.split(".")[0]
            if top == "elections":
                # ``from elections.crypto import x`` names a module or a name in one.
                assert name in shipped or name.rsplit(".", 1)[0] in shipped, (path, name)
            elif top not in sys.stdlib_module_names and top != "__future__":
                third_party.add(top)
    assert third_party == set(dependencies), "observer/pyproject.toml's dependencies"


def test_the_distribution_pins_the_versions_the_site_runs():
    project = tomllib.loads((OBSERVER / "pyproject.toml").read_text())["project"]
    site = pinned((ROOT / "requirements.txt").read_text().splitlines())
    for name, version in pinned(project["dependencies"]).items():
        assert site.get(name) == version, (
            f"{name}: observer/ has {version}, the site {site.get(name)}"
        )
    assert (
        project["license"]
        == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["license"]
    )


# --- Installed in a fresh virtualenv ------------------------------------------------


def run(*command: str | Path, cwd: Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=check,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONDONTWRITEBYTECODE": "1"},
    )


@pytest.fixture(scope="module")
def observer_env(tmp_path_factory) -> Path:
    """A virtualenv made with ``python -m venv`` where ``pip install ./observer`` has run."""
    env = tmp_path_factory.mktemp("observer") / "env"
    run(sys.executable, "-m", "venv", env, cwd=ROOT, check=True)
    done = run(env / "bin" / "python", "-m", "pip", "install", "--quiet", "./observer", cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    return env


@pytest.fixture(scope="module")
def records(tmp_path_factory) -> tuple[Path, Path, dict[str, Any]]:
    """An honest record under a 2048-bit key (the floor the installed command keeps), and
    the same record with ballot 2's cast time changed."""
    folder = tmp_path_factory.mktemp("records")
    text = build_record(
        crypto.generate_keypair(2048), [[1, 0, 0], [0, 0, 1], [0, 0, 1]], eligible=4
    )
    honest = folder / "record.json"
    honest.write_text(text, encoding="ascii")
    document = json.loads(text)
    document["ballots"][1]["cast_at"] = "2030-01-01T00:00:00.000Z"
    tampered = folder / "tampered.json"
    tampered.write_text(json.dumps(document), encoding="ascii")
    return honest, tampered, json.loads(text)


@pytest.mark.slow
def test_the_installed_distribution_has_no_django_and_only_the_django_free_modules(
    observer_env, tmp_path
):
    python = observer_env / "bin" / "python"
    assert run(python, "-c", "import django", cwd=tmp_path).returncode == 1
    # Import every module from the installed copy, not from a checkout on the path.
    code = (
        "import importlib, pathlib, pkgutil, sys, elections\n"
        "names = [m.name for m in pkgutil.walk_packages(elections.__path__, 'elections.')]\n"
        "for name in names: importlib.import_module(name)\n"
        "assert 'django' not in sys.modules\n"
        "print(pathlib.Path(elections.__file__).parent)\n"
    )
    done = run(python, "-c", code, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    installed = Path(done.stdout.strip())
    assert installed.is_relative_to(observer_env)
    files = {
        path.relative_to(installed.parent).as_posix()
        for path in installed.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files == {path.relative_to(ROOT).as_posix() for path in shipped_files()}
    assert {"models.py", "views.py", "admin", "migrations"}.isdisjoint(
        path.name for path in installed.iterdir()
    )


@pytest.mark.slow
def test_the_installed_verifier_passes_an_honest_record_and_names_tampering(
    observer_env, records, tmp_path
):
    honest, tampered, document = records
    verify = observer_env / "bin" / "evoting-verify"
    done = run(verify, honest, "--quiet", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert VERIFIED in done.stdout
    assert f"Board closing hash: {document['chain']['closing']}" in done.stdout

    entry = document["ballots"][2]
    done = run(verify, honest, "--quiet", "--tracker", entry["tracker"].upper(), cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert f"ON THE BOARD as ballot #3, cast at {entry['cast_at']}" in done.stdout

    done = run(verify, tampered, "--quiet", cwd=tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "[chain] ballot 2: the chain hash does not follow from the previous one" in done.stdout


@pytest.mark.slow
def test_the_installed_trustee_tool_runs(observer_env, tmp_path):
    done = run(observer_env / "bin" / "evoting-trustee", "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "ceremony" in done.stdout and "decrypt" in done.stdout
