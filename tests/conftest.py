"""Stores shared by the app tests (tests/test_app.py, tests/test_cockpit.py).

``demo_db``: a small demo store, generated and imported by the real first-start bootstrap once per
session. ``tiny_db``: tests/data/metrics_store.sql, whose figures are computed by hand in
tests/test_metrics.py.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from analytics.services import bootstrap
from analytics.store.db import connect

FIXTURE_SQL = Path(__file__).resolve().parent / "data" / "metrics_store.sql"


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """A small demo store built the way the app's first start builds one."""
    db = tmp_path_factory.mktemp("demo") / "cockpit.duckdb"
    result = bootstrap.ensure_store(db, years=1, scale=0.05)
    assert result["action"] == "demo", result
    return db


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("tiny") / "cockpit.duckdb"
    con = connect(db)
    con.execute(FIXTURE_SQL.read_text(encoding="utf-8"))
    con.close()
    return db
