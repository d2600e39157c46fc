"""No personal data of the demo set shows up anywhere: not in a page, a drill-down, a download, a
command's JSON output, a report file or a hot word. Checked, not trusted.

The raw values come from the demo export files *before* import (the files the session's demo store
was built from): every submitter's name (提交人 and its aliases), every number in the 联系电话
column, and every phone, landline, ID-card and bank-card number written inside a title or text.
Then, as each role (and in demo mode), every page is run through AppTest; its whole element tree is
collected — texts, widget options, every table's full data, chart specs — and the bytes of every
download (deferred ones are generated; xlsx/docx are unzipped and their XML read). As the
administrator each page is also explored: every keyed selectbox is set to each of its first options, each selectable table gets a row selected, and drill-down links are
opened (?word=, ?suggestion=, ?rep=). None of the raw values may appear.

Names that are also (part of) a representative's name (public, shown on purpose) or occur in the
stored, already masked texts are left out of the check; the test asserts that this leaves most names
in. A canary run with masking switched off proves the collector would see a leak.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
import streamlit as st
from google.protobuf import text_format
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.proto.WidgetStates_pb2 import WidgetState
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import Selectbox
from streamlit.util import calc_hash

from analytics.access import users as auth
from analytics.core import labels
from analytics.core import privacy
from analytics.core.contract import load_contract, norm_header
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORD = "privacy-test-42"
ROLE_USERS = {auth.ROLE_ADMIN: "管理丙", auth.ROLE_CHAIR: "主任甲", auth.ROLE_ANALYST: "分析乙"}  # the first user: an administrator
OPTIONS_TRIED = 2  # per explored widget: the first few options (each one a rerun)
_SEPARATORS = re.compile(r"[\s\-－—()（）+]")


# ───────────────────────────── the raw values, from the files before import ─────────────────────────────

def _rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() == ".xlsx":
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        out = []
        for ws in wb.worksheets:
            out += [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
        return out
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    return [row for row in csv.reader(io.StringIO(text))]


@dataclass
class Raw:
    names: set[str] = field(default_factory=set)  # submitters' names, as exported
    numbers: set[str] = field(default_factory=set)  # digits only, separators removed
    dropped_names: set[str] = field(default_factory=set)  # public or ordinary words (see the docstring)


def _numbers_in(text: str) -> set[str]:
    out = set()
    for marker, pattern in privacy._PATTERNS:
        if marker in ("[手机号]", "[电话]", "[身份证号]", "[银行卡号]"):
            for m in pattern.finditer(text.translate(privacy._FULLWIDTH)):
                digits = _SEPARATORS.sub("", m.group())
                if len(digits) >= 7:
                    out.add(digits)
    return out


def raw_values(export_dir: Path) -> Raw:
    contract = load_contract()
    header_map = contract.header_map("opinions")
    raw = Raw()
    for path in sorted(export_dir.iterdir()):
        rows = _rows(path)
        header_at = next((i for i, r in enumerate(rows[:10])
                          if sum(norm_header(c) in header_map for c in r) >= 5), None)
        if header_at is None or "opinion_id" not in {header_map.get(norm_header(c)) for c in rows[header_at]}:
            continue  # not an opinions export
        fields = [header_map.get(norm_header(c)) for c in rows[header_at]]
        for r in rows[header_at + 1:]:
            for f, v in zip(fields, r):
                v = (v or "").strip()
                if not v:
                    continue
                if f == "submitter" and not v.startswith(("合计", "总计")):
                    raw.names.add(v)
                elif f == "phone":
                    digits = _SEPARATORS.sub("", v)
                    if len(digits) >= 7:
                        raw.numbers.add(digits)
                elif f in ("title", "content"):
                    raw.numbers |= _numbers_in(v)
    return raw


# ───────────────────────────── collecting what the app shows ─────────────────────────────

class Downloads:
    """Every file a download button would hand out during a run (deferred ones generated after it)."""

    def __init__(self):
        self.items: list[tuple[str, object]] = []
        self.seen: set[str] = set()  # a file generated once is not generated again on every rerun

    def install(self, monkeypatch) -> None:
        real_add, real_deferred = MediaFileManager.add, MediaFileManager.add_deferred
        items = self.items

        def add(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
            if is_for_static_download:
                items.append((file_name or "?", path_or_data))
            return real_add(self, path_or_data, mimetype, coordinates, file_name, is_for_static_download)

        def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
            items.append((file_name or "?", data_callable))
            return real_deferred(self, data_callable, mimetype, coordinates, file_name, **kw)

        monkeypatch.setattr(MediaFileManager, "add", add)
        monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)

    def drain(self) -> list[tuple[str, str]]:
        """(file name, readable text of the file) for everything captured since the last drain."""
        out = []
        for name, data in self.items:
            if name in self.seen:
                continue
            self.seen.add(name)
            if callable(data):
                data = data()
            if isinstance(data, str):
                data = data.encode("utf-8")
            out.append((name, file_text(bytes(data))))
        self.items.clear()
        return out


def file_text(data: bytes) -> str:
    """What a person opening the file would read: the XML of an xlsx/docx, or the decoded text."""
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist()
                             if n.endswith((".xml", ".rels")))
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            pass
    return data.decode("utf-8", "replace")


def _walk(node):
    yield node
    children = getattr(node, "children", None)
    if isinstance(children, dict):
        for c in children.values():
            yield from _walk(c)


def collect(at: AppTest) -> list[str]:
    """Every value of the element tree: protos as UTF-8 text, tables in full, chart specs decoded."""
    out = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if getattr(node, "type", None) == "dataframe":
            lazy = proto.lazy_data if proto.HasField("lazy_data") else None
            df = node.value
            assert lazy is None or not lazy.HasField("row_count") or lazy.row_count <= len(df), \
                "a lazily sent table: only its first page could be checked"
            out.append(df.to_csv(sep="|"))
            out.append("|".join(map(str, df.columns)))
        elif proto is not None and hasattr(proto, "DESCRIPTOR"):
            text = text_format.MessageToString(proto, as_utf8=True)
            out.append(text)
            if getattr(node, "type", None) == "plotly_chart":
                spec = proto.spec
                if spec:
                    out.append(json.dumps(json.loads(spec), ensure_ascii=False))
    return out


def leaks(blobs: list[str], raw: Raw) -> list[str]:
    text = "\n".join(dict.fromkeys(blobs))
    flat = _SEPARATORS.sub("", text)
    found = [f"姓名 {n}" for n in raw.names if n in text]
    found += [f"号码 {d}" for d in raw.numbers if d in flat]
    return sorted(found)


# ───────────────────────────── fixtures ─────────────────────────────

@pytest.fixture(scope="module")
def store(demo_db, tmp_path_factory) -> Path:
    """A copy of the demo store with one candidate in the pool (its evidence holds sample opinions)."""
    from analytics.domain import hotwords as hw

    db = tmp_path_factory.mktemp("privacy") / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db)
    try:
        last = con.execute("SELECT max(submitted_at) FROM opinions").fetchone()[0].date()
        start = last - timedelta(days=90)
        word = str(hw.top_words(con, start, last + timedelta(days=1), top=1)["word"].iloc[0])
        hw.add_candidate(con, [word], start, last + timedelta(days=1), "分析乙", note="隐私测试")
    finally:
        con.close()
    return db


@pytest.fixture(scope="module")
def raw(demo_db, store) -> Raw:
    r = raw_values(demo_db.parent / "demo_exports")
    con = connect(store, read_only=True)
    try:
        reps = {n for (n,) in con.execute("SELECT name FROM reps").fetchall()}
        reps |= {n for (v,) in con.execute("SELECT co_reps FROM suggestions WHERE co_reps IS NOT NULL").fetchall()
                 for n in re.split(r"[、,，;；\s]+", v) if n}
        stored_text = "\n".join(t or "" for (t,) in con.execute(
            "SELECT concat_ws(' ', title, content) FROM opinions UNION ALL "
            "SELECT concat_ws(' ', title, content) FROM suggestions UNION ALL "
            "SELECT concat_ws(' ', topic, participants) FROM activities UNION ALL "
            "SELECT concat_ws(' ', name, parent) FROM units").fetchall())
    finally:
        con.close()
    public = "\n".join(reps) + "\n" + stored_text  # 朱文 is inside the representative 朱文华's name
    r.dropped_names = {n for n in r.names if n in public or len(n) < 2}
    r.names -= r.dropped_names
    return r


@pytest.fixture()
def users(tmp_path, monkeypatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2 ** 10)
    monkeypatch.setattr(auth, "SCRYPT_P", 1)
    monkeypatch.setenv("COCKPIT_USERS", str(tmp_path / "users.toml"))
    monkeypatch.setenv("COCKPIT_SECURITY", str(tmp_path / "security.toml"))
    for role, name in ROLE_USERS.items():
        auth.add_user(name, role, PASSWORD)


@pytest.fixture()
def downloads(monkeypatch) -> Downloads:
    d = Downloads()
    d.install(monkeypatch)
    return d


def test_the_raw_values_are_real(raw):
    """The check below is only as good as this list: the demo set does hold such data."""
    assert len(raw.names) >= 100, len(raw.names)
    assert len(raw.dropped_names) < len(raw.names) / 2, (len(raw.dropped_names), len(raw.names))
    mobiles = {n for n in raw.numbers if re.fullmatch(r"(86)?1[3-9]\d{9}", n)}
    ids = {n for n in raw.numbers if re.fullmatch(r"\d{17}[\dXx]", n)}
    assert len(mobiles) >= 50 and len(ids) >= 5, (len(mobiles), len(ids))


# ───────────────────────────── pages, as every role ─────────────────────────────

def _app(db: Path, monkeypatch, url_path: str | None = None, **query) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=120)
    if url_path:
        at._page_hash = calc_hash(url_path)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def _login(at: AppTest, name: str) -> AppTest:
    at.run()
    at.text_input[0].input(name)
    at.text_input[1].input(PASSWORD)
    return at.button[-1].click().run()


def _open(at: AppTest, url_path: str, **query) -> AppTest:
    at._page_hash = calc_hash(url_path)
    at.query_params.clear()
    at.query_params.update(query)
    return at.run()


class _ByLabel(Selectbox):
    """A selectbox whose next state is the option's label, as the browser sends it. (AppTest's own
    select_index stores the label as the value and then formats it again, which breaks whenever
    format_func is not the identity.)"""

    @property
    def _widget_state(self) -> WidgetState:
        ws = WidgetState()
        ws.id = self.id
        ws.string_value = self._label
        return ws


def _choose(box: Selectbox, i: int) -> None:
    label = box.options[i]
    box.__class__ = _ByLabel
    box._label = label
    box._value = label  # marks the widget as changed


def _gather(at: AppTest, where: str, blobs: list[str], downloads: Downloads, tried: list[str]) -> None:
    blobs += collect(at)
    for name, text in downloads.drain():
        blobs.append(text)
        tried.append(f"{where}:⇩{name}")


def _explore(at: AppTest, url_path: str, blobs: list[str], downloads: Downloads, tried: list[str]) -> None:
    """Set every keyed choice widget of the main area to its first options, select a row of every
    selectable table; collect after each run."""
    # Selectboxes by index (AppTest sees only the formatted labels of options); the other choice
    # widgets of the pages (segmented controls) pick views whose tables are all drawn in tabs anyway.
    widgets = [(w.key, min(len(w.options), OPTIONS_TRIED)) for w in at.main.selectbox if w.key]
    for key, n in widgets:
        for i in range(n):
            try:
                _choose(at.main.selectbox(key=key), i)
            except (KeyError, IndexError):
                break  # the widget is gone after an earlier choice
            at.run()
            assert not at.exception, (url_path, key, i, at.exception)
            tried.append(f"{url_path}:{key}#{i}")
            _gather(at, url_path, blobs, downloads, tried)
    for df in list(at.dataframe):
        if df.key and df.proto.selection_mode:
            at.session_state[df.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
            at.run()
            assert not at.exception, (url_path, df.key, at.exception)
            tried.append(f"{url_path}:{df.key}[0]")
            _gather(at, url_path, blobs, downloads, tried)


def _drilldowns(store: Path) -> dict[str, dict]:
    from analytics.domain import hotwords as hw

    con = connect(store, read_only=True)
    try:
        sid = con.execute("SELECT suggestion_id FROM suggestions ORDER BY submitted_at DESC LIMIT 1").fetchone()[0]
        rep = con.execute("SELECT rep_id FROM reps ORDER BY rep_id LIMIT 1").fetchone()[0]
        last = con.execute("SELECT max(submitted_at) FROM opinions").fetchone()[0]
        words = hw.top_words(con, last.date().replace(day=1), last.date() + timedelta(days=1), top=3)
    finally:
        con.close()
    word = str(words["word"].iloc[0]) if len(words) else "停车"
    return {"hotwords": {"word": word}, "suggestions": {"suggestion": sid}, "reps": {"rep": rep}}


@pytest.mark.parametrize("role", [None, *ROLE_USERS], ids=["演示模式", *ROLE_USERS])
def test_no_personal_data_on_any_page(store, raw, monkeypatch, tmp_path, downloads, role, request):
    if role is not None:
        request.getfixturevalue("users")
    else:
        monkeypatch.setenv("COCKPIT_USERS", str(tmp_path / "none.toml"))
    at = _app(store, monkeypatch)
    if role is not None:
        _login(at, ROLE_USERS[role])
    else:
        at.run()
    drill = _drilldowns(store)
    found, tried = {}, []
    for page in labels.PAGES:
        if role is not None and not auth.can_open(role, page.url_path):
            continue
        blobs: list[str] = []
        _open(at, page.url_path)
        assert not at.exception, (page.url_path, at.exception)
        assert [t.value for t in at.title][:1] == [page.title], page.url_path
        _gather(at, page.url_path, blobs, downloads, tried)
        if role == auth.ROLE_ADMIN:  # one role explores every page in depth (masking is not per role)
            if page.url_path in drill:  # the drill-down, then its widgets
                _open(at, page.url_path, **drill[page.url_path])
                assert not at.exception, (page.url_path, at.exception)
                _gather(at, f"{page.url_path}?{next(iter(drill[page.url_path]))}", blobs, downloads, tried)
            _explore(at, page.url_path, blobs, downloads, tried)
        bad = leaks(blobs, raw)
        if bad:
            found[page.url_path] = bad[:10]
    print(f"{role or '演示模式'}: {len(tried)} views and files checked:", ", ".join(tried))
    assert not found, f"个人信息出现在页面上：{found}"
    # The downloads reachable for the role were really generated and read.
    downloaded = {t.split(":")[0].split("?")[0] for t in tried if "⇩" in t}
    expected = {"reps"} | ({"ranking"} if role != auth.ROLE_CHAIR else set())
    if role == auth.ROLE_ADMIN:
        expected |= {"hotwords", "candidates", "users"}
    assert expected <= downloaded, (expected - downloaded, tried)


def test_the_collector_would_see_a_leak(store, raw, monkeypatch, tmp_path, downloads):
    """Canary: with the submitter's masking switched off, the same collection finds the names."""
    from analytics.domain import alerts
    from analytics.domain import hotwords
    from analytics.domain import indices

    for module in (alerts, indices, hotwords):
        monkeypatch.setattr(module, "mask_name", lambda n: n)
    monkeypatch.setenv("COCKPIT_USERS", str(tmp_path / "none.toml"))
    st.cache_data.clear()  # the pages' caches hold masked results of the runs above
    try:
        at = _app(store, monkeypatch, "hotwords", word=_drilldowns(store)["hotwords"]["word"]).run()
        at2 = _app(store, monkeypatch, "cockpit").run()
        blobs = collect(at) + collect(at2) + [t for _, t in downloads.drain()]
    finally:
        st.cache_data.clear()  # and must not keep these unmasked ones
    assert any(x.startswith("姓名") for x in leaks(blobs, raw))


# ───────────────────────────── the command line, report files, hot words ─────────────────────────────

CLI = [
    ["summary", "--json"], ["indices", "--json"], ["indices", "--json", "--level", "station"],
    ["rank", "--json"], ["points", "--json"], ["hotwords", "--json", "--top", "500"],
    ["hotwords", "--json", "--rising"], ["suggestions", "--json"], ["reps", "--json"], ["batches", "--json"],
]


def _cli(*args: str) -> str:
    """``python -m analytics …`` in this process (the same entry point, without a new interpreter each)."""
    from analytics.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    assert code == 0, (args, err.getvalue())
    return out.getvalue()


def test_no_personal_data_in_command_output_reports_or_hot_words(store, raw, tmp_path):
    blobs = []
    for args in CLI:
        text = _cli(*args, "--db", str(store))
        json.loads(text)
        blobs.append(text)
    _cli("report", "--out", str(tmp_path / "report"), "--db", str(store))
    files = list((tmp_path / "report").iterdir())
    assert {p.suffix for p in files} >= {".docx", ".xlsx"}
    blobs += [file_text(p.read_bytes()) for p in files]
    # Every word the segmenter ever kept (any dictionary version), not only the top ones.
    con = connect(store, read_only=True)
    try:
        blobs.append("\n".join(w for (w,) in con.execute("SELECT word FROM words").fetchall()))
    finally:
        con.close()
    assert not leaks(blobs, raw), leaks(blobs, raw)[:20]


def _tables_as_text(con) -> list[str]:
    tables = [t for (t,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall()]
    assert "opinions" in tables and "rejected_rows" in tables and "row_history" in tables
    return [con.execute(f"SELECT * FROM {t}").df().to_csv(sep="|") for t in tables]  # names from the catalog


def test_no_personal_data_in_a_parquet_export(store, raw, tmp_path):
    """A dataset leaves the DuckDB file: submitters' names masked, rejected rows' cells and before-images
    masked; the export is in the audit log. The store itself does hold the raw names (the check can fail)."""
    from analytics.store import audit

    con = connect(store, read_only=True)
    try:
        assert leaks(_tables_as_text(con), raw)  # raw names are kept in the store (admin look-up)
    finally:
        con.close()
    out = tmp_path / "dataset"
    _cli("export", "--parquet", str(out), "--db", str(store))
    con = connect(out, read_only=True)
    try:
        blobs = _tables_as_text(con)
        masked = con.execute("SELECT count(*) FROM opinions WHERE submitter LIKE '_%*'").fetchone()[0]
    finally:
        con.close()
    assert masked > 0
    assert not leaks(blobs, raw), leaks(blobs, raw)[:20]
    [e] = audit.read_at(store, actions=["export"], text=str(out)).to_dict("records")
    assert json.loads(e["detail"])["rows"]["opinions"] > 0


def test_rejected_rows_are_shown_masked():
    """A rejected row never reached the import's masking: the data page masks its cells when shown."""
    from analytics.ingest import profiles as admin

    raw = json.dumps({"反映人": "张三丰", "联系电话": "138 1234 5678", "内容": "身份证330102199001011234，电话0571-82712345",
                      "编号": "A-1"}, ensure_ascii=False)
    text = admin._raw_text(raw, {"反映人"})
    assert text == "反映人=张**；联系电话=[手机号]；内容=身份证[身份证号]，电话[电话]；编号=A-1"
