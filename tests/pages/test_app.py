"""The app shell through Streamlit's AppTest: every page renders, the URL carries the choice,
no page bypasses app.py, first start fills an empty store once, analytics/ never imports streamlit.

Two stores: ``demo_db`` (a small demo, generated and imported by the real bootstrap once per
session) for the smoke test, and ``tiny_db`` (tests/data/metrics_store.sql, figures computed by hand
in tests/domain/test_metrics.py) where a test checks numbers.

How a page is opened: ``AppTest.switch_page`` matches file paths, and our pages are callables, so
the test requests the page's script hash, which st.Page derives from its url_path — exactly what a
browser sends for the URL /<url_path>. AppTest resets Streamlit's "uses pages directory" flag on
every run, so every run here takes the legacy pages/ path that a fresh server takes: the request for
/ranking first runs pages/ranking.py as __main__, and only its guard brings app.py in.
"""
from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
import threading
import types
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import analytics
from analytics.services import bootstrap
from analytics.core import labels
from analytics.domain import metrics
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
GUARD = 'if __name__ == "__main__":'


# The stores ``demo_db`` and ``tiny_db`` are fixtures of tests/conftest.py (the cockpit's tests use them too).


def app_at(db: Path, monkeypatch, url_path: str | None = None, **query) -> AppTest:
    """AppTest of app.py on the store ``db``, as if the browser opened /<url_path>?<query>."""
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if url_path:
        at._page_hash = calc_hash(url_path)  # see the module docstring
    for k, v in query.items():
        at.query_params[k] = v
    return at


def open_page(at: AppTest, url_path: str) -> AppTest:
    at._page_hash = calc_hash(url_path)
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.caption, *at.markdown)]
    parts += [e.value for e in (*at.info, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


# ───────────────────────────── every page ─────────────────────────────

@pytest.mark.parametrize("page", labels.PAGES, ids=lambda p: p.url_path)
def test_every_page_renders_through_app(demo_db, monkeypatch, page):
    at = app_at(demo_db, monkeypatch, page.url_path).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [page.title]
    # Only app.py's shell draws the demo banner and the sidebar: the page did not bypass it.
    assert "演示数据" in texts(at)
    assert at.sidebar.selectbox, "the shared sidebar is missing"


def test_cockpit_shows_every_headline_figure_with_its_definition(demo_db, monkeypatch):
    at = app_at(demo_db, monkeypatch).run()
    assert not at.exception
    cards = {m.label: m for m in at.metric}
    assert list(cards) == [m.label for m in metrics.METRICS]
    for m in metrics.METRICS:
        assert m.definition in cards[m.label].help
        assert cards[m.label].value not in ("", None)
    assert at.get("plotly_chart"), "monthly opinions chart missing"


# ───────────────────────────── no bypass of app.py ─────────────────────────────

def test_every_file_in_pages_routes_through_app():
    """Streamlit's legacy mode runs any pages/*.py (but __init__.py) for the URL /<stem>."""
    files = sorted(p for p in (ROOT / "pages").glob("*.py") if p.name != "__init__.py")
    assert {p.stem for p in files} >= {p.url_path for p in labels.PAGES}
    for p in files:
        tail = p.read_text(encoding="utf-8").rstrip().splitlines()[-4:]
        assert tail[0].startswith(GUARD) and tail[-1].strip() == "route_through_app()", f"{p.name} 缺少结尾的路由保护"
        assert "from pages import route_through_app" in tail[1], f"{p.name} 的路由保护应交给 pages.route_through_app"


@pytest.mark.parametrize("url_path", ["layout", "_layout", "no-such-page"])
def test_helper_and_unknown_urls_land_on_the_cockpit(tiny_db, monkeypatch, url_path):
    at = app_at(tiny_db, monkeypatch, url_path).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["驾驶舱"]


# ───────────────────────────── the choice in the URL ─────────────────────────────

def test_url_selects_period_and_town(tiny_db, monkeypatch):
    at = app_at(tiny_db, monkeypatch, period="2024Q2", town="瓜沥镇").run()
    assert not at.exception and not at.warning
    assert "瓜沥镇 · 2024年第2季度" in texts(at)
    cards = {m.label: m.value for m in at.metric}
    # Hand-computed in tests/domain/test_metrics.py: 瓜沥镇 2024Q2
    assert cards["收到民情民意"] == "5 条"
    assert cards["办结率"] == "75.0%"
    assert cards["代表建议"] == "3 件"
    assert at.sidebar.selectbox(key="w_town").value == "瓜沥镇"
    assert at.sidebar.selectbox(key="w_period").value == "2024Q2"


def test_default_is_latest_quarter_and_is_written_to_the_url(tiny_db, monkeypatch):
    at = app_at(tiny_db, monkeypatch).run()
    assert "全区 · 2024年第3季度" in texts(at)
    assert at.query_params == {"period": "2024Q3"}


def test_other_query_parameters_are_kept(tiny_db, monkeypatch):
    # Pages may add parameters of their own (e.g. a big-screen mode): the shell must not drop them.
    at = app_at(tiny_db, monkeypatch, period="2024Q2", screen="1").run()
    at.sidebar.selectbox(key="w_town").select("瓜沥镇").run()
    assert at.query_params == {"period": "2024Q2", "town": "瓜沥镇", "screen": "1"}


def test_bad_url_values_fall_back_with_a_warning(tiny_db, monkeypatch):
    at = app_at(tiny_db, monkeypatch, period="2031Q5", town="火星").run()
    assert not at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "2031Q5" in warned and "火星" in warned
    assert "全区 · 2024年第3季度" in texts(at)
    # A valid period without data also falls back (the picker offers only periods with data).
    at = app_at(tiny_db, monkeypatch, period="2019").run()
    assert "2019" in at.warning[0].value and not at.exception


def test_sidebar_changes_write_the_url(tiny_db, monkeypatch):
    at = app_at(tiny_db, monkeypatch, period="2024Q2").run()
    at.sidebar.selectbox(key="w_town").select("城厢街道").run()
    assert at.query_params == {"period": "2024Q2", "town": "城厢街道"}
    # Finer grain: the latest month with data inside 2024Q2; coarser: the year holding it.
    at.sidebar.segmented_control(key="w_grain").set_value("month").run()
    assert at.query_params["period"] == "2024-06"
    at.sidebar.segmented_control(key="w_grain").set_value("year").run()
    assert at.query_params["period"] == "2024"
    assert "城厢街道 · 2024年" in texts(at) and not at.exception


def test_choice_survives_a_page_switch(tiny_db, monkeypatch):
    """Streamlit's menu drops the query string on a page switch; the session's choice is restored."""
    at = app_at(tiny_db, monkeypatch, period="2024Q2", town="瓜沥镇").run()
    at.query_params.clear()
    open_page(at, "ranking")
    assert at.query_params == {"period": "2024Q2", "town": "瓜沥镇"}
    open_page(at, "cockpit")
    assert "瓜沥镇 · 2024年第2季度" in texts(at)


def test_store_without_dated_data_says_so(tmp_path, monkeypatch):
    db = tmp_path / "units-only.duckdb"
    con = connect(db)
    con.execute("INSERT INTO units (unit_id, name, level) VALUES ('U1', '区代表联络总站', '总站')")
    con.close()
    at = app_at(db, monkeypatch).run()
    assert not at.exception
    assert labels.NO_DATA in texts(at) and not at.metric


# ───────────────────────────── first start ─────────────────────────────

def test_demo_store_is_marked_and_not_rebuilt(demo_db):
    con = connect(demo_db, read_only=True)
    try:
        assert bootstrap.is_demo(con)
        assert metrics.latest_period(con, "quarter") is not None
    finally:
        con.close()
    assert bootstrap.ensure_store(demo_db)["action"] == "none"


@pytest.fixture()
def fake_demo(monkeypatch):
    """Stand-ins for analytics.demo.exports / analytics.ingest.importer that count calls and are slow enough for
    two starters to overlap: the lock, not luck, must keep the second from importing too."""
    calls = []

    def write_demo(out_dir, seed=0, years=2, scale=1.0, progress=None):
        calls.append("write")
        threading.Event().wait(0.3)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        (Path(out_dir) / "履职活动.csv").write_text("stand-in", encoding="utf-8")
        return [Path(out_dir) / "履职活动.csv"]

    def ingest_files(con, paths, user=None, progress=None):
        con.execute("INSERT INTO activities (activity_id, date, town, type) VALUES (?, DATE '2024-05-01', '瓜沥镇', '视察')",
                    [f"A{len(calls)}"])
        return []

    monkeypatch.setitem(sys.modules, "analytics.demo.exports", types.SimpleNamespace(write_demo=write_demo))
    monkeypatch.setitem(sys.modules, "analytics.ingest.importer", types.SimpleNamespace(ingest_files=ingest_files))
    return calls


def test_two_sessions_starting_at_once_bootstrap_once(tmp_path, fake_demo):
    db = tmp_path / "fresh.duckdb"
    results, errors = [], []

    def start():
        try:
            results.append(bootstrap.ensure_store(db)["action"])
        except Exception as exc:  # surfaced below, not swallowed
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == ["demo", "none", "none"] and fake_demo == ["write"]
    con = connect(db, read_only=True)
    assert bootstrap.is_demo(con)
    assert con.execute("SELECT value FROM meta WHERE key = 'demo_seed'").fetchone() == ("0",)
    con.close()


def test_failed_demo_import_leaves_the_store_empty(tmp_path, monkeypatch, fake_demo):
    """A demo file the importer cannot read aborts the first start and stores nothing, so the
    next start tries again instead of showing a half-filled store as if it were complete."""
    db = tmp_path / "fresh.duckdb"

    def ingest_with_a_bad_file(con, paths, user=None, progress=None):
        con.execute("INSERT INTO activities (activity_id, date, town, type) VALUES ('A1', DATE '2024-05-01', '瓜沥镇', '视察')")
        return [types.SimpleNamespace(file="履职活动.csv", error="找不到可识别的表头", imported=0, rejected=0)]

    monkeypatch.setattr(sys.modules["analytics.ingest.importer"], "ingest_files", ingest_with_a_bad_file)
    with pytest.raises(bootstrap.BootstrapError, match="履职活动.csv"):
        bootstrap.ensure_store(db)
    assert not bootstrap.building_path(db).exists()
    con = connect(db, read_only=True)
    assert not bootstrap.has_data(con) and not bootstrap.is_demo(con)
    con.close()


def test_two_processes_starting_at_once_bootstrap_once(tmp_path):
    """The file lock: two interpreters racing on one fresh store (stand-ins as above)."""
    db = tmp_path / "fresh.duckdb"
    script = f"""
import sys, time, types
from pathlib import Path
def write_demo(out_dir, **kw):
    time.sleep(0.5)
    out = Path(out_dir); out.mkdir(parents=True, exist_ok=True)
    (out / "a.csv").write_text("stand-in")
    return [out / "a.csv"]
def ingest_files(con, paths, user=None, progress=None):
    con.execute("INSERT INTO activities (activity_id, date, town, type) VALUES ('A1', DATE '2024-05-01', '瓜沥镇', '视察')")
    return []
sys.modules['analytics.demo.exports'] = types.SimpleNamespace(write_demo=write_demo)
sys.modules['analytics.ingest.importer'] = types.SimpleNamespace(ingest_files=ingest_files)
from analytics.services.bootstrap import ensure_store
print(ensure_store({str(db)!r})['action'])
"""
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    assert sorted(o[0].strip() for o in outs) == ["demo", "none"]


def test_empty_store_start_shows_progress_then_data(tmp_path, monkeypatch, fake_demo):
    at = app_at(tmp_path / "new.duckdb", monkeypatch).run()
    assert not at.exception
    assert at.status and labels.BOOTSTRAP_DONE in at.status[0].label
    assert "演示数据" in texts(at) and [t.value for t in at.title] == ["驾驶舱"]
    assert fake_demo == ["write"]


# ───────────────────────────── layering ─────────────────────────────

def test_analytics_never_imports_streamlit():
    names = _analytics_modules()
    assert "analytics.domain.metrics" in names and "analytics.services.bootstrap" in names
    code = ("import importlib, sys\n"
            f"for n in {names!r}: importlib.import_module(n)\n"
            "bad = sorted(m for m in sys.modules if m == 'streamlit' or m.startswith('streamlit.'))\n"
            "assert not bad, bad\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def _analytics_modules() -> list[str]:
    """Every module of the package, in every sub-package (the layers)."""
    return sorted(m.name for m in pkgutil.walk_packages(analytics.__path__, "analytics.") if m.name != "analytics.__main__")


def test_every_analytics_module_is_importable_here():
    # The subprocess test above is only as good as its module list: make sure the list is real.
    names = _analytics_modules()
    assert len(names) >= 40 and "analytics.store.db" in names
    for name in names:
        importlib.import_module(name)


def test_an_error_in_a_page_shows_a_chinese_message_with_an_error_id_and_no_traceback(
        tiny_db, monkeypatch, caplog):
    import re

    from pages import _layout

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /srv/cockpit/data/cockpit.duckdb")

    monkeypatch.delenv("COCKPIT_RAISE_ERRORS", raising=False)
    monkeypatch.setattr(_layout, "headline", broken)
    at = app_at(tiny_db, monkeypatch, "cockpit").run()
    assert not at.exception
    (err,) = [e.value for e in at.error if "错误编号" in e.value]
    error_id = re.search(r"错误编号 ([0-9a-f]{8})", err).group(1)
    shown = texts(at) + "\n".join(str(e.value) for e in at.error)
    assert "secret" not in shown and "Traceback" not in shown and "RuntimeError" not in shown
    assert any(error_id in r.getMessage() and r.exc_info for r in caplog.records)  # the details: server log


def test_tables_offer_no_builtin_download_and_errors_no_details():
    """Every download goes through the app's own audited, neutralised export; Streamlit's table
    toolbar (Download as CSV, copy) is off, and Streamlit itself shows no error details."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["client"]["disableDataExport"] is True
    assert cfg["client"]["showErrorDetails"] == "none"


def test_no_full_garbage_collection_after_every_run():
    """Streamlit's gc.collect(2) after each script run held every session up (docs/scaling.md §4)."""
    import tomllib

    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["runner"]["postScriptGC"] is False


def test_tables_show_a_dash_for_a_missing_value(tiny_db, monkeypatch):
    """Streamlit shows a missing value as "None": every page's table goes through _layout.dataframe,
    which shows "—" instead."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        if path.name != "_layout.py":
            text = path.read_text(encoding="utf-8")
            assert "st.dataframe(" not in text and "st.data_editor(" not in text, path.name
    at = app_at(tiny_db, monkeypatch, "suggestions").run()
    assert not at.exception and at.dataframe
    assert all(d.proto.placeholder == "—" for d in at.dataframe)
