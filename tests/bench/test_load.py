"""The protocol-level load generator (bench/load.py, bench/st_protocol.py).

``test_load_on_demo_store`` runs bench/load.py as a user would (its own `streamlit run` server on a
copy of the session's demo store, a few Locust sessions for a few seconds) and reads its JSON line.
The others drive one protocol session against a throwaway Streamlit script whose query parameter
says what it does (draw a page, raise, show st.error, run too long): each failure is counted as the
error it is, and a clean run is not.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import st_protocol
from bench.browser import AppServer

ROOT = Path(__file__).resolve().parents[2]
LOAD = ROOT / "bench" / "load.py"
RUN_LIMIT_S = 300  # the whole load.py run: server start, warm-up of every page, the sessions

JSON_KEYS = {"client", "sessions", "views", "errors", "all", "pages", "server_cpu_s_per_view", "server_rss_mib"}

pytestmark = pytest.mark.slow  # a real server each; ~40 s on the 2-core machine

SCRIPT = '''
import time
import streamlit as st

do = st.query_params.get("do", "ok")
st.title("throwaway")
if do == "raise":
    raise ValueError("boom from the throwaway script")
if do == "error":
    st.error("页面出错了，请稍后刷新重试。")
if do == "sleep":
    time.sleep(30)
st.text_input("名字", key="name")
st.write("done")
'''


def test_load_on_demo_store(demo_db, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(LOAD), "--db", str(demo_db), "--sessions", "3", "--seconds", "8", "--think", "0.5",
         "--arrive", "1", "--timeout", "120", "--workdir", str(tmp_path), "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=RUN_LIMIT_S)
    assert proc.stdout.strip(), proc.stderr[-3000:]
    fig = json.loads(proc.stdout.strip().splitlines()[-1])
    assert JSON_KEYS <= set(fig), sorted(fig)
    assert fig["client"] == "protocol" and fig["sessions"] == 3
    assert fig["views"] > 0, proc.stdout
    assert fig["errors"] == 0, proc.stdout + proc.stderr[-2000:]
    assert proc.returncode == 0
    assert set(fig["all"]) == {"p50", "p95", "max"} and 0 < fig["all"]["p50"] <= fig["all"]["p95"] <= fig["all"]["max"]
    from analytics.core import labels

    assert set(fig["pages"]) <= {p.url_path for p in labels.PAGES}
    assert sum(p["views"] for p in fig["pages"].values()) == fig["views"]
    assert fig["server_cpu_s_per_view"] > 0 and fig["server_rss_mib"] > 0
    # the server's own record of the runs (app.py's run log) saw the sessions' views
    assert fig["server_runs"]["views"] >= fig["views"]
    assert (tmp_path / "runs.jsonl").exists() and (tmp_path / "server.log").exists()


@pytest.fixture(scope="module")
def throwaway(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("throwaway")
    script = tmp / "throwaway.py"
    script.write_text(SCRIPT, encoding="utf-8")
    server = AppServer(tmp / "unused.duckdb", tmp / "server.log", start_timeout=60, script=script)
    server.start()
    yield server.url
    server.stop()


def test_exception_element_is_an_error(throwaway):
    with st_protocol.Session(throwaway, timeout=20) as s:
        ok = s.view("", {"do": "ok"})
        assert ok.error is None and ok.kind is None, ok
        assert "throwaway" in ok.headings and any(w.label == "名字" for w in ok.widgets)
        bad = s.view("", {"do": "raise"})
        # the text may be redacted (client.showErrorDetails): the element's kind is what counts
        assert bad.kind == "exception" and bad.error, bad
        again = s.view("", {"do": "ok"})  # the same session goes on, clean again
        assert again.error is None


def test_error_alert_and_timeout_are_errors(throwaway):
    with st_protocol.Session(throwaway, timeout=20) as s:
        v = s.view("", {"do": "error"})
        assert v.kind == "error_alert" and "页面出错了" in v.error
    s = st_protocol.Session(throwaway, timeout=2)
    v = s.view("", {"do": "sleep"})
    assert v.kind == "timeout" and v.seconds >= 2
    assert s.ws is None  # dropped: the next view starts a new session
    s.timeout = 20
    assert s.view("", {"do": "ok"}).error is None
    s.close()


def test_closed_socket_is_an_error(throwaway):
    s = st_protocol.Session(throwaway, timeout=20)
    s.connect()
    s.ws.sock.close()  # the connection is gone under the session
    v = s.view("", {"do": "ok"})
    assert v.kind == "closed"


def test_only_this_machine():
    with pytest.raises(ValueError):
        st_protocol.Session("http://192.0.2.1:8501")
