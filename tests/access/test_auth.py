"""Login and roles (analytics/access/users.py, analytics/store/audit.py, pages/_access.py, pages/users.py).

Unit tests of the rules — hashing, the users file, the settings file, the slow-down of failed logins,
the audit log and its spool, the command line — then the app through AppTest: with users configured
every page URL shows the login form and nothing else; each role sees its pages and is refused the
others; sessions expire; disabled users are signed out; OIDC is offered only when configured and maps
an identity to a user; the admin page manages users and reads the log.

Users here are hashed with cheap scrypt parameters (the parameters travel with each hash, so the
app checks them as stored): the rules are the same, the suite stays fast.
"""
from __future__ import annotations

import io
import json
import shutil
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

import app
from analytics.store import audit
from analytics.access import users as auth
from analytics.core import labels
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
PASSWORD = "correct-horse-9"
ROLE_USERS = {auth.ROLE_ADMIN: "管理丙", auth.ROLE_CHAIR: "主任甲", auth.ROLE_ANALYST: "分析乙"}  # the first user: an administrator
ALL_PAGES = [p.url_path for p in labels.PAGES]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(auth, "SCRYPT_N", 2 ** 10)
    monkeypatch.setattr(auth, "SCRYPT_P", 1)
    monkeypatch.setattr(auth, "_DUMMY_HASH", [])


@pytest.fixture()
def users_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "users.toml"
    monkeypatch.setenv("COCKPIT_USERS", str(path))
    monkeypatch.setenv("COCKPIT_SECURITY", str(tmp_path / "security.toml"))  # absent: defaults
    return path


@pytest.fixture()
def three_users(users_file) -> Path:
    for role, name in ROLE_USERS.items():
        auth.add_user(name, role, PASSWORD)
    return users_file


@pytest.fixture(scope="module")
def store(demo_db, tmp_path_factory) -> Path:
    """A copy of the session's demo store: these tests write audit events into it."""
    db = tmp_path_factory.mktemp("auth") / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    return db


def events(db: Path, **filters) -> list[dict]:
    return audit.read_at(db, **filters).to_dict("records")


# ───────────────────────────── passwords ─────────────────────────────

def test_password_hash_is_salted_and_checked():
    h1, h2 = auth.hash_password(PASSWORD), auth.hash_password(PASSWORD)
    assert h1 != h2 and h1.startswith("scrypt$1024$8$1$") and PASSWORD not in h1
    assert auth.verify_password(PASSWORD, h1) and auth.verify_password(PASSWORD, h2)
    assert not auth.verify_password(PASSWORD + "x", h1)
    for broken in ("", "scrypt$1$2", "bcrypt$x$y$z$a$b", h1.replace("scrypt", "md5"), h1[:-4] + "!!!!"):
        assert not auth.verify_password(PASSWORD, broken)


def test_default_cost_is_owasp_scrypt():
    # The fixture made hashing cheap for the suite; the shipped parameters are OWASP's N=2^14, r=8, p=5.
    # Read in a fresh interpreter: reloading the module here would give later tests a second
    # AuthError class, which modules imported before the reload would not catch.
    r = subprocess.run([sys.executable, "-c", "from analytics.access import users as u; print(u.SCRYPT_N, u.SCRYPT_R, u.SCRYPT_P)"],
                       capture_output=True, text=True, cwd=ROOT, check=True)
    assert r.stdout.split() == [str(2 ** 14), "8", "5"]


@pytest.mark.parametrize("bad,why", [("short", "至少"), ("a" * 300, "不能超过"), ("aaaaaaaaaaaa", "太简单"),
                                     ("line\nbreak-123", "控制字符"), ("管理丙", "至少")])
def test_password_rules(bad, why):
    with pytest.raises(auth.AuthError, match=why):
        auth.check_password_rules(bad, "管理丙")
    with pytest.raises(auth.AuthError, match="用户名相同"):
        auth.check_password_rules("zhangsan-01", "ZhangSan-01")


# ───────────────────────────── the users file ─────────────────────────────

def test_users_file_round_trip_holds_no_password(three_users):
    text = three_users.read_text(encoding="utf-8")
    assert PASSWORD not in text and "scrypt$" in text
    assert stat.S_IMODE(three_users.stat().st_mode) == 0o600
    users = auth.load_users()
    assert {u.name: u.role for u in users.values()} == {v: k for k, v in ROLE_USERS.items()}
    assert not any(u.must_change or u.disabled for u in users.values())
    # An OIDC identity with quotes and a backslash survives the hand-written TOML.
    auth.set_oidc("分析乙", 'a"b\\c@example.gov.cn')
    assert auth.load_users()["分析乙"].oidc == 'a"b\\c@example.gov.cn'


def test_user_changes(three_users):
    generated = auth.add_user("新人", auth.ROLE_CHAIR)
    u = auth.load_users()["新人"]
    assert generated and len(generated) >= 12 and u.must_change and auth.verify_password(generated, u.password)
    auth.set_disabled("新人", True)
    assert auth.load_users()["新人"].disabled
    auth.set_disabled("新人", False)
    auth.set_role("新人", auth.ROLE_ANALYST)
    assert auth.load_users()["新人"].role == auth.ROLE_ANALYST
    again = auth.reset_password("新人")
    assert again != generated and auth.verify_password(again, auth.load_users()["新人"].password)
    auth.change_password("新人", again, "my-own-pass-42")
    assert not auth.load_users()["新人"].must_change
    with pytest.raises(auth.AuthError, match="原密码不正确"):
        auth.change_password("新人", "wrong-password", "another-pass-42")
    with pytest.raises(auth.AuthError, match="已经存在"):
        auth.add_user("新人", auth.ROLE_CHAIR)
    with pytest.raises(auth.AuthError, match="没有用户"):
        auth.set_disabled("没这个人", True)


def test_last_admin_cannot_be_disabled_or_demoted(three_users):
    with pytest.raises(auth.AuthError, match="最后一个"):
        auth.set_disabled("管理丙", True)
    with pytest.raises(auth.AuthError, match="最后一个"):
        auth.set_role("管理丙", auth.ROLE_ANALYST)
    auth.add_user("管理丁", auth.ROLE_ADMIN, PASSWORD)
    auth.set_disabled("管理丙", True)  # another admin is left
    assert auth.load_users()["管理丙"].disabled


@pytest.mark.parametrize("name", ["", " ", "a" * 33, "x'; DROP TABLE opinions; --", "名\x00字", "a b",
                                  "\u202e张三", "<script>", "张\t三"])
def test_user_names_are_checked(users_file, name):
    with pytest.raises(auth.AuthError, match="用户名"):
        auth.add_user(name, auth.ROLE_CHAIR, PASSWORD)
    assert not users_file.exists()


@pytest.mark.parametrize("text,why", [
    ("[users.x\nrole = 1", "不是合法的 TOML"),
    ('[users."甲"]\nrole = "皇帝"\npassword = ""', "角色"),
    ('[users."甲"]\nrole = "分析员"\nis_admin = true', "不认识的项"),
    ('[users."甲"]\nrole = "分析员"\ndisabled = "no"', "disabled"),
    ('[other]\nx = 1', "不认识的内容"),
])
def test_a_broken_users_file_is_refused(users_file, text, why):
    users_file.write_text(text, encoding="utf-8")
    with pytest.raises(auth.AuthError, match=why):
        auth.load_users()


# ───────────────────────────── settings ─────────────────────────────

def test_shipped_settings_are_the_documented_defaults():
    assert auth.load_settings(auth.DEFAULT_SETTINGS) == auth.Settings()
    doc = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    for (section, key) in auth._SETTINGS_SPEC:
        assert key in doc, f"docs/security.md 没有说明 [{section}] {key}"


@pytest.mark.parametrize("text,why", [
    ("[session]\nidle_minutes = 0", "1–1440"),
    ("[session]\nidle_minutes = '30'", "整数"),
    ("[session]\nidle_minutes = true", "整数"),
    ("[login]\nfree_attempt = 3", "不认识的设置项 free_attempt"),
    ("[privacy]\nadmin_raw_names = 1", "true 或 false"),
    ("[sesion]\nidle_minutes = 3", "不认识的小节"),
    ("[session\n", "不是合法的 TOML"),
])
def test_bad_settings_are_named(tmp_path, text, why):
    p = tmp_path / "security.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(auth.AuthError, match=why):
        auth.load_settings(p)


# ───────────────────────────── slowing down failed logins ─────────────────────────────

def test_delay_doubles_after_the_free_attempts_up_to_the_cap():
    s = auth.Settings(free_attempts=3, first_delay_seconds=2, max_delay_minutes=15)
    assert [auth.delay_after(n, s) for n in range(8)] == [0, 0, 0, 2, 4, 8, 16, 32]
    assert auth.delay_after(40, s) == 900


def test_failed_logins_slow_down_per_user_and_survive_a_restart(three_users):
    t = 1_000_000.0
    for i in range(3):
        r = auth.authenticate("分析乙", "wrong-password", now=t + i)
        assert r.reason == "bad_password" and r.message == "用户名或密码不正确，或账户已停用。"
    # The fourth attempt comes too soon: refused without looking at the password, even a right one.
    r = auth.authenticate("分析乙", PASSWORD, now=t + 3)
    assert not r.ok and r.reason == "throttled" and "秒后再试" in r.message
    # A "restart": nothing in memory, the state comes from the file beside the users file.
    assert json.loads(auth.throttle_path(three_users).read_text())["user:分析乙"]["failures"] == 3
    auth._users_cache.clear()
    assert auth.authenticate("分析乙", PASSWORD, now=t + 3.5).reason == "throttled"
    # Once the wait is over the right password works and clears the count.
    r = auth.authenticate("分析乙", PASSWORD, now=t + 2 + 2.1)
    assert r.ok and r.user.role == auth.ROLE_ANALYST
    assert "user:分析乙" not in json.loads(auth.throttle_path(three_users).read_text())
    # Other users were never slowed down.
    assert auth.authenticate("主任甲", PASSWORD, now=t + 3).ok


def test_unknown_names_disabled_users_and_one_address_are_slowed_down_too(three_users):
    t = 2_000_000.0
    auth.set_disabled("主任甲", True)
    r = auth.authenticate("主任甲", PASSWORD, now=t)
    assert not r.ok and r.reason == "disabled" and r.message == auth.LoginResult(False, "unknown_user").message
    # One address trying a different name each time.
    for i, name in enumerate(["甲1", "甲2", "甲3"]):
        assert auth.authenticate(name, "x" * 12, client="10.0.0.9", now=t + i).reason == "unknown_user"
    assert auth.authenticate("管理丙", PASSWORD, client="10.0.0.9", now=t + 3).reason == "throttled"
    assert auth.authenticate("管理丙", PASSWORD, client="10.0.0.10", now=t + 3).ok


def test_an_address_shared_by_many_cannot_lock_an_administrator_out(three_users):
    """A NAT or a proxy: someone behind it guesses names for an hour; the administrator behind the
    same address waits at most shared_max_delay_seconds, then the right password works."""
    t = 2_500_000.0
    s = auth.load_settings()
    for i in range(40):
        auth.authenticate(f"guess{i}", "x" * 12, client="10.0.0.9", now=t + i * 5)
    end = t + 40 * 5
    throttle = auth.Throttle(auth.throttle_path(three_users), s)
    assert throttle.failures("ip:10.0.0.9", end) > s.free_attempts + 5  # far past the free attempts
    assert throttle.wait(["ip:10.0.0.9"], end) <= s.shared_max_delay_seconds  # and yet a short wait
    assert auth.authenticate("管理丙", PASSWORD, client="10.0.0.9", now=end + s.shared_max_delay_seconds + 1).ok
    # Someone typing the administrator's name wrong from elsewhere slows it down, never locks it.
    for i in range(40):
        auth.authenticate("管理丙", "wrong-password", client="10.9.9.9", now=end + 100 + i * 5)
    later = end + 100 + 40 * 5 + s.shared_max_delay_seconds + 1
    assert auth.authenticate("管理丙", PASSWORD, client="10.0.0.9", now=later).ok
    # But one address guessing one account is locked out for up to max_delay_minutes.
    for _ in range(12):  # twelve failures recorded as authenticate records them
        throttle.record(["user:分析乙", "pair:分析乙@10.7.7.7", "ip:10.7.7.7"], False, later)
    r = auth.authenticate("分析乙", PASSWORD, client="10.7.7.7", now=later + s.shared_max_delay_seconds + 1)
    assert r.reason == "throttled" and r.wait_seconds > 600
    # the same account from another address: only the shared, short wait
    assert auth.authenticate("分析乙", PASSWORD, client="10.8.8.8", now=later + s.shared_max_delay_seconds + 1).ok


def test_the_client_address_comes_from_a_trusted_proxy_only():
    plain = auth.Settings()
    proxied = auth.Settings(proxy_header="X-Forwarded-For", trusted_proxies=("127.0.0.1", "10.0.0.1"))
    headers = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
    assert auth.real_client(None, headers, plain) is None  # no header trusted unless configured
    assert auth.real_client(None, headers, proxied) == "203.0.113.7"  # loopback peer: the local proxy
    assert auth.real_client("10.0.0.1", headers, proxied) == "203.0.113.7"
    assert auth.real_client("198.51.100.5", headers, proxied) == "198.51.100.5"  # forged by a client
    assert auth.real_client(None, {"X-Forwarded-For": "not-an-address"}, proxied) is None
    assert auth.real_client(None, {}, proxied) is None


def test_network_settings_are_checked(tmp_path):
    bad = tmp_path / "s.toml"
    bad.write_text('[network]\ntrusted_proxies = ["localhost"]\n', encoding="utf-8")
    with pytest.raises(auth.AuthError, match="trusted_proxies 应为 IP 地址的列表"):
        auth.load_settings(bad)
    bad.write_text('[network]\nproxy_header = "X Forwarded: evil"\n', encoding="utf-8")
    with pytest.raises(auth.AuthError, match="proxy_header 应为一个请求头的名字"):
        auth.load_settings(bad)


def test_the_session_counts_its_own_failures(three_users):
    t, session = 3_000_000.0, {}
    for i, name in enumerate(["a1", "a2", "a3"]):
        auth.authenticate(name, "x" * 12, session=session, now=t + i)
    assert session["failures"] == 3
    assert auth.authenticate("管理丙", PASSWORD, session=session, now=t + 3).reason == "throttled"
    assert auth.authenticate("管理丙", PASSWORD, session=session, now=t + 10).ok and session == {}


def test_hostile_login_input_is_cheap_and_contained(three_users):
    t = 4_000_000.0
    for name in ["x" * 10_000, "'; DROP TABLE opinions; --", "\x00", "\u202e管理丙", "😀" * 50]:
        r = auth.authenticate(name, "y" * 10_000, now=t)
        assert not r.ok and len(r.name) <= 64
    state = auth.throttle_path(three_users).read_text(encoding="utf-8")
    assert len(state) < 2000  # a 10,000-character name is stored as a short digest


# ───────────────────────────── audit log ─────────────────────────────

def test_store_migration_4_is_the_audit_table():
    from analytics.store import db as store

    assert store.MIGRATIONS[4] == audit.SCHEMA


def test_audit_records_filters_and_clips(store):
    assert audit.record_at(store, "login", "管理丙", role=auth.ROLE_ADMIN, detail={"via": "password"})
    assert audit.record_at(store, "login_failed", "x" * 500 + "\x00\u202e", ok=False, detail={"reason": "bad"})
    got = events(store, actions=["login", "login_failed"])
    assert got[0]["action"] == "login_failed" and len(got[0]["actor"]) == 64 and "\x00" not in got[0]["actor"]
    assert got[1]["actor"] == "管理丙" and json.loads(got[1]["detail"]) == {"via": "password"}
    assert events(store, actor="管理丙", actions=["login"])
    assert not events(store, actor="'; DROP TABLE audit_log; --")
    assert events(store, text="PASSWORD", actions=["login"])  # case-insensitive, inside detail
    assert not events(store, since=datetime.now() + timedelta(hours=1))
    with pytest.raises(ValueError):
        audit.record_at(store, "no_such_action", "x")


def test_audit_spools_when_the_store_is_busy_or_missing(store, tmp_path):
    # Missing store (the first login on a fresh server): spooled, not created.
    missing = tmp_path / "none.duckdb"
    assert not audit.record_at(missing, "login", "甲")
    assert not missing.exists() and [e["actor"] for e in events(missing)] == ["甲"]
    # A writer in another process holds the store: spooled after a short wait, then moved in.
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(store)!r}); "
                               "print('ok', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        t0 = time.monotonic()
        assert not audit.record_at(store, "export", "乙", target="x.xlsx", wait=0.5)
        assert time.monotonic() - t0 < 5
    finally:
        holder.kill()
        holder.wait()
    assert audit.spool_path(store).exists()
    spooled = [e for e in events(store, actions=["export"]) if e["actor"] == "乙"]
    assert len(spooled) == 1 and spooled[0]["event_id"] is None  # shown before it reaches the table
    assert audit.record_at(store, "logout", "乙")
    assert not audit.spool_path(store).exists()
    moved = [e for e in events(store, actions=["export"]) if e["actor"] == "乙"]
    assert len(moved) == 1 and moved[0]["event_id"] is not None


# ───────────────────────────── command line ─────────────────────────────

def cli(*args, stdin: str = "", monkeypatch=None) -> subprocess.CompletedProcess:
    """``python -m analytics …`` in this process (its entry point; one interpreter for all calls)."""
    import contextlib

    from analytics.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    real_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(args))
    finally:
        sys.stdin = real_stdin
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


def test_users_command(tmp_path, store):
    f = tmp_path / "u.toml"
    base = ["users", "--users", str(f), "--db", str(store)]
    r = cli(*base, "add", "管理员一", "--role", "管理员", "--password-stdin", stdin="admin-pass-123\n")
    assert r.returncode == 0, r.stderr
    r = cli(*base, "add", "分析员二", "--role", "分析员")
    assert r.returncode == 0 and "一次性密码" in r.stdout
    one_time = r.stdout.split("一次性密码：")[1].split()[0]
    users = auth.load_users(f)
    assert auth.verify_password("admin-pass-123", users["管理员一"].password) and not users["管理员一"].must_change
    assert auth.verify_password(one_time, users["分析员二"].password) and users["分析员二"].must_change
    assert cli(*base, "disable", "分析员二").returncode == 0 and auth.load_users(f)["分析员二"].disabled
    assert cli(*base, "enable", "分析员二").returncode == 0 and not auth.load_users(f)["分析员二"].disabled
    r = cli(*base, "reset", "分析员二")
    assert r.returncode == 0 and "一次性密码" in r.stdout
    assert cli(*base, "role", "分析员二", "主任会议成员").returncode == 0
    listed = json.loads(cli(*base, "list", "--json").stdout)["users"]
    assert {u["name"]: u["role"] for u in listed} == {"管理员一": "管理员", "分析员二": "主任会议成员"}
    assert all("password" not in u for u in listed)
    bad = cli(*base, "disable", "管理员一")
    assert bad.returncode == 2 and "最后一个" in bad.stderr
    bad = cli(*base, "add", "x'; DROP TABLE opinions; --", "--role", "分析员")
    assert bad.returncode == 2 and "用户名" in bad.stderr
    actions = [e["action"] for e in events(store) if e["actor"].startswith("命令行")]
    assert {"user_add", "user_disable", "user_enable", "user_reset", "user_role"} <= set(actions)


# ───────────────────────────── the app (AppTest) ─────────────────────────────

def app_at(db: Path, monkeypatch, url_path: str | None = None, **query) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    if url_path:
        at._page_hash = calc_hash(url_path)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def open_page(at: AppTest, url_path: str) -> AppTest:
    at._page_hash = calc_hash(url_path)
    return at.run()


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.subheader, *at.caption, *at.markdown, *at.info, *at.warning,
                               *at.error, *at.success)]
    return "\n".join(str(p) for p in parts)


def login(at: AppTest, name: str, password: str = PASSWORD) -> AppTest:
    at.text_input[0].input(name)
    at.text_input[1].input(password)
    return at.button[-1].click().run()


def shows_data(at: AppTest) -> bool:
    return bool(at.metric or at.dataframe or at.get("plotly_chart") or at.table or at.sidebar.selectbox)


@pytest.fixture()
def nav_spy(monkeypatch):
    """What st.navigation was given in the last run: [(url_path, visibility)] and the position."""
    seen = {}
    real = st.navigation

    def spy(pages, **kw):
        # The menu, by labels.PAGES url_path: the default page is registered as app.HOME, and the
        # hidden twin that serves the first page's typed URL is no menu entry.
        first = labels.PAGES[0].url_path
        seen["pages"] = [(first if p._url_path == app.HOME else p._url_path, p.visibility)
                         for p in pages if p._url_path != first]
        seen["position"] = kw.get("position")
        return real(pages, **kw)

    monkeypatch.setattr(st, "navigation", spy)
    return seen


@pytest.mark.parametrize("url_path", [None, *ALL_PAGES])
def test_every_url_asks_for_login_and_shows_nothing(three_users, store, monkeypatch, nav_spy, url_path):
    at = app_at(store, monkeypatch, url_path, period="2024Q2").run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == [labels.APP_TITLE]
    assert labels.AUTH_LOGIN_TITLE in texts(at) and len(at.text_input) == 2
    assert not shows_data(at) and "演示数据" not in texts(at)
    assert nav_spy["position"] == "hidden"


@pytest.mark.parametrize("role", list(ROLE_USERS))  # the 大屏 role: test_the_screen_role_*
def test_each_role_sees_its_pages_and_is_refused_the_others(three_users, store, monkeypatch, nav_spy, role):
    name = ROLE_USERS[role]
    at = login(app_at(store, monkeypatch).run(), name)
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["驾驶舱"] and at.metric
    assert f"{name}" in texts(at) and role in texts(at)
    visible = [p for p, vis in nav_spy["pages"] if vis == "visible"]
    assert visible == [p for p in ALL_PAGES if p in auth.ROLE_PAGES[role]] and nav_spy["position"] == "sidebar"
    for page in ALL_PAGES:
        open_page(at, page)
        assert not at.exception, (page, at.exception)
        title = labels.PAGE_BY_PATH[page].title
        if auth.can_open(role, page):
            assert [t.value for t in at.title] == [title], page
            assert not any("无权打开" in e.value for e in at.error)
        else:
            assert not at.title and not shows_data(at), page
            assert labels.AUTH_REFUSED.format(role=role, page=title) in [e.value for e in at.error]
    denied = {e["target"] for e in events(store, actor=name, actions=["access_denied"])}
    assert denied == {p for p in ALL_PAGES if not auth.can_open(role, p)}


def test_wrong_password_is_refused_audited_and_slowed(three_users, store, monkeypatch):
    at = app_at(store, monkeypatch).run()
    for _ in range(3):
        login(at, "分析乙", "wrong-password")
        assert "用户名或密码不正确" in texts(at) and not shows_data(at)
    login(at, "分析乙", PASSWORD)  # right password, too soon
    assert "秒后再试" in texts(at) and not shows_data(at)
    got = [e["action"] for e in events(store, actor="分析乙", actions=["login_failed", "login_throttled"])]
    assert got.count("login_failed") >= 3 and "login_throttled" in got


def test_idle_session_expires(three_users, store, monkeypatch, tmp_path):
    (tmp_path / "security.toml").write_text("[session]\nidle_minutes = 5\n", encoding="utf-8")
    at = login(app_at(store, monkeypatch).run(), "主任甲")
    assert at.metric
    at.session_state["_auth_user"]["last_seen"] -= 4 * 60  # 4 minutes: still fine
    at.run()
    assert at.metric
    at.session_state["_auth_user"]["last_seen"] -= 6 * 60
    at.run()
    assert not shows_data(at) and "5 分钟没有操作" in texts(at) and len(at.text_input) == 2
    assert events(store, actor="主任甲", actions=["session_expired"])


def test_a_disabled_user_is_signed_out_at_the_next_click(three_users, store, monkeypatch):
    at = login(app_at(store, monkeypatch).run(), "分析乙")
    assert at.metric
    auth.set_disabled("分析乙", True)
    at.run()
    assert not shows_data(at) and labels.AUTH_GONE in texts(at)


def test_logout(three_users, store, monkeypatch):
    at = login(app_at(store, monkeypatch).run(), "主任甲")
    at.sidebar.button(key="auth_logout").click().run()
    assert not shows_data(at) and len(at.text_input) == 2
    assert events(store, actor="主任甲", actions=["logout"])


def test_a_one_time_password_must_be_changed_first(users_file, store, monkeypatch):
    auth.add_user("管理丙", auth.ROLE_ADMIN, PASSWORD)
    one_time = auth.add_user("新人", auth.ROLE_CHAIR)
    at = login(app_at(store, monkeypatch).run(), "新人", one_time)
    assert labels.AUTH_MUST_CHANGE in texts(at) and not shows_data(at)
    old, new, again = at.text_input
    old.input(one_time)
    new.input("my-new-pass-77")
    again.input("my-new-pass-77")
    at.button[-1].click().run()
    assert at.metric and not auth.load_users()["新人"].must_change
    assert events(store, actor="新人", actions=["password_change"])


def test_the_screen_role_sees_only_the_big_screen(three_users, store, monkeypatch, nav_spy):
    """A wall display's account: the cockpit as the big screen (without ?screen=1), nothing else."""
    auth.add_user("屏幕丁", auth.ROLE_SCREEN, PASSWORD)
    at = login(app_at(store, monkeypatch).run(), "屏幕丁")
    assert not at.exception, at.exception
    screen = "\n".join(str(h.proto.body) for h in at.get("html"))
    assert 'class="ck-head"' in screen and "大屏模式" not in [b.label for b in at.get("link_button")]
    assert "退出大屏" not in screen  # nothing to go back to
    assert [p for p, vis in nav_spy["pages"] if vis == "visible"] == ["cockpit"]
    for page in ALL_PAGES[1:]:
        open_page(at, page)
        assert not at.exception and not shows_data(at), page
        assert any(labels.AUTH_REFUSED.format(role=auth.ROLE_SCREEN, page=labels.PAGE_BY_PATH[page].title) in e.value
                   for e in at.error), page


def test_no_users_on_this_machine_is_demo_mode(users_file, store, monkeypatch, nav_spy):
    at = app_at(store, monkeypatch, "data").run()
    assert not at.exception and labels.AUTH_DEMO_MODE in texts(at)
    assert [t.value for t in at.title] == ["数据管理"]
    assert all(vis == "visible" for _, vis in nav_spy["pages"])


def test_no_users_reached_from_elsewhere_is_closed(users_file, store, monkeypatch):
    from pages import _access

    monkeypatch.setattr(_access, "client_address", lambda: "10.1.2.3")
    at = app_at(store, monkeypatch).run()
    assert labels.AUTH_NO_USERS_REMOTE in texts(at) and not shows_data(at)
    # Bound to an outside address: closed even for a request that looks local.
    monkeypatch.setattr(_access, "client_address", lambda: None)
    real = st.get_option
    monkeypatch.setattr(st, "get_option", lambda key: "192.168.1.20" if key == "server.address" else real(key))
    at = app_at(store, monkeypatch).run()
    assert labels.AUTH_NO_USERS_REMOTE in texts(at) and not shows_data(at)


def test_a_broken_users_file_closes_the_app(users_file, store, monkeypatch):
    users_file.write_text('[users."甲"]\nrole = "皇帝"\n', encoding="utf-8")
    at = app_at(store, monkeypatch).run()
    assert not at.exception and "皇帝" in texts(at) and not shows_data(at) and not at.text_input


OIDC_SECRETS = {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "s" * 32,
                "client_id": "cockpit", "client_secret": "x",
                "server_metadata_url": "https://sso.example.gov.cn/.well-known/openid-configuration"}


def test_oidc_button_only_when_configured(three_users, store, monkeypatch):
    at = app_at(store, monkeypatch).run()
    assert not [b for b in at.button if labels.AUTH_OIDC_BUTTON in b.label]
    at = app_at(store, monkeypatch)
    at.secrets["auth"] = OIDC_SECRETS
    at.run()
    assert not at.exception
    oidc = [b for b in at.button if labels.AUTH_OIDC_BUTTON in b.label]
    assert [b.label for b in oidc] == [labels.AUTH_OIDC_BUTTON]
    assert len(at.text_input) == 2  # the password form stays
    # st.login needs Authlib: without it the button is there but disabled, and the page says why.
    import importlib.util

    assert oidc[0].disabled == (importlib.util.find_spec("authlib") is None)
    assert (labels.AUTH_OIDC_NO_AUTHLIB in texts(at)) == oidc[0].disabled


def test_oidc_identity_maps_to_a_user(three_users, store, monkeypatch):
    auth.set_oidc("分析乙", "Yi@Example.gov.cn")
    at = app_at(store, monkeypatch, "hotwords")
    at.secrets["auth"] = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "yi@example.gov.cn", "name": "乙"}
    at.run()
    assert not at.exception and [t.value for t in at.title] == ["热词分析"]
    assert events(store, actor="分析乙", actions=["login"])[0]["detail"] == '{"via": "oidc"}'
    # An identity nobody was given: refused, and the refusal is audited once.
    at = app_at(store, monkeypatch)
    at.secrets["auth"] = OIDC_SECRETS
    at.user = {"is_logged_in": True, "email": "stranger@example.com"}
    at.run()
    assert labels.AUTH_OIDC_UNMAPPED in texts(at) and not shows_data(at)
    assert events(store, actor="stranger@example.com", actions=["login_failed"])


def test_admin_page_manages_users_and_reads_the_log(three_users, store, monkeypatch):
    at = login(app_at(store, monkeypatch, "users").run(), "管理丙")
    assert [t.value for t in at.title] == ["用户与审计"] and not at.exception
    form = [w for w in at.text_input if w.label == "用户名"][0]
    form.input("王五")
    at.button[[b.label for b in at.button].index("添加用户")].click().run()
    assert "一次性密码" in texts(at) and auth.load_users()["王五"].must_change
    at.run()  # the list is drawn above the form: the next run shows the new user
    at.selectbox(key="users_pick").select("王五").run()
    at.button(key="users_toggle").click().run()
    assert auth.load_users()["王五"].disabled
    got = {e["action"] for e in events(store, actor="管理丙")}
    assert {"login", "user_add", "user_disable"} <= got
    # The log: filtered by the action, the table shows it with Chinese headers.
    at.multiselect(key="users_log_actions").select("user_add").run()
    table = at.dataframe[-1].value
    assert list(table.columns) == list(audit.COLUMN_LABELS.values())
    assert set(table["操作"]) == {"添加用户"} and "王五" in set(table["对象"])


def test_raw_names_only_when_configured_and_audited(three_users, store, monkeypatch, tmp_path):
    con = connect(store, read_only=True)
    opinion_id, raw = con.execute("SELECT opinion_id, submitter FROM opinions WHERE submitter <> '' LIMIT 1").fetchone()
    con.close()
    at = login(app_at(store, monkeypatch, "users").run(), "管理丙")
    assert "查看提交人原始姓名" not in texts(at)
    (tmp_path / "security.toml").write_text("[privacy]\nadmin_raw_names = true\n", encoding="utf-8")
    at.run()
    assert "查看提交人原始姓名" in texts(at)
    [w for w in at.text_input if w.label == "意见编号"][0].input(opinion_id)
    at.button[[b.label for b in at.button].index("查看")].click().run()
    assert raw in texts(at)
    assert [e["target"] for e in events(store, actor="管理丙", actions=["raw_names"])][0] == opinion_id
    # An analyst never gets the look-up, whatever the setting.
    at = login(app_at(store, monkeypatch, "users").run(), "分析乙")
    assert "查看提交人原始姓名" not in texts(at) and raw not in texts(at)


def test_the_big_screen_stays_alive_until_the_user_is_disabled(three_users):
    """The cockpit's self-refreshing big screen calls keep_alive: it counts as activity, and a user
    disabled meanwhile makes it rerun the whole app (which then shows the login form)."""
    def script():
        import streamlit as st

        from pages import _access

        st.text(str(_access.keep_alive()))

    from pages import _access

    at = AppTest.from_function(script)
    user = auth.load_users()["主任甲"]
    at.session_state["_access"] = _access.Access("login", user=user, via="password")
    at.session_state["_auth_user"] = {"name": "主任甲", "via": "password", "since": 0.0, "last_seen": 0.0}
    at.run()
    assert at.text[0].value == "True" and at.session_state["_auth_user"]["last_seen"] > time.time() - 60
    auth.set_disabled("主任甲", True)
    at.run()
    assert at.text[0].value == "False"


def test_the_first_admin_can_be_added_in_demo_mode_and_login_follows(users_file, store, monkeypatch):
    at = app_at(store, monkeypatch, "users").run()
    assert labels.AUTH_DEMO_MODE in texts(at)
    assert at.selectbox[[s.label for s in at.selectbox].index("角色")].options == [auth.ROLE_ADMIN]
    [w for w in at.text_input if w.label == "用户名"][0].input("首位管理员")
    [w for w in at.text_input if w.label.startswith("密码")][0].input("first-admin-pass-1")
    at.button[[b.label for b in at.button].index("添加用户")].click().run()
    assert auth.load_users()["首位管理员"].role == auth.ROLE_ADMIN
    at.run()  # from now on every page asks for the password
    assert labels.AUTH_LOGIN_TITLE in texts(at) and not shows_data(at)
    login(at, "首位管理员", "first-admin-pass-1")  # back on the page the URL names
    assert [t.value for t in at.title] == ["用户与审计"] and "首位管理员" in texts(at)


# ───────────────────────── the candidate pool and the dictionary are audited ─────────────────────────

def test_candidate_pool_changes_are_audited_inside_their_transaction(store):
    from analytics.domain import hotwords as hw
    from analytics.store.db import writing

    con = connect(store, read_only=True)
    last = con.execute("SELECT max(day) FROM opinion_seg").fetchone()[0]
    con.close()
    start, end = last.replace(day=1), last
    # A change that fails after the record leaves neither the candidate nor its record.
    with pytest.raises(RuntimeError):
        with writing(store) as con:
            hw.add_candidate(con, "电梯", start, end, "分析乙", role=auth.ROLE_ANALYST)
            raise RuntimeError("boom")
    assert not events(store, actor="分析乙", actions=["candidate_add"])
    with writing(store) as con:
        cid = hw.add_candidate(con, "电梯", start, end, "分析乙", role=auth.ROLE_ANALYST, town="北干街道")
        hw.set_candidate_status(con, cid, "已列入监督计划", "分析乙", "主任会议同意", role=auth.ROLE_ANALYST)
        hw.add_candidate_note(con, cid, "请财经委跟进", "分析乙", role=auth.ROLE_ANALYST)
    got = {e["action"]: e for e in events(store, actor="分析乙", text=f"备选项目 {cid}")}
    assert set(got) == {"candidate_add", "candidate_status", "candidate_note"}
    assert all(e["role"] == auth.ROLE_ANALYST and e["target"] == f"备选项目 {cid}" for e in got.values())
    assert json.loads(got["candidate_add"]["detail"])["filters"] == {"town": "北干街道"}
    assert json.loads(got["candidate_status"]["detail"]) == {"from": "候选", "to": "已列入监督计划", "note": "主任会议同意"}


def test_dictionary_changes_are_audited(store, tmp_path):
    from analytics.domain import hotwords as hw

    db = tmp_path / "dict.duckdb"
    shutil.copy(store, db)
    con = connect(db, read_only=True)
    old = hw.active_version(con)
    userdict, stopwords = hw.dictionary_texts(con)
    con.close()
    v = hw.set_dictionary_at(db, hw.add_words_to_userdict(userdict, ["宁新村"]), stopwords, "分析乙",
                             "测试加词", role=auth.ROLE_ANALYST)
    [e] = events(db, actor="分析乙", actions=["dictionary"])
    assert e["target"] == f"词典版本 {v}" and e["role"] == auth.ROLE_ANALYST
    assert json.loads(e["detail"])["note"] == "测试加词"
    from analytics.store.db import writing

    with writing(db) as con:
        hw.activate_version(con, old, "管理丙", role=auth.ROLE_ADMIN)
    [back] = events(db, actor="管理丙", actions=["dictionary"])
    assert back["target"] == f"词典版本 {old}" and json.loads(back["detail"])["switched_back"] is True


def test_the_pages_write_the_pool_as_the_signed_in_user(three_users, store, monkeypatch):
    at = login(app_at(store, monkeypatch, "candidates").run(), "分析乙")
    assert [t.value for t in at.title] == ["监督项目备选库"] and not at.exception
    [w for w in at.text_input if w.label.startswith("热词（空格")][0].input("积水 排涝")
    at.button[[b.label for b in at.button].index("加入备选库")].click().run()
    assert not at.exception
    [e] = [e for e in events(store, actor="分析乙", actions=["candidate_add"])
           if json.loads(e["detail"])["words"] == ["积水", "排涝"]]
    assert e["role"] == auth.ROLE_ANALYST
    from analytics.domain import hotwords as hw

    con = connect(store, read_only=True)
    try:
        pool = hw.list_candidates(con)
    finally:
        con.close()
    assert pool.loc[pool["candidate_id"] == int(e["target"].split()[-1]), "created_by"].item() == "分析乙"


def test_every_download_in_the_pages_is_audited():
    """Downloads go through ``_access.download_button`` (which records the export); a page calling
    ``st.download_button`` itself would skip the audit log."""
    for path in sorted((ROOT / "pages").glob("*.py")):
        if path.name == "_access.py":
            continue
        assert "st.download_button" not in path.read_text(encoding="utf-8"), path.name


def test_a_download_is_audited_when_made_with_its_filter_and_rows(store, monkeypatch):
    """The file is recorded when it is generated (not when the button is drawn): what, the filter it
    was made with (empty values left out) and its rows."""
    from pages import _access

    monkeypatch.setenv("COCKPIT_DB", str(store))
    drawn = {}
    monkeypatch.setattr(_access.st, "download_button", lambda label, data, **kw: drawn.update(data=data, **kw))
    _access.download_button("下载", lambda: b"file", file_name="名单_2024.xlsx", what="十必做提醒名单",
                            filters={"年度": 2024, "镇街": None, "搜索": ""}, rows=lambda: 7)
    before = [e for e in events(store, actions=["export"]) if e["target"] == "名单_2024.xlsx"]
    assert before == [] and drawn["file_name"] == "名单_2024.xlsx"
    assert drawn["data"]() == b"file"
    [e] = [e for e in events(store, actions=["export"]) if e["target"] == "名单_2024.xlsx"]
    assert e["actor"] == _access.DEMO_ACTOR
    assert json.loads(e["detail"]) == {"what": "十必做提醒名单", "filter": {"年度": 2024}, "rows": 7}


def test_the_first_user_must_be_an_administrator(users_file, capsys):
    from analytics.__main__ import main

    with pytest.raises(auth.AuthError, match="第一个用户必须是管理员"):
        auth.add_user("王分析", auth.ROLE_ANALYST, PASSWORD)
    assert not auth.load_users()
    assert main(["users", "add", "王分析", "--role", auth.ROLE_ANALYST]) == 2  # the README's old example
    assert "第一个用户必须是管理员" in capsys.readouterr().err
    auth.add_user("王管理", auth.ROLE_ADMIN, PASSWORD)
    auth.add_user("王分析", auth.ROLE_ANALYST, PASSWORD)  # then any role
    assert set(auth.load_users()) == {"王管理", "王分析"}


@pytest.mark.parametrize("peer,seen", [("::ffff:127.0.0.1", None), ("127.0.0.1", None), ("::1", None),
                                       ("::ffff:10.1.2.3", "10.1.2.3"), ("10.1.2.3", "10.1.2.3"),
                                       ("2001:db8::1", "2001:db8::1"), (None, None)])
def test_a_local_browser_is_this_machine_also_through_a_dual_stack_server(peer, seen):
    """Streamlit's st.App server listens on both IP versions and reports a local browser as
    ::ffff:127.0.0.1, which Streamlit itself does not take for loopback: demo mode, the throttle and
    the trusted proxies compare the address normalised."""
    assert auth.normalise_peer(peer) == seen
