"""Counting ahead: after an import, an undo or the first start, the results the pages ask for first are
computed once and kept in the store's ``derived`` table (``analytics.store.derived``), so that every
later process reads them instead of counting (docs/scaling.md).

The list of what is counted is explicit (``WARMERS``); each entry is the ``warm_ahead`` function of the
module that owns the results. ``warm`` runs them on a read-only connection and writes what they
computed in one short write; ``build_into`` does the same on a connection nobody else uses (an
import's copy of the store before it is swapped in).
"""
from __future__ import annotations

from typing import Callable

import duckdb

from analytics.domain import duty, hotissues, hotwords, indices, ranking, suggestions
from analytics.store import derived, memo
from analytics.store.dataset import is_dataset
from analytics.store.db import default_db_path, reading, writing

WARM_MESSAGE = "正在预先计算代表履职的逐日计数和默认视图"  # what a progress bar says meanwhile

# What is counted ahead, in this order: name -> function(read-only connection) that asks for the
# results worth keeping (through analytics.store.memo, whose PERSISTED names are captured). The
# explicit list: a module that wants its results kept adds its ``warm_ahead`` here.
WARMERS: dict[str, Callable] = {
    "duty": duty.warm_ahead,          # 代表履职: the day counts of the latest years
    "hotwords": hotwords.warm_ahead,  # 热词: the rising words of the latest quarter and 90 days
    "hotissues": hotissues.warm_ahead,  # 热点问题: the hot issues of the latest quarter and 90 days
    "indices": indices.warm_ahead,    # 五大指数: the latest quarter at each level
    "ranking": ranking.warm_ahead,    # 镇街排名: the latest quarter's (and the quarter before it)
    "suggestions": suggestions.warm_ahead,  # 代表建议: the report of the latest session
}


def _compute(con, fp: str) -> list[tuple[str, str, bytes]]:
    """Run every warmer; what it computed (or found kept in this process) and the store does not
    hold for this data yet, as (name, key, payload), one per (name, key)."""
    with memo.capture() as got:
        for warmer in WARMERS.values():
            warmer(con)
    valid = {name: derived.keys(con, name, fp) for name in {n for n, _, _ in got}}
    return list({(n, k): (n, k, p) for n, k, p in got if k not in valid[n]}.values())


def _tally(built) -> dict[str, int]:
    out: dict[str, int] = {}
    for name, _, _ in built:
        out[name] = out.get(name, 0) + 1
    return out


def build_into(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """``warm`` on a read-write connection nobody else uses (the first start's demo build)."""
    fp, state = derived.fingerprint(con), derived.state_key(con)
    built = _compute(con, fp)
    con.execute("BEGIN TRANSACTION")
    try:
        derived.drop_stale(con, fp)
        for name, key, payload in built:
            derived.save(con, name, key, fp, payload)
        derived.keep_fingerprint(con, state, fp)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _tally(built)


def build_quietly(con: duckdb.DuckDBPyConnection) -> dict[str, int] | str:
    """``build_into`` on an import's or an undo's copy of the store before it is swapped in; a
    failure is returned as text (the import itself goes on) instead of raised."""
    try:
        return build_into(con)
    except Exception as exc:  # noqa: BLE001 — the data is imported; this is a cache
        return f"预先计算未完成（不影响导入，查询时会即时计算）：{exc}"


def warm(db, progress=None, wait: float | None = None) -> dict[str, int]:
    """Compute what is missing for the store's current data and store it; {name: results written}.

    Counting runs on a short read-only connection (``store.reading``); the results are written in one
    short write (``store.writing``) together with the removal of stale rows. If the data changed in
    between, the rows carry the fingerprint they were computed from and are simply never used."""
    path = default_db_path(db)
    if is_dataset(path) or not path.is_file():
        return {}
    with reading(path) as con:
        if not derived.has_table(con.cursor()):
            return {}
        fp, state = derived.fingerprint(con), derived.state_key(con)
        if progress:
            progress(WARM_MESSAGE)
        built = _compute(con, fp)
        stale = con.execute("SELECT count(*) FROM derived WHERE fingerprint <> ?", [fp]).fetchall()[0][0]
        kept = con.execute("SELECT count(*) FROM derived WHERE name = ? AND key = ?",
                           [derived.FINGERPRINT, state]).fetchall()[0][0]
    if not built and not stale and kept:
        return {}
    with writing(path, what="预先计算的结果", **({} if wait is None else {"wait": wait})) as con:
        derived.drop_stale(con, fp)
        for name, key, payload in built:
            derived.save(con, name, key, fp, payload)
        if derived.state_key(con) == state:  # the data as counted (else the rows are simply never used)
            derived.keep_fingerprint(con, state, fp)
    return _tally(built)


def warm_quietly(db, wait: float = 5.0) -> dict[str, int] | str:
    """``warm`` after an import or an undo: it only saves later processes time, so a busy store or
    any failure is reported back as text (the import itself has succeeded) instead of raised."""
    try:
        return warm(db, wait=wait)
    except Exception as exc:  # noqa: BLE001 — the data is imported; this is a cache
        return f"预先计算未完成（不影响导入，查询时会即时计算）：{exc}"
