"""Who is using the app in this browser session, and what they may open: the login form, OIDC
through ``st.login``, idle expiry, logout, the refusal of a page outside the role, and the audited
download button. ``app.py`` calls ``resolve()`` before anything else; pages call ``current_user()``,
``can(capability)`` and ``download_button(…)``.

Three modes (``Access.mode``):
- ``demo``: no users are configured and the app is reached on this machine — it opens without
  login (as before there were users) and says so;
- ``login``: users exist — every page, also a page's own URL on a freshly started server, shows the
  login form until someone signs in, and then only the pages of their role;
- ``closed``: nobody gets in — no users while the app is reached from another machine, or a users /
  security file that cannot be read (a broken file never opens the app).

The rules (roles, hashing, slow-down) live in ``analytics.access.users``; the log in ``analytics.store.audit``.
"""
from __future__ import annotations

import importlib.util
import json
import time
from dataclasses import dataclass
from typing import Callable

import streamlit as st

from analytics.store import audit
from analytics.access import sessions as session_store
from analytics.access import users as auth
from analytics.core import labels
from analytics.store.db import default_db_path

_USER_KEY = "_auth_user"  # session_state: {"name", "via", "since", "last_seen"} of the signed-in user
_FAIL_KEY = "_auth_failures"  # session_state: this session's failed logins (auth.authenticate's ``session``)
_FLASH_KEY = "_auth_flash"  # session_state: a message for the next login form (expired, disabled)
_ACCESS_KEY = "_access"  # session_state: this run's Access
_OIDC_SEEN_KEY = "_auth_oidc_seen"  # session_state: an unmapped OIDC identity already audited
_GRANT_KEY = "_auth_grant"  # session_state: a session grant the browser still has to trade for its cookie
_CLEAR_KEY = "_auth_clear_cookie"  # session_state: the browser should drop its session cookie
_COOKIE_SEEN_KEY = "_auth_cookie_seen"  # session_state: a refused cookie already audited
SESSION_ROUTE, LOGOUT_ROUTE = "/_cockpit/session", "/_cockpit/logout"

DEMO_ACTOR = "演示模式"  # who acts when nobody is signed in (demo mode): shown in the audit log
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Access:
    mode: str  # "demo" | "login" | "closed"
    user: auth.User | None = None
    reason: str = ""  # closed: why, in Chinese
    via: str = ""  # "password" | "oidc"

    @property
    def role(self) -> str | None:
        return self.user.role if self.user else None

    def allowed(self, url_path: str) -> bool:
        return self.mode == "demo" or (self.user is not None and auth.can_open(self.user.role, url_path))


# ───────────────────────────── where the request comes from ─────────────────────────────

def client_address() -> str | None:
    """The client's address, or None when it is this machine (Streamlit says None for loopback).
    Behind a trusted reverse proxy (``[network]`` of data/security.toml) the proxy's header says it
    (``auth.real_client``); from anyone else that header is ignored."""
    try:
        ip = st.context.ip_address
        headers = st.context.headers
    except Exception:  # no request context (e.g. a bare script run)
        return None
    ip = auth.normalise_peer(ip) if isinstance(ip, str) else None  # AppTest's stand-in runtime answers with a mock
    try:
        settings = auth.load_settings()
    except auth.AuthError:
        return ip
    return auth.real_client(ip, headers, settings)


def is_local_request() -> bool:
    """The server listens only on this machine, or this request came over loopback, straight (no proxy).

    ``server.address`` unset means every interface, so the request itself decides: its remote address
    must be loopback and its Host header a loopback name, with no proxy header in front."""
    address = (st.get_option("server.address") or "").strip().strip("[]")
    if address and address not in LOCAL_HOSTS:
        return False
    if client_address() is not None:
        return False
    headers = st.context.headers
    if any(h in headers for h in ("X-Forwarded-For", "Forwarded", "X-Real-Ip")):
        return False
    host = headers.get("Host")
    if host:
        name = host.strip()
        name = name[1:name.index("]")] if name.startswith("[") and "]" in name else name.rsplit(":", 1)[0]
        if name.lower() not in LOCAL_HOSTS:
            return False
    return True


# ───────────────────────────── OIDC (st.login) ─────────────────────────────

def oidc_providers() -> list[str | None]:
    """Providers configured in ``[auth]`` of .streamlit/secrets.toml: None for the default one,
    the names of ``[auth.<name>]`` sections. Empty when OIDC is not configured."""
    try:
        section = st.secrets.get("auth")
    except Exception:  # no secrets.toml at all
        return []
    if not section or not hasattr(section, "get"):
        return []
    out: list[str | None] = []
    if section.get("client_id"):
        out.append(None)
    out += [k for k, v in section.items() if hasattr(v, "get") and v.get("client_id")]
    return out


def _oidc_identity() -> dict | None:
    try:
        info = st.user.to_dict()
    except Exception:
        return None
    return info if info.get("is_logged_in") else None


# ───────────────────────────── resolving this run's access ─────────────────────────────

def _audit(action: str, actor: str, *, role: str | None = None, target: str | None = None,
           detail: dict | None = None, ok: bool = True) -> None:
    audit.record_at(default_db_path().resolve(), action, actor, role=role, target=target, detail=detail,
                    ok=ok, client=client_address())


def _sign_in(user: auth.User, via: str, sid: str | None = None, login: bool = True) -> None:
    """This browser session is ``user``'s. A login (``sid`` None) records a new server-side session
    and leaves its grant for ``session_cookie`` to hand to the browser; a session resumed from its
    cookie (``sid`` given) is not a new login and is not audited as one."""
    now = time.time()
    if sid is None:
        try:
            store = session_store.Sessions()
            sid, grant = store.create(user, via)
            store.forget_old(auth.load_settings())  # records no cookie can use any more
            st.session_state[_GRANT_KEY] = grant
        except Exception:  # no session file can be written: the login holds for this page only
            sid = None
        if login:
            _audit("login", user.name, role=user.role, detail={"via": via})
    st.session_state[_USER_KEY] = {"name": user.name, "via": via, "since": now, "last_seen": now, "sid": sid}
    st.session_state.pop(_FLASH_KEY, None)


def _sign_out(reason: str | None = None) -> None:
    """End this browser session's sign-in, its server-side session and (next run) its cookie."""
    s = st.session_state.pop(_USER_KEY, None)
    if s and s.get("sid"):
        try:
            session_store.Sessions().revoke(s["sid"])
        except Exception:
            pass
        st.session_state[_CLEAR_KEY] = True
    st.session_state.pop(_GRANT_KEY, None)
    if reason:
        st.session_state[_FLASH_KEY] = reason


def _session_alive(s: dict, users: dict, settings: auth.Settings) -> str:
    """'' while the server-side session behind this browser session holds; else why it ended
    (logged out in another tab, password or role changed, …; see analytics.access.sessions)."""
    if not s.get("sid"):
        return ""
    try:
        return session_store.Sessions().alive(s["sid"], users, settings)
    except Exception:
        return ""


def _resume_from_cookie(users: dict, settings: auth.Settings) -> auth.User | None:
    """A reload, a typed URL or a new tab: the session cookie signs the user in again, if it holds.
    A cookie that does not is audited once (forged / expired / revoked …) and dropped."""
    try:
        cookie = st.context.cookies.get(session_store.COOKIE)
    except Exception:  # no request context
        return None
    if not cookie:
        return None
    try:
        verdict = session_store.Sessions().check(cookie, users, settings)
    except Exception:
        return None
    if verdict.user is not None:
        _sign_in(verdict.user, verdict.via, sid=verdict.sid)
        return verdict.user
    st.session_state[_CLEAR_KEY] = True
    if st.session_state.get(_COOKIE_SEEN_KEY) != cookie:
        st.session_state[_COOKIE_SEEN_KEY] = cookie
        if verdict.reason in ("expired", "idle"):
            _audit("session_expired", "?", detail={"via": "cookie", "reason": verdict.reason})
        elif verdict.reason not in ("revoked", "gone", "changed"):
            _audit("login_failed", "?", ok=False, detail={"via": "cookie", "reason": verdict.reason})
        if verdict.reason in ("expired", "idle"):
            st.session_state[_FLASH_KEY] = labels.AUTH_EXPIRED.format(minutes=settings.idle_minutes)
    return None


def session_cookie() -> None:
    """Hand the browser its session cookie after a login, or have it drop one after a logout. The
    cookie is set by the server (``SESSION_ROUTE``: HttpOnly, SameSite=Strict), so the page only posts
    the one-time grant there; app.py calls this on every run, and it draws nothing otherwise."""
    grant = st.session_state.pop(_GRANT_KEY, None)
    clear = st.session_state.pop(_CLEAR_KEY, False)
    if grant:
        body = json.dumps(grant)
        st.html(f"<script>fetch({json.dumps(SESSION_ROUTE)}, {{method: 'POST', body: {body}, "
                "credentials: 'same-origin', headers: {'Content-Type': 'text/plain'}})</script>",
                unsafe_allow_javascript=True)
    elif clear:
        st.html(f"<script>fetch({json.dumps(LOGOUT_ROUTE)}, {{method: 'POST', credentials: 'same-origin'}})</script>",
                unsafe_allow_javascript=True)


def resolve() -> Access:
    """This run's access (no drawing). Keeps the session's sign-in fresh, expires it when idle, drops
    it when the user was disabled or removed meanwhile, signs in a mapped OIDC identity."""
    try:
        settings = auth.load_settings()
        users = auth.load_users()
    except auth.AuthError as exc:
        return _remember(Access("closed", reason=f"{exc}\n\n为安全起见，在改正之前任何人都不能登录。"))
    if not users:
        if is_local_request():
            return _remember(Access("demo"))
        return _remember(Access("closed", reason=labels.AUTH_NO_USERS_REMOTE))

    s = st.session_state.get(_USER_KEY)
    if s:
        user = users.get(s["name"])
        idle = time.time() - s["last_seen"]
        if idle > settings.idle_minutes * 60:
            _audit("session_expired", s["name"], role=user.role if user else None,
                   detail={"idle_minutes": round(idle / 60, 1)})
            _sign_out(labels.AUTH_EXPIRED.format(minutes=settings.idle_minutes))
            if s.get("via") == "oidc":
                st.logout()  # the identity cookie would sign the session straight in again
                st.stop()
        elif user is None or user.disabled:
            _sign_out(labels.AUTH_GONE)
        elif _session_alive(s, users, settings):
            _sign_out(labels.AUTH_SESSION_ENDED)
        else:
            s["last_seen"] = time.time()
            return _remember(Access("login", user=user, via=s.get("via", "password")))
    else:
        user = _resume_from_cookie(users, settings)
        if user is not None:
            return _remember(Access("login", user=user, via=st.session_state[_USER_KEY]["via"]))

    identity = _oidc_identity() if oidc_providers() else None
    if identity:
        user = auth.find_oidc_user(identity)
        if user is not None and not user.disabled:
            _sign_in(user, "oidc")
            return _remember(Access("login", user=user, via="oidc"))
        claim = str(identity.get("email") or identity.get("sub") or "?")
        if st.session_state.get(_OIDC_SEEN_KEY) != claim:
            st.session_state[_OIDC_SEEN_KEY] = claim
            _audit("login_failed", claim, ok=False,
                   detail={"via": "oidc", "reason": "disabled" if user else "unmapped"})
    return _remember(Access("login"))


def _remember(access: Access) -> Access:
    st.session_state[_ACCESS_KEY] = access
    return access


def keep_alive() -> bool:
    """For a view that refreshes itself (the cockpit's big screen): True while the session's user is
    still enabled and its server-side session holds, and the refresh counts as activity — a wall
    display does not expire. Leaving the big screen reloads the page: the session cookie signs the
    user in again."""
    a = current()
    if a.mode == "demo":
        return True
    s = st.session_state.get(_USER_KEY)
    try:
        users, settings = auth.load_users(), auth.load_settings()
    except auth.AuthError:
        return False
    user = users.get(s["name"]) if s else None
    if user is None or user.disabled or not auth.can_open(user.role, "cockpit"):
        return False
    if _session_alive(s, users, settings):
        return False
    s["last_seen"] = time.time()
    return True


def current() -> Access:
    """This run's Access (``resolve`` ran first in app.main); demo when called outside the app."""
    return st.session_state.get(_ACCESS_KEY) or Access("demo")


def current_user() -> str:
    """The signed-in user's name, for "who did it" columns and the audit log (演示模式 in demo mode)."""
    a = current()
    return a.user.name if a.user else DEMO_ACTOR


def current_role() -> str | None:
    return current().role


def screen_only() -> bool:
    """The signed-in user is a wall display (the 大屏 role): the cockpit is shown as the big screen."""
    return current().role == auth.ROLE_SCREEN


def can(capability: str) -> bool:
    """May this session do ``capability`` (auth.CAPABILITIES)? Demo mode may do all but see raw names."""
    a = current()
    if a.mode == "demo":
        return capability != "raw_names"
    return a.user is not None and auth.can(a.user.role, capability)


def record(action: str, *, target: str | None = None, detail: dict | None = None, ok: bool = True) -> None:
    """Audit an action of this session's user (a short write of its own; see analytics.store.audit)."""
    a = current()
    _audit(action, current_user(), role=a.role, target=target, detail=detail, ok=ok)


# ───────────────────────────── drawing ─────────────────────────────

def demo_notice() -> None:
    st.info(labels.AUTH_DEMO_MODE, icon=":material/lock_open:")


def closed(access: Access) -> None:
    st.title(labels.APP_TITLE)
    st.error(access.reason, icon=":material/lock:")


def _login_with_password() -> None:
    with st.form("auth_login"):
        name = st.text_input(labels.AUTH_NAME, max_chars=auth.MAX_NAME_LEN * 2, autocomplete="username")
        password = st.text_input(labels.AUTH_PASSWORD, type="password", max_chars=auth.MAX_PASSWORD_LEN,
                                 autocomplete="current-password")
        submitted = st.form_submit_button(labels.AUTH_LOGIN, type="primary")
    if not submitted:
        return
    failures = st.session_state.setdefault(_FAIL_KEY, {})
    result = auth.authenticate(name, password, client=client_address(), session=failures)
    if result.ok:
        _sign_in(result.user, "password")
        st.rerun()
    action = "login_throttled" if result.reason == "throttled" else "login_failed"
    _audit(action, result.name or "?", ok=False,
           detail={"reason": result.reason, **({"wait_s": round(result.wait_seconds)} if result.wait_seconds else {})})
    st.error(result.message, icon=":material/error:")


def login_form() -> None:
    """The login page: what every URL shows until someone signs in."""
    _, middle, _ = st.columns([1, 2, 1])
    with middle:
        st.title(labels.APP_TITLE)
        st.subheader(labels.AUTH_LOGIN_TITLE)
        flash = st.session_state.get(_FLASH_KEY)
        if flash:
            st.warning(flash, icon=":material/timer_off:")
        providers = oidc_providers()
        if providers:
            ready = importlib.util.find_spec("authlib") is not None  # st.login needs Authlib
            for p in providers:
                st.button(labels.AUTH_OIDC_BUTTON + (f"（{p}）" if p else ""), key=f"auth_oidc_{p or 'default'}",
                          on_click=st.login, args=(p,) if p else (), type="primary", icon=":material/badge:",
                          disabled=not ready)
            if not ready:
                st.caption(labels.AUTH_OIDC_NO_AUTHLIB)
            if _oidc_identity():
                st.error(labels.AUTH_OIDC_UNMAPPED, icon=":material/person_off:")
                st.button(labels.AUTH_LOGOUT, on_click=st.logout, key="auth_oidc_logout")
            st.caption(labels.AUTH_OR_PASSWORD)
        _login_with_password()
        st.caption(labels.AUTH_LOGIN_HELP)


def _change_password_form(name: str, key: str) -> bool:
    with st.form(key, clear_on_submit=True):
        old = st.text_input(labels.AUTH_OLD_PASSWORD, type="password", max_chars=auth.MAX_PASSWORD_LEN)
        new = st.text_input(labels.AUTH_NEW_PASSWORD, type="password", max_chars=auth.MAX_PASSWORD_LEN,
                            help=f"至少 {auth.MIN_PASSWORD_LEN} 个字符，不能与用户名相同。")
        again = st.text_input(labels.AUTH_NEW_PASSWORD_AGAIN, type="password", max_chars=auth.MAX_PASSWORD_LEN)
        if not st.form_submit_button(labels.AUTH_CHANGE_PASSWORD, type="primary"):
            return False
    if new != again:
        st.error("两次输入的新密码不一样。")
        return False
    try:
        auth.change_password(name, old, new)
    except auth.AuthError as exc:
        record("password_change", target=name, ok=False, detail={"reason": str(exc)})
        st.error(str(exc))
        return False
    record("password_change", target=name)
    _renew_session(name)
    st.success("密码已修改。")
    return True


def _renew_session(name: str) -> None:
    """After a password change every session of the user has ended (its stamp changed), this one
    too: it goes on under a new session, with a new cookie."""
    s = st.session_state.get(_USER_KEY) or {}
    try:
        user = auth.load_users().get(name)
    except auth.AuthError:
        return
    if user is not None:
        _sign_in(user, s.get("via", "password"), login=False)


def must_change_password(access: Access) -> bool:
    """A password the system made up must be changed before anything else. True: form shown, stop."""
    if not (access.user and access.user.must_change and access.via == "password"):
        return False
    st.title(labels.APP_TITLE)
    st.warning(labels.AUTH_MUST_CHANGE, icon=":material/key:")
    if _change_password_form(access.user.name, "auth_must_change"):
        st.rerun()
    return True


def _logout() -> None:
    a = current()
    if a.user:
        _audit("logout", a.user.name, role=a.user.role)
    via = (st.session_state.get(_USER_KEY) or {}).get("via")
    _sign_out()
    if via == "oidc":
        st.logout()


def user_menu(access: Access) -> None:
    """The sidebar's account block: who is signed in, change password, sign out."""
    with st.sidebar:
        st.caption(f"{labels.AUTH_SIGNED_IN}：**{access.user.name}**（{access.user.role}）")
        if access.via == "password":
            with st.popover(labels.AUTH_CHANGE_PASSWORD, icon=":material/key:", width="stretch"):
                _change_password_form(access.user.name, "auth_change_password")
        st.button(labels.AUTH_LOGOUT, on_click=_logout, key="auth_logout", icon=":material/logout:", width="stretch")


def refuse(url_path: str) -> None:
    """A page outside the role: a Chinese refusal and nothing else (audited)."""
    a = current()
    page = labels.PAGE_BY_PATH.get(url_path)
    title = page.title if page else url_path
    record("access_denied", target=url_path)
    st.error(labels.AUTH_REFUSED.format(role=a.role or "未登录", page=title), icon=":material/block:")


def guarded(url_path: str, render: Callable[[], None]) -> Callable[[], None]:
    """The page's render, run only for a role that may open it (app.py registers these)."""
    def run() -> None:
        if current().allowed(url_path):
            render()
        else:
            refuse(url_path)

    run.__name__ = f"page_{url_path}"
    return run


# ───────────────────────────── the cookie's HTTP routes (app.py's st.App) ─────────────────────────────

def session_routes() -> list:
    """``POST /_cockpit/session`` trades a one-time grant (the body) for the session cookie, set by
    the server: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
    Secure when the request came over https, Max-Age the session's absolute limit. ``POST
    /_cockpit/logout`` drops it. Both answer 204; a grant that is unknown, used or expired 403."""
    from starlette.responses import Response
    from starlette.routing import Route

    def cookie_response(request, value: str, max_age: int) -> Response:
        r = Response(status_code=204)
        r.set_cookie(session_store.COOKIE, value, max_age=max_age, path="/", httponly=True, samesite="strict",
                     secure=request.url.scheme == "https")
        r.headers["Cache-Control"] = "no-store"
        return r

    async def grant(request):
        body = (await request.body())[:session_store.MAX_COOKIE_LEN + 8]
        try:
            value = session_store.Sessions().redeem(json.loads(body.decode("utf-8")) if body[:1] == b'"'
                                                    else body.decode("utf-8").strip())
            settings = auth.load_settings()
        except Exception:
            value = None
        if not value:
            return Response(status_code=403)
        return cookie_response(request, value, max(settings.session_hours * 3600, settings.screen_session_days * 86400))

    async def drop(request):
        return cookie_response(request, "", 0)

    return [Route(SESSION_ROUTE, grant, methods=["POST"]), Route(LOGOUT_ROUTE, drop, methods=["POST"])]


# ───────────────────────────── exports ─────────────────────────────

def download_button(label: str, data, *, file_name: str, what: str, filters: dict | None = None,
                    rows=None, **kwargs):
    """``st.download_button`` whose file, when generated, is recorded in the audit log: who, which
    file, what it holds, the filter it was made with and its rows (a number, or a callable asked
    after the file is made). ``data`` may be bytes or a callable (generated on click)."""
    a = current()
    actor, role, client = current_user(), a.role, client_address()
    db = default_db_path().resolve()
    make = data if callable(data) else (lambda b=data: b)

    def generate():
        out = make()
        count = rows() if callable(rows) else rows
        detail = {"what": what, "filter": {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())},
                  "rows": None if count is None else int(count)}
        audit.record_at(db, "export", actor, role=role, target=file_name,
                        detail={k: v for k, v in detail.items() if v not in (None, {})}, client=client)
        return out

    kwargs.setdefault("on_click", "ignore")
    return st.download_button(label, generate, file_name=file_name, **kwargs)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
