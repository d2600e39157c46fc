"""Where the project's files are: the repository root and its ``data/`` folder (configuration, the
default store). Every module that reads a file of ``data/`` takes its path from here."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / "data"
PACKAGE_DIR = ROOT / "analytics"
