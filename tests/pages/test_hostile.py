"""Hostile input: every text input, text area and query parameter of every page, driven through
AppTest with quotes, SQL fragments, a 10,000-character string, emoji, control characters (NUL too),
right-to-left marks and formula starts. Nothing may raise, nothing may show beyond the role, and the
store's data tables keep their row counts. Every xlsx/csv handed out afterwards — the candidate pool
and the audit log now hold hostile text — has no cell a spreadsheet would run as a formula, and the
audit log's download holds exactly the table the page shows.

Values are set with ``set_value`` (not ``input``), so a ``max_chars`` limit of the widget does not
protect the server here: a hostile client can send any length.

SQL review of analytics/ (what is pasted into SQL text rather than bound), at the time of writing:
- identifiers only, from fixed lists in code: table names (``store.DATA_TABLES``), hot-word filter
  columns (``hotwords.FILTER_COLUMNS``), ``audit`` / ``hotwords`` column lists, period expressions
  (``indices._PERIOD_SQL`` keyed by grain), CTE fragments defined as module constants;
- identifiers from a configuration file: the field names of ``data/contract.toml`` are pasted as
  column names by ``ingest`` (staging tables, ``row_hash_sql``) and ``admin`` (undo by key); the
  contract loader does not check them against the store's columns or an identifier pattern — a
  trusted file, but a typo there yields an SQL error instead of a Chinese message;
- literals from configuration: ``metrics._sql_list`` writes the answer classes of
  ``data/indices.toml`` and two code constants as quoted literals; the classes are first checked
  against the known classes (A/B/C), so nothing arbitrary reaches the SQL;
- every value that comes from a page, the URL or an export file is a bound parameter.
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from analytics.access import users as auth
from analytics.core import labels
from analytics.core.safe_export import FORMULA_START, safe_cell, safe_frame, sheet_name, to_csv, to_xlsx
from analytics.store.db import DATA_TABLES, connect

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORD = "hostile-test-42"
ROLE_USERS = {auth.ROLE_ADMIN: "管理丙", auth.ROLE_CHAIR: "主任甲", auth.ROLE_ANALYST: "分析乙"}  # the first user: an administrator

HOSTILE = [
    "'; DROP TABLE opinions; -- \"`/* %_\\ ${x} {{7*7}}",
    "1 OR 1=1",
    "x" * 10_000,
    "😀👩‍👩‍👧‍👦🚧 \u202e\u2066反向\u2069\u200f\ufeff",
    "a\x00b\x07\x1b[2J\x7f",
    '=HYPERLINK("http://evil.example","点我")',
    "<script>alert(1)</script>",
]
QUERY_KEYS = ("period", "town", "word", "suggestion", "rep", "session", "scope", "screen", "unknown")
COUNTED = (*DATA_TABLES, "import_batches", "rejected_rows", "row_history", "dict_versions")


# ───────────────────────────── safe_export itself ─────────────────────────────

def test_formula_cells_are_neutralised_and_the_rest_kept():
    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@A1", "\t=1", "\r=1", "甲", "", "a=b")] == \
        ["'=1+1", "'+1", "'-1", "'@A1", "'\t=1", "'\r=1", "甲", "", "a=b"]
    assert safe_cell(-3) == -3 and safe_cell(None) is None and safe_cell(2.5) == 2.5
    df = pd.DataFrame({"=标题": ["=cmd|' /C calc'!A0", "正常"], "数": [-1, 2], "列表": [["@x"], ["y"]]})
    out = safe_frame(df)
    assert list(out.columns) == ["'=标题", "数", "列表"]
    assert out.iloc[0, 0] == "'=cmd|' /C calc'!A0" and out.iloc[1, 0] == "正常" and out.iloc[0, 1] == -1
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx({"a/b:c?" * 10: df, "a/b:c?" * 10 + "x": df})))
    assert wb.sheetnames == [("a_b_c_" * 6)[:31], ("a_b_c_" * 6)[:29] + "_2"]  # valid, unique, ≤ 31
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.value for c in cells if c.data_type == "f"]
    assert {c.value for c in cells} >= {"'=标题", "'=cmd|' /C calc'!A0", -1, '["@x"]'}
    text = to_csv(df).decode("utf-8-sig")
    assert text.splitlines()[1].startswith("'=cmd") and "\n-1" not in text.replace(",-1", "")
    assert sheet_name("'") == "Sheet" and len(sheet_name("甲" * 40)) == 31


# ───────────────────────────── driving the pages ─────────────────────────────

@pytest.fixture(scope="module")
def store(demo_db, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    return db


def counts(db: Path) -> dict[str, int]:
    con = connect(db, read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}  # fixed names
    finally:
        con.close()


@pytest.fixture()
def env(store, tmp_path, monkeypatch):
    """Users of every role, raw-name look-up switched on (one more input to drive), the dictionary's
    background job replaced by a recorder (it would rewrite data/userdict.txt), downloads captured."""
    monkeypatch.setattr(auth, "SCRYPT_N", 2 ** 10)
    monkeypatch.setattr(auth, "SCRYPT_P", 1)
    monkeypatch.setenv("COCKPIT_USERS", str(tmp_path / "users.toml"))
    (tmp_path / "security.toml").write_text("[privacy]\nadmin_raw_names = true\n", encoding="utf-8")
    monkeypatch.setenv("COCKPIT_SECURITY", str(tmp_path / "security.toml"))
    monkeypatch.setenv("COCKPIT_DB", str(store))
    for role, name in ROLE_USERS.items():
        auth.add_user(name, role, PASSWORD)
    from pages import hotwords as hot_page

    jobs = []
    monkeypatch.setattr(hot_page, "start_job", lambda db, label, fn, *args, **kw: jobs.append((label, args)))
    files = []
    real_add, real_deferred = MediaFileManager.add, MediaFileManager.add_deferred

    def add(self, data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if is_for_static_download:
            files.append((file_name, data))
        return real_add(self, data, mimetype, coordinates, file_name, is_for_static_download)

    def add_deferred(self, fn, mimetype, coordinates, file_name=None, **kw):
        files.append((file_name, fn))
        return real_deferred(self, fn, mimetype, coordinates, file_name, **kw)

    monkeypatch.setattr(MediaFileManager, "add", add)
    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return {"jobs": jobs, "files": files}


def signed_in(role: str, url_path: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.text_input[0].set_value(ROLE_USERS[role])
    at.text_input[1].set_value(PASSWORD)
    at.button[-1].click().run()
    assert at.metric, "login failed"
    if url_path:
        at._page_hash = calc_hash(url_path)
        at.run()
    return at


def check(at: AppTest, title: str, what: str) -> None:
    assert not at.exception, (what, at.exception)
    assert [t.value for t in at.title][:1] == [title], (what, [t.value for t in at.title])
    assert not any("无权打开" in e.value for e in at.error), what


def text_widgets(at: AppTest) -> tuple[list, dict[str, list]]:
    """(text widgets outside forms, {form id: its text widgets}) of the main area."""
    plain, forms = [], {}
    for w in (*at.main.text_input, *at.main.text_area):
        (forms.setdefault(w.proto.form_id, []) if w.proto.form_id else plain).append(w)
    return plain, forms


def _find(at: AppTest, w):
    for x in (*at.main.text_input, *at.main.text_area):
        if x.proto.label == w.proto.label and x.proto.form_id == w.proto.form_id and x.type == w.type:
            return x
    return None


def drive(at: AppTest, url_path: str) -> list[str]:
    """Every text widget of the page with every hostile value: widgets outside forms all at once,
    each form filled wholly and submitted. Returns what was driven."""
    title = labels.PAGE_BY_PATH[url_path].title
    driven = []
    for value in HOSTILE:
        plain, forms = text_widgets(at)  # again each time: a form may appear (a candidate was added)
        if plain:
            for w in plain:
                if (x := _find(at, w)) is not None:
                    x.set_value(value)
            at.run()
            check(at, title, f"{url_path} {[w.proto.label for w in plain]} = {value[:30]!r}")
        for form_id, widgets in forms.items():
            for w in widgets:
                if (x := _find(at, w)) is not None:
                    x.set_value(value)
            submit = [b for b in at.main.button if b.proto.form_id == form_id and not b.disabled]
            if not submit:
                continue
            submit[0].click().run()
            check(at, title, f"{url_path} form {form_id} = {value[:30]!r}")
        driven += [w.proto.label for w in plain] + [w.proto.label for ws in forms.values() for w in ws]
    return sorted(set(driven))


# (page, role that opens it, the labels that must have been driven)
PAGES_WITH_INPUT = [
    ("users", auth.ROLE_ADMIN, {"用户名", "用户（完整用户名）", "包含文字（对象、详情）", "意见编号"}),
    ("candidates", auth.ROLE_ANALYST, {"搜索（议题、热词、备注）", "议题名称（可空：用热词）", "添加备注",
                                       "说明（谁决定的、依据什么）"}),
    ("hotwords", auth.ROLE_ANALYST, {"加入词典的词（空格、逗号或换行分隔）", "议题名称", "备注（为什么值得监督）"}),
    ("data", auth.ROLE_ADMIN, set()),
]


@pytest.mark.parametrize("url_path,role,must", PAGES_WITH_INPUT, ids=[p[0] for p in PAGES_WITH_INPUT])
def test_every_text_input_takes_hostile_values(env, store, url_path, role, must):
    before = counts(store)
    query = {}
    if url_path == "hotwords":  # the candidate form appears with a word chosen
        from analytics.domain import hotwords as hw

        con = connect(store, read_only=True)
        last = con.execute("SELECT max(day) FROM opinion_seg").fetchone()[0]
        query = {"word": str(hw.top_words(con, last.replace(day=1), last + pd.Timedelta(days=1), top=1)["word"].iloc[0])}
        con.close()
    at = signed_in(role)
    at._page_hash = calc_hash(url_path)
    at.query_params.update(query)
    at.run()
    check(at, labels.PAGE_BY_PATH[url_path].title, url_path)
    driven = drive(at, url_path)
    assert must <= set(driven), (must - set(driven), driven)
    assert counts(store) == before
    if url_path == "hotwords":  # the dictionary form reached the job with the words split, not run
        assert env["jobs"], "the dictionary form never reached its job"


def test_the_login_form_takes_hostile_values(env, store):
    at = AppTest.from_file(APP, default_timeout=60).run()
    for value in HOSTILE:
        at.text_input[0].set_value(value)
        at.text_input[1].set_value(value)
        at.button[-1].click().run()
        assert not at.exception, (value[:30], at.exception)
        assert not at.metric and not at.dataframe and len(at.text_input) == 2
    assert auth.load_users() and counts(store)  # the users file and the store are still readable


@pytest.mark.parametrize("role", list(ROLE_USERS))
def test_hostile_query_parameters_on_every_page(env, store, role):
    """All parameters at once, each hostile value, on every page: the role's pages render with a
    fallback warning, the others still refuse."""
    before = counts(store)
    at = signed_in(role)
    values = HOSTILE if role == auth.ROLE_ADMIN else HOSTILE[:3]  # one role gets the full list
    for page in labels.PAGES:
        for value in values:
            at._page_hash = calc_hash(page.url_path)
            at.query_params.clear()
            at.query_params.update({k: value for k in QUERY_KEYS})
            at.run()
            what = f"{role} /{page.url_path}?…={value[:30]!r}"
            assert not at.exception, (what, at.exception)
            if auth.can_open(role, page.url_path):
                assert [t.value for t in at.title][:1] == [page.title], what
            else:
                assert not at.title and not at.metric and not at.dataframe, what
                assert any("无权打开" in e.value for e in at.error), what
    assert counts(store) == before


def test_exports_after_hostile_input_run_no_formulas(env, store):
    """The audit log (failed logins with hostile names) and the candidate pool (hostile titles) are
    exported; no cell of any file the pages hand out starts a formula, and the audit log's file holds
    the shown table."""
    anon = AppTest.from_file(APP, default_timeout=60).run()
    for value in HOSTILE[5:6] + ["+cmd", "-2+3", "@SUM(A1)", "\t=1"]:
        anon.text_input[0].set_value(value)
        anon.text_input[1].set_value("wrong-password-1")
        anon.button[-1].click().run()
    from analytics.domain import hotwords as hw

    con = connect(store)
    try:
        last = con.execute("SELECT max(day) FROM opinion_seg").fetchone()[0]
        word = str(hw.top_words(con, last.replace(day=1), last + pd.Timedelta(days=1), top=1)["word"].iloc[0])
        hw.add_candidate(con, [word], last.replace(day=1), last + pd.Timedelta(days=1), "=HYPERLINK(\"x\")",
                         title="=HYPERLINK(\"http://evil\")", note="@SUM(A1)")
    finally:
        con.close()
    env["files"].clear()
    at = signed_in(auth.ROLE_ADMIN, "users")
    at.multiselect(key="users_log_actions").select("login_failed").select("login_throttled").run()
    shown = at.dataframe[-1].value
    for page in ("candidates", "ranking", "reps"):
        at._page_hash = calc_hash(page)
        at.run()
        assert not at.exception
    checked, failed = {}, {}
    for name, data in env["files"]:
        if callable(data):
            try:
                data = data()
            except Exception as exc:  # the button would hand out nothing: recorded, judged below
                failed[name] = exc
                continue
        if name.endswith(".xlsx"):
            wb = openpyxl.load_workbook(io.BytesIO(data))
            cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
            assert not [c.coordinate for c in cells if c.data_type == "f"], name
            bad = [c.value for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
            checked[name] = [[c.value for c in row] for row in wb.worksheets[0].iter_rows()]
        elif name.endswith(".csv"):
            rows = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
            bad = [v for v in [*rows.columns, *rows.to_numpy().ravel()] if str(v).startswith(FORMULA_START)]
            checked[name] = rows
        else:
            continue
        assert not bad, (name, bad[:5])
    assert any(n.startswith("审计日志") and n.endswith(".xlsx") for n in checked), list(checked)
    assert not failed, failed  # every button hands out its file, hostile text and all
    assert any(n.startswith("监督项目备选库") for n in checked), list(checked)
    # The audit log's file holds the table the page shows (apostrophes aside).
    csv_rows = next(v for n, v in checked.items() if n.startswith("审计日志") and n.endswith(".csv"))
    unquote = lambda v: v[1:] if isinstance(v, str) and v.startswith("'") and v[1:].startswith(FORMULA_START) else v  # noqa: E731
    assert list(csv_rows.columns) == list(shown.columns)
    assert csv_rows.map(unquote).to_numpy().tolist() == shown.fillna("").astype(str).to_numpy().tolist()
    assert {"=HYPERLINK(\"http://evil.example\",\"点我\")", "+cmd", "@SUM(A1)"} <= set(shown["用户"])


def test_candidate_export_with_control_characters():
    """A NUL or ESC typed into a candidate's title once made openpyxl refuse the whole workbook."""
    from analytics.domain import hotwords as hw

    df = pd.DataFrame({"title": ["a\x00b\x07"], "notes": ["\x1b[2J"]})
    wb = openpyxl.load_workbook(io.BytesIO(hw.to_xlsx({"监督项目备选库": df})))
    assert wb.active["A2"].value == "a\ufffdb\ufffd"
