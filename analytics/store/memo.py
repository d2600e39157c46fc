"""Work done once per state of a store, kept for the next call in the same process.

Some figures need a pass over every row of a year (the 践行 index counts every representative's
activities, suggestions and opinions from 1 January): at a million opinions that pass takes seconds,
while what it yields — counts per representative and day — is small. ``remember`` keeps such a
result, keyed by the store's state, so the next call (another period, another page, the previous
quarter of a ranking) starts from it.

The state of a store (``store_state``) is told only where it cannot change behind our back:
- a DuckDB file opened read-only (the app's and the command line's readers): its path, inode, size
  and modification time, and those of its write-ahead log — any commit by any process changes one
  of them, and an import that swaps the file in changes the inode;
- a Parquet dataset (``analytics.store.dataset``): its directory and the time it was exported.
Any other connection (a writer, an in-memory database) has no state to key by: nothing is kept,
the work is done every time.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import weakref
from collections import OrderedDict
from typing import Callable, Hashable, TypeVar

import numpy as np
import pandas as pd

from analytics.store import derived
from analytics.store.db import READER_LINK_INFIX
from analytics.store.schema import DATASET_VIEW

T = TypeVar("T")

MAX_ENTRIES = 1024          # results kept per process, at most …
MAX_BYTES = 384 * 2 ** 20  # … and their rough size (``size_of``; the largest, a year's day counts, ~30 MB at 1M)

_lock = threading.Lock()
_entries: OrderedDict[Hashable, object] = OrderedDict()
_building: dict[Hashable, threading.Lock] = {}
_sizes: dict[Hashable, int] = {}  # entry -> size_of(its value)
_bytes = 0  # the sum of _sizes


def _stat(path: str) -> tuple | None:
    try:
        s = os.stat(path)
    except OSError:
        return None
    return (s.st_ino, s.st_size, s.st_mtime_ns)


_states: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # read-only connection -> its state


def store_state(con) -> tuple | None:
    """A key that changes whenever the data behind ``con`` can have changed; None when unknown.
    A read-only connection to a file sees the same data for as long as it is open (no writer can
    open the file meanwhile; a file swapped in by an import is not the one it reads): its state is
    worked out once (a query, ~1 ms — a page asks dozens of times)."""
    with _lock:
        try:
            known = _states.get(con, _MISSING)
        except TypeError:  # not weak-referenceable
            known = _MISSING
    if known is not _MISSING:
        return known  # type: ignore[return-value]
    state, lasting = _state_of(con)
    if lasting:
        with _lock:
            try:
                _states[con] = state
            except TypeError:
                pass
    return state


def _state_of(con) -> tuple[tuple | None, bool]:
    """(the state, whether it lasts as long as the connection: a read-only file's, or None for a
    connection that writes a file — counting ahead asks hundreds of times)."""
    cur = con.cursor()
    try:
        row = cur.execute("SELECT path, readonly FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchone()
        if row and row[0] and not row[1]:
            return None, True
        if row and row[0] and row[1]:
            path = row[0]
            main = _stat(path)
            # A reader opened through a hard link (store.open_reader after a swap, private_reading)
            # reads the same file as the store's path: keyed by that path, its results are shared.
            where = path.split(READER_LINK_INFIX)[0]
            return (None, False) if main is None else (("file", where, main, _stat(path + ".wal")), True)
        has = cur.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? "
                          "AND database_name = current_database()", [DATASET_VIEW]).fetchone()[0]
        if has:
            return ("dataset", cur.execute(f"SELECT stamp FROM {DATASET_VIEW}").fetchone()[0]), False
        return None, False
    finally:
        cur.close()


_MISSING = object()


def _lookup(state: tuple, full: tuple, name: str, key: Hashable):
    """The value kept in this process for ``full`` (collected under a capture), or _MISSING; older
    states of the store are let go first. Under _lock."""
    _forget_older_states(state)
    if full in _entries:
        _entries.move_to_end(full)
        _captured(name, key, _entries[full])
        return _entries[full]
    return _MISSING


def remember(con, name: str, key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or what it returned before for the same store state, ``name`` and ``key``.
    Callers must treat the result as read-only (it is shared)."""
    state = store_state(con)
    if state is None:
        local = getattr(capture_state, "values", None)
        if local is not None:  # under capture(): a writer's results are kept for the capture's length
            if (name, key) not in local:
                local[(name, key)] = _stored_or_computed(con, name, key, compute)
            return local[(name, key)]
        return _stored_or_computed(con, name, key, compute)
    full = (name, state, key)
    with _lock:
        hit = _lookup(state, full, name, key)
        if hit is not _MISSING:
            return hit  # type: ignore[return-value]
        building = _building.setdefault(full, threading.Lock())
    with building:  # two sessions asking at once: one computes, the other waits for it
        with _lock:
            if full in _entries:
                _entries.move_to_end(full)
                return _entries[full]  # type: ignore[return-value]
        value = _stored_or_computed(con, name, key, compute)
        with _lock:
            _keep(full, value)
            _building.pop(full, None)
    return value


# ── results also kept in the store (analytics/store/derived.py) ──
# name -> (encode(value) -> bytes, decode(bytes) -> value), registered by the module that owns the
# result. For these names a miss here first looks in the store's ``derived`` table (rows the importer
# wrote for the data as it is now), and under ``capture()`` what is computed is collected for it.
PERSISTED: dict[str, tuple[Callable[[object], bytes], Callable[[bytes], object]]] = {}
capture_state = threading.local()


def persist(name: str, encode: Callable[[object], bytes], decode: Callable[[bytes], object]) -> None:
    PERSISTED[name] = (encode, decode)


def fingerprint_now(con) -> str:
    """``derived.fingerprint`` of the data behind ``con``, computed once per store state in this
    process: a ranking reads four stored results. Read from the store where counting ahead kept it
    (``derived.kept_fingerprint``); at a million rows computing it costs ~70 ms."""
    return remember(con, "derived.fingerprint", (), lambda: derived.kept_fingerprint(con))


def stored_key(key: Hashable) -> str:
    """The key of a result in the store's derived table: a digest of the program's code and settings
    (``derived.code_stamp``) and of the memo key's repr (tuples of settings, period codes and dates,
    whose repr is stable)."""
    return derived.settings_key(derived.code_stamp(), key)


class capture:
    """``with memo.capture() as got:`` — results of PERSISTED names computed inside (not found in
    the store) are collected in ``got`` as (name, stored key, payload), for ``analytics.domain.ahead``."""

    def __enter__(self) -> list[tuple[str, str, bytes]]:
        self.got: list[tuple[str, str, bytes]] = []
        capture_state.got = self.got
        # A writer's connection has no state to key by: inside the capture its results are kept here
        # (the warmers ask for the same day counts and cells several times).
        capture_state.values = {}
        capture_state.payloads = {}
        return self.got

    def __exit__(self, *exc) -> None:
        capture_state.got = None
        capture_state.values = None
        capture_state.payloads = None


def _stored(con, name: str, key: Hashable):
    """The value of a PERSISTED name kept in the store's derived table for the data as it is now, or
    None (not persisted, not kept, or a payload that cannot be read — recomputed, not trusted)."""
    codec = PERSISTED.get(name)
    if codec is None:
        return None
    payload = _payloads(con, name).get(stored_key(key))
    if payload is None:
        return None
    try:
        return codec[1](payload)
    except Exception:  # noqa: BLE001 — a payload that cannot be read is recomputed, not trusted
        return None


_kept_payloads: dict[tuple, dict[str, bytes]] = {}  # (store state, name) -> its payloads in the store


def _payloads(con, name: str) -> dict[str, bytes]:
    """The store's payloads of ``name`` for the data as it is now (``derived.load_all``), read once per
    store state and process (the decoded values are kept apart, within MAX_BYTES)."""
    state = store_state(con)
    if state is None:  # a writer's connection: kept for the length of a capture, if any
        local = getattr(capture_state, "payloads", None)
        if local is None:
            return derived.load_all(con, name, fingerprint_now(con))
        if name not in local:
            local[name] = derived.load_all(con, name, fingerprint_now(con))
        return local[name]
    with _lock:
        got = _kept_payloads.get((state, name))
    if got is None:
        got = derived.load_all(con, name, fingerprint_now(con))
        with _lock:
            _forget_older_states(state)
            _kept_payloads[(state, name)] = got
    return got


def _stored_or_computed(con, name: str, key: Hashable, compute: Callable[[], T]) -> T:
    value = _stored(con, name, key)
    if value is not None:
        return value  # type: ignore[return-value]
    value = compute()
    _captured(name, key, value)
    return value


def recall(con, name: str, key: Hashable):
    """What ``remember(con, name, key, …)`` would return without computing: the value kept in this
    process or in the store for the data as it is now; None when neither holds it. For a caller
    that computes the missing parts of a request in one pass and ``put``s them one by one."""
    state = store_state(con)
    if state is None:
        local = getattr(capture_state, "values", None)
        if local is not None and (name, key) in local:
            return local[(name, key)]
        return _stored(con, name, key)
    full = (name, state, key)
    with _lock:
        hit = _lookup(state, full, name, key)
        if hit is not _MISSING:
            return hit
    value = _stored(con, name, key)
    if value is not None:
        put(con, name, key, value, collect=True)
    return value


def _captured(name: str, key: Hashable, value) -> None:
    """Under ``capture()``, collect a PERSISTED result (computed now, or kept from before in this
    process — the store may not have it yet)."""
    got = getattr(capture_state, "got", None)
    if got is not None and name in PERSISTED:
        try:
            payload = PERSISTED[name][0](value)
        except Exception:  # noqa: BLE001 — a result that cannot be stored is computed when asked
            return
        got.append((name, stored_key(key), payload))


def put(con, name: str, key: Hashable, value, collect: bool = False) -> bool:
    """Keep ``value`` as what ``remember(con, name, key, …)`` would compute (a caller that got many
    results in one pass). False when ``con`` has no state to key by (nothing kept). With ``collect``,
    under ``capture()`` a PERSISTED result is also collected for the store, as ``remember`` does."""
    if collect:
        _captured(name, key, value)
    state = store_state(con)
    if state is None:
        local = getattr(capture_state, "values", None)
        if local is None:
            return False
        local[(name, key)] = value  # under capture(): kept for the capture's length, as remember does
        return True
    with _lock:
        _forget_older_states(state)
        _keep((name, state, key), value)
    return True


def _keep(full: tuple, value) -> None:
    """Keep a value, letting the least recently used go past MAX_ENTRIES values or MAX_BYTES. Under _lock."""
    global _bytes
    if full in _entries:
        _bytes -= _sizes.pop(full, 0)
    _entries[full] = value
    _entries.move_to_end(full)
    _sizes[full] = size_of(value)
    _bytes += _sizes[full]
    while len(_entries) > 1 and (len(_entries) > MAX_ENTRIES or _bytes > MAX_BYTES):
        old, _ = _entries.popitem(last=False)
        _bytes -= _sizes.pop(old, 0)


def size_of(value, depth: int = 0) -> int:
    """A rough size in bytes of a kept value (frames and arrays by their buffers; containers by a
    sample of their items), for the byte budget."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=False).sum()) + 100 * value.shape[1]
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, (bytes, str)):
        return len(value) + 50
    if depth >= 4:
        return 64
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return 64 + sum(size_of(getattr(value, f.name), depth + 1) for f in dataclasses.fields(value))
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = list(value)
    else:
        return 64
    sample = items[:200]
    each = sum(size_of(x, depth + 1) for x in sample) / len(sample) if sample else 0
    return int(64 + 16 * len(items) + each * len(items) * (2 if isinstance(value, dict) else 1))


_current: dict[str, tuple] = {}  # store path (or dataset) -> the newest state seen


def _forget_older_states(state: tuple) -> None:
    """A store seen in a new state (an import swapped a new file in): what was kept for its older
    states can never be asked for again — let it go now, not when the cache is full. Under _lock."""
    where = state[1] if state[0] == "file" else state[1].split("|")[0]
    old = _current.get(where)
    if old == state:
        return
    _current[where] = state
    if old is not None:
        global _bytes
        for k in [k for k in _entries if k[1] == old]:
            del _entries[k]
            _bytes -= _sizes.pop(k, 0)
        for k in [k for k in _kept_payloads if k[0] == old]:
            del _kept_payloads[k]


def clear() -> None:
    global _bytes
    with _lock:
        _entries.clear()
        _sizes.clear()
        _bytes = 0
        _current.clear()
        _kept_payloads.clear()
