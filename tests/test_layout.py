"""House rules that keep the architecture honest: layout, no Qt in the kernel, lazy torch."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

QT_MODULES = {"PySide6", "pyqtgraph", "qasync", "shiboken6", "PyQt5", "PyQt6"}


def test_top_level_layout() -> None:
    required = {"app", "widgets", "core", "models", "resources", "tests", "docs", "bench",
                "pyproject.toml", "README.md", "build.spec", ".ci"}
    present = {p.name for p in REPO.iterdir()}
    assert required <= present, f"missing: {sorted(required - present)}"
    # build artefacts (git-ignored) may sit beside the sources
    visible = {p for p in present if not p.startswith(".") and not p.endswith(".egg-info")
               and p not in ("build", "dist", "tradecoach-screenshot.png")}
    assert visible - required == set(), f"unexpected top-level entries: {sorted(visible - required)}"
    assert (REPO / ".ci" / "run").is_file()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_and_models_import_no_qt_statically() -> None:
    offenders = []
    for pkg in ("core", "models"):
        for path in (REPO / pkg).rglob("*.py"):
            bad = _imports(path) & QT_MODULES
            if bad:
                offenders.append(f"{path.relative_to(REPO)}: {sorted(bad)}")
    assert offenders == []


def test_importing_every_core_module_loads_neither_qt_nor_torch() -> None:
    """Runtime check in a clean interpreter: transitive imports count too."""
    code = f"""
import importlib, json, pkgutil, sys
sys.path.insert(0, {str(REPO)!r})
import core
for m in pkgutil.walk_packages(core.__path__, 'core.'):
    if '.migrations' in m.name:
        continue
    importlib.import_module(m.name)
print(json.dumps(sorted(k.split('.')[0] for k in sys.modules)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert "core" in loaded
    assert loaded & QT_MODULES == set()
    assert "torch" not in loaded, "torch must be imported lazily, never at kernel import"


def test_app_start_path_does_not_import_torch() -> None:
    code = f"""
import sys, json
sys.path.insert(0, {str(REPO)!r})
import app.__main__, app.main_window, core.workstation
print(json.dumps('torch' in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert json.loads(out.stdout.strip().splitlines()[-1]) is False
