"""The DuckDB store's connections: opening, reading, writing, and how one file is shared.

One file holds everything (default ``data/cockpit.duckdb``; ``--db`` or ``COCKPIT_DB`` override it).
Its schema and migrations are ``analytics.store.schema``; ``connect`` applies the missing migrations in
one transaction, so an older file is brought up to date the first time a writer opens it; a directory
is a Parquet export, opened read-only by ``analytics.store.dataset``.

How the file is shared (the whole story, and why, in docs/data-management.md):

- ``reading(db)``: a short read-only connection. Waits (never fails at once) while a writer of this
  process holds the file, after a swap until the connections to the old file are closed, and while
  a writer elsewhere holds the file's lock, up to ``READ_WAIT_S``.
- ``snapshot(db)``: how imports and undos write. The store is copied, changed in the copy, and the
  copy is moved over the live file with ``os.replace``; readers never wait for it and never see a
  half-written store, and a killed writer leaves the live file as it was.
- ``writing(db)``: a short transaction on the live file itself (the candidate pool, a dictionary
  batch), for writes too small to copy the store for.
- ``writer_lock(db)``: one writer at a time (threads and processes), held by all three writers;
  waits up to a timeout, then says in Chinese who holds it.
"""
from __future__ import annotations

import datetime as dt
import getpass
import itertools
import json
import logging
import os
import struct
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import duckdb
from analytics.store.dataset import ReadOnlyStoreError, open_dataset, read_only_message
from analytics.store.schema import (  # noqa: F401  the store's schema, re-exported for callers of db
    DATA_TABLES, DEFAULT_DB, ENV_VAR, MIGRATIONS, SCHEMA_VERSION, DATA_TABLE_SPECS, StoreError, batches_version,
    data_version, default_db_path, migrate, schema_version, table_counts)

try:  # POSIX; on Windows only the in-process locks apply (one app process per store there)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None


def connect(path: str | os.PathLike | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the store; a writer creates or migrates it, a reader requires it to be current."""
    db = default_db_path(path)
    if db.is_dir():  # a Parquet export of the store: read-only views (analytics/store/dataset.py)
        return open_dataset(db, read_only=read_only)
    if read_only and not db.exists():
        raise StoreError(f"数据库文件不存在：{db}")
    if not read_only:
        db.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(db), read_only=read_only)
    except duckdb.IOException as exc:
        raise StoreError(f"无法打开数据库 {db}：{exc}") from exc
    if read_only:
        version = schema_version(con)
        if version != SCHEMA_VERSION:
            con.close()
            raise StoreError(f"数据库 {db} 的版本是 {version}，需要 {SCHEMA_VERSION}：请先运行一次导入或启动应用以升级。")
    else:
        migrate(con)
    return con




# ───────────────────────────── sharing the file ─────────────────────────────

READ_WAIT_S = 30.0  # a reader waits this long for a writer before saying the store is busy
WRITE_WAIT_S = 60.0  # a short write waits this long for the writer lock (an import may hold it)
_PAUSE_MIN_S, _PAUSE_MAX_S = 0.02, 0.25  # back-off between attempts to open
TEST_HOOK_ENV = "COCKPIT_TEST_HOOK"


log = logging.getLogger("cockpit.store")


class StoreBusy(StoreError):
    """A reader or writer waited its time out; the message says for what, in Chinese."""


def test_hook(point: str) -> None:
    """Crash tests stop a writer at a named point: ``COCKPIT_TEST_HOOK=mid_write:pause`` prints
    ``TEST_HOOK mid_write`` to stderr and sleeps (the test then kills the process with SIGKILL);
    ``…:exit`` ends the process at once with ``os._exit``; ``…:sleep=2`` waits 2 seconds and goes on.
    Unset in normal use: costs one lookup."""
    spec = os.environ.get(TEST_HOOK_ENV)
    if not spec:
        return
    name, _, action = spec.partition(":")
    if name != point:
        return
    print(f"TEST_HOOK {point}", file=sys.stderr, flush=True)
    if action == "exit":
        os._exit(137)
    if action.startswith("sleep="):
        time.sleep(float(action[6:]))
        return
    time.sleep(3600)


def _abs(db: str | os.PathLike | None) -> Path:
    return Path(os.path.abspath(default_db_path(db)))


def wal_path(db: Path) -> Path:
    return db.with_name(db.name + ".wal")


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


# ── one writer at a time ──

_WRITER_THREAD_LOCK = threading.Lock()  # the threads of this process (flock is per open file, not per thread)
_writer_local = threading.local()


def _held() -> dict[str, int]:
    if not hasattr(_writer_local, "held"):
        _writer_local.held = {}
    return _writer_local.held


def writer_lock_held() -> bool:
    """True while some thread of this process holds a writer lock (e.g. the first-start import)."""
    return _WRITER_THREAD_LOCK.locked()


def _holder(db: Path) -> str:
    try:
        info = json.loads(lock_path(db).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "另一个写入操作"
    return f"{info.get('what') or '写入'}（{info.get('user') or '?'}，进程 {info.get('pid')}，{info.get('since')} 开始）"


def writer_holder(db: str | os.PathLike | None = None) -> str:
    """Who holds the store's writer lock, as its lock file says ("导入 2 个文件（张管理，进程 …）")."""
    return _holder(_abs(db))


def _busy(db: Path, waited: float | None) -> StoreBusy:
    return StoreBusy(f"数据库 {db.name} 正在被写入：{_holder(db)}。已等待 {waited or 0:.0f} 秒仍未结束，"
                     "请稍后再试（本次操作没有改动任何数据）。")


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@contextmanager
def writer_lock(db: str | os.PathLike | None = None, timeout: float | None = None,
                what: str = "写入", user: str | None = None) -> Iterator[None]:
    """Hold the store's writer lock: a thread lock for this process and ``flock`` on ``<db>.lock``
    for other processes. Waits up to ``timeout`` seconds (None: as long as it takes), then raises
    StoreBusy naming the holder (written into the lock file). Re-entrant within one thread."""
    path = _abs(db)
    if path.is_dir():  # a Parquet export (analytics/store/dataset.py) is read-only: refuse every writer at once
        raise ReadOnlyStoreError(read_only_message(path))
    key = str(path)
    held = _held()
    if held.get(key):
        held[key] += 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    start = time.monotonic()
    deadline = None if timeout is None else start + timeout
    if not _WRITER_THREAD_LOCK.acquire(timeout=-1 if timeout is None else max(timeout, 0.0)):
        raise _busy(path, time.monotonic() - start)
    fh = None
    try:
        if fcntl is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(lock_path(path), "a+", encoding="utf-8")
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise _busy(path, time.monotonic() - start) from None
                    time.sleep(0.1)
            fh.seek(0)
            fh.truncate()
            fh.write(json.dumps({"pid": os.getpid(), "user": user or login_name(), "what": what,
                                 "since": dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")}, ensure_ascii=False))
            fh.flush()
        held[key] = 1
        try:
            yield
        finally:
            held.pop(key, None)
            if fh is not None:
                fh.seek(0)
                fh.truncate()
                fh.flush()
                fcntl.flock(fh, fcntl.LOCK_UN)
    finally:
        if fh is not None:
            fh.close()
        _WRITER_THREAD_LOCK.release()


# ── readers ──

class _Gate:
    """This process's connections to one store file. DuckDB keeps one database instance per file
    path and process: while any connection to the old file is open, a new connection to the same
    path gets the old file, even after the path was swapped. So while the old file's connections are
    open, new readers open the new file through a hard link of its own (``<db>.reader-<pid>-i<inode>``,
    another path, so another instance), shared by every reader of that file until the last one closes
    it; without hard links they wait for the old file's readers to close. Everyone waits for an
    in-place writer."""

    def __init__(self) -> None:
        self.readers = 0
        self.ino: int | None = None  # the file (inode) the open readers have
        self.writer = False
        self.private = 0  # open ``private_reading`` connections (their own instance each)
        self.links: dict[int, list] = {}  # inode -> [link path, open readers through it]
        self.no_links = False  # the file system refused a hard link: wait instead


_GATE_COND = threading.Condition()
_GATES: dict[str, _Gate] = {}


def _ino(path: Path) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _transient(exc: BaseException) -> bool:
    """A lock held by someone else (worth waiting for), not a store that can never open (missing,
    of another version, a read-only Parquet dataset asked to write)."""
    lock_errors = (duckdb.IOException, duckdb.ConnectionException)
    return isinstance(exc, lock_errors) or (isinstance(exc, StoreError) and isinstance(exc.__cause__, lock_errors))


_OPEN_VIA: dict[int, int] = {}  # id(connection) -> inode, for readers opened through a link


def _leave(key: str, via: int | None = None) -> None:
    with _GATE_COND:
        gate = _GATES[key]
        if via is None:
            gate.readers -= 1
        else:
            entry = gate.links[via]
            entry[1] -= 1
            if entry[1] == 0:
                del gate.links[via]
                for p in (entry[0], wal_path(entry[0])):
                    try:
                        p.unlink()
                    except FileNotFoundError:
                        pass
        _GATE_COND.notify_all()


def _link_for(gate: _Gate, path: Path, ino: int) -> Path | None:
    """Under _GATE_COND: the hard link through which readers of inode ``ino`` open it (made if
    needed); None when links are impossible here or the file was swapped meanwhile."""
    entry = gate.links.get(ino)
    if entry is not None:
        return entry[0]
    if gate.no_links:
        return None
    link = path.with_name(f"{path.name}{READER_LINK_INFIX}{os.getpid()}-i{ino}")
    try:
        try:
            os.link(path, link)
        except FileExistsError:  # left by an earlier process of the same pid
            link.unlink()
            os.link(path, link)
    except FileNotFoundError:
        return None
    except OSError:
        gate.no_links = True
        return None
    if _ino(link) != ino:  # swapped between the stat and the link
        link.unlink(missing_ok=True)
        return None
    gate.links[ino] = [link, 0]
    return link


def open_reader(db: str | os.PathLike | None = None, wait: float = READ_WAIT_S) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the current store file; close it with ``close_reader``.

    Prefer ``reading()``. Raises StoreError when the file does not exist, StoreBusy after ``wait``
    seconds of a writer holding the file.
    """
    path = _abs(db)
    key = str(path)
    start = time.monotonic()
    deadline = start + wait
    pause = _PAUSE_MIN_S
    last_error: Exception | None = None
    while True:
        via = None  # the inode when opened through a link
        with _GATE_COND:
            gate = _GATES.setdefault(key, _Gate())
            while True:
                ino = _ino(path)
                if ino is None:
                    raise StoreError(f"数据库文件不存在：{path}")
                stale = gate.readers > 0 and gate.ino != ino
                if not gate.writer:
                    if not stale:
                        break
                    link = _link_for(gate, path, ino)
                    if link is not None:
                        via = ino
                        break
                left = deadline - time.monotonic()
                if left <= 0:
                    raise StoreBusy(f"数据库 {path.name} 正在更新，已等待 {wait:.0f} 秒，请稍后刷新页面。")
                _GATE_COND.wait(min(left, 0.05))
            if via is None:
                gate.readers += 1
                first = gate.readers == 1
                if first:
                    gate.ino = ino
            else:
                gate.links[via][1] += 1
                first = False
        try:
            con = connect(gate.links[via][0] if via is not None else path, read_only=True)
        except (StoreError, duckdb.Error) as exc:  # a writer elsewhere holds the file?
            _leave(key, via)
            last_error = exc
            if not path.exists():
                raise StoreError(f"数据库文件不存在：{path}") from exc
            if not _transient(exc):
                raise
            if time.monotonic() + pause > deadline:
                raise StoreBusy(f"数据库 {path.name} 暂时无法读取（{exc}），已等待 {wait:.0f} 秒，"
                                "请稍后刷新页面。") from last_error
            time.sleep(pause)
            pause = min(pause * 2, _PAUSE_MAX_S)
            continue
        if first and _ino(path) != ino:  # swapped while we opened: we cannot tell which file we got
            con.close()
            _leave(key)
            continue
        if via is not None:
            _OPEN_VIA[id(con)] = via
        return con


def close_reader(db: str | os.PathLike | None, con: duckdb.DuckDBPyConnection) -> None:
    via = _OPEN_VIA.pop(id(con), None)
    try:
        con.close()
    finally:
        _leave(str(_abs(db)), via)


@contextmanager
def reading(db: str | os.PathLike | None = None, wait: float = READ_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short read-only connection (see the module docstring); closed on leaving the block."""
    con = open_reader(db, wait)
    try:
        yield con
    finally:
        close_reader(db, con)


_link_counter = itertools.count(1)
READER_LINK_INFIX = ".reader-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _clear_dead_links(path: Path) -> None:
    for p in path.parent.glob(path.name + READER_LINK_INFIX + "*"):
        try:
            pid = int(p.name[len(path.name + READER_LINK_INFIX):].split("-")[0])
        except ValueError:
            continue
        if not _pid_alive(pid):
            try:
                p.unlink()
            except OSError:
                pass


@contextmanager
def private_reading(db: str | os.PathLike | None = None, wait: float = READ_WAIT_S) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the current file through a database instance of its own, for a long
    read (the data page's preview parses a whole upload while holding it).

    A connection from ``reading`` shares DuckDB's one instance per path: held for long, it would make
    every new reader wait, after an import swaps the file, until it closes. This one opens a hard link
    to the current file (``<db>.reader-<pid>-<n>``, removed afterwards), which DuckDB treats as another
    database; it sees the file as it was when opened. Falls back to ``reading`` where hard links are
    not possible.
    """
    path = _abs(db)
    key = str(path)
    start = time.monotonic()
    with _GATE_COND:
        gate = _GATES.setdefault(key, _Gate())
        while gate.writer:
            left = start + wait - time.monotonic()
            if left <= 0:
                raise StoreBusy(f"数据库 {path.name} 正在更新，已等待 {wait:.0f} 秒，请稍后再试。")
            _GATE_COND.wait(min(left, 0.05))
        gate.private += 1
    link = path.with_name(f"{path.name}{READER_LINK_INFIX}{os.getpid()}-{next(_link_counter)}")
    con = None
    try:
        _clear_dead_links(path)
        try:
            os.link(path, link)
        except FileNotFoundError:
            raise StoreError(f"数据库文件不存在：{path}") from None
        except OSError:  # no hard links here: an ordinary reader
            link = None
        if link is None:
            with reading(path, wait) as con:
                yield con
            con = None
            return
        pause = _PAUSE_MIN_S
        while True:
            try:
                con = connect(link, read_only=True)
                break
            except (StoreError, duckdb.Error) as exc:  # a writer elsewhere holds the file
                if not _transient(exc):
                    raise
                if time.monotonic() + pause > start + wait:
                    raise StoreBusy(f"数据库 {path.name} 暂时无法读取（{exc}），请稍后再试。") from exc
                time.sleep(pause)
                pause = min(pause * 2, _PAUSE_MAX_S)
        yield con
    finally:
        if con is not None:
            con.close()
        if link is not None:
            for p in (link, wal_path(link)):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
        with _GATE_COND:
            gate.private -= 1
            _GATE_COND.notify_all()


# ── short writes in place ──

def _open_in_place(path: Path, deadline: float) -> duckdb.DuckDBPyConnection:
    """Read-write connection on the live file: this process's readers drained and held off, other
    processes' readers waited for."""
    key = str(path)
    with _GATE_COND:
        gate = _GATES.setdefault(key, _Gate())
        while gate.writer:  # cannot happen under the writer lock; kept for safety
            _GATE_COND.wait(0.05)
        gate.writer = True
        while gate.readers or gate.private or gate.links:
            left = deadline - time.monotonic()
            if left <= 0:
                gate.writer = False
                _GATE_COND.notify_all()
                raise StoreBusy(f"数据库 {path.name} 正被读取，暂时无法写入，请稍后再试。")
            _GATE_COND.wait(min(left, 0.05))
    pause = _PAUSE_MIN_S
    while True:
        try:
            return connect(path)
        except (StoreError, duckdb.Error) as exc:
            if not _transient(exc):
                _end_in_place(path)
                raise
            if time.monotonic() + pause > deadline:
                _end_in_place(path)
                raise StoreBusy(f"数据库 {path.name} 正被其他程序使用，暂时无法写入（{exc}），请稍后再试。") from exc
            time.sleep(pause)
            pause = min(pause * 2, _PAUSE_MAX_S)


def _end_in_place(path: Path) -> None:
    with _GATE_COND:
        _GATES[str(path)].writer = False
        _GATE_COND.notify_all()


@contextmanager
def writing(db: str | os.PathLike | None = None, wait: float = WRITE_WAIT_S, what: str = "写入",
            user: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """One short read-write transaction on the live file: commits on success, rolls back on error.

    For small writes from a page (the candidate pool, a batch of a dictionary change). Readers of
    this process wait meanwhile, and readers elsewhere retry, so keep the work inside short; bulk
    writes (imports, undo) go through ``snapshot`` instead.
    """
    path = _abs(db)
    start = time.monotonic()
    with writer_lock(path, timeout=wait, what=what, user=user):
        con = _open_in_place(path, start + wait)
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            try:
                con.close()  # checkpoints: the live file is left without a WAL
            finally:
                _end_in_place(path)


# ── bulk writes: copy, change, swap ──

_snap_counter = itertools.count(1)
SNAPSHOT_INFIX = ".import-"


class Snapshot:
    """A private copy of the store being changed. ``con`` is a read-write connection to the copy;
    set ``keep = False`` to throw the copy away instead of publishing it."""

    def __init__(self, db: Path, path: Path, con: duckdb.DuckDBPyConnection):
        self.db, self.path, self.con = db, path, con
        self.keep = True


def _clear_leftovers(path: Path) -> int:
    """Copies left by a writer that died (we hold the writer lock, so none is in use), removed with a
    log line; returns the bytes freed."""
    freed = 0
    for p in path.parent.glob(path.name + SNAPSHOT_INFIX + "*"):
        try:
            if p.is_dir():
                import shutil

                size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                shutil.rmtree(p, ignore_errors=True)
            else:
                size = p.stat().st_size
                p.unlink()
            freed += size
            log.warning("已删除中断的写入留下的副本 %s（%.1f MiB）", p.name, size / 2**20)
        except OSError:
            pass
    return freed


def clear_leftovers(db: str | os.PathLike | None = None) -> int:
    """At the app's start: the copies a killed import (or undo) left beside the store, removed now
    rather than at the next writer's start — unless a writer is running (it may be using one).
    Returns the bytes freed (0 when there were none or a writer holds the store)."""
    path = _abs(db)
    if path.is_dir() or not any(path.parent.glob(path.name + SNAPSHOT_INFIX + "*")):
        return 0
    try:
        with writer_lock(path, timeout=0, what="清理中断的写入留下的副本"):
            return _clear_leftovers(path)
    except StoreBusy:
        return 0


def _ofd_shared(fd: int) -> bool:
    """Take a shared lock on the store file like a DuckDB reader: no process can open it read-write
    while we hold it. Open-file-description lock (Linux): closing other descriptors of the file does
    not release it, and it conflicts with DuckDB's own locks even within this process."""
    if fcntl is None or not hasattr(fcntl, "F_OFD_SETLK"):
        return True
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack("hhxxxxqqixxxx", fcntl.F_RDLCK, os.SEEK_SET, 0, 0, 0))
        return True
    except OSError:
        return False


def _fsync(path: Path, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a directory
        pass
    finally:
        os.close(fd)


def _copy_fd(src: int, dst: Path) -> None:
    """Copy from an open descriptor (opening the store again and closing it would drop this
    process's DuckDB locks on it: POSIX record locks go with any close of the file)."""
    size = os.fstat(src).st_size
    out = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        offset = 0
        while offset < size:
            try:
                n = os.copy_file_range(src, out, size - offset, offset)
            except (AttributeError, OSError):
                n = os.sendfile(out, src, offset, min(size - offset, 1 << 30))
            if n <= 0:
                break
            offset += n
        if offset != size:
            raise StoreError(f"复制数据库失败：只复制了 {offset} / {size} 字节")
    finally:
        os.close(out)


@contextmanager
def snapshot(db: str | os.PathLike | None = None, wait: float | None = WRITE_WAIT_S, what: str = "导入",
             user: str | None = None) -> Iterator[Snapshot]:
    """Change a copy of the store and swap it in whole (``os.replace``) when the block ends.

    Under the writer lock: a WAL left by a writer that died is folded into the store first; the
    store is copied while holding a shared lock on it (no process can write it in place meanwhile,
    readers are not disturbed); the block changes the copy through ``Snapshot.con``; then the copy
    is checkpointed, fsynced and renamed over the store. An exception, or ``keep = False``, throws
    the copy away: the store is exactly as before. Readers that opened the old file finish on it;
    the next reader opens the new one.
    """
    path = _abs(db)
    start = time.monotonic()
    deadline = start + (wait if wait is not None else READ_WAIT_S)
    with writer_lock(path, timeout=wait, what=what, user=user):
        _clear_leftovers(path)
        fd = None
        if path.exists():
            while True:
                if wal_path(path).exists():  # a writer died after a commit: fold its WAL in first
                    con = _open_in_place(path, max(deadline, time.monotonic() + 5))
                    try:
                        con.execute("CHECKPOINT")
                    finally:
                        con.close()
                        _end_in_place(path)
                fd = os.open(path, os.O_RDONLY)
                if _ofd_shared(fd) and not wal_path(path).exists():
                    break
                os.close(fd)  # someone outside the writer lock holds the file read-write
                fd = None
                if time.monotonic() > deadline:
                    raise StoreBusy(f"数据库 {path.name} 正被其他程序写入，请稍后再试（本次操作没有改动任何数据）。")
                time.sleep(0.1)
        tmp = path.with_name(f"{path.name}{SNAPSHOT_INFIX}{os.getpid()}-{next(_snap_counter)}")
        con = None
        try:
            if fd is not None:
                _copy_fd(fd, tmp)
            test_hook("after_copy")
            con = connect(tmp)  # a copy of an older store is migrated here, published with the change
            snap = Snapshot(path, tmp, con)
            yield snap
            if snap.keep:
                con.execute("CHECKPOINT")
            con.close()
            con = None
            if snap.keep:
                _fsync(tmp)
                test_hook("before_publish")
                os.replace(tmp, path)
                _fsync(path.parent, directory=True)
                test_hook("after_publish")
        finally:
            if con is not None:
                con.close()
            for p in (tmp, wal_path(tmp)):
                try:
                    p.unlink()
                except FileNotFoundError:
                    pass
            if fd is not None:
                os.close(fd)
