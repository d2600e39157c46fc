"""The layers of analytics/ (README "Layout", pyproject.toml [tool.importlinter]): every import points
down, analytics never imports the user interface, pages never import app. ``lint-imports`` checks
each import, also those inside functions; this test fails the suite when one points the wrong way."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_every_import_follows_the_layers():
    run = _lint(ROOT)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "BROKEN" not in run.stdout and "KEPT" in run.stdout


def test_the_contracts_name_every_sub_package():
    """A new sub-package must be given its place in the layers, not slip in beside them."""
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    top = next(c for c in cfg["contracts"] if c["type"] == "layers" and c["layers"][0] == "analytics.cli")
    named = {m.strip() for layer in top["layers"] for m in layer.split("|")}
    packages = {f"analytics.{p.name}" for p in (ROOT / "analytics").iterdir() if (p / "__init__.py").is_file()}
    assert packages == named


@pytest.mark.parametrize("bad", [
    ("analytics/store/_probe.py", "from analytics.domain import metrics\n"),  # store reaching up
    ("analytics/core/_probe.py", "def f():\n    import streamlit\n"),  # the UI, inside a function
    ("pages/_probe.py", "import app\n"),  # a page importing the router
])
def test_the_check_fails_on_an_import_that_points_the_wrong_way(tmp_path, bad):
    """The contracts are live: a copy of the tree with one wrong import is refused."""
    for name in ("analytics", "pages"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copy(ROOT / "app.py", tmp_path / "app.py")
    path, code = bad
    (tmp_path / path).write_text(code, encoding="utf-8")
    run = _lint(tmp_path)
    assert run.returncode != 0 and "BROKEN" in run.stdout, run.stdout[-2000:]
    assert "_probe" in run.stdout  # refused for the planted import, not for another one
