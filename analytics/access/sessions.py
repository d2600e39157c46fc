"""Sessions that outlast a page load: a signed, server-checked session cookie (docs/security.md §会话).

Streamlit keeps nothing across a reload, a typed URL or a new tab, so a password login alone would
ask again each time. After a login the server records a session here and hands the browser a
one-time grant; the browser trades the grant at ``POST /_cockpit/session`` (a route of app.py's
``st.App``) for the cookie ``cockpit_session``, set by the server with HttpOnly and SameSite=Strict.
Each later page load brings the cookie (``st.context.cookies``) and ``check`` decides:

- the value is ``<session id>.<HMAC-SHA256 of the id under the server secret>``: a forged or altered
  value fails the signature before anything is looked up;
- the session must exist here, not be revoked (logout), be younger than the absolute limit and have
  been seen within the idle limit ([session] of data/security.toml; the 大屏 role has its own);
- its user must still exist, be enabled, and have the same role and password as when it was made
  (the ``stamp``): a password change, a reset, a role change or disabling ends every session of the
  user at once, also when users.toml is edited by hand.

State lives in ``sessions.sqlite`` beside the users file (SQLite: several server processes may share
it); the secret in ``session.key`` beside it (made on first use, mode 0600) unless
``COCKPIT_SESSION_SECRET`` is set. Nothing here imports streamlit.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from analytics.access.users import ROLE_SCREEN, Settings, User, users_path

COOKIE = "cockpit_session"
SECRET_ENV = "COCKPIT_SESSION_SECRET"
GRANT_SECONDS = 60  # a grant not traded within a minute is void
TOUCH_SECONDS = 30  # last_seen is written at most this often per session
MAX_COOKIE_LEN = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    sid TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    stamp TEXT NOT NULL,
    via TEXT NOT NULL,
    created REAL NOT NULL,
    last_seen REAL NOT NULL,
    revoked REAL,
    grant_digest TEXT,
    grant_expires REAL
)"""


def store_path(users_file: Path | None = None) -> Path:
    return (users_file or users_path()).with_name("sessions.sqlite")


def user_stamp(user: User) -> str:
    """What a session was made for: the user's role, password (hash) and state. Any change of them
    ends the user's sessions."""
    text = "\x1f".join((user.name, user.role, user.password, user.oidc, "1" if user.disabled else "0"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


_KEYS: dict[Path, bytes] = {}  # session.key's content, read once per process
_READY: set[Path] = set()  # session files whose table this process has made sure of


def _secret(users_file: Path | None = None) -> bytes:
    env = os.environ.get(SECRET_ENV)
    if env:
        return env.encode("utf-8")
    path = (users_file or users_path()).with_name("session.key")
    if path in _KEYS:
        return _KEYS[path]
    try:
        _KEYS[path] = bytes.fromhex(path.read_text(encoding="ascii").strip())
        return _KEYS[path]
    except (OSError, ValueError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # O_EXCL: two servers, one key
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(key)
    _KEYS[path] = bytes.fromhex(key)
    return _KEYS[path]


def _sign(sid: str, key: bytes) -> str:
    return hmac.new(key, sid.encode("ascii"), hashlib.sha256).hexdigest()


def _digest(grant: str) -> str:
    return hashlib.sha256(grant.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """The outcome of ``check``: the user signed in by the cookie, or why not (a short English code
    for the audit log: forged, unknown, revoked, expired, idle, gone, changed)."""
    user: User | None
    sid: str | None = None
    reason: str = ""
    via: str = "password"


class Sessions:
    """The session records of one users file."""

    def __init__(self, users_file: Path | None = None):
        self.users_file = users_file or users_path()
        self.path = store_path(self.users_file)

    def _connect(self) -> sqlite3.Connection:
        """A short connection (one per call: several threads and processes share the file)."""
        fresh = self.path not in _READY or not self.path.exists()
        if fresh:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        if fresh:
            con.execute(_SCHEMA)
            _READY.add(self.path)
        return con

    def create(self, user: User, via: str = "password", now: float | None = None) -> tuple[str, str]:
        """A new session for ``user``: (session id, one-time grant the browser trades for the cookie)."""
        now = time.time() if now is None else now
        sid, grant = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        con = self._connect()
        try:
            con.execute("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                        [sid, user.name, user_stamp(user), via, now, now, _digest(grant), now + GRANT_SECONDS])
        finally:
            con.close()
        return sid, grant

    def redeem(self, grant: str, now: float | None = None) -> str | None:
        """The cookie value for a grant, once; None for an unknown, used or expired grant."""
        now = time.time() if now is None else now
        if not grant or len(grant) > MAX_COOKIE_LEN:
            return None
        con = self._connect()
        try:
            row = con.execute("UPDATE sessions SET grant_digest = NULL WHERE grant_digest = ? AND grant_expires >= ? "
                              "AND revoked IS NULL RETURNING sid", [_digest(grant), now]).fetchone()
        finally:
            con.close()
        return f"{row[0]}.{_sign(row[0], _secret(self.users_file))}" if row else None

    def check(self, cookie: str | None, users: dict[str, User], settings: Settings,
              now: float | None = None) -> Verdict:
        """Who the cookie signs in, or why it does not (see the module's docstring)."""
        if not cookie:
            return Verdict(None, reason="none")
        sid, _, sig = cookie.partition(".")
        if len(cookie) > MAX_COOKIE_LEN or not sid or not hmac.compare_digest(sig, _sign(sid, _secret(self.users_file))):
            return Verdict(None, reason="forged")
        return self._verdict(sid, users, settings, time.time() if now is None else now)

    def alive(self, sid: str, users: dict[str, User], settings: Settings, now: float | None = None) -> str:
        """'' while the session ``sid`` holds (and it counts as seen now), else why not — for a page
        already open: a logout in another tab or a password change ends it there too."""
        return self._verdict(sid, users, settings, time.time() if now is None else now).reason

    def _verdict(self, sid: str, users: dict[str, User], settings: Settings, now: float) -> Verdict:
        con = self._connect()
        try:
            row = con.execute("SELECT user, stamp, via, created, last_seen, revoked FROM sessions WHERE sid = ?",
                              [sid]).fetchone()
            if row is None:
                return Verdict(None, sid, "unknown")
            name, stamp, via, created, last_seen, revoked = row
            user = users.get(name)
            absolute, idle = limits(user, settings)
            reason = ("revoked" if revoked is not None else
                      "expired" if now - created > absolute else
                      "idle" if idle is not None and now - last_seen > idle else
                      "gone" if user is None or user.disabled else
                      "changed" if stamp != user_stamp(user) else "")
            if reason:
                return Verdict(None, sid, reason, via)
            if now - last_seen >= TOUCH_SECONDS:
                con.execute("UPDATE sessions SET last_seen = ? WHERE sid = ?", [now, sid])
            return Verdict(user, sid, via=via)
        finally:
            con.close()

    def revoke(self, sid: str, now: float | None = None) -> None:
        con = self._connect()
        try:
            con.execute("UPDATE sessions SET revoked = ?, grant_digest = NULL WHERE sid = ? AND revoked IS NULL",
                        [time.time() if now is None else now, sid])
        finally:
            con.close()

    def forget_old(self, settings: Settings, now: float | None = None) -> int:
        """Remove records no cookie can use any more (older than the longest absolute limit)."""
        now = time.time() if now is None else now
        oldest = now - max(settings.session_hours, settings.screen_session_days * 24) * 3600
        con = self._connect()
        try:
            return con.execute("DELETE FROM sessions WHERE created < ?", [oldest]).rowcount
        finally:
            con.close()


def limits(user: User | None, settings: Settings) -> tuple[float, float | None]:
    """(absolute seconds, idle seconds or None) of a session of ``user``: the 大屏 role's wall display
    runs for days and never goes idle (it refreshes itself); everyone else by [session]."""
    if user is not None and user.role == ROLE_SCREEN:
        return settings.screen_session_days * 86400.0, None
    return settings.session_hours * 3600.0, settings.idle_minutes * 60.0
