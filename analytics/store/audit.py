"""The audit log: who did what and when — logins (successful and failed), imports, undos, changes to
the candidate pool and the dictionary, exports, user administration and every view of a submitter's
raw name. The admin reads it on the 用户与审计 page.

One table, ``audit_log`` (store migration 4). Code that already holds a write transaction calls
``record(con, …)`` inside it, so a change and its record commit together. Everything else (a login,
an export) calls ``record_at(db, …)``, which takes a short transaction of its own. When the store
cannot take the event at that moment — the command-line importer holds it, or the store is missing
or still empty (the first start replaces an empty store by the demo build, which would drop the
row) — the event goes to a spool file beside the store (``<store>.audit.jsonl``) and is moved into
the table by the next write that succeeds. ``read_at`` shows spooled events too, so nothing is
missing from the admin's view meanwhile.

Values are clipped and control characters replaced before they are stored: the actor of a failed
login is whatever someone typed. No personal data goes into an event: a view of raw names records
the opinion's id, not the name.
"""
from __future__ import annotations

import json
import os
import threading
import unicodedata
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Iterator

import duckdb
import pandas as pd

from analytics.store.db import StoreError, default_db_path, reading, writing
from analytics.store.schema import has_data

try:  # POSIX; on Windows only the in-process lock applies
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

# action code -> Chinese label (what the admin page shows). Codes are stored; labels are not.
ACTIONS: dict[str, str] = {
    "login": "登录",
    "login_failed": "登录失败",
    "login_throttled": "登录被暂缓（尝试过多）",
    "logout": "退出登录",
    "session_expired": "会话超时",
    "access_denied": "无权访问的页面",
    "password_change": "修改自己的密码",
    "import": "导入数据",
    "undo": "撤销导入",
    "profile": "保存映射方案",
    "profile_delete": "删除映射方案",
    "locate": "补定位（未定位的意见）",
    "candidate_add": "加入监督项目备选库",
    "candidate_status": "备选库状态变更",
    "candidate_note": "备选库备注",
    "dictionary": "词典变更",
    "export": "导出文件",
    "raw_names": "查看提交人原始姓名",
    "user_add": "添加用户",
    "user_disable": "停用用户",
    "user_enable": "启用用户",
    "user_reset": "重设密码",
    "user_role": "修改角色",
    "user_oidc": "设置 OIDC 身份",
}
COLUMNS = ("event_id", "event_at", "actor", "role", "action", "target", "ok", "detail", "client")
COLUMN_LABELS = {"event_id": "序号", "event_at": "时间", "actor": "用户", "role": "角色", "action": "操作",
                 "target": "对象", "ok": "成功", "detail": "详情", "client": "来源"}

# The DDL of store migration 4 (analytics/store/db.py repeats it; a test keeps the two equal).
SCHEMA = [
    "CREATE SEQUENCE IF NOT EXISTS audit_seq START 1",
    """CREATE TABLE IF NOT EXISTS audit_log (
            event_id BIGINT PRIMARY KEY DEFAULT nextval('audit_seq'), event_at TIMESTAMP NOT NULL,
            actor VARCHAR NOT NULL, role VARCHAR, action VARCHAR NOT NULL, target VARCHAR,
            ok BOOLEAN NOT NULL, detail JSON, client VARCHAR)""",
]

_MAX_ACTOR, _MAX_TARGET, _MAX_DETAIL, _MAX_CLIENT = 64, 200, 2000, 64
LOCK_WAIT_S = 2.0  # how long a login or an export waits for the store before spooling
READ_LIMIT = 5000  # rows the admin page reads at most (newest first)


def _clip(value, n: int) -> str | None:
    """Text safe to store and show: control characters made visible as '�', at most n characters."""
    if value is None:
        return None
    s = "".join("�" if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in str(value)[: n * 2])
    return s if len(s) <= n else s[: n - 1] + "…"


def _event(action: str, actor: str, role=None, target=None, detail=None, ok=True, client=None, at=None) -> dict:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    text = None
    if detail is not None:
        text = json.dumps(detail, ensure_ascii=False, default=str)
        if len(text) > _MAX_DETAIL:
            text = json.dumps({"截断": _clip(text, _MAX_DETAIL)}, ensure_ascii=False)
    return {
        "event_at": (at or datetime.now()).isoformat(timespec="microseconds"),
        "actor": _clip(actor or "?", _MAX_ACTOR), "role": _clip(role, 32), "action": action,
        "target": _clip(target, _MAX_TARGET), "ok": bool(ok), "detail": text, "client": _clip(client, _MAX_CLIENT),
    }


def _insert(con: duckdb.DuckDBPyConnection, e: dict) -> None:
    con.execute(  # on the caller's connection: inside its transaction (a cursor would be a new one)
        "INSERT INTO audit_log (event_at, actor, role, action, target, ok, detail, client) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [datetime.fromisoformat(e["event_at"]), e["actor"], e["role"], e["action"], e["target"], e["ok"],
         e["detail"], e["client"]],
    )


def record(con: duckdb.DuckDBPyConnection, action: str, actor: str, *, role: str | None = None,
           target: str | None = None, detail: dict | None = None, ok: bool = True,
           client: str | None = None) -> None:
    """Record an event inside the caller's write transaction (it commits with the change)."""
    _insert(con, _event(action, actor, role, target, detail, ok, client))


# ───────────────────────────── outside a transaction ─────────────────────────────

def spool_path(db: Path) -> Path:
    return db.with_name(db.name + ".audit.jsonl")


_SPOOL_LOCK = threading.Lock()


@contextmanager
def _spool_locked(db: Path) -> Iterator[Path]:
    path = spool_path(db)
    with _SPOOL_LOCK:
        if fcntl is None:
            yield path
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path.with_name(path.name + ".lock"), "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield path
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _append(path: Path, event: dict) -> None:
    """Add an event to the spool (the caller holds ``_spool_locked``)."""
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(event, ensure_ascii=False) + "\n")
    os.chmod(path, 0o600)


def _spooled(path: Path) -> list[dict]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines:
        try:
            e = json.loads(line)
        except ValueError:
            continue  # a line cut by a crash mid-write
        if isinstance(e, dict) and e.get("action") in ACTIONS:
            out.append(e)
    return out


def record_at(db: str | os.PathLike | None, action: str, actor: str, *, role: str | None = None,
              target: str | None = None, detail: dict | None = None, ok: bool = True,
              client: str | None = None, wait: float = LOCK_WAIT_S) -> bool:
    """Record an event in a short transaction of its own, with whatever waited in the spool.
    Returns True when it reached the table, False when it was spooled (see the module docstring)."""
    db = default_db_path(db)
    event = _event(action, actor, role, target, detail, ok, client)
    # The spool stays locked until the events it held are committed (or the new one is added to it).
    with _spool_locked(db) as path:
        if db.is_file():
            try:
                with writing(db, wait=wait, what="审计记录", user=event["actor"]) as con:
                    if not has_data(con):
                        raise _NotReady
                    for e in [*_spooled(path), event]:
                        _insert(con, e)
                path.unlink(missing_ok=True)  # committed
                return True
            except (_NotReady, StoreError, duckdb.Error, OSError):
                pass
        _append(path, event)
    return False


class _NotReady(Exception):
    """The store holds no data yet: the first start may still replace it by the demo build."""


# ───────────────────────────── reading ─────────────────────────────

def read(con: duckdb.DuckDBPyConnection, *, since: datetime | None = None, until: datetime | None = None,
         actor: str | None = None, actions: list[str] | None = None, text: str | None = None,
         limit: int = READ_LIMIT) -> pd.DataFrame:
    """Events of the table, newest first, filtered: ``since`` ≤ at < ``until``; ``actor`` exactly;
    ``actions`` any of; ``text`` contained (case-insensitive) in actor, target or detail."""
    sql = """
        SELECT event_id, event_at, actor, role, action, target, ok, CAST(detail AS VARCHAR) AS detail, client
        FROM audit_log
        WHERE ($since IS NULL OR event_at >= $since) AND ($until IS NULL OR event_at < $until)
          AND ($actor IS NULL OR actor = $actor)
          AND ($text IS NULL OR contains(lower(concat_ws(' ', actor, target, CAST(detail AS VARCHAR))), lower($text)))
          AND (len($actions) = 0 OR list_contains($actions, action))
        ORDER BY event_at DESC, event_id DESC
        LIMIT $limit"""
    return con.cursor().execute(sql, {
        "since": since, "until": until, "actor": actor or None, "text": text or None,
        "actions": list(actions or []), "limit": int(limit),
    }).df()


def _filter_spooled(events: list[dict], since, until, actor, actions, text) -> list[dict]:
    out = []
    for e in events:
        at = datetime.fromisoformat(e["event_at"])
        hay = " ".join(str(e.get(k) or "") for k in ("actor", "target", "detail")).lower()
        if ((since is None or at >= since) and (until is None or at < until)
                and (not actor or e.get("actor") == actor) and (not actions or e.get("action") in actions)
                and (not text or text.lower() in hay)):
            out.append({**e, "event_at": at, "event_id": None})
    return out


def read_at(db: str | os.PathLike | None, *, since: datetime | None = None, until: datetime | None = None,
            actor: str | None = None, actions: list[str] | None = None, text: str | None = None,
            limit: int = READ_LIMIT) -> pd.DataFrame:
    """``read`` on a store file (read-only, short), plus the events still in its spool (no 序号 yet)."""
    db = default_db_path(db)
    frames = []
    if db.is_file():
        try:
            with reading(db, wait=5) as con:
                frames.append(read(con, since=since, until=until, actor=actor, actions=actions, text=text,
                                   limit=limit))
        except (StoreError, duckdb.Error):
            pass  # busy or older schema: the spool is still shown
    spooled = _filter_spooled(_spooled(spool_path(db)), since, until, actor, actions, text)
    if spooled:
        frames.append(pd.DataFrame(spooled, columns=list(COLUMNS)))
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame(columns=list(COLUMNS))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df["event_at"] = pd.to_datetime(df["event_at"])
    return df.sort_values("event_at", ascending=False, kind="stable").head(limit).reset_index(drop=True)


def for_display(df: pd.DataFrame) -> pd.DataFrame:
    """The events as the admin page and its download show them: Chinese headers and action names."""
    out = df.copy()
    out["action"] = out["action"].map(lambda a: ACTIONS.get(a, a))
    out["ok"] = out["ok"].map({True: "是", False: "否"}).fillna("")
    out["event_at"] = pd.to_datetime(out["event_at"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    out["event_id"] = out["event_id"].map(lambda v: "" if pd.isna(v) else str(int(v)))
    return out[list(COLUMNS)].rename(columns=COLUMN_LABELS)
