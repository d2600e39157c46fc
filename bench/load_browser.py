"""Browser sanity check beside the protocol load: a few real Chromium tabs go through every page at once.

    python bench/load_browser.py [--db /tmp/scale/store.duckdb] [--sessions 3] [--rounds 1]

bench/load.py measures capacity at the protocol level (no browser: on this 2-core machine twenty
headless tabs used ~8× the server's CPU, so their times measured the browsers). This script checks
what the protocol client cannot see: that the pages, as a browser draws them, finish with no
exception element and no JavaScript error while several sessions use the server at once.

One `streamlit run` server on 127.0.0.1 serves a copy of the store; headless Chromium (one browser,
a tab per session: each tab its own websocket, so its own Streamlit session) opens ``--sessions``
tabs, each starting on a different page and going ``--rounds`` times through every page by typed
URL. Printed: page completion (navigation → the script has finished and nothing on the page is
stale) p50/max per page, the errors (stException elements, JavaScript page errors, pages not done
within ``--page-timeout``) and the server's peak resident memory. Exits 1 on any error. Everything
started is terminated when it ends.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import browser  # noqa: E402


async def tab(n: int, ctx, base: str, pages: list[tuple[str, str]], rounds: int, timeout_s: float,
              stats: dict) -> None:
    page = await ctx.new_page()  # its own websocket: its own Streamlit session
    page.on("pageerror", lambda exc: stats["errors"].append(f"tab {n}: JavaScript: {exc}"[:300]))
    order = pages[n % len(pages):] + pages[:n % len(pages)]  # the pages visited evenly from the start
    try:
        for url_path, title in order * rounds:
            t = time.monotonic()
            try:
                await page.goto(f"{base}/{url_path}", timeout=timeout_s * 1000)
                await page.wait_for_function(browser.DONE_JS, arg=[browser.RUN_DONE, title],
                                             timeout=timeout_s * 1000, polling=50)
            except Exception as exc:  # playwright's TimeoutError and friends
                stats["errors"].append(f"tab {n} {url_path}: {type(exc).__name__}: {str(exc)[:120]}")
                continue
            stats["times"].setdefault(url_path, []).append(time.monotonic() - t)
            errs = page.locator(browser.ERROR_SELECTOR)
            for j in range(await errs.count()):
                stats["errors"].append(f"tab {n} {url_path}: {(await errs.nth(j).inner_text())[:300]}")
    finally:
        await page.close()


async def run(args, db: Path, work: Path) -> dict:
    from playwright.async_api import async_playwright

    pages = browser.pages()
    stats: dict = {"times": {}, "errors": []}
    with browser.serve(db, work / "server.log") as (base, server):
        async with async_playwright() as p:
            b = await browser.launch_async(p, niceness=args.nice)
            try:
                ctx = await b.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                t0 = time.monotonic()
                await asyncio.gather(*(tab(n, ctx, base, pages, args.rounds, args.page_timeout, stats)
                                       for n in range(args.sessions)))
                stats["wall_s"] = time.monotonic() - t0
            finally:
                await b.close()
        stats["server_peak_mib"] = browser.memory_kib(server.pid).get("VmHWM", 0) / 1024
    return stats


def report(stats: dict, args) -> int:
    print(f"browser check: {args.sessions} Chromium tabs × {args.rounds} round(s) of every page, one "
          f"`streamlit run` server on a copy of {args.db}; page time-out {args.page_timeout:.0f} s")
    print(f"{'page':<14}{'visits':>7}{'p50 s':>8}{'max s':>8}")
    for url_path, _ in browser.pages():
        ts = stats["times"].get(url_path, [])
        if ts:
            print(f"{url_path:<14}{len(ts):>7}{statistics.median(ts):>8.2f}{max(ts):>8.2f}")
    print(f"errors: {len(stats['errors'])}")
    for e in stats["errors"][:10]:
        print(f"  {e}")
    print(f"server peak RSS {stats['server_peak_mib']:,.0f} MiB; wall {stats.get('wall_s', 0):.0f} s")
    return 0 if not stats["errors"] else 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/scale/store.duckdb"),
                    help="the store to serve (copied first; default /tmp/scale/store.duckdb from bench_scale.py)")
    ap.add_argument("--sessions", type=int, default=3, help="tabs at once (default 3)")
    ap.add_argument("--rounds", type=int, default=1, help="times each tab goes through every page (default 1)")
    ap.add_argument("--page-timeout", type=float, default=120, help="seconds before a page counts as not done")
    ap.add_argument("--nice", type=int, default=10, help="CPU niceness of the browser (default 10: below the server)")
    args = ap.parse_args()
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: run bench/bench_scale.py first (or give --db)")
    work = Path(tempfile.mkdtemp(prefix="cockpit-browser-"))
    try:
        db = work / "cockpit.duckdb"
        shutil.copy(args.db, db)
        stats = asyncio.run(run(args, db, work))
        return report(stats, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
