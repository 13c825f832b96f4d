"""Reproducible installs: the environment holds exactly the locked versions, and the locks match pyproject."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV_LOCK = ROOT / "requirements" / "dev.lock"
RUNTIME_LOCK = ROOT / "requirements" / "runtime.lock"
# A new virtualenv brings these itself; they are not the project's dependencies.
BOOTSTRAP = {"pip", "setuptools", "wheel"}
RELOCK = "pyproject.toml and the locks disagree: run `make lock` and commit requirements/"


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lines: list[str]) -> dict[str, str]:
    """name → version for every `name==version` requirement line (hash and comment lines skipped)."""
    found = {}
    for line in lines:
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line.strip())
        if match:
            found[canonical(match[1])] = match[2]
    return found


def locked(path: Path) -> dict[str, str]:
    return pins(path.read_text().splitlines())


def test_pins_parse_requirement_freeze_and_lock_lines() -> None:
    assert pins(["discord.py==2.7.1", "Pillow==13.0.0 \\", "    --hash=sha256:ab", "# via x", "uv>=1"]) == {
        "discord-py": "2.7.1",
        "pillow": "13.0.0",
    }


def test_the_environment_holds_exactly_the_locked_versions() -> None:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--all", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    installed = {name: version for name, version in pins(frozen).items() if name not in BOOTSTRAP}
    assert installed == locked(DEV_LOCK), "not what requirements/dev.lock says: run `make test`"


def test_every_pin_in_pyproject_is_locked_at_that_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    runtime = pins(project["dependencies"])
    dev = pins(project["optional-dependencies"]["dev"])
    assert runtime.items() <= locked(RUNTIME_LOCK).items(), RELOCK
    assert (runtime | dev).items() <= locked(DEV_LOCK).items(), RELOCK


def test_the_runtime_lock_agrees_with_the_dev_lock() -> None:
    assert locked(RUNTIME_LOCK).items() <= locked(DEV_LOCK).items(), RELOCK
