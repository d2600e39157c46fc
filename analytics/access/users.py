"""Who may use the cockpit and how they prove it: roles and what each may open, the users file with
salted password hashes, the security settings (``data/security.toml``) and the slow-down of repeated
failed logins. No streamlit here: ``pages/_layout.py`` draws the login form and asks this module.

- **Roles** (``ROLES``): 主任会议成员 opens the cockpit, rankings, suggestions and representatives;
  分析员 also hot words, the candidate pool, the dictionary and the reports; 管理员 also data
  management and users. ``ROLE_PAGES`` and ``CAPABILITIES`` say it once; pages ask ``can_open`` / ``can``.
- **Users** live in a TOML file outside git (``data/users.toml``; ``COCKPIT_USERS`` overrides the
  path), written only by this module (``python -m analytics users …`` and the admin page). Passwords
  are stored as ``scrypt$N$r$p$salt$hash`` (hashlib.scrypt: salted, memory-hard, standard library).
  A password made up by the system must be changed at the first login (``must_change``).
- **Failed logins** are counted per user name, per client address and (in the app) per browser
  session; after ``free_attempts`` failures each further one doubles the wait, up to
  ``max_delay_minutes`` (a temporary lockout). The counts per user and address are kept in a JSON
  file beside the users file, so a restart does not reset them.
- **No users at all** means demo mode: the app opens without login, but only when it is reached on
  this machine (``pages/_layout.py`` decides that from the server address and the request).
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import hmac
import json
import os
import re
import secrets
import tempfile
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Iterator, MutableMapping
from analytics.core.config import read_toml
from analytics.core.paths import ROOT

try:  # POSIX; on Windows only the in-process lock applies
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

USERS_ENV, SETTINGS_ENV = "COCKPIT_USERS", "COCKPIT_SECURITY"
DEFAULT_USERS = ROOT / "data" / "users.toml"
DEFAULT_SETTINGS = ROOT / "data" / "security.toml"

# ───────────────────────────── roles ─────────────────────────────

ROLE_CHAIR, ROLE_ANALYST, ROLE_ADMIN = "主任会议成员", "分析员", "管理员"
ROLE_SCREEN = "大屏"  # a meeting room's wall display: the big screen only, view only, a long session
ROLES = (ROLE_CHAIR, ROLE_ANALYST, ROLE_ADMIN, ROLE_SCREEN)

_CHAIR_PAGES = ("cockpit", "ranking", "suggestions", "reps")
_ANALYST_PAGES = (*_CHAIR_PAGES, "hotwords", "candidates")
# The pages (labels.PAGES url paths) each role may open; any other page refuses it.
ROLE_PAGES: dict[str, tuple[str, ...]] = {
    ROLE_CHAIR: _CHAIR_PAGES,
    ROLE_ANALYST: _ANALYST_PAGES,
    ROLE_ADMIN: (*_ANALYST_PAGES, "data", "users"),
    ROLE_SCREEN: ("cockpit",),  # shown as the big screen, whatever the URL asks
}
# What a role may do inside a page it opens.
CAPABILITIES: dict[str, tuple[str, ...]] = {
    "report": (ROLE_ANALYST, ROLE_ADMIN),  # the quarterly 专报 and its tables (镇街排名)
    "dictionary": (ROLE_ANALYST, ROLE_ADMIN),  # the segmentation dictionary (热词分析)
    "candidates": (ROLE_ANALYST, ROLE_ADMIN),  # add to and change the 监督项目备选库
    "import": (ROLE_ADMIN,),  # import and undo (数据管理)
    "users": (ROLE_ADMIN,),  # users and the audit log (用户与审计)
    "raw_names": (ROLE_ADMIN,),  # submitters' raw names — and only if [privacy] admin_raw_names
}


def can_open(role: str | None, url_path: str) -> bool:
    return url_path in ROLE_PAGES.get(role or "", ())


def can(role: str | None, capability: str, settings: "Settings | None" = None) -> bool:
    if role not in CAPABILITIES.get(capability, ()):
        return False
    if capability == "raw_names":
        return (settings or load_settings()).admin_raw_names
    return True


class AuthError(ValueError):
    """A users file, a settings file or a request that cannot be accepted; the message is Chinese."""


# ───────────────────────────── settings ─────────────────────────────

@dataclass(frozen=True)
class Settings:
    """``data/security.toml``; every value documented there and in docs/security.md."""
    idle_minutes: int = 30
    session_hours: int = 12  # a signed-in session ends this long after the login, active or not
    screen_session_days: int = 30  # the 大屏 role's session (a wall display never goes idle)
    free_attempts: int = 3
    first_delay_seconds: int = 2
    max_delay_minutes: int = 15
    forget_after_hours: int = 24
    shared_max_delay_seconds: int = 30
    admin_raw_names: bool = False
    proxy_header: str = ""  # e.g. "X-Forwarded-For": the client's address, as a trusted proxy says
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")


# (section, key) -> (attribute, type, lowest, highest)
_SETTINGS_SPEC: dict[tuple[str, str], tuple[str, type, int | None, int | None]] = {
    ("session", "idle_minutes"): ("idle_minutes", int, 1, 1440),
    ("session", "hours"): ("session_hours", int, 1, 720),
    ("session", "screen_days"): ("screen_session_days", int, 1, 365),
    ("login", "free_attempts"): ("free_attempts", int, 1, 20),
    ("login", "first_delay_seconds"): ("first_delay_seconds", int, 1, 60),
    ("login", "max_delay_minutes"): ("max_delay_minutes", int, 1, 1440),
    ("login", "forget_after_hours"): ("forget_after_hours", int, 1, 720),
    ("login", "shared_max_delay_seconds"): ("shared_max_delay_seconds", int, 1, 3600),
    ("network", "proxy_header"): ("proxy_header", str, None, None),
    ("network", "trusted_proxies"): ("trusted_proxies", list, None, None),
    ("privacy", "admin_raw_names"): ("admin_raw_names", bool, None, None),
}


def settings_path() -> Path:
    env = os.environ.get(SETTINGS_ENV)
    return Path(env) if env else DEFAULT_SETTINGS


_settings_cache: dict[tuple, Settings] = {}


def load_settings(path: str | os.PathLike | None = None) -> Settings:
    """The security settings; defaults where the file (or a key) is absent. A value of the wrong
    type, out of range, or a key this code does not know raises ``AuthError`` naming it."""
    p = Path(path) if path else settings_path()
    stamp = _file_stamp(p)
    key = (str(p), stamp)
    if key in _settings_cache:
        return _settings_cache[key]
    if stamp is None:
        return Settings()
    raw = read_toml(p, "安全设置", AuthError)
    values: dict = {}
    known_sections = {s for s, _ in _SETTINGS_SPEC}
    for section, body in raw.items():
        if section not in known_sections or not isinstance(body, dict):
            raise AuthError(f"安全设置文件 {p}：不认识的小节 [{section}]（可用：{'、'.join(sorted(known_sections))}）")
        for k, v in body.items():
            spec = _SETTINGS_SPEC.get((section, k))
            if spec is None:
                raise AuthError(f"安全设置文件 {p}：[{section}] 里不认识的设置项 {k}")
            attr, typ, lo, hi = spec
            if typ is bool:
                if not isinstance(v, bool):
                    raise AuthError(f"安全设置文件 {p}：[{section}] {k} 应为 true 或 false，现在是 {v!r}")
            elif typ is str:
                if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z0-9-]{0,64}", v):
                    raise AuthError(f"安全设置文件 {p}：[{section}] {k} 应为一个请求头的名字，如 \"X-Forwarded-For\"")
            elif typ is list:
                if not isinstance(v, list) or not all(isinstance(x, str) and _is_address(x) for x in v):
                    raise AuthError(f"安全设置文件 {p}：[{section}] {k} 应为 IP 地址的列表，如 [\"127.0.0.1\"]")
                v = tuple(v)
            else:
                if isinstance(v, bool) or not isinstance(v, int):
                    raise AuthError(f"安全设置文件 {p}：[{section}] {k} 应为整数，现在是 {v!r}")
                if not lo <= v <= hi:
                    raise AuthError(f"安全设置文件 {p}：[{section}] {k} 应在 {lo}–{hi} 之间，现在是 {v}")
            values[attr] = v
    settings = Settings(**values)
    _settings_cache.clear()
    _settings_cache[key] = settings
    return settings


def _file_stamp(p: Path) -> tuple | None:
    try:
        s = p.stat()
    except FileNotFoundError:
        return None
    return (s.st_size, s.st_mtime_ns, s.st_ino)


# ───────────────────────────── passwords ─────────────────────────────

MIN_PASSWORD_LEN = 10  # length over composition rules (NIST SP 800-63B)
MAX_PASSWORD_LEN = 256  # longer input is refused before hashing: hostile input must stay cheap
# OWASP's scrypt choice N=2^14, r=8, p=5: 16 MiB per hash, about half a second here. The
# parameters are stored with each hash, so they can be raised later without breaking old ones.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 5
_SCRYPT_MAXMEM = 256 * 2 ** 20


def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_password(password: str, *, n: int | None = None, r: int | None = None, p: int | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` with a fresh 16-byte salt."""
    n, r, p = n or SCRYPT_N, r or SCRYPT_R, p or SCRYPT_P
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=_SCRYPT_MAXMEM)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(digest, validate=True)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                             n=int(n), r=int(r), p=int(p), dklen=len(want), maxmem=_SCRYPT_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# Checked against for an unknown or disabled user, so the answer takes as long as for a real one.
_DUMMY_HASH: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(12)))
    return _DUMMY_HASH[0]


def check_password_rules(password: str, name: str | None = None) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LEN:
        raise AuthError(f"密码至少要 {MIN_PASSWORD_LEN} 个字符。")
    if len(password) > MAX_PASSWORD_LEN:
        raise AuthError(f"密码不能超过 {MAX_PASSWORD_LEN} 个字符。")
    if any(unicodedata.category(ch) == "Cc" for ch in password):
        raise AuthError("密码里不能有控制字符（换行、制表符等）。")
    if name and password.casefold() == name.casefold():
        raise AuthError("密码不能和用户名相同。")
    if len(set(password)) < 4:
        raise AuthError("密码太简单：至少要用到 4 个不同的字符。")


def generate_password() -> str:
    """A one-time password (the user must change it at the first login): 12 characters."""
    return secrets.token_urlsafe(9)


# ───────────────────────────── users ─────────────────────────────

MAX_NAME_LEN = 32
_NAME_EXTRA = set("._-@·")


def normalize_name(name: str) -> str:
    return unicodedata.normalize("NFKC", str(name)).strip()


def check_name(name: str) -> str:
    """A user name: 1–32 letters (Chinese or Latin), digits or ``. _ - @ ·``; returned normalised."""
    name = normalize_name(name)
    if not name or len(name) > MAX_NAME_LEN:
        raise AuthError(f"用户名应为 1–{MAX_NAME_LEN} 个字符。")
    bad = [ch for ch in name if not (ch.isalnum() or ch in _NAME_EXTRA)]
    if bad:
        raise AuthError(f"用户名只能由汉字、字母、数字和 . _ - @ · 组成（不能有“{bad[0]}”）。")
    return name


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password: str = ""  # scrypt hash; empty for a user who signs in only through OIDC
    disabled: bool = False
    must_change: bool = False
    oidc: str = ""  # the OIDC identity (e-mail or subject) that signs in as this user
    created_at: str = ""
    updated_at: str = ""
    password_changed_at: str = ""

    @property
    def pages(self) -> tuple[str, ...]:
        return ROLE_PAGES[self.role]


_USER_KEYS = {f for f in User.__dataclass_fields__ if f != "name"}


def users_path() -> Path:
    env = os.environ.get(USERS_ENV)
    return Path(env) if env else DEFAULT_USERS


_users_cache: dict[tuple, dict[str, User]] = {}


def load_users(path: str | os.PathLike | None = None) -> dict[str, User]:
    """Name -> User, read from the users file (a missing file: no users). Cached by the file's stamp.
    A file that cannot be read or holds a bad entry raises ``AuthError`` — the app then lets nobody
    in (it never falls back to demo mode because of a broken file)."""
    p = Path(path) if path else users_path()
    stamp = _file_stamp(p)
    if stamp is None:
        return {}
    key = (str(p), stamp)
    if key in _users_cache:
        return _users_cache[key]
    raw = read_toml(p, "用户", AuthError)
    extra = set(raw) - {"users"}
    if extra:
        raise AuthError(f"用户文件 {p}：不认识的内容 {'、'.join(sorted(extra))}")
    users: dict[str, User] = {}
    for name, body in (raw.get("users") or {}).items():
        where = f"用户文件 {p} 中的用户“{name}”"
        if not isinstance(body, dict):
            raise AuthError(f"{where}格式不对")
        unknown = set(body) - _USER_KEYS
        if unknown:
            raise AuthError(f"{where}：不认识的项 {'、'.join(sorted(unknown))}")
        if body.get("role") not in ROLES:
            raise AuthError(f"{where}：角色“{body.get('role')}”不存在（可用：{'、'.join(ROLES)}）")
        try:
            check_name(name)
            user = User(name=name, **{k: body[k] for k in body})
        except (AuthError, TypeError) as exc:
            raise AuthError(f"{where}：{exc}") from exc
        for k in ("disabled", "must_change"):
            if not isinstance(getattr(user, k), bool):
                raise AuthError(f"{where}：{k} 应为 true 或 false")
        for k in ("password", "oidc", "created_at", "updated_at", "password_changed_at"):
            if not isinstance(getattr(user, k), str):
                raise AuthError(f"{where}：{k} 应为文字")
        users[name] = user
    _users_cache.clear()
    _users_cache[key] = users
    return users


def _toml_str(s: str) -> str:
    # JSON's escapes (\" \\ \n \uXXXX) are TOML basic-string escapes; TOML also wants DEL escaped.
    return json.dumps(str(s), ensure_ascii=False).replace("\x7f", "\\u007f")


_HEADER = """\
# 驾驶舱的用户（姓名、角色、加盐的密码散列）。由 `python -m analytics users …` 或管理员的
# “用户与审计”页面维护，请勿手工改动密码项。此文件不进 git；说明见 docs/security.md。
"""


def dump_users(users: dict[str, User]) -> str:
    out = [_HEADER]
    for name in sorted(users):
        u = users[name]
        out.append(f"\n[users.{_toml_str(name)}]")
        for k in ("role", "password", "disabled", "must_change", "oidc", "created_at", "updated_at",
                  "password_changed_at"):
            v = getattr(u, k)
            out.append(f"{k} = {'true' if v is True else 'false' if v is False else _toml_str(v)}")
    return "\n".join(out) + "\n"


_PROCESS_LOCK = threading.RLock()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """This process's lock and a file lock beside ``path`` (one writer at a time, across processes)."""
    with _PROCESS_LOCK:
        path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:
            yield
            return
        with open(path.with_name(path.name + ".lock"), "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def _write_atomic(path: Path, text: str) -> None:
    """Write beside the target and rename over it: a reader sees the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)  # hashes are for this account's eyes only
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now().isoformat(timespec="seconds")


def _edit(path: str | os.PathLike | None, change) -> object:
    """Re-read the file under the lock, apply ``change(users) -> result``, write it back."""
    p = Path(path) if path else users_path()
    with _locked(p):
        _users_cache.clear()
        users = dict(load_users(p))
        result = change(users)
        _write_atomic(p, dump_users(users))
        _users_cache.clear()
    return result


def _get(users: dict[str, User], name: str) -> User:
    name = normalize_name(name)
    if name not in users:
        raise AuthError(f"没有用户“{name}”。")
    return users[name]


def add_user(name: str, role: str, password: str | None = None, oidc: str = "",
             path: str | os.PathLike | None = None) -> str | None:
    """Add a user; returns the one-time password made up when none is given (else None)."""
    name = check_name(name)
    if role not in ROLES:
        raise AuthError(f"角色“{role}”不存在（可用：{'、'.join(ROLES)}）")
    generated = None
    if password is None:
        password = generated = generate_password()
    else:
        check_password_rules(password, name)
    oidc = _check_oidc(oidc)

    def change(users):
        if not users and role != ROLE_ADMIN:
            raise AuthError(f"第一个用户必须是{ROLE_ADMIN}（否则没有人能管理用户，驾驶舱也就锁上了）："
                            f"请先添加一位{ROLE_ADMIN}，例如 python -m analytics users add 王管理 --role {ROLE_ADMIN}")
        if name in users:
            raise AuthError(f"用户“{name}”已经存在。")
        if oidc and any(u.oidc.casefold() == oidc.casefold() for u in users.values()):
            raise AuthError(f"OIDC 身份“{oidc}”已经属于另一个用户。")
        now = _now()
        users[name] = User(name=name, role=role, password=hash_password(password), must_change=generated is not None,
                           oidc=oidc, created_at=now, updated_at=now, password_changed_at=now)

    _edit(path, change)
    return generated


def _check_oidc(oidc: str | None) -> str:
    oidc = (oidc or "").strip()
    if len(oidc) > 254 or any(unicodedata.category(ch) == "Cc" for ch in oidc):
        raise AuthError("OIDC 身份应为一个电子邮箱或账号标识（不超过 254 个字符）。")
    return oidc


def _admins_left(users: dict[str, User], without: str) -> int:
    return sum(1 for u in users.values() if u.role == ROLE_ADMIN and not u.disabled and u.name != without)


def set_disabled(name: str, disabled: bool, path: str | os.PathLike | None = None) -> None:
    def change(users):
        u = _get(users, name)
        if disabled and u.role == ROLE_ADMIN and not u.disabled and _admins_left(users, u.name) == 0:
            raise AuthError("不能停用最后一个可用的管理员：否则没有人能管理用户。")
        users[u.name] = replace(u, disabled=disabled, updated_at=_now())

    _edit(path, change)


def set_role(name: str, role: str, path: str | os.PathLike | None = None) -> None:
    if role not in ROLES:
        raise AuthError(f"角色“{role}”不存在（可用：{'、'.join(ROLES)}）")

    def change(users):
        u = _get(users, name)
        if u.role == ROLE_ADMIN and role != ROLE_ADMIN and not u.disabled and _admins_left(users, u.name) == 0:
            raise AuthError("不能改掉最后一个可用管理员的角色。")
        users[u.name] = replace(u, role=role, updated_at=_now())

    _edit(path, change)


def set_oidc(name: str, oidc: str, path: str | os.PathLike | None = None) -> None:
    oidc = _check_oidc(oidc)

    def change(users):
        u = _get(users, name)
        if oidc and any(v.oidc.casefold() == oidc.casefold() for v in users.values() if v.name != u.name):
            raise AuthError(f"OIDC 身份“{oidc}”已经属于另一个用户。")
        users[u.name] = replace(u, oidc=oidc, updated_at=_now())

    _edit(path, change)


def reset_password(name: str, password: str | None = None, path: str | os.PathLike | None = None) -> str | None:
    """A new password (made up, to be changed at the next login, when none is given)."""
    generated = None
    if password is None:
        password = generated = generate_password()

    def change(users):
        u = _get(users, name)
        if generated is None:
            check_password_rules(password, u.name)
        now = _now()
        users[u.name] = replace(u, password=hash_password(password), must_change=generated is not None,
                                updated_at=now, password_changed_at=now)

    _edit(path, change)
    return generated


def change_password(name: str, old: str, new: str, path: str | os.PathLike | None = None) -> None:
    """The user's own change: the old password must be right; the new one must differ and follow the rules."""
    if len(old or "") > MAX_PASSWORD_LEN:
        raise AuthError("原密码不正确。")
    check_password_rules(new, name)
    if new == old:
        raise AuthError("新密码不能和原密码相同。")

    def change(users):
        u = _get(users, name)
        if not verify_password(old, u.password):
            raise AuthError("原密码不正确。")
        now = _now()
        users[u.name] = replace(u, password=hash_password(new), must_change=False, updated_at=now,
                                password_changed_at=now)

    _edit(path, change)


def find_oidc_user(identity: dict, path: str | os.PathLike | None = None) -> User | None:
    """The user whose ``oidc`` equals the OIDC identity's e-mail or subject (case-insensitive)."""
    claims = {str(identity.get(k, "")).strip().casefold() for k in ("email", "sub", "preferred_username")}
    claims.discard("")
    for u in load_users(path).values():
        if u.oidc and u.oidc.casefold() in claims:
            return u
    return None


# ───────────────────────────── slowing down failed logins ─────────────────────────────

def delay_after(failures: int, settings: Settings, cap_seconds: float | None = None) -> float:
    """Seconds to wait after ``failures`` consecutive failures: none within ``free_attempts``, then
    ``first_delay_seconds`` doubled for each further failure, at most ``max_delay_minutes`` (or
    ``cap_seconds``)."""
    if failures < settings.free_attempts:
        return 0.0
    extra = min(failures - settings.free_attempts, 30)  # 2**30 s is far beyond any cap
    cap = settings.max_delay_minutes * 60 if cap_seconds is None else cap_seconds
    return float(min(settings.first_delay_seconds * 2 ** extra, cap))


def _is_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text.strip())
        return True
    except ValueError:
        return False


def normalise_peer(ip: str | None) -> str | None:
    """A connection's peer address as the rules compare it: None for this machine (any loopback
    address, also IPv4 written as IPv6 — ``::ffff:127.0.0.1``, which a dual-stack server reports for
    a local browser), an IPv4-mapped address as plain IPv4, anything else unchanged."""
    if not ip:
        return None
    try:
        addr = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        return ip
    mapped = getattr(addr, "ipv4_mapped", None)
    addr = mapped or addr
    return None if addr.is_loopback else str(addr)


def real_client(peer: str | None, headers, settings: Settings) -> str | None:
    """The client's address: the connection's peer (None = this machine), unless the peer is a
    trusted proxy (``[network] trusted_proxies``) and ``proxy_header`` is set — then the right-most
    address in that header that is not itself a trusted proxy. A header from anyone else is ignored:
    a client cannot choose its own address."""
    if not settings.proxy_header:
        return peer
    if (peer or "127.0.0.1") not in settings.trusted_proxies:
        return peer
    value = headers.get(settings.proxy_header) if headers is not None else None
    if not value:
        return peer
    for part in reversed([x.strip() for x in str(value).split(",")]):
        if part.startswith("for="):  # RFC 7239 Forwarded: for=1.2.3.4
            part = part[4:].strip('"')
        if _is_address(part) and part not in settings.trusted_proxies:
            return part
    return peer


_MAX_STATE_ENTRIES = 5000  # a flood of made-up names must not grow the file without bound


def throttle_path(users_file: Path | None = None) -> Path:
    """Beside the users file: ``login_state.json``."""
    return (users_file or users_path()).with_name("login_state.json")


def _throttle_key(kind: str, value: str) -> str:
    value = normalize_name(value).casefold()
    if len(value) > 64:  # a 10,000-character "name" counts under its digest
        value = "#" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return f"{kind}:{value}"


class Throttle:
    """Failure counts per key (``user:<name>``, ``ip:<address>``) persisted in a JSON file."""

    def __init__(self, path: Path, settings: Settings):
        self.path, self.settings = path, settings

    def _load(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (FileNotFoundError, ValueError, OSError):
            return {}

    def _prune(self, data: dict, now: float) -> dict:
        horizon = now - self.settings.forget_after_hours * 3600
        kept = {k: v for k, v in data.items()
                if isinstance(v, dict) and isinstance(v.get("last"), (int, float)) and v["last"] >= horizon}
        if len(kept) > _MAX_STATE_ENTRIES:
            kept = dict(sorted(kept.items(), key=lambda kv: kv[1]["last"])[-_MAX_STATE_ENTRIES:])
        return kept

    def wait(self, keys: list[str], now: float | None = None) -> float:
        """Seconds until another attempt is allowed for all of ``keys`` (0: now). A key several
        people share — a name alone, an address alone (a NAT, a proxy) — waits at most
        ``shared_max_delay_seconds``: it slows guessing down but cannot lock anyone out; only a
        name from one address (``pair:``) waits up to ``max_delay_minutes``."""
        now = time.time() if now is None else now
        data = self._prune(self._load(), now)
        waits = [0.0]
        for k in keys:
            e = data.get(k)
            if e:
                cap = None if k.startswith("pair:") else self.settings.shared_max_delay_seconds
                waits.append(e["last"] + delay_after(int(e.get("failures", 0)), self.settings, cap) - now)
        return max(waits)

    def failures(self, key: str, now: float | None = None) -> int:
        now = time.time() if now is None else now
        e = self._prune(self._load(), now).get(key)
        return int(e["failures"]) if e else 0

    def record(self, keys: list[str], ok: bool, now: float | None = None) -> None:
        """A failure counts for every key; a success clears them (nothing written when clear already)."""
        now = time.time() if now is None else now
        if ok and not any(k in self._load() for k in keys):
            return
        with _locked(self.path):
            data = self._prune(self._load(), now)
            for k in keys:
                if ok:
                    data.pop(k, None)
                else:
                    e = data.get(k) or {"failures": 0}
                    data[k] = {"failures": int(e.get("failures", 0)) + 1, "last": now}
            _write_atomic(self.path, json.dumps(data, ensure_ascii=False, indent=0))


@dataclass
class LoginResult:
    ok: bool
    reason: str  # ok | bad_password | unknown_user | disabled | throttled | rejected
    user: User | None = None
    wait_seconds: float = 0.0
    name: str = ""  # the name as typed, normalised and cut to 64 characters (for the audit log)

    @property
    def message(self) -> str:
        if self.ok:
            return "登录成功。"
        if self.reason == "throttled":
            return f"尝试次数过多，请在 {max(1, round(self.wait_seconds))} 秒后再试。"
        # One answer for a wrong name, a wrong password and a disabled account: no enumeration.
        return "用户名或密码不正确，或账户已停用。"


def authenticate(name: str, password: str, *, client: str | None = None,
                 session: MutableMapping | None = None, now: float | None = None,
                 users_file: str | os.PathLike | None = None, settings: Settings | None = None) -> LoginResult:
    """Check a name and password, slowing down repeated failures.

    ``session`` is a mapping the caller keeps per browser session (Streamlit's session_state), where the
    session's own failure count lives; ``client`` is the remote address, if known. A throttled attempt
    is refused before the password is looked at and does not count as another failure.
    """
    settings = settings or load_settings()
    p = Path(users_file) if users_file else users_path()
    now = time.time() if now is None else now
    shown = normalize_name(name or "")[:64]
    who = _throttle_key("user", name or "")
    keys = [who, "pair:" + who[5:] + "@" + (client or "local")] + ([_throttle_key("ip", client)] if client else [])
    throttle = Throttle(throttle_path(p), settings)
    wait = throttle.wait(keys, now)
    if session is not None:
        wait = max(wait, session.get("last", 0) + delay_after(session.get("failures", 0), settings) - now)
    if wait > 0:
        return LoginResult(False, "throttled", wait_seconds=wait, name=shown)

    users = load_users(p)
    user = users.get(normalize_name(name or ""))
    too_long = len(password or "") > MAX_PASSWORD_LEN
    if user is None or user.disabled or not user.password or too_long:
        if not too_long:
            verify_password(password or "", _dummy_hash())  # same time as a real check
        reason = "unknown_user" if user is None else "disabled" if user.disabled else "rejected"
        ok = False
    else:
        ok = verify_password(password or "", user.password)
        reason = "ok" if ok else "bad_password"
    # A success clears the name's counts, not the address's: one good account must not reset the
    # count of an address that is guessing other names.
    throttle.record(keys[:2] if ok else keys, ok, now)
    if session is not None:
        if ok:
            session.clear()
        else:
            session["failures"] = session.get("failures", 0) + 1
            session["last"] = now
    return LoginResult(ok, reason, user if ok else None, name=shown)
