"""What every page shares: the store (first-start bootstrap, cached reads), the demo banner, and the
sidebar that picks the period and the town, kept in the URL (?period=2024Q2&town=瓜沥镇).

Pages call ``selection()`` for the current choice and the cached readers below for data; all numbers
come from ``analytics``. Nothing here computes a figure.

Why no long-lived connection: a DuckDB file opened read-only by the app holds a shared lock, and the
command-line importer (a writer in another process) then cannot open it at all. So a read-only
connection is opened only on a cache miss and closed at once; cached results are keyed by the data
version, which is itself cached by the file's stamp (size and mtime of the file and its WAL), so a
warm page run touches the file system with two ``stat`` calls and nothing else.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import streamlit as st

from analytics.services import bootstrap
from analytics.core import labels
from analytics.domain import metrics
from analytics.core.contract import load_contract
from analytics.core.periods import GRAINS, Period, PeriodError, parse_period, period_of
from analytics.store.db import (StoreError, batches_version, clear_leftovers, close_reader, data_version, default_db_path, open_reader,
                             table_counts)

# A writer (an import) may hold the file for a moment: retry this often before saying so.
_OPEN_RETRIES, _OPEN_PAUSE_S = 5, 0.3
_SELECTION_KEY = "_selection"  # session_state: the Selection of the current run
_REMEMBERED_KEY = "_remembered"  # session_state: (period code, town) last chosen in this session

# Stores made ready in this process (bootstrap checked once per process and store file).
_READY: set[str] = set()
_READY_LOCK = threading.Lock()


@dataclass(frozen=True)
class Selection:
    """What the sidebar chose, and which store and data version the page reads."""
    db: str
    version: str
    is_demo: bool
    period: Period | None  # None: the store has no dated data yet
    town: str | None  # None = 全区
    batches: str = ""  # changes with every import batch, also one that changed no data (数据管理's lists)

    @property
    def scope(self) -> str:
        return self.town or labels.DISTRICT


# ───────────────────────────── store access ─────────────────────────────

def db_path() -> Path:
    """``COCKPIT_DB`` or ``data/cockpit.duckdb`` (``streamlit run`` takes no ``--db``)."""
    return default_db_path().resolve()


def _stamp(db: Path) -> tuple:
    """Changes whenever the store file or its write-ahead log changes."""
    out = []
    for p in (db, db.with_name(db.name + ".wal")):
        try:
            s = p.stat()
            out.append((s.st_size, s.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


@contextmanager
def read_store(db: str):
    """A short-lived read-only connection (see the module docstring for why), from
    ``store.open_reader``: it waits while the store is written in place or has just been swapped by
    an import (docs/data-management.md); only a store busy past ``store.READ_WAIT_S`` is said so."""
    try:
        con = open_reader(db)
    except (StoreError, duckdb.Error):
        st.error(labels.STORE_BUSY)
        st.stop()
    try:
        yield con
    finally:
        close_reader(db, con)


@st.cache_data(show_spinner=False, max_entries=8)
def _store_info(db: str, stamp: tuple) -> dict:
    """Data version, demo flag and the periods that hold data, per grain."""
    with read_store(db) as con:
        return {
            "version": data_version(con),
            "batches": batches_version(con),
            "demo": bootstrap.is_demo(con),
            "periods": {g: [p.code for p in metrics.periods_with_data(con, g)] for g in GRAINS},
        }


@st.cache_data(show_spinner=False, max_entries=512)
def headline(db: str, version: str, period: str, town: str | None) -> list[metrics.Headline]:
    with read_store(db) as con:
        return metrics.headline(con, parse_period(period), town)


@st.cache_data(show_spinner=False, max_entries=256)
def unlocated_opinions(db: str, version: str, period: str) -> int:
    with read_store(db) as con:
        return metrics.unlocated_opinions(con, parse_period(period))


@st.cache_data(show_spinner=False, max_entries=256)
def opinions_by_month(db: str, version: str, period: str, town: str | None):
    with read_store(db) as con:
        return metrics.opinions_by_month(con, parse_period(period), town)


@st.cache_data(show_spinner=False, max_entries=8)
def store_counts(db: str, version: str) -> dict[str, int]:
    with read_store(db) as con:
        return table_counts(con)


# ───────────────────────────── first start ─────────────────────────────

class _BootstrapJob:
    """``ensure_store`` running in a thread of its own, not in a session's script thread: a session
    that reruns or closes its tab mid-way (Streamlit then raises in the script thread) must not cut
    an import in half. Every session that arrives meanwhile watches the same job."""

    def __init__(self, db: Path):
        self.message, self.fraction = "正在检查数据库…", 0.0
        self.result: dict | None = None
        self.error: Exception | None = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(db,), name="cockpit-bootstrap", daemon=True)

    def _progress(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(float(fraction), 0.0), 1.0)

    def _run(self, db: Path) -> None:
        try:
            self.result = bootstrap.ensure_store(db, self._progress)
        except Exception as exc:  # shown to every waiting session, then retried on the next start
            self.error = exc
        finally:
            self.done.set()


_JOBS: dict[str, _BootstrapJob] = {}
_POLL_S = 0.25


def _ensure_ready(db: Path) -> None:
    """Once per process and store: a missing or empty store is filled with the demo data while the
    page shows a progress bar; a store with data costs one quick read-only look."""
    key = str(db)
    if key in _READY and db.exists():
        return
    if bootstrap.store_ready(db):
        clear_leftovers(db)  # once per process and store: what a killed import left behind
        with _READY_LOCK:
            _READY.add(key)
        return
    with _READY_LOCK:
        job = _JOBS.get(key)
        if job is None:
            job = _JOBS[key] = _BootstrapJob(db)
            job.thread.start()
    with st.status(labels.BOOTSTRAP_TITLE, expanded=True) as status:
        bar = st.progress(job.fraction, text=job.message)
        while not job.done.wait(_POLL_S):
            bar.progress(job.fraction, text=f"{job.message}（{job.fraction:.0%}）")
        with _READY_LOCK:
            if _JOBS.get(key) is job:
                del _JOBS[key]  # finished: a failure is retried by the next start
            if job.error is None:
                _READY.add(key)
        if job.error is not None:
            status.update(label="数据准备失败", state="error", expanded=True)
            st.error(str(job.error))
            st.stop()
        result = job.result or {}
        if result.get("action") == "demo":
            label = f"{labels.BOOTSTRAP_DONE}：导入 {result['rows']:,} 行，用时 {result['seconds']:.0f} 秒"
        else:  # another process filled it meanwhile
            label = labels.BOOTSTRAP_DONE
        bar.progress(1.0, text=label)
        status.update(label=label, state="complete", expanded=False)


# ───────────────────────────── the sidebar and the URL ─────────────────────────────

def _town_options() -> list[str]:
    return [labels.DISTRICT, *load_contract().towns]


def _parse_town(value: str | None) -> tuple[str | None, bool]:
    """(canonical town or None for 全区, ok)."""
    if value is None or value.strip() in ("", labels.DISTRICT, labels.DISTRICT_NAME):
        return None, True
    town = load_contract().lookup("town", value)
    return town, town is not None


def _convert(period: Period, grain: str, available: list[str]) -> str | None:
    """The period of another grain that best matches ``period``: the one containing it (coarser
    grain), else the latest one with data inside it (finer grain), else the latest with data."""
    if not available:
        return None
    if GRAINS.index(grain) <= GRAINS.index(period.grain):  # year < quarter < month
        containing = period_of(period.start, grain).code
        return containing if containing in available else available[0]
    inside = [c for c in available if period.start <= parse_period(c).start < period.end]
    return inside[0] if inside else available[0]


def _resolve(info: dict) -> tuple[Period | None, str | None, list[str]]:
    """The period and town for this run, from the URL, else from this session's last choice,
    else the defaults (latest quarter with data, 全区). Bad URL values fall back with a warning."""
    warnings: list[str] = []
    qp = st.query_params
    raw_period, raw_town = qp.get("period"), qp.get("town")
    remembered = st.session_state.get(_REMEMBERED_KEY)
    if raw_period is None and raw_town is None and remembered:
        # Page switches drop the query string: carry the session's choice over.
        raw_period, raw_town = remembered
        from_url = False
    else:
        from_url = True

    periods = info["periods"]
    default = periods["quarter"][0] if periods["quarter"] else None
    period: Period | None = None
    if raw_period is not None:
        try:
            p = parse_period(raw_period)
        except PeriodError:
            p = None
        if p is not None and p.code in periods[p.grain]:
            period = p
        elif from_url and default:
            warnings.append(labels.BAD_PERIOD.format(value=raw_period, fallback=parse_period(default).label))
    if period is None and default:
        period = parse_period(default)

    town, ok = _parse_town(raw_town)
    if not ok and from_url:
        warnings.append(labels.BAD_TOWN.format(value=raw_town))
    return period, town, warnings


def _write_url(period: Period | None, town: str | None) -> None:
    """Put the choice in the URL; other query parameters (a page's own) are left alone."""
    want = {"period": period.code if period else None, "town": town}
    for key, value in want.items():
        if value is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != value:
            st.query_params[key] = value
    st.session_state[_REMEMBERED_KEY] = (want["period"], want["town"])


def _on_grain_change() -> None:
    info = st.session_state["_info"]
    grain = st.session_state["w_grain"]
    current = st.session_state.get("w_period")
    if current:
        new = _convert(parse_period(current), grain, info["periods"][grain])
        if new:
            st.query_params["period"] = new


def _on_period_change() -> None:
    st.query_params["period"] = st.session_state["w_period"]


def _on_town_change() -> None:
    town = st.session_state["w_town"]
    if town == labels.DISTRICT:
        if "town" in st.query_params:
            del st.query_params["town"]
    else:
        st.query_params["town"] = town


def _sidebar(info: dict, period: Period | None, town: str | None) -> None:
    # The widgets show the resolved choice; their callbacks write the URL, which the next run reads.
    st.session_state["_info"] = info
    with st.sidebar:
        if period is not None:
            st.session_state["w_grain"] = period.grain
            st.session_state["w_period"] = period.code
            st.segmented_control(labels.SIDEBAR_GRAIN, GRAINS, key="w_grain",
                                 format_func=labels.GRAIN_LABELS.get, on_change=_on_grain_change,
                                 required=True)
            st.selectbox(labels.SIDEBAR_PERIOD, info["periods"][period.grain], key="w_period",
                         format_func=lambda code: parse_period(code).label, on_change=_on_period_change)
        st.session_state["w_town"] = town or labels.DISTRICT
        st.selectbox(labels.SIDEBAR_TOWN, _town_options(), key="w_town", on_change=_on_town_change)


def shell() -> Selection:
    """Run before every page: ready the store, draw the banner and the sidebar, resolve the choice."""
    db = db_path()
    _ensure_ready(db)
    info = _store_info(str(db), _stamp(db))
    period, town, warnings = _resolve(info)
    _write_url(period, town)
    if info["demo"]:
        st.info(labels.DEMO_BANNER, icon=":material/science:")
    for w in warnings:
        st.warning(w, icon=":material/link_off:")
    _sidebar(info, period, town)
    sel = Selection(str(db), info["version"], info["demo"], period, town, info["batches"])
    st.session_state[_SELECTION_KEY] = sel
    return sel


def selection() -> Selection:
    """The choice made by ``shell()`` in this run (pages call this)."""
    return st.session_state[_SELECTION_KEY]


SCREEN_PARAM = "screen"  # ?screen=1 opens the cockpit's big-screen mode (pages/cockpit.py)


def screen_requested() -> bool:
    """The URL asks for the big screen (``?screen=1``)."""
    return st.query_params.get(SCREEN_PARAM) in ("1", "true", "yes")


def data_version_now(db: str) -> str:
    """The store's data version at this moment. A fragment that reruns on its own (the cockpit's
    big screen) compares it with ``selection().version`` to notice an import made since."""
    return _store_info(db, _stamp(Path(db)))["version"]


def available_periods(grain: str) -> list[str]:
    """Codes of the periods of the grain that hold data in this run's store, latest first."""
    return list(st.session_state["_info"]["periods"][grain])


# ───────────────────────────── page furniture ─────────────────────────────

def page_header(url_path: str, with_scope: bool = True) -> None:
    page = labels.PAGE_BY_PATH[url_path]
    st.title(page.title)
    sel = selection()
    if with_scope and sel.period is not None:
        st.caption(f"{sel.scope} · {sel.period.label}")




# ───────────────────────────── charts in Chinese ─────────────────────────────

# A date axis with Chinese ticks (plotly's own say "Jan 2024"): 2024年1月, and the day in hovers.
DATE_AXIS = dict(tickformat="%Y年%-m月", hoverformat="%Y年%-m月%-d日")
DAY_AXIS = dict(tickformat="%-m月%-d日<br>%Y年", hoverformat="%Y年%-m月%-d日")


def month_ticks(codes) -> dict:
    """A category x-axis for month codes (2024-05): '5月', with the year under the first month and
    under January."""
    codes = list(codes)
    text = [f"{int(c[5:])}月<br>{c[:4]}年" if i == 0 or c.endswith("-01") else f"{int(c[5:])}月"
            for i, c in enumerate(codes)]
    return dict(type="category", tickmode="array", tickvals=codes, ticktext=text, tickangle=0)


# Streamlit's file uploader writes its button ("Upload") and its limits ("100MB per file • XLSX,
# CSV") in English and has no parameter for them: the words are replaced in CSS, for the uploader
# inside a container with this key (the texts stay in the DOM for screen readers).
UPLOADER_KEY = "zh_uploader"


def chinese_uploader(max_mb: float, types: list[str]) -> None:
    """CSS that shows the uploader's button and limits in Chinese; draw the uploader inside
    ``st.container(key=UPLOADER_KEY)``."""
    limit = f"单个文件不超过 {max_mb:,.0f} MB · 可选 {'、'.join(t.upper() for t in types)}"
    zone = f".st-key-{UPLOADER_KEY} [data-testid=stFileUploaderDropzone]"
    st.html(f"""<style>
{zone} button [data-testid=stMarkdownContainer] p {{ font-size: 0; }}
{zone} button [data-testid=stMarkdownContainer] p::after {{ content: "选择文件"; font-size: 0.875rem; }}
{zone} [data-testid=stFileUploaderDropzoneInstructions] span {{ font-size: 0; }}
{zone} [data-testid=stFileUploaderDropzoneInstructions] span::after {{ content: "{limit}"; font-size: 0.875rem; }}
</style>""")


MISSING = "—"  # what a table shows for a missing value (Streamlit's own default is "None")


def dataframe(data, **kwargs):
    """``st.dataframe`` as every page uses it: a missing value shows as "—", never "None"."""
    kwargs.setdefault("placeholder", MISSING)
    return st.dataframe(data, **kwargs)


def data_editor(data, **kwargs):
    """``st.data_editor`` with the same "—" for a missing value."""
    kwargs.setdefault("placeholder", MISSING)
    return st.data_editor(data, **kwargs)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
