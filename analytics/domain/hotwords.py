"""Hot words: word counts stored at import, hot-word queries, rising words, and the candidate pool.

What is stored (schema migration 2 in ``analytics/store/db.py``; the full story in ``docs/hotwords.md``):

- ``dict_versions``: every dictionary (user dictionary + stopwords, their full text and sha256) that
  was ever used; one is active. Version 1 is made from ``data/userdict.txt`` and ``data/stopwords.txt``.
- ``opinion_seg``: one row per opinion segmented with a version (its ``row_hash`` at the time, a
  ``doc_id``, and the filter columns day/town/station/channel/category copied from the opinion).
- ``opinion_words``: ``(dict_version, doc_id, word_id, cnt)`` plus the same filter columns, so a
  hot-word query is a single scan-and-group with no join; ``words`` maps word ids to words.
- ``candidates`` / ``candidate_events``: the supervision candidate pool and its history.

Segmentation happens at import (``segment_pending``) and when the dictionary changes
(``set_dictionary``); no query ever segments text, except ``new_word_proposals`` (a dictionary tool
an analyst runs on demand over a sample). Words of older dictionary versions are kept: a hot-word
list is reproduced with ``top_words(..., dict_version=N)`` exactly as it was computed then (opinions
changed since keep their old words in old versions; opinions removed by an undo leave every version).

All dates are half-open ranges ``start <= day < end`` (``periods.Period.start/.end``). All SQL values
are bound parameters; the only identifiers put into SQL come from ``FILTER_COLUMNS``.
"""
from __future__ import annotations

from contextlib import contextmanager
import json
import math
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Callable, Iterable, Sequence

import duckdb
import numpy as np
import pandas as pd

from analytics.text import segment as textseg
from analytics.core.privacy import mask_name, mask_text
from analytics.core.labels import UNLOCATED

Progress = Callable[[str, float], None]

FILTER_COLUMNS = ("town", "station", "channel", "category")
SYSTEM_USER = "系统"
DEFAULT_WINDOW_DAYS = 90  # the CLI without dates: the latest 90 days with data
SEG_BATCH = 5_000  # opinions fetched, cut and inserted at a time by segment_pending (small: the next batch is cut while one is stored)
BACKGROUND_BATCH = 4_000  # per short write transaction when re-segmenting beside a running app
EXCERPT_CHARS = 60  # characters either side of a word in a sample excerpt

# The candidate pool's workflow. A status change is recorded with who, when and a note.
STATUSES = ("候选", "已列入监督计划", "已办结", "不予采纳")
TRANSITIONS = {
    "候选": ("已列入监督计划", "不予采纳"),
    "已列入监督计划": ("已办结", "不予采纳", "候选"),
    "不予采纳": ("候选",),
    "已办结": ("已列入监督计划",),
}
RESOLVED_STATUS = "已办结"  # opinions with this status count as resolved in the candidate score


class HotwordsError(ValueError):
    """A request cannot be answered (no dictionary, unknown candidate, bad status…); Chinese message."""


# ───────────────────────────── small helpers ─────────────────────────────

def as_date(value) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, pd.Timestamp):
        return value.date()
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError as exc:
        raise HotwordsError(f"无法识别的日期“{value}”：请写成 2024-04-01") from exc


def _filters(filters: dict, alias: str = "") -> tuple[str, list]:
    """`` AND town = ? …`` for the given filter values (None/'' = no filter)."""
    unknown = set(filters) - set(FILTER_COLUMNS)
    if unknown:
        raise TypeError(f"unknown filter {sorted(unknown)}")
    sql, params = [], []
    for col in FILTER_COLUMNS:  # identifiers only from this fixed list
        value = filters.get(col)
        if value:
            sql.append(f" AND {alias}{col} = ?")
            params.append(str(value))
    return "".join(sql), params


def _df(cur, sql: str, params: Sequence = ()) -> pd.DataFrame:
    return cur.execute(sql, list(params)).df()


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def split_words(words) -> list[str]:
    if isinstance(words, str):
        words = re.split(r"[\s,，、;；]+", words)
    out = []
    for w in words:
        w = str(w).strip()
        if w and w not in out:
            out.append(w)
    return out


# ───────────────────────────── dictionary versions ─────────────────────────────

def active_version(con) -> int | None:
    row = con.execute("SELECT max(version) FROM dict_versions WHERE active").fetchone()
    return row[0] if row else None


def _resolve_version(con, dict_version: int | None) -> int:
    v = dict_version if dict_version is not None else active_version(con)
    if v is None:
        raise HotwordsError("还没有分词词典版本：请先导入民情民意数据（导入时自动分词）。")
    return int(v)


def dictionary_texts(con, version: int | None = None) -> tuple[str, str]:
    """(user dictionary text, stopwords text) of a version (the active one by default)."""
    v = _resolve_version(con, version)
    row = con.execute("SELECT userdict, stopwords FROM dict_versions WHERE version = ?", [v]).fetchone()
    if row is None:
        raise HotwordsError(f"词典版本 {v} 不存在。")
    return row[0], row[1]


def dictionary_versions(con) -> pd.DataFrame:
    """Every version with its state, who made it and how many opinions it has segmented."""
    return _df(con, """
        SELECT v.version, v.created_at, v.created_by, v.note, v.state, v.active, v.activated_at,
               v.userdict_sha, v.stopwords_sha,
               (SELECT count(*) FROM opinion_seg s WHERE s.dict_version = v.version) AS opinions
        FROM dict_versions v ORDER BY v.version DESC""")


def segmenter_for(con, version: int | None = None) -> textseg.Segmenter:
    userdict, stopwords = dictionary_texts(con, version)
    return textseg.get_segmenter(userdict, stopwords)


def _create_version(con, userdict: str, stopwords: str, user: str, note: str | None,
                    active: bool) -> tuple[int, bool]:
    """(version, created): an existing version with the same texts is reused, not duplicated."""
    textseg.parse_userdict(userdict)  # raise DictionaryError with the line before storing anything
    textseg.parse_stopwords(stopwords)
    ush, ssh = textseg.text_sha(userdict), textseg.text_sha(stopwords)
    row = con.execute(
        "SELECT version FROM dict_versions WHERE userdict_sha = ? AND stopwords_sha = ? ORDER BY version DESC",
        [ush, ssh]).fetchone()
    if row:
        return row[0], False
    v = con.execute("SELECT coalesce(max(version), 0) + 1 FROM dict_versions").fetchone()[0]
    now = _now()
    con.execute(
        "INSERT INTO dict_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [v, now, user, note, ush, ssh, userdict, stopwords, "ready" if active else "building",
         active, now if active else None])
    return v, True


def ensure_dictionary(con, user: str = SYSTEM_USER) -> int:
    """The active version; version 1 is made from the files in ``data/`` when there is none."""
    v = active_version(con)
    if v is None:
        v, _ = _create_version(con, textseg.read_userdict_file(), textseg.read_stopwords_file(),
                               user, "初始词典（data/userdict.txt、data/stopwords.txt）", active=True)
        con.execute("UPDATE dict_versions SET active = (version = ?), state = 'ready' WHERE version = ?", [v, v])
    return v


def files_differ_from_active(con) -> bool:
    """The files in ``data/`` were edited since the active version was made (the page offers to apply)."""
    v = active_version(con)
    if v is None:
        return False
    ush, ssh = con.execute(
        "SELECT userdict_sha, stopwords_sha FROM dict_versions WHERE version = ?", [v]).fetchone()
    return (textseg.text_sha(textseg.read_userdict_file()), textseg.text_sha(textseg.read_stopwords_file())) != (ush, ssh)


def write_dictionary_files(userdict: str, stopwords: str) -> None:
    """Write an applied dictionary back to ``data/`` so the files stay the editable source."""
    textseg.USERDICT_PATH.write_text(userdict, encoding="utf-8")
    textseg.STOPWORDS_PATH.write_text(stopwords, encoding="utf-8")


# ───────────────────────────── segmentation ─────────────────────────────

# The columns of an opinion that segmentation reads, in the order _store_batch expects.
_ROW_COLUMNS = """o.opinion_id, o.row_hash, CAST(o.submitted_at AS DATE) AS day, o.town, o.station,
           o.channel, o.category, o.title, o.content"""
_PENDING_SQL = f"""
    SELECT {_ROW_COLUMNS}
    FROM opinions o
    WHERE NOT EXISTS (SELECT 1 FROM opinion_seg s WHERE s.dict_version = ? AND s.opinion_id = o.opinion_id)
"""


def _drop_stale(con, version: int) -> int:
    """Forget words of opinions that changed (this version) or no longer exist (every version)."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _seg_stale AS
        SELECT s.doc_id FROM opinion_seg s LEFT JOIN opinions o ON o.opinion_id = s.opinion_id
        WHERE o.opinion_id IS NULL OR (s.dict_version = ? AND o.row_hash IS DISTINCT FROM s.row_hash)""",
                [version])
    n = con.execute("SELECT count(*) FROM _seg_stale").fetchone()[0]
    if n:
        con.execute("DELETE FROM opinion_words WHERE doc_id IN (SELECT doc_id FROM _seg_stale)")
        con.execute("DELETE FROM opinion_seg WHERE doc_id IN (SELECT doc_id FROM _seg_stale)")
    con.execute("DROP TABLE IF EXISTS _seg_stale")
    return n


def _word_ids(con) -> dict[str, int]:
    return dict(con.execute("SELECT word, word_id FROM words").fetchall())


def _store_batch(con, version: int, rows: list[tuple], counts: textseg.Counts, vocab: dict[str, int]) -> None:
    """Insert the segmentation of a batch of opinions (rows as selected by ``_PENDING_SQL``,
    ``counts`` of their texts in the same order)."""
    if not rows:
        return
    n = len(rows)
    if counts.n_docs != n:
        raise RuntimeError(f"{n} opinions but counts for {counts.n_docs}")
    new_words = [w for w in counts.words if w not in vocab]
    if new_words:
        # fetchall, not fetchone: DuckDB 2 refuses register() while a result is unfinished.
        start = con.execute("SELECT coalesce(max(word_id), 0) + 1 FROM words").fetchall()[0][0]
        ids = range(start, start + len(new_words))
        vocab.update(zip(new_words, ids))
        con.register("_new_words", pd.DataFrame({"word_id": np.arange(start, start + len(new_words), dtype=np.int32),
                                                 "word": new_words}))
        con.execute("INSERT INTO words SELECT word_id, word FROM _new_words")
        con.unregister("_new_words")
    doc_ids = np.asarray([r[0] for r in con.execute("SELECT nextval('doc_seq') FROM range(?)", [n]).fetchall()],
                         dtype=np.int64)
    cols = list(zip(*rows))  # opinion_id, row_hash, day, town, station, channel, category, title, content
    seg = pd.DataFrame({
        "dict_version": np.full(n, version, dtype=np.int32),
        "opinion_id": list(cols[0]),
        "doc_id": doc_ids,
        "row_hash": list(cols[1]),
        "day": list(cols[2]),
        "town": list(cols[3]),
        "station": list(cols[4]),
        "channel": list(cols[5]),
        "category": list(cols[6]),
        "n_chars": np.fromiter((len(r[7] or "") + len(r[8] or "") for r in rows), dtype=np.int32, count=n),
        "n_words": np.bincount(counts.doc, weights=counts.cnt, minlength=n).astype(np.int32),
        "segmented_at": pd.Timestamp(_now()),
    })
    global_ids = np.fromiter((vocab[w] for w in counts.words), dtype=np.int32, count=len(counts.words))
    # Only numbers per word row; the filter columns are joined on in DuckDB (converting hundreds of
    # thousands of Python strings would cost more than cutting the text).
    words = pd.DataFrame({
        "doc_id": doc_ids[counts.doc],
        "word_id": global_ids[counts.word] if len(counts.word) else np.zeros(0, dtype=np.int32),
        "cnt": counts.cnt,
    })
    con.register("_seg_batch", seg)
    con.register("_seg_words", words)
    try:
        con.execute("INSERT INTO opinion_seg SELECT * FROM _seg_batch")
        # Rows arrive in day order, so the table stays roughly sorted by day, which keeps DuckDB's
        # zone maps useful for date-range queries.
        con.execute("""
            INSERT INTO opinion_words
            SELECT ?, w.doc_id, w.word_id, w.cnt, s.day, s.town, s.station, s.channel, s.category
            FROM _seg_words w JOIN _seg_batch s USING (doc_id)""", [version])
    finally:
        con.unregister("_seg_batch")
        con.unregister("_seg_words")


def segment_pending(con, progress: Progress | None = None, version: int | None = None,
                    processes: int | None = None) -> int:
    """Segment every opinion that has no words for the active dictionary version; return how many.

    Call it after upserting opinions, on the same connection (inside your transaction: it opens
    none). First the words of opinions whose ``row_hash`` changed since they were segmented are
    dropped (and those of opinions that no longer exist), so a changed opinion is segmented again and
    an unchanged one never is. Makes dictionary version 1 from the files in ``data/`` if there is
    none. ``progress(message, fraction)`` is told how far it got. Large batches are cut in a process
    pool (``processes``; default: all cores when there are more than ``textseg.POOL_MIN_CHARS``).
    """
    v = ensure_dictionary(con) if version is None else int(version)
    _drop_stale(con, v)
    # The pending opinions are copied once, in date order, with what segmentation reads: fetching
    # each batch by a join with ``opinions`` would read all of its text columns every time.
    con.execute(f"""CREATE OR REPLACE TEMP TABLE _seg_pending AS
                    SELECT row_number() OVER (ORDER BY day, opinion_id) AS rn, *
                    FROM ({_PENDING_SQL}) ORDER BY rn""", [v])
    total, chars = con.execute(
        "SELECT count(*), coalesce(sum(length(coalesce(title, '')) + length(coalesce(content, ''))), 0) "
        "FROM _seg_pending").fetchone()
    if not total:
        con.execute("DROP TABLE IF EXISTS _seg_pending")
        return 0
    userdict, stopwords = dictionary_texts(con, v)
    vocab = _word_ids(con)
    done = 0
    try:
        with textseg.TextCounter(userdict, stopwords, processes=processes, expected_chars=chars) as counter:
            # Batch k+1 is being cut (in the workers) while batch k is stored.
            waiting: tuple[list, textseg.Counted] | None = None
            for lo in [*range(0, total, SEG_BATCH), None]:
                nxt = None
                if lo is not None:
                    rows = con.execute("""
                        SELECT * EXCLUDE (rn) FROM _seg_pending
                        WHERE rn > ? AND rn <= ? ORDER BY rn""", [lo, lo + SEG_BATCH]).fetchall()
                    nxt = (rows, counter.submit([textseg.opinion_text(r[7], r[8]) for r in rows]))
                if waiting is not None:
                    rows_w, counted = waiting
                    _store_batch(con, v, rows_w, counted.result(), vocab)
                    done += len(rows_w)
                    if progress:
                        progress(f"已分词 {done:,} / {total:,} 条意见", done / total)
                waiting = nxt
    finally:
        con.execute("DROP TABLE IF EXISTS _seg_pending")
    return done


def set_dictionary(con, userdict_text: str, stopwords_text: str, user: str, note: str | None = None,
                   progress: Progress | None = None, role: str | None = None) -> int:
    """Make (or reuse) a version for these texts, segment every opinion with it, then activate it.

    Runs on one connection that must not be inside a transaction: the version is committed first,
    then all opinions are segmented and the version activated in one transaction, so readers see
    the previous version until the new one is complete. Texts identical to an existing version
    reuse it (switching back is cheap). Returns the version. For a running app,
    ``set_dictionary_at`` does the same holding the store only for short moments.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        v, _ = _create_version(con, userdict_text, stopwords_text, user, note, active=False)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    con.execute("BEGIN TRANSACTION")
    try:
        segment_pending(con, progress=progress, version=v)
        _activate(con, v, catch_up=False)
        _audit_dictionary(con, v, user, role, note)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    if progress:
        progress("新词典已启用", 1.0)
    return v


def _activate(con, version: int, catch_up: bool = True) -> None:
    """Catch up (opinions imported or changed meanwhile), then make ``version`` the only active one."""
    if catch_up:
        segment_pending(con, version=version, processes=1)
    con.execute("UPDATE dict_versions SET state = 'ready', activated_at = ? WHERE version = ?",
                [_now(), version])
    con.execute("UPDATE dict_versions SET active = (version = ?)", [version])


def _audit_dictionary(con, version: int, user: str, role: str | None, note: str | None,
                      switched_back: bool = False) -> None:
    """The audit record of a dictionary change, in the transaction that activates the version."""
    from analytics.store import audit

    users, stops = con.execute("SELECT userdict, stopwords FROM dict_versions WHERE version = ?", [version]).fetchone()
    audit.record(con, "dictionary", user, role=role, target=f"词典版本 {version}",
                 detail={"version": int(version), "note": note, "switched_back": switched_back,
                         "userdict_lines": len((users or "").splitlines()),
                         "stopword_lines": len((stops or "").splitlines())})


# A running app opens short read-only connections; DuckDB refuses a read-write connection in the same
# process meanwhile (and the other way round), so both sides retry for a moment.
OPEN_RETRIES, OPEN_PAUSE_S = 40, 0.25


def _open(db, read_only: bool):
    from analytics.store.db import StoreError, connect

    for attempt in range(OPEN_RETRIES):
        try:
            return connect(db, read_only=read_only)
        except (StoreError, duckdb.Error):
            if attempt == OPEN_RETRIES - 1:
                raise
            time.sleep(OPEN_PAUSE_S)


@contextmanager
def store_writer(db):
    """A short read-write transaction on a store file that a running app also reads.

    ``store.writing``: the store's writer lock (one writer at a time, across processes; an import
    in progress is waited for), this process's readers held off for the moment, readers elsewhere
    waited for; commits on success and rolls back on error. Use it for every write from a page
    (candidate pool, dictionary) and keep the work inside short.
    """
    from analytics.store import dataset as parquet
    from analytics.store.db import default_db_path, writing

    if parquet.is_dataset(default_db_path(db)):  # a Parquet export is never written: say so at once
        raise HotwordsError(parquet.read_only_message(default_db_path(db)))
    with writing(db, what="热词或备选库的修改") as con:
        yield con


@contextmanager
def store_reader(db):
    """A short read-only connection (``store.reading``: waits while a writer holds the file)."""
    from analytics.store.db import reading

    with reading(db) as con:
        yield con


def segment_pending_at(db, progress: Progress | None = None, batch: int = BACKGROUND_BATCH,
                       user: str = SYSTEM_USER, role: str | None = None) -> int:
    """Segment what is missing in a store a running app reads (e.g. a store imported before the
    importer segmented, or after an interrupted re-segmentation) with the active dictionary (the
    files in ``data/`` if there is none yet), holding the store only for short moments."""
    with store_reader(db) as con:
        texts = dictionary_texts(con) if active_version(con) is not None else None
    if texts is None:
        texts = (textseg.read_userdict_file(), textseg.read_stopwords_file())
    return set_dictionary_at(db, *texts, user=user, note="初始词典（data/ 下的文件）",
                             progress=progress, batch=batch, catch_up=True, role=role)


def set_dictionary_at(db, userdict_text: str, stopwords_text: str, user: str, note: str | None = None,
                      progress: Progress | None = None, batch: int = BACKGROUND_BATCH,
                      catch_up: bool = False, role: str | None = None) -> int:
    """``set_dictionary`` for a store that a running app also reads (call it from a background thread).

    The cutting happens with no connection open; the store is opened read-write only for each short
    insert (a few hundred milliseconds) under ``bootstrap.store_lock``, so the app's short read-only
    connections and the command-line importer get in between the batches.
    """
    def write(fn):
        with store_writer(db) as con:
            return fn(con)

    v = write(lambda con: _create_version(con, userdict_text, stopwords_text, user, note, active=False)[0])
    seg = textseg.get_segmenter(userdict_text, stopwords_text)
    # Opinions are walked in rowid ranges (a range read costs milliseconds, however large the
    # store); what was segmented is remembered here, so nothing is cut twice.
    # Any change to the opinions while this runs (an import, an undo) changes this fingerprint.
    fingerprint = "SELECT count(*), coalesce(sum(hash(opinion_id, row_hash)), 0) FROM opinions"
    with store_reader(db) as con:
        before = con.execute(fingerprint).fetchone()
        max_rowid, total = con.execute("SELECT coalesce(max(rowid), -1), count(*) FROM opinions").fetchone()
        done = {r[0] for r in con.execute(
            "SELECT opinion_id FROM opinion_seg WHERE dict_version = ?", [v]).fetchall()}
    skipped = 0
    for lo in range(0, max_rowid + 1, batch):
        with store_reader(db) as con:
            rows = [r[1:] for r in con.execute(
                f"SELECT o.rowid, {_ROW_COLUMNS} FROM opinions o WHERE o.rowid >= ? AND o.rowid < ?",
                [lo, lo + batch]).fetchall() if r[1] not in done]
        if rows:
            counts = seg.count_arrays([textseg.opinion_text(r[7], r[8]) for r in rows])

            def insert(con, rows=rows, counts=counts, lo=lo):
                # Opinions changed or moved meanwhile are skipped; the catch-up picks them up.
                now = dict(con.execute("SELECT opinion_id, row_hash FROM opinions WHERE rowid >= ? AND rowid < ?",
                                       [lo, lo + batch]).fetchall())
                keep = [i for i, r in enumerate(rows) if r[0] in now and now[r[0]] == r[1]]
                _store_batch(con, v, [rows[i] for i in keep], counts.take(keep), _word_ids(con))
                return [rows[i][0] for i in keep]

            kept = write(insert)
            skipped += len(rows) - len(kept)
            done.update(kept)
        if progress:
            progress(f"词典版本 {v}：已分词 {min(len(done), total):,} / {total:,} 条意见",
                     min(len(done) / total, 1.0) if total else 1.0)
    with store_reader(db) as con:
        changed = con.execute(fingerprint).fetchone() != before or before[0] != len(done)
    # The catch-up (stale and missing opinions) only when something may be missing: at a million
    # opinions it holds the store for a second or two.
    def activate(con):
        _activate(con, v, catch_up=catch_up or changed or skipped > 0)
        _audit_dictionary(con, v, user, role, note)

    write(activate)
    if progress:
        progress("新词典已启用", 1.0)
    return v


def activate_version(con, version: int, user: str = SYSTEM_USER, role: str | None = None) -> None:
    """Switch back to an older version: bring it up to date, then make it the active one."""
    if con.execute("SELECT count(*) FROM dict_versions WHERE version = ?", [version]).fetchone()[0] == 0:
        raise HotwordsError(f"词典版本 {version} 不存在。")
    _activate(con, int(version))
    _audit_dictionary(con, int(version), user, role, None, switched_back=True)


def seg_state(con) -> str:
    """Changes whenever segmentation or the active version changes: a cache key for the pages."""
    row = con.execute("""SELECT (SELECT max(version) FROM dict_versions WHERE active),
                                (SELECT coalesce(max(doc_id), 0) FROM opinion_seg),
                                (SELECT count(*) FROM opinion_seg)""").fetchone()
    return f"{row[0]}-{row[1]}-{row[2]}"


def pending_count(con) -> int:
    """Opinions not yet segmented with the active version (0 after every import)."""
    v = active_version(con)
    if v is None:
        return con.execute("SELECT count(*) FROM opinions").fetchone()[0]
    return con.execute(f"SELECT count(*) FROM ({_PENDING_SQL})", [v]).fetchone()[0]


# ───────────────────────────── periods ─────────────────────────────

def data_range(con, dict_version: int | None = None) -> tuple[date, date] | None:
    """(first day, day after the last day) holding segmented opinions."""
    v = _resolve_version(con, dict_version)
    row = con.execute("SELECT min(day), max(day) FROM opinion_seg WHERE dict_version = ?", [v]).fetchone()
    if row[0] is None:
        return None
    return row[0], row[1] + timedelta(days=1)


def latest_window(con, days: int = DEFAULT_WINDOW_DAYS, dict_version: int | None = None) -> tuple[date, date]:
    """The latest ``days`` days with data: (start, end), end exclusive."""
    rng = data_range(con, dict_version)
    if rng is None:
        raise HotwordsError("还没有已分词的民情民意数据。")
    end = rng[1]
    return end - timedelta(days=days), end


def _previous(start: date, end: date) -> date:
    return start - (end - start)


# ───────────────────────────── hot-word queries ─────────────────────────────

def filter_options(con, town: str | None = None, dict_version: int | None = None) -> dict[str, list[str]]:
    """The stations (of the town, if given), channels and categories that segmented opinions carry."""
    v = _resolve_version(con, dict_version)
    cur = con.cursor()
    out = {}
    for col in ("station", "channel", "category"):  # identifiers from this fixed list
        sql = f"SELECT DISTINCT {col} FROM opinion_seg WHERE dict_version = ? AND {col} IS NOT NULL"
        params: list = [v]
        if town and col == "station":
            sql += " AND town = ?"
            params.append(town)
        out[col] = sorted(r[0] for r in cur.execute(sql, params).fetchall())
    return out


def opinions_in_filter(con, start, end, dict_version: int | None = None, **filters) -> int:
    """Opinions (segmented with the version) in the period and filter: the denominator of share."""
    v = _resolve_version(con, dict_version)
    fsql, fparams = _filters(filters)
    return con.execute(
        f"SELECT count(*) FROM opinion_seg WHERE dict_version = ? AND day >= ? AND day < ?{fsql}",
        [v, as_date(start), as_date(end), *fparams]).fetchone()[0]


def top_words(con, start, end, town: str | None = None, station: str | None = None,
              channel: str | None = None, category: str | None = None, top: int = 50,
              dict_version: int | None = None, prev_start=None) -> pd.DataFrame:
    """The most frequent words of the opinions in a period and filter.

    Columns: ``word``; ``count`` — occurrences; ``docs`` — opinions containing it (the ranking key:
    one long message repeating a word counts once); ``share`` — docs / opinions in the filter;
    ``prev_docs`` — docs in the previous period: of equal length just before ``start``, or
    [``prev_start``, ``start``) when given (a calendar period's previous period);
    ``change`` — docs − prev_docs; ``change_ratio`` — docs / prev_docs − 1 (None when prev_docs = 0).
    Ties are broken by count, then by the word, so the list is the same every time.
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    prev = as_date(prev_start) if prev_start is not None else _previous(start, end)
    fsql, fparams = _filters(dict(town=town, station=station, channel=channel, category=category))
    cur = con.cursor()
    # The period's words first (one scan and group-by), then the previous period for those only.
    df = _df(cur, f"""
        WITH w AS (
            SELECT word_id, count(*) AS docs, sum(cnt) AS count
            FROM opinion_words
            WHERE dict_version = ? AND day >= ? AND day < ?{fsql}
            GROUP BY word_id
        )
        SELECT w.word_id, words.word, w.count, w.docs
        FROM w JOIN words USING (word_id)
        ORDER BY w.docs DESC, w.count DESC, words.word
        LIMIT ?""",
        [v, start, end, *fparams, int(top)])
    ids = [int(i) for i in df["word_id"]] or [-1]
    prev_docs = dict(cur.execute(f"""
        SELECT word_id, count(*) FROM opinion_words
        WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
        GROUP BY word_id""", [v, prev, start, *ids, *fparams]).fetchall())
    n = opinions_in_filter(cur, start, end, v, town=town, station=station, channel=channel, category=category)
    df["count"] = df["count"].astype("int64")
    df["docs"] = df["docs"].astype("int64")
    df["prev_docs"] = [int(prev_docs.get(int(i), 0)) for i in df["word_id"]]
    df["prev_docs"] = df["prev_docs"].astype("int64")
    df["share"] = df["docs"] / n if n else 0.0
    df["change"] = df["docs"] - df["prev_docs"]
    df["change_ratio"] = [d / p - 1 if p else None for d, p in zip(df["docs"], df["prev_docs"])]
    return df[["word", "count", "docs", "share", "prev_docs", "change", "change_ratio"]].reset_index(drop=True)


def _ids(con, words) -> list[int]:
    """Word ids of the words; [-1] (matches nothing) when none is known."""
    words = split_words(words)
    ids = [r[0] for r in con.execute("SELECT word_id FROM words WHERE list_contains(?, word)", [words]).fetchall()] if words else []
    return sorted(ids) or [-1]


def _in(ids: list[int]) -> str:
    """``word_id IN (?, ?, …)``: one placeholder per id (the values stay bound)."""
    return f"word_id IN ({', '.join('?' * len(ids))})"


def _docs(ids: list[int]) -> str:
    """Opinions holding any of the words: a word has one row per opinion, so count(*) for one."""
    return "count(*)" if len(ids) == 1 else "count(DISTINCT doc_id)"


_GRAIN_SQL = {"month": "month", "week": "week", "quarter": "quarter", "year": "year", "day": "day"}


def _buckets(start: date, end: date, grain: str) -> list[date]:
    """Start dates of every bucket of the grain overlapping [start, end)."""
    ts = pd.Timestamp(start)
    if grain == "month":
        first = ts.to_period("M").start_time
        rng = pd.date_range(first, pd.Timestamp(end) - pd.Timedelta(days=1), freq="MS")
    elif grain == "week":
        first = ts - pd.Timedelta(days=ts.weekday())
        rng = pd.date_range(first, pd.Timestamp(end) - pd.Timedelta(days=1), freq="7D")
    elif grain == "quarter":
        first = ts.to_period("Q").start_time
        rng = pd.date_range(first, pd.Timestamp(end) - pd.Timedelta(days=1), freq="QS")
    elif grain == "year":
        first = ts.to_period("Y").start_time
        rng = pd.date_range(first, pd.Timestamp(end) - pd.Timedelta(days=1), freq="YS")
    elif grain == "day":
        rng = pd.date_range(ts, pd.Timestamp(end) - pd.Timedelta(days=1), freq="D")
    else:
        raise HotwordsError(f"不支持的时间粒度：{grain}")
    return [d.date() for d in rng]


def word_trend(con, words, start, end, grain: str = "month", dict_version: int | None = None,
               **filters) -> pd.DataFrame:
    """Per bucket: ``period`` (bucket start), ``docs`` with the word(s), ``total`` opinions, ``share``.

    Several words count an opinion once when it holds any of them. Empty buckets are 0.
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    g = _GRAIN_SQL.get(grain)
    if g is None:
        raise HotwordsError(f"不支持的时间粒度：{grain}")
    fsql, fparams = _filters(filters)
    ids = _ids(con, words)
    cur = con.cursor()
    hit = _df(cur, f"""
        SELECT CAST(date_trunc('{g}', day) AS DATE) AS period, {_docs(ids)} AS docs
        FROM opinion_words
        WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
        GROUP BY 1""", [v, start, end, *ids, *fparams])
    tot = _df(cur, f"""
        SELECT CAST(date_trunc('{g}', day) AS DATE) AS period, count(*) AS total
        FROM opinion_seg WHERE dict_version = ? AND day >= ? AND day < ?{fsql}
        GROUP BY 1""", [v, start, end, *fparams])
    out = pd.DataFrame({"period": _buckets(start, end, grain)})
    for part in (hit, tot):
        part["period"] = pd.to_datetime(part["period"]).dt.date
    out = out.merge(hit, on="period", how="left").merge(tot, on="period", how="left")
    out["docs"] = out["docs"].fillna(0).astype("int64")
    out["total"] = out["total"].fillna(0).astype("int64")
    out["share"] = np.where(out["total"] > 0, out["docs"] / out["total"].where(out["total"] > 0, 1), 0.0)
    return out


def _by_town_query(con, words, start, end, dict_version: int | None, filters: dict):
    """(version, start, end, filter SQL, its parameters, word ids) of a per-town query: every filter
    but the town, which the query groups by."""
    filters = {k: x for k, x in filters.items() if k != "town"}
    fsql, fparams = _filters(filters)
    return _resolve_version(con, dict_version), as_date(start), as_date(end), fsql, fparams, _ids(con, words)


def word_spread(con, words, start, end, dict_version: int | None = None, **filters) -> pd.DataFrame:
    """Per town: ``docs`` with the word(s), ``total`` opinions, ``share`` = docs / total; by docs.
    Opinions without a town are one line, 未定位 (``labels.UNLOCATED``)."""
    v, start, end, fsql, fparams, ids = _by_town_query(con, words, start, end, dict_version, filters)
    cur = con.cursor()
    df = _df(cur, f"""
        WITH tot AS (
            SELECT coalesce(town, ?) AS town, count(*) AS total FROM opinion_seg
            WHERE dict_version = ? AND day >= ? AND day < ?{fsql} GROUP BY ALL
        ), hit AS (
            SELECT coalesce(town, ?) AS town, {_docs(ids)} AS docs FROM opinion_words
            WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
            GROUP BY ALL
        )
        SELECT tot.town, coalesce(hit.docs, 0) AS docs, tot.total
        FROM tot LEFT JOIN hit USING (town)
        ORDER BY docs DESC, tot.town""", [UNLOCATED, v, start, end, *fparams, UNLOCATED, v, start, end, *ids, *fparams])
    df["docs"] = df["docs"].astype("int64")
    df["share"] = df["docs"] / df["total"].where(df["total"] > 0, 1)
    return df


def word_town_month(con, words, start, end, dict_version: int | None = None, **filters) -> pd.DataFrame:
    """Heat-map data: ``town`` × ``period`` (month start) → ``docs`` with the word(s) (long format)."""
    v, start, end, fsql, fparams, ids = _by_town_query(con, words, start, end, dict_version, filters)
    cur = con.cursor()
    df = _df(cur, f"""
        SELECT coalesce(town, ?) AS town, CAST(date_trunc('month', day) AS DATE) AS period, {_docs(ids)} AS docs
        FROM opinion_words
        WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
        GROUP BY ALL ORDER BY town, period""", [UNLOCATED, v, start, end, *ids, *fparams])
    df["docs"] = df["docs"].astype("int64")
    return df


# ───────────────────────────── rising words: Kleinberg bursts ─────────────────────────────

@dataclass(frozen=True)
class BurstParams:
    """Kleinberg's two-state burst model over bucketed document counts (docs/hotwords.md).

    ``s``: the burst state's rate is ``s`` times the word's base rate; ``gamma``: the cost of entering
    the burst state is ``gamma · ln(number of buckets)``; ``min_docs``: a burst needs at least this
    many opinions with the word inside it; ``min_total``: a word needs this many in the whole window;
    ``min_strength``: a burst is reported only when it explains its months at least e^10 times better
    than the word's usual rate (on flat random data the strongest bursts found reach ~6; real surges
    reach tens to hundreds).
    """

    s: float = 2.0
    gamma: float = 1.0
    min_docs: int = 10
    min_total: int = 10
    min_strength: float = 10.0


def kleinberg_states(r: np.ndarray, d: np.ndarray, s: float = 2.0, gamma: float = 1.0):
    """Viterbi path of Kleinberg's two-state binomial burst model, for many words at once.

    ``r``: (words × buckets) opinions holding the word; ``d``: (buckets,) opinions in all.
    State 0 emits at the word's base rate p0 = Σr / Σd, state 1 at p1 = s·p0. The cost of a bucket in
    state i is −ln[p_i^r (1−p_i)^(d−r)] (the binomial coefficient is the same in both states);
    moving up costs gamma·ln(T), moving down is free. Returns (states (W×T) of 0/1, gain (W×T) =
    cost in state 0 − cost in state 1, i.e. how much better the burst state explains each bucket).
    """
    r = np.asarray(r, dtype=float)
    d = np.asarray(d, dtype=float)
    W, T = r.shape
    if T == 0 or W == 0:
        return np.zeros((W, T), dtype=np.int8), np.zeros((W, T))
    total = d.sum()
    p0 = np.clip(r.sum(axis=1) / max(total, 1.0), 1e-12, 0.999)
    p1 = np.clip(s * p0, 1e-12, 0.9999)
    dd = np.broadcast_to(d, r.shape)
    c0 = -(r * np.log(p0)[:, None] + (dd - r) * np.log1p(-p0)[:, None])
    c1 = -(r * np.log(p1)[:, None] + (dd - r) * np.log1p(-p1)[:, None])
    tau = gamma * math.log(max(T, 2))
    C0, C1 = c0[:, 0].copy(), c1[:, 0] + tau
    back0 = np.zeros((W, T), dtype=np.int8)  # previous state when in state 0 at t
    back1 = np.zeros((W, T), dtype=np.int8)
    for t in range(1, T):
        from0, from1 = C0, C1
        b0 = (from1 < from0).astype(np.int8)
        n0 = np.minimum(from0, from1) + c0[:, t]
        up = from0 + tau
        b1 = (from1 <= up).astype(np.int8)
        n1 = np.minimum(up, from1) + c1[:, t]
        back0[:, t], back1[:, t] = b0, b1
        C0, C1 = n0, n1
    states = np.zeros((W, T), dtype=np.int8)
    cur = (C1 < C0).astype(np.int8)
    states[:, T - 1] = cur
    for t in range(T - 1, 0, -1):
        cur = np.where(cur == 1, back1[:, t], back0[:, t])
        states[:, t - 1] = cur
    return states, c0 - c1


def _bursts_of(states: np.ndarray) -> list[tuple[int, int]]:
    """Runs of state 1 as (first, last) bucket indices."""
    out, i, T = [], 0, len(states)
    while i < T:
        if states[i]:
            j = i
            while j + 1 < T and states[j + 1]:
                j += 1
            out.append((i, j))
            i = j + 1
        else:
            i += 1
    return out


RISING_COUNTS = "hotwords.rising_counts"


def _history_start(end: date, grain: str, history: int) -> date:
    """First day of the first of ``history`` buckets ending with the bucket that holds end − 1 day."""
    last = _buckets(end - timedelta(days=1), end, grain)[-1]
    if grain == "month":
        return (pd.Timestamp(last) - pd.DateOffset(months=history - 1)).date()
    return last - timedelta(weeks=history - 1)


def _rising_key(cur, v, first, end, g, fsql, fparams, extra_params, min_total) -> tuple:
    # seg_state: a count kept in the store (analytics/store/derived.py) must not outlive a catch-up of
    # segmentation under the same dictionary version.
    return (v, seg_state(cur), first, end, g, fsql, tuple(fparams), tuple(extra_params), min_total)


def _encode_rising(value) -> bytes:
    from analytics.store import derived

    tot, rows = value
    t = np.array(tot, dtype=np.int64).reshape(-1, 2)
    r = np.array(rows, dtype=np.int64).reshape(-1, 3)
    return derived.pack(tot=t, rows=r)


def _decode_rising(payload: bytes):
    from analytics.store import derived

    z = derived.unpack(payload)
    return ([(int(b), int(n)) for b, n in z["tot"]], [(int(w), int(b), int(n)) for w, b, n in z["rows"]])


def warm_ahead(con) -> None:
    """Counting ahead (``analytics.domain.ahead``): the rising words of the latest quarter (the pages' default)
    and of the latest 90 days (the command line's), whole district, month buckets."""
    from analytics.domain import metrics

    if active_version(con) is None or pending_count(con):
        return
    q = metrics.latest_period(con, "quarter")
    windows = [(q.start, q.end)] if q is not None else []
    if data_range(con) is not None:
        windows.append(latest_window(con))
    for start, end in windows:
        rising_words(con, start, end)


def prefetch_rising_by_town(con, end, town_words: dict[str, Sequence[str]], history: int = 24,
                            params: BurstParams = BurstParams(), dict_version: int | None = None) -> int:
    """Count, in one pass, what ``rising_words(con, …, end, grain="month", history, words=W,
    town=T)`` counts for each town T and its words W, and keep it per store state
    (``analytics.store.memo``) where those calls will find it; the towns' calls then cost milliseconds
    each instead of a pass each. Returns the towns filled (0 when the connection has no state to
    key by: the calls then count for themselves, with the same results)."""
    from analytics.store import memo

    if not town_words or (memo.store_state(con) is None and getattr(memo.capture_state, "values", None) is None):
        return 0
    v = _resolve_version(con, dict_version)
    end = as_date(end)
    first = _history_start(end, "month", history)
    cur = con.cursor()
    ids = {t: _ids(cur, w) for t, w in town_words.items()}
    towns = sorted(ids)
    bucket_sql = "year(day) * 12 + month(day) - 1"
    tot = cur.execute(f"""
        SELECT town, {bucket_sql}, count(*) FROM opinion_seg
        WHERE dict_version = ? AND day >= ? AND day < ? AND list_contains(?, town) GROUP BY ALL""",
                      [v, first, end, towns]).fetchall()
    pairs = [(t, i) for t in towns for i in ids[t]]
    rows = cur.execute(f"""
        WITH p AS (SELECT unnest(CAST(? AS VARCHAR[])) AS town, unnest(CAST(? AS INTEGER[])) AS word_id),
        c AS (
            SELECT w.town, w.word_id, {bucket_sql} AS b, count(*) AS n
            FROM opinion_words w SEMI JOIN p ON w.town = p.town AND w.word_id = p.word_id
            WHERE w.dict_version = ? AND w.day >= ? AND w.day < ?
            GROUP BY ALL
        ), keep AS (SELECT town, word_id FROM c GROUP BY ALL HAVING sum(n) >= ?)
        SELECT c.town, c.word_id, c.b, c.n FROM c JOIN keep USING (town, word_id)""",
                       [[t for t, _ in pairs], [i for _, i in pairs], v, first, end, params.min_total]).fetchall()
    by_tot: dict[str, list] = {t: [] for t in towns}
    by_rows: dict[str, list] = {t: [] for t in towns}
    for t, b, n in tot:
        by_tot[t].append((b, n))
    for t, w, b, n in rows:
        by_rows[t].append((w, b, n))
    fsql, _ = _filters({"town": "x"})
    for t in towns:
        key = _rising_key(cur, v, first, end, "month", fsql, [t], ids[t], params.min_total)
        memo.put(cur, RISING_COUNTS, key, (by_tot[t], by_rows[t]))
    return len(towns)


def _burst_rows(r: np.ndarray, d: np.ndarray, states: np.ndarray, gain: np.ndarray, words: list[str],
                buckets: list, first_in: int, params: BurstParams) -> list[dict]:
    """One row per burst of a word (``r[k]`` its opinions per bucket, ``d`` all opinions per bucket)
    that reaches the period (from bucket ``first_in``) and is big and strong enough (``params``)."""
    T = len(buckets)
    out = []
    for k, word in enumerate(words):
        for a, b in _bursts_of(states[k]):
            if b < first_in:  # ended before the period
                continue
            docs_burst = int(r[k, a:b + 1].sum())
            strength = float(gain[k, a:b + 1].sum())
            if docs_burst < params.min_docs or strength < params.min_strength:
                continue
            outside_r = r[k].sum() - docs_burst
            outside_d = d.sum() - d[a:b + 1].sum()
            base_rate = outside_r / outside_d if outside_d > 0 else r[k].sum() / d.sum()
            baseline = base_rate * d[b]
            current = int(r[k, b])
            out.append({
                "word": word, "strength": strength,
                "rise_start": buckets[a], "rise_end": buckets[b], "ongoing": b == T - 1,
                "docs_burst": docs_burst, "current": current, "baseline": float(baseline),
                "ratio": current / baseline if baseline > 0 else math.inf,
            })
    return out


def rising_words(con, start, end, grain: str = "month", history: int = 24, top: int = 30,
                 params: BurstParams = BurstParams(), dict_version: int | None = None,
                 words: Sequence[str] | None = None, **filters) -> pd.DataFrame:
    """Words in a burst (Kleinberg) that overlaps [start, end), told apart from always-frequent ones.

    The model runs over ``history`` buckets of ``grain`` ending with the bucket that holds end − 1 day,
    on each word's share of the opinions in the filter. Columns: ``word``; ``strength`` — the burst's
    weight (Σ over its buckets of the cost saved by the burst state; bigger = more surprising);
    ``rise_start`` — first bucket of the burst; ``rise_end`` — its last bucket; ``ongoing`` — it
    includes the last bucket; ``docs_burst`` — opinions with the word during the burst;
    ``current`` — opinions with it in the last bucket of the burst; ``baseline`` — what the word's
    share outside the burst would give in that bucket; ``ratio`` = current / baseline.
    Only bursts with at least ``params.min_docs`` opinions and strength ≥ ``params.min_strength``
    are reported.
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    g = _GRAIN_SQL.get(grain)
    if g not in ("month", "week"):
        raise HotwordsError("上升词只按月或按周计算。")
    first = _history_start(end, grain, history)
    buckets = _buckets(first, end, grain)
    T = len(buckets)
    index = {b: i for i, b in enumerate(buckets)}
    fsql, fparams = _filters(filters)
    cur = con.cursor()
    # The bucket of a day: for months an integer year·12 + month − 1 (a quarter cheaper to group by
    # over millions of word rows than date_trunc), turned back into the bucket's first day here.
    if g == "month":
        bucket_sql = "year(day) * 12 + month(day) - 1"
        index = {b.year * 12 + b.month - 1: i for i, b in enumerate(buckets)}
    else:
        bucket_sql = f"CAST(date_trunc('{g}', day) AS DATE)"
    extra, extra_params = "", []
    if words is not None:
        ids = _ids(cur, words)
        extra, extra_params = " AND " + _in(ids), ids

    def counts():
        tot = cur.execute(f"""
            SELECT {bucket_sql}, count(*) FROM opinion_seg
            WHERE dict_version = ? AND day >= ? AND day < ?{fsql} GROUP BY 1""",
                          [v, first, end, *fparams]).fetchall()
        rows = cur.execute(f"""
            WITH c AS (
                SELECT word_id, {bucket_sql} AS b, count(*) AS n
                FROM opinion_words
                WHERE dict_version = ? AND day >= ? AND day < ?{fsql}{extra}
                GROUP BY ALL
            ), keep AS (SELECT word_id FROM c GROUP BY word_id HAVING sum(n) >= ?)
            SELECT c.word_id, c.b, c.n FROM c JOIN keep USING (word_id)""",
                           [v, first, end, *fparams, *extra_params, params.min_total]).fetchall()
        return tot, rows

    # The counts per word and bucket are a pass over every word row of the history (18 M rows at a
    # million opinions, ~0.2 s); what the model does with them takes milliseconds. Kept per store
    # state (analytics.store.memo), so the sessions and views asking for the same window share one pass
    # (and ``prefetch_rising_by_town`` can fill many towns' counts in one pass).
    from analytics.store import memo

    key = _rising_key(cur, v, first, end, g, fsql, fparams, extra_params, params.min_total)
    tot, rows = memo.remember(cur, RISING_COUNTS, key, counts)
    d = np.zeros(T)
    for b, n in tot:
        if b in index:
            d[index[b]] = n
    columns = ["word", "strength", "rise_start", "rise_end", "ongoing", "docs_burst", "current",
               "baseline", "ratio"]
    if not rows or d.sum() == 0:
        return pd.DataFrame(columns=columns)
    word_ids = sorted({r[0] for r in rows})
    wi = {w: i for i, w in enumerate(word_ids)}
    r = np.zeros((len(word_ids), T))
    for w, b, n in rows:
        if b in index:
            r[wi[w], index[b]] = n
    states, gain = kleinberg_states(r, d, params.s, params.gamma)
    names = dict(cur.execute("SELECT word_id, word FROM words WHERE list_contains(?, word_id)",
                             [word_ids]).fetchall())
    first_in = next((i for i, b in enumerate(buckets) if b >= _buckets(start, end, grain)[0]), 0)
    out = _burst_rows(r, d, states, gain, [names[w] for w in word_ids], buckets, first_in, params)
    if not out:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(out).sort_values(["strength", "word"], ascending=[False, True])
    # A word with two bursts in the window is listed once, with its strongest.
    df = df.drop_duplicates("word").head(int(top)).reset_index(drop=True)
    return df[columns]


# ───────────────────────────── related words ─────────────────────────────

def related_words(con, words, start, end, top: int = 20, min_count: int = 3,
                  dict_version: int | None = None, **filters) -> pd.DataFrame:
    """Words that occur in the same opinions as ``words`` more often than chance.

    For each other word b: ``together`` = opinions holding the word(s) and b; ``docs`` = opinions
    holding b; ``lift`` = together · N / (n_a · docs) where N = opinions in the filter and n_a =
    opinions holding the word(s); ``npmi`` = log(lift) / −log(together / N), in [−1, 1] (1 = always
    together). Only words with together ≥ ``min_count`` and lift > 1; ranked by npmi.
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    fsql, fparams = _filters(filters)
    ids = _ids(con, words)
    cols = ["word", "together", "docs", "lift", "npmi", "confidence"]
    if not ids:
        return pd.DataFrame(columns=cols)
    cur = con.cursor()
    n_all = opinions_in_filter(cur, start, end, v, **filters)
    df = _df(cur, f"""
        WITH f AS (
            SELECT doc_id, word_id FROM opinion_words
            WHERE dict_version = ? AND day >= ? AND day < ?{fsql}
        ), a AS (SELECT DISTINCT doc_id FROM f WHERE list_contains(?, word_id)),
        co AS (
            SELECT f.word_id, count(*) AS together FROM f JOIN a USING (doc_id)
            WHERE NOT list_contains(?, f.word_id) GROUP BY f.word_id HAVING count(*) >= ?
        ), nb AS (
            SELECT word_id, count(*) AS docs FROM f WHERE word_id IN (SELECT word_id FROM co)
            GROUP BY word_id
        )
        SELECT words.word, co.together, nb.docs, (SELECT count(*) FROM a) AS n_a
        FROM co JOIN nb USING (word_id) JOIN words USING (word_id)""",
             [v, start, end, *fparams, ids, ids, int(min_count)])
    if df.empty or not n_all:
        return pd.DataFrame(columns=cols)
    n_a = df["n_a"].iloc[0]
    df["lift"] = df["together"] * n_all / (n_a * df["docs"])
    p_ab = df["together"] / n_all
    df["npmi"] = np.where(p_ab < 1, np.log(df["lift"]) / -np.log(p_ab.where(p_ab < 1, 0.5)), 1.0)
    df["confidence"] = df["together"] / n_a
    df = df[df["lift"] > 1].sort_values(["npmi", "together", "word"], ascending=[False, False, True])
    return df[cols].head(int(top)).reset_index(drop=True)


# ───────────────────────────── drill-down ─────────────────────────────

def _word_pattern(words: Iterable[str]) -> re.Pattern | None:
    """Matches the words in the stored (masked, unsegmented) text, whitespace allowed between
    characters (the segmenter removes it), longest first."""
    parts = sorted({w for w in words if w}, key=len, reverse=True)
    if not parts:
        return None
    return re.compile("|".join(r"\s*".join(map(re.escape, w)) for w in parts))


def word_positions(text: str | None, words) -> list[tuple[int, int]]:
    """(start, end) of every occurrence of the word(s) in ``text``, for highlighting."""
    pat = _word_pattern(split_words(words))
    if not text or pat is None:
        return []
    return [m.span() for m in pat.finditer(text)]


def highlight_html(text: str | None, words, tag: str = "mark") -> str:
    """The text HTML-escaped, with each occurrence of the word(s) wrapped in ``<mark>``."""
    import html as _html

    if not text:
        return ""
    out, pos = [], 0
    for a, b in word_positions(text, words):
        out.append(_html.escape(text[pos:a]))
        out.append(f"<{tag}>{_html.escape(text[a:b])}</{tag}>")
        pos = b
    out.append(_html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>")


def excerpt(text: str | None, words, width: int = EXCERPT_CHARS) -> str:
    """A masked snippet around the first occurrence of the word(s) (the start of the text if none)."""
    text = textseg.clean_for_display(text)
    pos = word_positions(text, words)
    if not pos:
        return text[: 2 * width] + ("…" if len(text) > 2 * width else "")
    a, b = pos[0]
    lo, hi = max(0, a - width), min(len(text), b + width)
    return ("…" if lo > 0 else "") + text[lo:hi] + ("…" if hi < len(text) else "")


DRILL_COLUMNS = ["opinion_id", "submitted_at", "town", "station", "channel", "category", "title",
                 "content", "submitter", "status", "hits", "positions"]


def drilldown(con, words, start, end, page: int = 1, page_size: int = 20,
              dict_version: int | None = None, **filters) -> tuple[pd.DataFrame, int]:
    """Opinions holding the word(s), newest day first, one page: (rows, total number of such opinions).

    Personal data masked: submitter by ``mask_name``; title/content are stored masked and masked
    again here. ``hits`` = occurrences counted by the segmenter; ``positions`` = [(start, end), …] of
    the word(s) in ``content`` for highlighting (``highlight_html`` renders them).
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    fsql, fparams = _filters(filters)
    ids = _ids(con, words)
    if not ids:
        return pd.DataFrame(columns=DRILL_COLUMNS), 0
    cur = con.cursor()
    base = f"""
        SELECT doc_id, max(day) AS day, sum(cnt) AS hits FROM opinion_words
        WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
        GROUP BY doc_id"""
    params = [v, start, end, *ids, *fparams]
    total = cur.execute(f"SELECT count(*) FROM ({base})", params).fetchone()[0]
    page = max(int(page), 1)
    # The page's opinions are picked first (newest day first), then joined to their text.
    df = _df(cur, f"""
        WITH p AS (SELECT * FROM ({base}) ORDER BY day DESC, doc_id DESC LIMIT ? OFFSET ?)
        SELECT o.opinion_id, o.submitted_at, coalesce(o.town, ?) AS town, o.station, o.channel, o.category, o.title,
               o.content, o.submitter, o.status, p.hits
        FROM p JOIN opinion_seg s USING (doc_id) JOIN opinions o ON o.opinion_id = s.opinion_id
        ORDER BY p.day DESC, p.doc_id DESC""", [*params, int(page_size), (page - 1) * int(page_size), UNLOCATED])
    wl = split_words(words)
    df["title"] = [mask_text(t) for t in df["title"]]
    df["content"] = [mask_text(t) for t in df["content"]]
    df["submitter"] = [mask_name(n) for n in df["submitter"]]
    df["hits"] = df["hits"].astype("int64")
    df["positions"] = [word_positions(t, wl) for t in df["content"]]
    return df[DRILL_COLUMNS], int(total)


def drilldown_all(con, words, start, end, limit: int = 10_000, dict_version: int | None = None,
                  **filters) -> pd.DataFrame:
    """Every opinion holding the word(s) (up to ``limit``) for export, masked, without positions."""
    df, _ = drilldown(con, words, start, end, page=1, page_size=limit, dict_version=dict_version, **filters)
    return df.drop(columns=["positions"])


# ───────────────────────────── word cloud layout ─────────────────────────────

def cloud_layout(words: Sequence[str], weights: Sequence[float], width: float = 720, height: float = 360,
                 min_size: float = 14, max_size: float = 48) -> pd.DataFrame:
    """Positions for a word cloud drawn as text in a chart: ``word, x, y, size`` (font px).

    Font size grows with the square root of the weight; words are placed in weight order along an
    Archimedean spiral from the centre at the first spot where their box overlaps no placed word
    (deterministic: the same words give the same picture). Words that do not fit are left out.
    """
    out = []
    if not len(words):
        return pd.DataFrame(columns=["word", "x", "y", "size", "weight"])
    w = np.asarray(weights, dtype=float)
    lo, hi = float(np.sqrt(w.min())), float(np.sqrt(w.max()))
    boxes: list[tuple[float, float, float, float]] = []
    order = np.argsort(-w, kind="stable")
    for i in order:
        word = str(words[i])
        size = min_size if hi == lo else min_size + (max_size - min_size) * (math.sqrt(w[i]) - lo) / (hi - lo)
        bw, bh = size * len(word) * 1.05 + 4, size * 1.25
        t = 0.0
        while t < 400:
            r = 2.2 * t
            x, y = width / 2 + r * math.cos(t) * 1.6, height / 2 + r * math.sin(t)
            box = (x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2)
            inside = box[0] >= 0 and box[1] >= 0 and box[2] <= width and box[3] <= height
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes):
                boxes.append(box)
                out.append({"word": word, "x": x, "y": y, "size": size, "weight": float(w[i])})
                break
            t += 0.12
    return pd.DataFrame(out)


# ───────────────────────────── export ─────────────────────────────


# One export rule for the whole app (formula neutralising, control characters, sheet names).
from analytics.core.safe_export import safe_cell, to_xlsx  # noqa: E402,F401  (re-exported for the pages)


# ───────────────────────────── new-word proposals ─────────────────────────────

MAX_NEW_WORD_LEN = 6


def new_word_proposals(con, start=None, end=None, sample: int = 20_000, min_count: int = 8,
                       min_pmi: float = 3.0, min_entropy: float = 1.0, top: int = 50,
                       dict_version: int | None = None, **filters) -> pd.DataFrame:
    """Adjacent token pairs that behave like one word and are not in the dictionary yet.

    Over the latest ``sample`` opinions of the period/filter, cut with the active dictionary (raw
    tokens, before the stopword filter): for each adjacent pair ab of Chinese tokens, neither a
    stopword nor a number, at most 6 characters, not two dictionary words side by side, ``pmi`` = log2(p(ab) / (p(a)·p(b))) (cohesion), ``left_entropy`` / ``right_entropy`` =
    entropy (bits) of the tokens just before / after ab, text boundaries and punctuation counting as
    distinct neighbours (free boundaries: ab is used in many contexts). Proposed when count ≥
    ``min_count``, pmi ≥ ``min_pmi`` and both entropies ≥ ``min_entropy``; ranked by
    ``score`` = pmi × min(left, right entropy) × log(count). This is the one query that segments
    text (an analyst runs it on demand; a sample of 20,000 opinions takes a few seconds).
    """
    v = _resolve_version(con, dict_version)
    seg = segmenter_for(con, v)
    fsql, fparams = _filters(filters, "s.")
    where, params = "", []
    if start is not None and end is not None:
        where, params = " AND s.day >= ? AND s.day < ?", [as_date(start), as_date(end)]
    cur = con.cursor()
    rows = cur.execute(f"""
        SELECT o.title, o.content FROM opinion_seg s JOIN opinions o ON o.opinion_id = s.opinion_id
        WHERE s.dict_version = ?{where}{fsql}
        ORDER BY s.day DESC, s.doc_id DESC LIMIT ?""", [v, *params, *fparams, int(sample)]).fetchall()
    uni: Counter = Counter()
    bi: Counter = Counter()
    left: dict[tuple, Counter] = {}
    right: dict[tuple, Counter] = {}
    boundary = 0
    is_word = re.compile(f"[{textseg.CJK_RANGE}]+").fullmatch
    n_tokens = 0
    for title, content in rows:
        toks = seg.raw_tokens(textseg.opinion_text(title, content))
        n_tokens += len(toks)
        uni.update(toks)
        for i in range(len(toks) - 1):
            a, b = toks[i], toks[i + 1]
            if (not (is_word(a) and is_word(b)) or a in seg.stopwords or b in seg.stopwords
                    or textseg.is_numberish(a) or textseg.is_numberish(b)
                    or a.startswith(textseg.PLACEHOLDER) or b.startswith(textseg.PLACEHOLDER)):
                continue
            pair = (a, b)
            bi[pair] += 1
            prev = toks[i - 1] if i > 0 else None
            nxt = toks[i + 2] if i + 2 < len(toks) else None
            # A boundary or punctuation is a fresh neighbour each time (free context).
            if prev is None or not is_word(prev):
                boundary += 1
                prev = ("|", boundary)
            if nxt is None or not is_word(nxt):
                boundary += 1
                nxt = ("|", boundary)
            left.setdefault(pair, Counter())[prev] += 1
            right.setdefault(pair, Counter())[nxt] += 1
    cols = ["word", "count", "pmi", "left_entropy", "right_entropy", "score", "parts"]
    if not n_tokens:
        return pd.DataFrame(columns=cols)

    def entropy(c: Counter) -> float:
        n = sum(c.values())
        return -sum(k / n * math.log2(k / n) for k in c.values())

    out = []
    for (a, b), n in bi.items():
        if n < min_count:
            continue
        w = a + b
        # A new word is short, and at least one of its pieces is not a word of its own (jieba split
        # an unknown name into pieces); two dictionary words side by side are a phrase.
        if len(w) > MAX_NEW_WORD_LEN or (len(a) > 1 and len(b) > 1 and seg.has_word(a) and seg.has_word(b)):
            continue
        if seg.has_word(w) or w in seg.stopwords or textseg.is_numberish(w) or len(w) > textseg.MAX_WORD_LEN:
            continue
        pmi = math.log2(n * n_tokens / (uni[a] * uni[b]))
        if pmi < min_pmi:
            continue
        hl, hr = entropy(left[(a, b)]), entropy(right[(a, b)])
        if min(hl, hr) < min_entropy:
            continue
        out.append({"word": w, "count": n, "pmi": pmi, "left_entropy": hl, "right_entropy": hr,
                    "score": pmi * min(hl, hr) * math.log(n), "parts": f"{a} + {b}"})
    if not out:
        return pd.DataFrame(columns=cols)
    df = pd.DataFrame(out).sort_values(["score", "word"], ascending=[False, True])
    return df[cols].head(int(top)).reset_index(drop=True)


def add_words_to_userdict(userdict_text: str, words: Iterable[str], note: str = "新词建议采纳") -> str:
    """The user dictionary text with ``words`` appended (those already in it are skipped)."""
    have = textseg.parse_userdict(userdict_text)
    new = [w for w in split_words(words) if w not in have]
    if not new:
        return userdict_text
    text = userdict_text if userdict_text.endswith("\n") or not userdict_text else userdict_text + "\n"
    return text + f"\n# ── {note}（{date.today().isoformat()}）──\n" + "\n".join(new) + "\n"


def remove_words_from_text(text: str, words: Iterable[str]) -> str:
    """A dictionary or stopword text without the lines of ``words`` (comments kept)."""
    drop = set(split_words(words))
    keep = []
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#") and s.split()[0] in drop:
            continue
        keep.append(line)
    return "\n".join(keep) + "\n"


def add_stopwords(stopwords_text: str, words: Iterable[str], note: str = "分析员添加") -> str:
    have = textseg.parse_stopwords(stopwords_text)
    new = [w for w in split_words(words) if w not in have]
    if not new:
        return stopwords_text
    text = stopwords_text if stopwords_text.endswith("\n") else stopwords_text + "\n"
    return text + f"\n# ── {note}（{date.today().isoformat()}）──\n" + "\n".join(new) + "\n"


# ───────────────────────────── the candidate pool ─────────────────────────────

# The parts of the candidate score: key -> (Chinese label, definition in words). Pages show these.
SCORE_PARTS = {
    "volume": ("规模", "ln(1 + 本期含这些词的意见数)：意见越多越大，但十倍的意见只多约 2.3。"),
    "burst": ("突发", "1 + ln(1 + 突发强度)：与本期重叠的最强 Kleinberg 突发的强度（低于 10 视为噪声，记 0）；没有突发时为 1。"),
    "spread": ("广度", "有效镇街数 ÷ 23：按各镇街所占份额的香农熵折算的镇街数（只在一个镇街为 1/23，均匀分布于全区为 1）。"),
    "persistence": ("持续", "截至期末的 12 个月里，有几个月至少 3 条意见提到它，除以 12。"),
    "unresolved": ("未解决", "这些意见中状态不是“已办结”的比例（按当前数据实时计算）。"),
}
SCORE_FORMULA = "得分 = 10 × 规模 × 突发 × 广度 × 持续 × 未解决"
# The same parts in plain words, for the chair: what makes a candidate score high. The method (the
# formulas above) stays behind 「怎么算的」.
SCORE_MEANING = {
    "volume": "反映的人多：意见越多分越高，但多十倍只多一点，不让一个数字压倒其他方面。",
    "burst": "来得突然：这段时间比它平常明显多，得分就高；一直这么多的不加分。",
    "spread": "牵涉面广：分布在越多镇街越高，只在一个镇街时最低。",
    "persistence": "持续时间长：过去一年里有越多个月份被反复提到越高。",
    "unresolved": "还没解决：这些意见中还没办结的越多越高。",
}
SCORE_PLAIN = "得分越高，越值得列入监督：反映的人多、来得突然、牵涉面广、持续时间长、还没解决。"


def period_text(period: dict) -> str:
    """A stored evidence period {"start", "end" (exclusive)} as people read it: both days included."""
    from datetime import date, timedelta

    start, end = period.get("start"), period.get("end")
    try:
        last = date.fromisoformat(str(end)) - timedelta(days=1)
    except ValueError:
        return f"{start} 至 {end}"
    return f"{start} 至 {last}"

PERSISTENCE_MONTHS = 12
PERSISTENCE_MIN_DOCS = 3  # a month counts as "present" with at least this many opinions


def candidate_score(con, words, start, end, dict_version: int | None = None, **filters) -> dict:
    """The candidate score of a word or set of words for a period, with its parts.

    score = 规模 × 突发 × 广度 × 持续 × 未解决 × 10, where
      规模 volume      = ln(1 + opinions holding the word(s) in the period);
      突发 burst       = 1 + ln(1 + w), w = Kleinberg weight of the word(s)' strongest burst overlapping
                         the period over the 24 months to its end (0 when none or below the
                         minimum strength: 1 = no rise);
      广度 spread      = effective number of towns / 23, the effective number being exp(Shannon
                         entropy) of the towns' shares of those opinions (1/23 = one town, 1 = even);
      持续 persistence = share of the 12 months to the period end in which the word(s) appeared in
                         at least 3 opinions;
      未解决 unresolved = share of those opinions whose status is not 已办结 (live: read now).
    Each part is returned with the figures it came from.
    """
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    wl = split_words(words)
    ids = _ids(con, wl)
    cur = con.cursor()
    fsql, fparams = _filters(filters)
    from analytics.core.contract import load_contract

    n_towns = len(load_contract().towns)
    docs, unresolved = cur.execute(f"""
        WITH h AS (
            SELECT DISTINCT doc_id FROM opinion_words
            WHERE dict_version = ? AND day >= ? AND day < ? AND {_in(ids)}{fsql}
        )
        SELECT count(*), count(*) FILTER (WHERE o.status IS DISTINCT FROM ?)
        FROM h JOIN opinion_seg s USING (doc_id) LEFT JOIN opinions o ON o.opinion_id = s.opinion_id
        """, [v, start, end, *ids, *fparams, RESOLVED_STATUS]).fetchone()
    spread_df = word_spread(cur, wl, start, end, v, **filters)
    located = (spread_df["docs"] > 0) & (spread_df["town"] != UNLOCATED)  # spread across towns: 未定位 is none
    shares = spread_df.loc[located, "docs"].to_numpy(dtype=float)
    if shares.sum() > 0:
        p = shares / shares.sum()
        eff_towns = float(math.exp(-(p * np.log(p)).sum()))
    else:
        eff_towns = 0.0
    months_start = (pd.Timestamp(end) - pd.DateOffset(months=PERSISTENCE_MONTHS)).date()
    trend = word_trend(cur, wl, months_start, end, "month", v, **filters).tail(PERSISTENCE_MONTHS)
    present = int((trend["docs"] >= PERSISTENCE_MIN_DOCS).sum())
    w_burst = topic_burst(cur, wl, start, end, v, **filters)
    parts = {
        "volume": math.log1p(docs),
        "burst": 1 + math.log1p(max(w_burst, 0.0)),
        "spread": eff_towns / n_towns if n_towns else 0.0,
        "persistence": present / PERSISTENCE_MONTHS,
        "unresolved": unresolved / docs if docs else 0.0,
    }
    score = 10 * math.prod(parts.values())
    return {
        "score": round(score, 3),
        "parts": {k: round(x, 4) for k, x in parts.items()},
        "inputs": {"docs": int(docs), "burst_weight": round(w_burst, 3),
                   "effective_towns": round(eff_towns, 2), "towns": int((spread_df["docs"] > 0).sum()),
                   "months_present": present, "unresolved_docs": int(unresolved)},
    }


BURST_HISTORY_MONTHS = 24


def topic_burst(con, words, start, end, dict_version: int | None = None, **filters) -> float:
    """Kleinberg weight of the strongest burst overlapping [start, end) of the opinions holding any
    of ``words`` (one series for the set), over the 24 months to ``end``; 0 when there is none or it
    is weaker than ``BurstParams.min_strength`` (noise)."""
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    last = _buckets(end - timedelta(days=1), end, "month")[-1]
    first = (pd.Timestamp(last) - pd.DateOffset(months=BURST_HISTORY_MONTHS - 1)).date()
    trend = word_trend(con, words, first, end, "month", v, **filters)
    r = trend["docs"].to_numpy(dtype=float)[None, :]
    if r.sum() == 0:
        return 0.0
    states, gain = kleinberg_states(r, trend["total"].to_numpy(dtype=float))
    month0 = start.replace(day=1)
    first_in = next((i for i, p in enumerate(trend["period"]) if p >= month0), 0)
    best = 0.0
    for a, b in _bursts_of(states[0]):
        if b >= first_in:
            best = max(best, float(gain[0, a:b + 1].sum()))
    return best if best >= BurstParams.min_strength else 0.0


def candidate_evidence(con, words, start, end, dict_version: int | None = None, samples: int = 5,
                       **filters) -> dict:
    """What a candidate is based on, as plain JSON-able data: period, filter, counts, trend, towns,
    sample opinions (masked excerpts), related words, and the score with its parts."""
    v = _resolve_version(con, dict_version)
    start, end = as_date(start), as_date(end)
    wl = split_words(words)
    cur = con.cursor()
    prev = _previous(start, end)
    n = opinions_in_filter(cur, start, end, v, **filters)
    trend12 = word_trend(cur, wl, (pd.Timestamp(end) - pd.DateOffset(months=12)).date(), end, "month", v, **filters)
    cur_docs = word_trend(cur, wl, start, end, "year", v, **filters)["docs"].sum()
    prev_docs = word_trend(cur, wl, prev, start, "year", v, **filters)["docs"].sum()
    spread = word_spread(cur, wl, start, end, v, **filters)
    rows, _ = drilldown(cur, wl, start, end, page=1, page_size=samples, dict_version=v, **filters)
    score = candidate_score(cur, wl, start, end, v, **filters)
    return {
        "words": wl,
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "filters": {k: x for k, x in filters.items() if x},
        "dict_version": v,
        "opinions_in_filter": int(n),
        "docs": int(cur_docs),
        "share": float(cur_docs / n) if n else 0.0,
        "prev_docs": int(prev_docs),
        "change": int(cur_docs - prev_docs),
        "trend": [{"period": p.isoformat(), "docs": int(d), "share": round(float(s), 5)}
                  for p, d, s in zip(trend12["period"], trend12["docs"], trend12["share"])],
        "towns": [{"town": t, "docs": int(d)} for t, d in zip(spread["town"], spread["docs"]) if d > 0],
        "samples": [{"opinion_id": r.opinion_id, "submitted_at": str(r.submitted_at)[:16], "town": r.town,
                     "excerpt": excerpt(r.content, wl)} for r in rows.itertuples()],
        "score": score["score"], "score_parts": score["parts"], "score_inputs": score["inputs"],
        "captured_at": _now().isoformat(sep=" "),
    }


def add_candidate(con, words, start, end, user: str, title: str | None = None, note: str | None = None,
                  dict_version: int | None = None, role: str | None = None, extra_evidence: dict | None = None,
                  **filters) -> int:
    """Put a word or set of words into the pool with the evidence of this moment; returns its id.
    ``extra_evidence`` (JSON-able) is kept with it too, e.g. the hot issue it came from."""
    wl = split_words(words)
    if not wl:
        raise HotwordsError("请至少选择一个词。")
    ev = candidate_evidence(con, wl, start, end, dict_version, **filters)
    if extra_evidence:
        ev.update(extra_evidence)
    cid = con.execute("SELECT nextval('candidate_seq')").fetchone()[0]
    now = _now()
    con.execute("""INSERT INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [cid, (title or "、".join(wl)).strip(), json.dumps(wl, ensure_ascii=False), STATUSES[0],
                 ev["score"], json.dumps({"parts": ev["score_parts"], "inputs": ev["score_inputs"]}, ensure_ascii=False),
                 json.dumps(ev, ensure_ascii=False, default=str), note or "", user, now, user, now])
    con.execute("INSERT INTO candidate_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [cid, now, user, "创建", None, STATUSES[0], note or ""])
    _audit_candidate(con, "candidate_add", cid, user, role,
                     {"words": wl, "score": ev["score"], "period": [str(start), str(end)],
                      "filters": {k: v for k, v in filters.items() if v}, "note": note or None})
    return int(cid)


def _audit_candidate(con, action: str, candidate_id, user: str, role: str | None, detail: dict) -> None:
    """The audit record of a change to the pool, in the caller's write transaction."""
    from analytics.store import audit

    audit.record(con, action, user, role=role, target=f"备选项目 {int(candidate_id)}", detail=detail)


def set_candidate_status(con, candidate_id: int, status: str, user: str, note: str | None = None,
                         role: str | None = None) -> None:
    """Move a candidate along the workflow (``TRANSITIONS``), recording who, when and why."""
    row = con.execute("SELECT status FROM candidates WHERE candidate_id = ?", [candidate_id]).fetchone()
    if row is None:
        raise HotwordsError(f"备选项目 {candidate_id} 不存在。")
    old = row[0]
    if status not in STATUSES:
        raise HotwordsError(f"状态只能是：{'、'.join(STATUSES)}")
    if status == old:
        return
    if status not in TRANSITIONS[old]:
        raise HotwordsError(f"不能从“{old}”改为“{status}”；可改为：{'、'.join(TRANSITIONS[old])}")
    now = _now()
    con.execute("UPDATE candidates SET status = ?, updated_by = ?, updated_at = ? WHERE candidate_id = ?",
                [status, user, now, candidate_id])
    con.execute("INSERT INTO candidate_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [candidate_id, now, user, "状态变更", old, status, note or ""])
    _audit_candidate(con, "candidate_status", candidate_id, user, role, {"from": old, "to": status, "note": note or None})


def add_candidate_note(con, candidate_id: int, note: str, user: str, role: str | None = None) -> None:
    """Append a dated note to a candidate (kept in its history too)."""
    note = (note or "").strip()
    if not note:
        return
    row = con.execute("SELECT notes FROM candidates WHERE candidate_id = ?", [candidate_id]).fetchone()
    if row is None:
        raise HotwordsError(f"备选项目 {candidate_id} 不存在。")
    now = _now()
    line = f"[{now:%Y-%m-%d %H:%M} {user}] {note}"
    notes = f"{row[0]}\n{line}" if row[0] else line
    con.execute("UPDATE candidates SET notes = ?, updated_by = ?, updated_at = ? WHERE candidate_id = ?",
                [notes, user, now, candidate_id])
    con.execute("INSERT INTO candidate_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [candidate_id, now, user, "备注", None, None, note])
    _audit_candidate(con, "candidate_note", candidate_id, user, role, {"note": note})


CANDIDATE_COLUMNS = ["candidate_id", "title", "words", "status", "score", "score_parts", "evidence",
                     "notes", "created_by", "created_at", "updated_by", "updated_at"]


def list_candidates(con, status: str | Sequence[str] | None = None, text: str | None = None) -> pd.DataFrame:
    """The pool, best score first; ``words``/``score_parts``/``evidence`` decoded from JSON."""
    where, params = [], []
    if status:
        where.append("list_contains(?, status)")
        params.append([status] if isinstance(status, str) else list(status))
    if text:
        where.append("(title ILIKE ? OR CAST(words AS VARCHAR) ILIKE ? OR notes ILIKE ?)")
        params += [f"%{text}%"] * 3
    cur = con.cursor()
    df = _df(cur, f"""SELECT {', '.join(CANDIDATE_COLUMNS)} FROM candidates
                      {'WHERE ' + ' AND '.join(where) if where else ''}
                      ORDER BY score DESC NULLS LAST, candidate_id""", params)
    for col in ("words", "score_parts", "evidence"):
        df[col] = [json.loads(x) if isinstance(x, str) else x for x in df[col]]
    return df


def get_candidate(con, candidate_id: int) -> dict:
    cur = con.cursor()
    df = _df(cur, f"SELECT {', '.join(CANDIDATE_COLUMNS)} FROM candidates WHERE candidate_id = ?", [candidate_id])
    if df.empty:
        raise HotwordsError(f"备选项目 {candidate_id} 不存在。")
    row = df.iloc[0].to_dict()
    for col in ("words", "score_parts", "evidence"):
        row[col] = json.loads(row[col]) if isinstance(row[col], str) else row[col]
    return row


def candidate_history(con, candidate_id: int) -> pd.DataFrame:
    cur = con.cursor()
    return _df(cur, """SELECT event_at, actor, action, from_status, to_status, note FROM candidate_events
                       WHERE candidate_id = ? ORDER BY event_at, rowid""", [candidate_id])


def candidates_for_export(df: pd.DataFrame) -> pd.DataFrame:
    """The pool as a flat table with Chinese headers for xlsx."""
    out = pd.DataFrame({
        "编号": df["candidate_id"],
        "议题": df["title"],
        "热词": ["、".join(w) for w in df["words"]],
        "状态": df["status"],
        "得分": df["score"],
        "规模": [p.get("parts", {}).get("volume") for p in df["score_parts"]],
        "突发": [p.get("parts", {}).get("burst") for p in df["score_parts"]],
        "广度": [p.get("parts", {}).get("spread") for p in df["score_parts"]],
        "持续": [p.get("parts", {}).get("persistence") for p in df["score_parts"]],
        "未解决": [p.get("parts", {}).get("unresolved") for p in df["score_parts"]],
        "期间": [period_text(e.get("period", {})) for e in df["evidence"]],
        "涉及意见数": [e.get("docs") for e in df["evidence"]],
        "涉及镇街": ["、".join(t["town"] for t in e.get("towns", [])) for e in df["evidence"]],
        "备注": df["notes"],
        "创建人": df["created_by"], "创建时间": df["created_at"],
        "更新人": df["updated_by"], "更新时间": df["updated_at"],
    })
    return out


def _register_derived() -> None:
    from analytics.store import memo

    memo.persist(RISING_COUNTS, _encode_rising, _decode_rising)


_register_derived()
