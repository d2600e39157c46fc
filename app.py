"""代表联络站驾驶舱 — entry point: ``streamlit run app.py``.

Routes the pages with ``st.navigation`` and runs the shared shell (first-start demo data, banner,
period/town sidebar) before every page. No computation here: pages lay out, ``analytics`` computes.

Access first (``pages/_access.py``, docs/security.md): with users configured, nothing below the login
form runs until someone signs in — no store is read, no sidebar drawn; then only the pages of the
role appear in the menu, and any other page's URL shows a refusal. With no users, on this machine
only, the app opens in demo mode as it always did.

Every page module under ``pages/`` ends with a guard that runs this file (``pages.route_through_app``)
when Streamlit runs the page file directly (its legacy ``pages/`` mode does that on a fresh server for
the URL ``/<stem>``), so no URL reaches a page without passing through here; the pages never import
``app``.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

import streamlit as st

from analytics.core import labels
from pages import _access, _layout, candidates, cockpit, data, hotwords, ranking, reps, suggestions, users

# url_path -> page module; the order and the words come from analytics.core.labels.PAGES.
PAGE_MODULES = {
    "cockpit": cockpit,
    "ranking": ranking,
    "hotwords": hotwords,
    "candidates": candidates,
    "suggestions": suggestions,
    "reps": reps,
    "data": data,
    "users": users,
}


HOME = "home"  # the default page's own url_path: Streamlit serves it at "/" (see build_pages)


def build_pages(access: _access.Access) -> list:
    """Every page, each behind its role check; pages outside the role are hidden from the menu
    (still registered, so their URL shows the refusal instead of "page not found").

    The first page is the default, served at "/". Streamlit matches a typed URL against each page's
    url_path and the default page's is "" — so ``/cockpit`` would answer "Page not found". A hidden
    twin of the first page holds its url_path; the default page itself is registered under ``HOME``
    (two pages may not share a url_path)."""
    def page(p: labels.PageLabel, url_path: str, **kw) -> st.Page:
        return st.Page(_access.guarded(p.url_path, PAGE_MODULES[p.url_path].render), title=p.title,
                       url_path=url_path, icon=p.icon, **kw)

    pages = [page(p, HOME if i == 0 else p.url_path, default=(i == 0),
                  visibility="visible" if access.allowed(p.url_path) else "hidden")
             for i, p in enumerate(labels.PAGES)]
    return [*pages, page(labels.PAGES[0], labels.PAGES[0].url_path, visibility="hidden")]


def page_path(page) -> str:
    """The labels.PAGES url_path of the page Streamlit chose ("" and HOME are the first page)."""
    return page.url_path if page.url_path not in ("", HOME) else labels.PAGES[0].url_path


ICON = Path(__file__).resolve().parent / "pages" / "icon.png"
RUN_LOG_ENV = "COCKPIT_RUN_LOG"  # a file: one JSON line per script run (bench/load.py reads it)


def main() -> None:
    """One script run: the shell and the page. With ``COCKPIT_RUN_LOG`` set, each run's page, wall
    time and outcome (finished, or cut short by a rerun) are appended to that file — the server's
    side of a page's completion time, apart from the browser's."""
    path = os.environ.get(RUN_LOG_ENV)
    if not path:
        _guarded()
        return
    t0, outcome, where = time.perf_counter(), "done", {}
    try:
        _guarded(where)
    except BaseException as exc:  # a rerun or a stop (Streamlit's control flow), or an error
        outcome = type(exc).__name__
        raise
    finally:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        line = {"at": time.time(), "page": where.get("page"), "seconds": round(time.perf_counter() - t0, 4),
                "outcome": outcome, "session": ctx.session_id if ctx else None}
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(line) + "\n")


RAISE_ENV = "COCKPIT_RAISE_ERRORS"  # "1": errors propagate (the tests set it, to see them)
log = logging.getLogger("cockpit")


def _guarded(where: dict | None = None) -> None:
    """``_main``, with any error shown to the user as a Chinese message and an error id; the
    traceback goes to the server log under that id, never to the page. Streamlit's own control
    flow (rerun, stop) is a BaseException and passes through."""
    try:
        _main(where)
    except Exception:
        if os.environ.get(RAISE_ENV) == "1":
            raise
        error_id = uuid.uuid4().hex[:8]
        log.exception("页面运行出错，错误编号 %s（页面：%s）", error_id, (where or {}).get("page"))
        st.error(f"页面出错了，请稍后刷新重试。如果仍然出错，请把错误编号 {error_id} 告诉系统管理员"
                 "（详细信息已记入服务器日志）。", icon=":material/error:")


def _main(where: dict | None = None) -> None:
    where = {} if where is None else where
    # The tab icon is a file of our own: a ":material/…:" icon is fetched from fonts.gstatic.com,
    # which a government intranet cannot reach.
    st.set_page_config(page_title=labels.APP_TITLE, page_icon=str(ICON), layout="wide")
    access = _access.resolve()
    _access.session_cookie()
    if access.mode == "demo":
        page = st.navigation(build_pages(access), position="sidebar")
        where["page"] = page_path(page)
        if not _layout.screen_requested():  # the big screen has its own slim demo line
            _access.demo_notice()
        _layout.shell()
        page.run()
        return
    signed_in = access.user is not None
    page = st.navigation(build_pages(access), position="sidebar" if signed_in else "hidden")
    where["page"] = page_path(page)
    if access.mode == "closed":
        _access.closed(access)
    elif not signed_in:
        _access.login_form()
    elif not _access.must_change_password(access):
        _access.user_menu(access)
        url_path = page_path(page)
        if not access.allowed(url_path):
            _access.refuse(url_path)  # before the shell: not even the sidebar reads the store
            return
        _layout.shell()
        page.run()


if __name__ == "__main__":
    main()
else:
    # Imported by the server: `streamlit run app.py` finds this st.App (Streamlit 1.67's ASGI app) and
    # serves it, with the session cookie's routes beside Streamlit's own (pages/_access.session_routes).
    # Each script run executes this file as __main__ and takes the branch above.
    app = st.App(Path(__file__).resolve(), routes=_access.session_routes())
