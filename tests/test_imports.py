"""The box never imports the development simulator: every module it runs loads without it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import REPO

BOX_PACKAGES = ("appliance", "hsm", "ui", "provisioning")
"""What the image ships; provisioning names the simulator only as a command to start."""
ENTRY_POINTS = ("appliance.supervisor.__main__", "appliance.bot.__main__", "ui.__main__", "hsm.cli",
                "appliance.alerts.__main__")
"""The main modules of the box's processes: the walk must have imported each of them."""
IMPORT_TIMEOUT = 120.0

IMPORT_EVERY_MODULE = """
import importlib, importlib.util, json, pkgutil, sys

GUARD = 'if __name__ == "__main__":'
imported = []
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    imported.append(name)
    for found in pkgutil.walk_packages(package.__path__, f"{name}."):
        origin = importlib.util.find_spec(found.name).origin
        with open(origin, encoding="utf-8") as source:
            if found.name.endswith(".__main__") and GUARD not in source.read():
                continue  # importing it would start its process; the walk has its main module
        importlib.import_module(found.name)
        imported.append(found.name)
print(json.dumps({"imported": imported, "loaded": sorted(sys.modules)}))
"""


def import_the_box(tmp_path: Path) -> dict[str, Any]:
    """Import every module of the box in a fresh interpreter; return what it imported and loaded.

    The interpreter starts in the repository, where `simulator` is importable, so a box module
    that imports it shows up in sys.modules rather than as a different failure.
    """
    env = {**os.environ, "NICEGUI_STORAGE_PATH": str(tmp_path / "nicegui")}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE, *BOX_PACKAGES],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=IMPORT_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return report


def test_the_box_imports_none_of_the_simulator(tmp_path: Path) -> None:
    report = import_the_box(tmp_path)
    assert set(ENTRY_POINTS) <= set(report["imported"])
    simulator_modules = [
        name for name in report["loaded"] if name == "simulator" or name.startswith("simulator.")
    ]
    assert simulator_modules == [], "the box must not import the development simulator"
