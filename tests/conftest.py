"""Stores shared by the app tests (tests/pages/test_app.py, tests/domain/test_cockpit.py), and the real server
and browser shared by the browser tests (tests/pages/test_browser.py, tests/pages/test_browser_auth.py).

``demo_db``: a small demo store, generated and imported by the real first-start bootstrap once per
session. ``tiny_db``: tests/data/metrics_store.sql, whose figures are computed by hand in
tests/domain/test_metrics.py. ``app_server``: starts `streamlit run` on a free port (bench/browser.py's
AppServer, the same one the benchmarks use); ``browser``: headless Chromium.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Errors in a page propagate in tests (app.py shows users a message with an error id instead), so
# that every test that asserts "no exception" sees them; tests of the message itself unset it.
os.environ.setdefault("COCKPIT_RAISE_ERRORS", "1")

from analytics.services import bootstrap  # noqa: E402
from analytics.store.db import connect  # noqa: E402
from bench.browser import CHROMIUM, AppServer, ServerStartError, launch  # noqa: E402

FIXTURE_SQL = Path(__file__).resolve().parent / "data" / "metrics_store.sql"
SERVER_START_LIMIT_S = 60


def require_browser() -> None:
    """Skip (or fail, with COCKPIT_REQUIRE_BROWSER set) when playwright or Chromium is missing."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright 未安装"
    else:
        if os.path.exists(CHROMIUM):
            return
        reason = f"找不到 Chromium：{CHROMIUM}"
    if os.environ.get("COCKPIT_REQUIRE_BROWSER"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def app_server():
    """``app_server(db, log_path, env=None)`` starts the real server and returns its base URL; every
    server started is terminated at the end of the module, and the tail of its log printed."""
    require_browser()
    started: list[AppServer] = []

    def start(db, log_path, env: dict | None = None) -> str:
        server = AppServer(db, log_path, start_timeout=SERVER_START_LIMIT_S, env=env)
        started.append(server)
        try:
            server.start()
        except ServerStartError as exc:
            pytest.fail("streamlit 未能启动：\n" + exc.log)
        return server.url

    yield start
    for server in reversed(started):
        server.stop()
        print(server.log_text()[-4000:])


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch(p)
        yield b
        b.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """A small demo store built the way the app's first start builds one."""
    db = tmp_path_factory.mktemp("demo") / "cockpit.duckdb"
    result = bootstrap.ensure_store(db, years=1, scale=0.05)
    assert result["action"] == "demo", result
    return db


def store_from_sql(db: Path, sql: Path) -> Path:
    """A store at ``db`` (schema migrated) holding what the SQL fixture ``sql`` inserts."""
    con = connect(db)
    con.execute(sql.read_text(encoding="utf-8"))
    con.close()
    return db


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    return store_from_sql(tmp_path_factory.mktemp("tiny") / "cockpit.duckdb", FIXTURE_SQL)
