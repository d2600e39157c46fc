"""Real-browser test of login and roles: a freshly started server with a users file, headless Chromium.

Before anyone signs in, every page's own URL — the first request a fresh server sees for it, the
case where Streamlit's legacy pages/ mode would run the file directly — shows the login form and no
data: no table, no metric card, no chart, no navigation, no sidebar choice. After signing in as each
role, the navigation lists exactly that role's pages, the role's own page opens from it, and every
other page's URL shows the refusal and no data.

The store is a copy of the session's demo store (generated and imported by the real first-start
path, see tests/conftest.py); the users file (``COCKPIT_USERS``) holds one user per role, hashed with
cheap scrypt parameters that travel with each hash. Screenshots go to artifacts/screenshots/auth-*.
"""
from __future__ import annotations

import shutil
import time

import pytest

from analytics.access import users as auth
from analytics.core import labels
from tests.pages.test_browser import SHOTS

PASSWORD = "browser-test-42"
ROLE_USERS = {auth.ROLE_CHAIR: "主任甲", auth.ROLE_ANALYST: "分析乙", auth.ROLE_ADMIN: "管理丙"}
DATA_SELECTORS = ("[data-testid=stDataFrame]", "[data-testid=stTable]", "[data-testid=stMetric]",
                  "[data-testid=stPlotlyChart]", "[data-testid=stSidebarNav]", "[data-testid=stSelectbox]")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(app_server, demo_db, tmp_path_factory):
    """A fresh server on a free port (tests/conftest.py) with users configured and a copy of the demo
    store."""
    tmp = tmp_path_factory.mktemp("browser-auth")
    db = tmp / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    users = tmp / "users.toml"
    hashes = {name: auth.hash_password(PASSWORD, n=2 ** 10, p=1) for name in ROLE_USERS.values()}
    users.write_text("".join(
        f'[users."{name}"]\nrole = "{role}"\npassword = "{hashes[name]}"\n\n' for role, name in ROLE_USERS.items()),
        encoding="utf-8")
    assert set(auth.load_users(users)) == set(ROLE_USERS.values())
    return app_server(db, tmp / "server.log",
                      env={"COCKPIT_USERS": str(users), "COCKPIT_SECURITY": str(tmp / "security.toml")})


def _settle(page, selector: str, timeout_ms: int = 60_000) -> None:
    page.wait_for_selector(selector, timeout=timeout_ms)
    page.wait_for_selector("[data-testid=stApp][data-test-script-state=notRunning]", timeout=timeout_ms)
    page.wait_for_timeout(800)  # the last deltas paint after the state flips


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
    page.goto(url)
    _settle(page, "input[type=password]")
    return page


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"auth-{name}.png"), full_page=True)


def _assert_no_data(page, where: str) -> None:
    assert page.locator("[data-testid=stException]").count() == 0, where
    for sel in DATA_SELECTORS:
        assert page.locator(sel).count() == 0, f"{where}：登录前或被拒绝时出现了 {sel}"
    assert page.get_by_text("演示数据", exact=False).count() == 0, where


def _login(page, name: str, then: str) -> None:
    page.locator("input[type=text]").first.fill(name)
    page.locator("input[type=password]").first.fill(PASSWORD)
    page.get_by_role("button", name=labels.AUTH_LOGIN, exact=True).click()
    _settle(page, then)


@pytest.mark.parametrize("page_def", labels.PAGES, ids=lambda p: p.url_path)
def test_every_url_before_login_shows_only_the_login_form(server, browser, page_def):
    page = _open(browser, f"{server}/{page_def.url_path}")
    _shot(page, f"before-login-{page_def.url_path}")
    _assert_no_data(page, page_def.url_path)
    assert page.get_by_text(labels.AUTH_LOGIN_TITLE, exact=True).first.is_visible()
    # Not even the page's own title: nothing of the page ran.
    assert page.get_by_role("heading", name=page_def.title, exact=True).count() == 0
    page.close()


@pytest.mark.parametrize("role", list(ROLE_USERS))  # the 大屏 role: tests/access/test_auth.py
def test_each_role_reaches_only_its_pages(server, browser, role):
    name = ROLE_USERS[role]
    page = _open(browser, f"{server}/")
    _login(page, name, "[data-testid=stSidebarNav]")
    nav = page.locator("[data-testid=stSidebarNav]")
    # A link's text is the icon's ligature name, then the title.
    listed = [t.strip().splitlines()[-1].strip() for t in nav.locator("a").all_inner_texts() if t.strip()]
    expected = [p.title for p in labels.PAGES if auth.can_open(role, p.url_path)]
    assert listed == expected, listed
    assert page.get_by_text(name, exact=False).first.is_visible()
    _shot(page, f"{role}-cockpit")
    # The role's own last page (reps / candidates / users) opens from the menu within the session.
    for p in [p for p in labels.PAGES if auth.can_open(role, p.url_path)][-1:]:
        nav.locator("a", has_text=p.title).first.click()
        page.wait_for_url(f"**/{p.url_path}**", timeout=30_000)
        _settle(page, "h1")
        assert page.locator("[data-testid=stException]").count() == 0, p.url_path
        assert page.get_by_role("heading", name=p.title, exact=True).first.is_visible(), p.url_path
    page.close()
    # Every other page's URL: login (a new browser session), then the refusal and no data.
    for p in labels.PAGES:
        if auth.can_open(role, p.url_path):
            continue
        page = _open(browser, f"{server}/{p.url_path}")
        _login(page, name, "[data-testid=stAlert]")
        refusal = labels.AUTH_REFUSED.format(role=role, page=p.title)
        assert page.get_by_text(refusal, exact=False).first.is_visible(), p.url_path
        _shot(page, f"{role}-refused-{p.url_path}")
        for sel in DATA_SELECTORS[:4]:
            assert page.locator(sel).count() == 0, f"{role} /{p.url_path}: {sel}"
        assert page.get_by_role("heading", name=p.title, exact=True).count() == 0
        page.close()


def _session_cookie(context, timeout_s: float = 15.0) -> dict | None:
    """The session cookie, once the page has traded its grant for it (a moment after the login)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        found = [c for c in context.cookies() if c["name"] == "cockpit_session" and c["value"]]
        if found:
            return found[0]
        time.sleep(0.2)
    return None


def test_a_session_survives_reloads_typed_urls_and_new_tabs(server, browser):
    """One browser (one cookie jar): F5, a typed URL and a new tab stay signed in; logging out in one
    tab ends the session everywhere; a forged or a logged-out cookie gets the login form."""
    context = browser.new_context(viewport={"width": 1440, "height": 1600}, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{server}/")
    _settle(page, "input[type=password]")
    t0 = time.time()
    _login(page, "分析乙", "[data-testid=stSidebarNav]")
    print(f"login to cockpit drawn: {time.time() - t0:.1f} s")
    cookie = _session_cookie(context)
    assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert "cockpit_session" not in page.evaluate("document.cookie")  # no script can read it
    page.reload()
    _settle(page, "[data-testid=stSidebarNav]")
    assert page.locator("input[type=password]").count() == 0 and page.get_by_text("分析乙").first.is_visible()
    page.goto(f"{server}/hotwords")
    _settle(page, "h1")
    assert page.get_by_role("heading", name="热词分析", exact=True).first.is_visible()
    tab = context.new_page()
    tab.goto(f"{server}/ranking")
    _settle(tab, "h1")
    assert tab.get_by_role("heading", name="镇街排名", exact=True).first.is_visible()
    _shot(tab, "session-new-tab")
    tab.get_by_role("button", name=labels.AUTH_LOGOUT).click()
    _settle(tab, "input[type=password]")
    page.reload()
    _settle(page, "input[type=password]")
    _assert_no_data(page, "退出后刷新")
    for value in (cookie["value"][:-1] + ("0" if cookie["value"][-1] != "0" else "1"), cookie["value"]):
        context.add_cookies([{"name": "cockpit_session", "value": value, "url": server}])  # forged; logged out
        page.reload()
        _settle(page, "input[type=password]")
        _assert_no_data(page, "伪造或已退出的会话 cookie")
    context.close()
