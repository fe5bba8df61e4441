"""Puts the checkout's Django-free modules into the observers' distribution.

The code an observer or a trustee runs lives beside the site, where the site
imports it; this folder only says how to ship it on its own. The hook lists
the Python files of ``MODULES`` one by one, so nothing else of ``elections``
(models, views, admin, migrations, templates) and no stray file enters the
wheel. It finds them one level up when building from a checkout (``pip
install ./observer`` builds in place), and at the root when building from a
source distribution, where the same hook has copied them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# What an observer or a trustee runs, and all that it imports from the checkout
# (tests/test_observer_package.py imports each module where Django is absent).
MODULES = (
    "elections/__init__.py",
    "elections/board.py",
    "elections/crypto",
    "elections/trustee",
    "elections/verify",
)
LICENSE = "LICENSE"


def python_files(checkout: Path) -> list[str]:
    """The ``.py`` files of ``MODULES`` under ``checkout``, as paths relative to it."""
    found: list[str] = []
    for module in MODULES:
        path = checkout / module
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        found.extend(file.relative_to(checkout).as_posix() for file in files)
    return found


def find_checkout(root: Path) -> Path:
    """The folder that holds ``MODULES``: a source distribution's root, or the checkout."""
    for candidate in (root, root.parent):
        if (
            all((candidate / module).exists() for module in MODULES)
            and (candidate / LICENSE).is_file()
        ):
            return candidate
    raise FileNotFoundError(
        f"{', '.join(MODULES)} and {LICENSE} are neither in {root} nor in {root.parent}: "
        "build from a checkout of the whole project (python -m pip install ./observer)"
    )


class DjangoFreeModules(BuildHookInterface):
    """Adds ``MODULES`` and the licence to the wheel and to the source distribution."""

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        checkout = find_checkout(Path(self.root))
        for path in python_files(checkout):
            build_data["force_include"][str(checkout / path)] = path
        if self.target_name == "wheel":
            build_data["extra_metadata"][str(checkout / LICENSE)] = LICENSE
        else:
            build_data["force_include"][str(checkout / LICENSE)] = LICENSE
