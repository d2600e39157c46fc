"""The session cookie (analytics.access.sessions, docs/security.md §会话): signed, checked on the
server, ended by logout, by time, and by any change of the user."""
from __future__ import annotations

import stat

import pytest

from analytics.access import sessions
from analytics.access import users as auth

PASSWORD = "correct-horse-9"


@pytest.fixture()
def users_file(tmp_path, monkeypatch):
    path = tmp_path / "users.toml"
    monkeypatch.setenv("COCKPIT_USERS", str(path))
    monkeypatch.setenv("COCKPIT_SECURITY", str(tmp_path / "security.toml"))
    monkeypatch.delenv(sessions.SECRET_ENV, raising=False)
    monkeypatch.setattr(auth, "SCRYPT_N", 2 ** 10)
    monkeypatch.setattr(auth, "SCRYPT_P", 1)
    auth.add_user("管理丙", auth.ROLE_ADMIN, PASSWORD)
    auth.add_user("屏幕丁", auth.ROLE_SCREEN, PASSWORD)
    return path


def signed(users_file, name="管理丙", now=1_000_000.0):
    store = sessions.Sessions()
    sid, grant = store.create(auth.load_users()[name], now=now)
    cookie = store.redeem(grant, now=now + 5)
    return store, sid, grant, cookie


def test_a_cookie_signs_its_user_in_and_the_grant_works_once(users_file):
    store, sid, grant, cookie = signed(users_file)
    assert cookie.startswith(sid + ".")
    v = store.check(cookie, auth.load_users(), auth.Settings(), now=1_000_060.0)
    assert v.user.name == "管理丙" and v.sid == sid and v.reason == ""
    assert store.redeem(grant, now=1_000_006.0) is None  # used
    key = users_file.with_name("session.key")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_a_grant_not_traded_within_a_minute_is_void(users_file):
    store = sessions.Sessions()
    _, grant = store.create(auth.load_users()["管理丙"], now=1_000_000.0)
    assert store.redeem(grant, now=1_000_000.0 + sessions.GRANT_SECONDS + 1) is None
    assert store.redeem("made-up", now=1_000_001.0) is None


@pytest.mark.parametrize("change", ["signature", "session id", "garbage", "too long"])
def test_a_forged_cookie_is_refused(users_file, change):
    store, sid, _, cookie = signed(users_file)
    forged = {"signature": cookie[:-1] + ("0" if cookie[-1] != "0" else "1"),
              "session id": "x" + cookie, "garbage": "abc", "too long": cookie + "0" * 300}[change]
    v = store.check(forged, auth.load_users(), auth.Settings(), now=1_000_010.0)
    assert v.user is None and v.reason == "forged"


def test_a_cookie_signed_with_another_secret_is_refused(users_file, monkeypatch):
    store, _, _, cookie = signed(users_file)
    monkeypatch.setenv(sessions.SECRET_ENV, "another server's secret")
    assert store.check(cookie, auth.load_users(), auth.Settings(), now=1_000_010.0).reason == "forged"


def test_expired_idle_and_revoked_sessions_end(users_file):
    settings = auth.Settings(idle_minutes=30, session_hours=12)
    store, sid, _, cookie = signed(users_file)
    users = auth.load_users()
    assert store.check(cookie, users, settings, now=1_000_000.0 + 29 * 60).user is not None  # seen: idle restarts
    assert store.check(cookie, users, settings, now=1_000_000.0 + 29 * 60 + 31 * 60).reason == "idle"
    store2, _, _, cookie2 = signed(users_file)
    t = 1_000_000.0
    for _ in range(25):  # active every 29 minutes for 12 hours: the absolute limit still ends it
        t += 29 * 60
        v = store2.check(cookie2, users, settings, now=t)
        if v.user is None:
            break
    assert v.reason == "expired" and t - 1_000_000.0 > 12 * 3600
    store3, sid3, _, cookie3 = signed(users_file)
    store3.revoke(sid3)
    assert store3.check(cookie3, users, settings, now=1_000_010.0).reason == "revoked"


@pytest.mark.parametrize("change", ["password", "role", "disabled", "reset"])
def test_any_change_of_the_user_ends_the_session(users_file, change):
    store, _, _, cookie = signed(users_file)
    auth.add_user("管理乙", auth.ROLE_ADMIN, PASSWORD)  # someone must stay an administrator
    if change == "password":
        auth.change_password("管理丙", PASSWORD, "another-horse-7")
    elif change == "role":
        auth.set_role("管理丙", auth.ROLE_ANALYST)
    elif change == "disabled":
        auth.set_disabled("管理丙", True)
    else:
        auth.reset_password("管理丙")
    v = store.check(cookie, auth.load_users(), auth.Settings(), now=1_000_010.0)
    assert v.user is None and v.reason == ("gone" if change == "disabled" else "changed")


def test_the_screen_role_lasts_days_and_never_idles(users_file):
    settings = auth.Settings(idle_minutes=30, screen_session_days=30)
    store, _, _, cookie = signed(users_file, "屏幕丁")
    users = auth.load_users()
    assert store.check(cookie, users, settings, now=1_000_000.0 + 5 * 86400).user.name == "屏幕丁"
    assert store.check(cookie, users, settings, now=1_000_000.0 + 31 * 86400).reason == "expired"
    assert sessions.limits(users["管理丙"], settings) == (12 * 3600.0, 30 * 60.0)


def test_settings_of_the_session_are_read_and_checked(tmp_path):
    f = tmp_path / "security.toml"
    f.write_text("[session]\nidle_minutes = 20\nhours = 8\nscreen_days = 7\n", encoding="utf-8")
    s = auth.load_settings(f)
    assert (s.idle_minutes, s.session_hours, s.screen_session_days) == (20, 8, 7)
    f.write_text("[session]\nhours = 0\n", encoding="utf-8")
    with pytest.raises(auth.AuthError, match="hours"):
        auth.load_settings(f)
