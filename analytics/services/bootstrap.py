"""First start: a store with no data at all is filled with the generated demo data, once.

``ensure_store`` is what the app calls before it reads anything. It is safe when two browser sessions
(two threads) or two app processes start at the same time: a process-level lock and a file lock
beside the store let exactly one of them generate and import; the others wait and then find data.
The demo store is marked in ``meta`` (demo_data = 1, demo_seed) so every page can say so.

The demo is imported (and its opinions segmented for the hot words) into ``<store>.building`` and
moved over the store with ``os.replace`` only when complete, like every bulk write
(``store.snapshot``, docs/data-management.md): the store is empty or complete, never half-filled.
"""
from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb

from analytics.store import db as _store
from analytics.store.db import StoreError, connect, default_db_path, writing
from analytics.store.schema import has_data

Progress = Callable[[str, float], None]

DEMO_SEED = 0
DEMO_USER = "演示数据"  # import_batches.imported_by of the demo import
# Share of the progress bar for writing the demo files; the import (with segmentation) takes the rest.
# Measured at the default size (2 years, scale 1): writing 7 s, importing and segmenting 11 s.
_WRITE_SHARE = 0.4


class BootstrapError(RuntimeError):
    """The demo data could not be generated or imported; the message is Chinese."""


@contextmanager
def store_lock(db_path: str | os.PathLike | None = None, timeout: float | None = None,
               what: str = "首次启动：准备演示数据") -> Iterator[None]:
    """The store's writer lock (``store.writer_lock``): blocks until free, or ``timeout`` seconds."""
    with _store.writer_lock(db_path, timeout=timeout, what=what):
        yield


def lock_is_held() -> bool:
    """True while some thread of this process holds a writer lock (e.g. bootstrapping)."""
    return _store.writer_lock_held()


def is_demo(con: duckdb.DuckDBPyConnection) -> bool:
    """The store was filled by ``ensure_store`` with generated demo data (meta demo_data = 1)."""
    row = con.cursor().execute("SELECT value FROM meta WHERE key = 'demo_data'").fetchone()
    return bool(row) and row[0] == "1"


def store_ready(db_path: str | os.PathLike | None = None) -> bool:
    """The store exists, is current and holds data: checked read-only, so a running import elsewhere
    is not disturbed. False when it must be created, migrated or filled."""
    db = default_db_path(db_path)
    if not db.exists() or lock_is_held():  # a thread of ours is writing: wait for it below
        return False
    try:
        con = connect(db, read_only=True)
    except (StoreError, duckdb.Error):
        return False  # older schema (migrated below) or busy (the writer below says so)
    try:
        return has_data(con)
    finally:
        con.close()


def _scaled(progress: Progress | None, lo: float, hi: float) -> Progress | None:
    if progress is None:
        return None
    return lambda message, fraction: progress(message, lo + (hi - lo) * min(max(fraction, 0.0), 1.0))


def ensure_store(db_path: str | os.PathLike | None = None, progress: Progress | None = None, *,
                 seed: int = DEMO_SEED, years: int = 2, scale: float = 1.0,
                 demo_dir: str | os.PathLike | None = None) -> dict:
    """Make sure the store exists, is current and holds data; fill an empty one with demo data.

    The demo export files are written to ``demo_exports/`` beside the store (``data/demo_exports/``
    for the default store) and imported like any export, so the demo exercises the real importer.
    ``progress(message, fraction)`` is told how far it got. Returns what was done:
    ``{"action": "none" | "demo", "db": path, "seconds": s, ...}``.
    """
    db = default_db_path(db_path)
    t0 = time.perf_counter()
    if store_ready(db):  # the common case: no lock, no writer
        return {"action": "none", "db": str(db), "seconds": time.perf_counter() - t0}
    with store_lock(db):
        with writing(db, wait=_store.READ_WAIT_S, what="首次启动：检查数据库") as con:  # creates or migrates
            filled = has_data(con)
        if filled:  # someone else filled it while we waited, or it only needed migrating
            return {"action": "none", "db": str(db), "seconds": time.perf_counter() - t0}
        return _build_demo_store(db, progress, seed, years, scale, demo_dir, t0)


def building_path(db: Path) -> Path:
    return db.with_name(db.name + ".building")


def _build_demo_store(db: Path, progress, seed, years, scale, demo_dir, t0) -> dict:
    """Import the demo into a new file beside the store, then move it into place: the store is
    either still empty or complete, never half-filled (a crash or a failed file leaves it as it was)."""
    tmp = building_path(db)
    for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
        leftover.unlink(missing_ok=True)
    con = connect(tmp)
    try:
        result = _fill_with_demo(con, db, progress, seed, years, scale, demo_dir, t0)
        con.execute("CHECKPOINT")
    except BaseException:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    _store._fsync(tmp)
    # The old (empty) store is closed by everyone: readers open only after ensure_store returns.
    _store.wal_path(db).unlink(missing_ok=True)
    os.replace(tmp, db)
    _store._fsync(db.parent, directory=True)
    return result


def _fill_with_demo(con, db: Path, progress, seed, years, scale, demo_dir, t0) -> dict:
    # Imported here: they are heavy and only the first start needs them.
    from analytics.demo.exports import write_demo
    from analytics.ingest.importer import ingest_files

    out = Path(demo_dir) if demo_dir else db.parent / "demo_exports"
    if progress:
        progress("正在生成演示数据文件…", 0.0)
    try:
        paths = write_demo(out, seed=seed, years=years, scale=scale,
                           progress=_scaled(progress, 0.0, _WRITE_SHARE))
    except Exception as exc:
        raise BootstrapError(f"生成演示数据失败（目录 {out}）：{exc}") from exc
    t_written = time.perf_counter()
    if progress:
        progress("正在导入演示数据…", _WRITE_SHARE)
    # One file at a time, so the bar moves by bytes imported even when the importer cannot
    # estimate its total rows in advance.
    sizes = [max(Path(p).stat().st_size, 1) for p in paths]
    total_bytes, done_bytes = sum(sizes), 0
    reports = []
    for n, (path, size) in enumerate(zip(paths, sizes), start=1):
        label = f"正在导入第 {n}/{len(paths)} 个文件：{Path(path).name}"
        lo = _WRITE_SHARE + (1 - _WRITE_SHARE) * done_bytes / total_bytes
        hi = _WRITE_SHARE + (1 - _WRITE_SHARE) * (done_bytes + size) / total_bytes
        scaled = _scaled(progress, lo, hi)

        def ingest_progress(done: int, total: int | None, message: str, scaled=scaled, label=label) -> None:
            # ingest's signature: progress(done_rows, total_rows or None, message)
            if scaled:
                scaled(f"{label}（已读 {done:,} 行）" if done else label, done / total if total else 0.0)

        reports += ingest_files(con, [path], user=DEMO_USER, progress=ingest_progress)
        done_bytes += size
    failed = [r for r in reports if getattr(r, "error", None)]
    if failed:
        detail = "；".join(f"{getattr(r, 'file', '?')}：{r.error}" for r in failed)
        raise BootstrapError(f"演示数据导入失败：{detail}")
    cur = con.cursor()
    cur.execute("INSERT OR REPLACE INTO meta VALUES ('demo_data', '1'), ('demo_seed', ?)", [str(seed)])
    from analytics.domain import ahead

    ahead.build_into(con)  # what the first query of every later process would otherwise count
    if progress:
        progress("演示数据已就绪", 1.0)
    return {
        "action": "demo", "db": str(db), "demo_dir": str(out), "files": len(paths),
        "rows": sum(int(getattr(r, "imported", 0) or 0) for r in reports),
        "rejected": sum(int(getattr(r, "rejected", 0) or 0) for r in reports),
        "seconds_write": round(t_written - t0, 2),
        "seconds": round(time.perf_counter() - t0, 2),
    }
