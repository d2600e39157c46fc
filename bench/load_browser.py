"""Load: twenty people use the cockpit at once while a command-line import runs.

    python bench/load_browser.py [--db /tmp/scale/store.duckdb] [--sessions 20] [--seconds 120] [--import big|loop|none]

One `streamlit run` server on 127.0.0.1 serves a copy of the store (the import must not change the
benchmark store). First one person opens every page once (the caches of a server that has been up;
``--no-warmup`` skips it). Then headless Chromium (one browser, one context) opens a tab per person —
each tab its own websocket, so its own Streamlit session; the tabs share the browser's cache of the
app's scripts, as returning users' browsers each have it. The ``--sessions`` people arrive over
``--stagger`` seconds; each opens the app and cycles through every page by the sidebar's links, as a
person would (looking at each page ~``--think`` seconds), for ``--seconds``. Meanwhile the command
line imports: ``big`` (default) — as the weekly import, one large file (see below); ``loop`` — a
stress test: a fresh small export (500 opinions with new ids) again and again, so every
import adds rows, segments them and changes the data version the pages' caches are keyed by;
``big`` — one large file (default: the 2024 opinions export of bench_scale.py, ~500,000 rows, one
byte changed so that it is read in full).

Counted as errors: stException elements on a page, JavaScript page errors, pages that did not
finish within ``--page-timeout`` seconds, and imports that failed. Printed: page completion times
(click → the page's script has finished and nothing on it is stale) p50/p95 per page and overall,
the imports done, the server's peak resident memory, the CPU seconds used by the server and by the
rest (browsers, import) and the load average. Everything the script starts (server, import, browser)
is terminated when it ends, however it ends; the run is bounded by ``--seconds`` plus a fixed grace.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import browser  # noqa: E402

GRACE_S = 180  # beyond --seconds: the last pages in flight, shutting down
IMPORT_OPINIONS = 500  # opinions per import in the loop
CLICK_TIMEOUT_S = 10  # a sidebar link not clickable within this: the person types the URL instead
IMPORT_LIMITS = Path("/tmp/scale/limits.toml")


def pct(values: list[float], q: float) -> float:
    xs = sorted(values)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


# ───────────────────────────── the import loop ─────────────────────────────

def small_export(work: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a small opinions export (the demo's latest month, csv)."""
    from analytics.demo.exports import write_demo

    out = work / "small_exports"
    paths = write_demo(out, seed=1, years=1, scale=0.3)
    src = [p for p in paths if p.name.startswith("民情民意") and p.suffix == ".csv"][-1]  # the newest
    raw = src.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # the demo writes the older platform's export in GBK
        text = raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text)))
    head = 1 if len(rows[0]) == 1 else 0  # a title row above the header
    return rows[head], rows[head + 1:][-IMPORT_OPINIONS:]


def write_fresh(path: Path, header: list[str], rows: list[list[str]], k: int) -> None:
    """The rows again with new ids (L<k>-…): an import of this file adds every row."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    for r in rows:
        w.writerow([f"L{k:04d}-{r[0]}", *r[1:]])
    path.write_text(buf.getvalue(), encoding="utf-8")


async def import_loop(db: Path, work: Path, stop: asyncio.Event, log: list[dict]) -> None:
    try:
        await _import_loop(db, work, stop, log)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # counted as a failed import, not lost
        log.append({"seconds": 0.0, "code": -1, "error": f"import loop stopped: {exc!r}"[:500]})


async def _import_loop(db: Path, work: Path, stop: asyncio.Event, log: list[dict]) -> None:
    header, rows = await asyncio.to_thread(small_export, work)
    k = 0
    while not stop.is_set():
        k += 1
        f = work / f"民情民意_load_{k:04d}.csv"
        write_fresh(f, header, rows, k)
        await run_import([f], db, log)
        f.unlink(missing_ok=True)


async def big_import(db: Path, files: list[Path], work: Path, log: list[dict]) -> None:
    """One large import (a year of opinions again): readers go on while it runs. Each file is
    copied with one more line ending, as if downloaded again: its bytes differ, so the importer
    reads every row (a byte-identical file would be recognised and not read at all)."""
    try:
        copies = []
        for f in files:
            c = work / f.name
            await asyncio.to_thread(shutil.copyfile, f, c)
            with open(c, "ab") as fh:
                fh.write(b"\r\n")
            copies.append(c)
        await run_import(copies, db, log)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.append({"seconds": 0.0, "code": -1, "error": f"import stopped: {exc!r}"[:500]})


# The import is a batch job on the server's machine: run below the app (`nice`), as a weekly import
# would be scheduled (docs/scaling.md). --import-nice 0 runs it as an equal of the app.
IMPORT_NICE = 10


async def run_import(files: list[Path], db: Path, log: list[dict]) -> None:
    t = time.monotonic()
    entry: dict = {"started": t, "code": None}
    log.append(entry)
    env = dict(os.environ)
    if IMPORT_LIMITS.exists():  # room for a benchmark-sized file (bench_scale.py writes it)
        env["COCKPIT_LIMITS"] = str(IMPORT_LIMITS)
    niced = ["nice", "-n", str(IMPORT_NICE)] if IMPORT_NICE > 0 else []
    proc = await asyncio.create_subprocess_exec(
        *niced, sys.executable, "-m", "analytics", "ingest", *map(str, files), "--db", str(db), "--json",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True, env=env)
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        _kill_group(proc.pid)
        entry["code"] = "cut"  # still running when the run ended: neither done nor failed
        entry["seconds"] = time.monotonic() - t
        raise
    entry.update(seconds=time.monotonic() - t, code=proc.returncode)
    if proc.returncode == 0:
        reports = json.loads(out.decode())["files"]
        entry["rows"] = sum(x["rows_read"] for x in reports)
        entry["imported"] = sum(x["imported"] for x in reports)
    else:
        entry["error"] = (err.decode() or out.decode())[-500:]


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ───────────────────────────── one person ─────────────────────────────

# In every tab: when the script run that a click started was reported finished by the server (the
# app's run state flips running → notRunning), by the browser's clock — before the page is drawn.
RUN_CLOCK_JS = """
window.__cockpitClick = null; window.__cockpitRunDone = null; window.__cockpitSawRun = false;
new MutationObserver(() => {
  const app = document.querySelector('[data-testid=stApp]');
  if (!app || window.__cockpitClick === null) return;
  const s = app.getAttribute('data-test-script-state');
  if (s === 'running') window.__cockpitSawRun = true;
  else if (s === 'notRunning' && window.__cockpitSawRun && window.__cockpitRunDone === null)
    window.__cockpitRunDone = Date.now();
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
"""


async def wait_done(page, title: str, timeout_s: float) -> None:
    await page.wait_for_function(browser.DONE_JS, arg=[browser.RUN_DONE, title], timeout=timeout_s * 1000,
                                 polling=50)


async def person(n: int, ctx, base: str, pages: list[tuple[str, str]], deadline: float,
                 timeout_s: float, stats: dict, delay: float = 0.0, think: float = 0.0) -> None:
    await asyncio.sleep(delay)  # people do not all arrive in the same second
    page = await ctx.new_page()  # a tab of its own: its own websocket, so its own Streamlit session
    page.on("pageerror", lambda exc: stats["page_errors"].append(f"session {n}: {exc}"[:300]))
    try:
        # Start on a different page per person, so the pages are visited evenly from the start.
        order = pages[n % len(pages):] + pages[:n % len(pages)]
        url_path, title = order[0]
        t = time.monotonic()
        try:
            await page.goto(f"{base}/{url_path}", timeout=timeout_s * 1000)
            await wait_done(page, title, timeout_s)
            stats["first_load"].append(time.monotonic() - t)
        except Exception as exc:  # playwright's TimeoutError and friends
            stats["timeouts"].append(f"session {n} first load {url_path}: {type(exc).__name__}")
        i = 0
        while time.monotonic() < deadline:
            await asyncio.sleep(think * (0.5 + random.random()))  # reading the page before the next click
            if time.monotonic() >= deadline:
                break
            i += 1
            url_path, title = order[i % len(order)]
            link = page.locator("[data-testid=stSidebarNav] a", has_text=title).first
            await page.evaluate("window.__cockpitClick = Date.now(); window.__cockpitRunDone = null; "
                                "window.__cockpitSawRun = false")
            t = time.monotonic()
            try:
                try:
                    await link.click(timeout=CLICK_TIMEOUT_S * 1000)
                except Exception:  # the link not clickable yet (the page still drawing): open the URL
                    stats["url_fallbacks"] += 1
                    await page.goto(f"{base}/{url_path}", timeout=timeout_s * 1000)
                await wait_done(page, title, max(1.0, timeout_s - (time.monotonic() - t)))
            except Exception as exc:
                stats["timeouts"].append(f"session {n} {url_path}: {type(exc).__name__}: {str(exc)[:120]}")
                try:  # start this person over on the page they wanted
                    await page.goto(f"{base}/{url_path}", timeout=timeout_s * 1000)
                    await wait_done(page, title, timeout_s)
                except Exception:
                    pass
                continue
            stats["times"].setdefault(url_path, []).append(time.monotonic() - t)
            ran = await page.evaluate("window.__cockpitRunDone && window.__cockpitClick ? "
                                      "(window.__cockpitRunDone - window.__cockpitClick) / 1000 : null")
            if ran is not None:
                stats["run_times"].setdefault(url_path, []).append(ran)
            errs = page.locator(browser.ERROR_SELECTOR)
            k = await errs.count()
            for j in range(k):
                stats["exceptions"].append(f"session {n} {url_path}: {(await errs.nth(j).inner_text())[:300]}")
    finally:
        await page.close()


# ───────────────────────────── the run ─────────────────────────────

def cpu_seconds(pids: list[int]) -> float:
    """utime + stime of live processes (clock ticks → seconds)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            pass
    return total / tick


def descendants(root: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat", encoding="ascii") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except (FileNotFoundError, ProcessLookupError, ValueError, IndexError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


async def warm_up(ctx, base: str, pages: list[tuple[str, str]], timeout_s: float) -> float:
    """One person opens every page once (the server's caches fill, as on a server that has been up;
    the browser caches the app's scripts, as a returning user's browser has them)."""
    page = await ctx.new_page()
    t = time.monotonic()
    try:
        for url_path, title in pages:
            await page.goto(f"{base}/{url_path}", timeout=timeout_s * 1000)
            await wait_done(page, title, timeout_s)
    finally:
        await page.close()
    return time.monotonic() - t


def server_runs(path: Path, since: float) -> dict[str, list[float]]:
    """Per page: the seconds of each script run the server finished during the run (app.py's log;
    runs cut short by a rerun — a click before the page finished — are not counted)."""
    out: dict[str, list[float]] = {}
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            r = json.loads(line)
        except ValueError:
            continue
        if r.get("outcome") == "done" and r.get("page") and r["at"] - r["seconds"] >= since:
            out.setdefault(r["page"], []).append(r["seconds"])
    return out


async def run(args, db: Path, work: Path) -> dict:
    from playwright.async_api import async_playwright

    pages = browser.pages()
    load_before = os.getloadavg()[0]
    stats = {"times": {}, "run_times": {}, "first_load": [], "exceptions": [], "page_errors": [], "timeouts": [], "url_fallbacks": 0}
    imports: list[dict] = []
    peak = {"rss": 0}
    run_log = work / "runs.jsonl"  # the server's own record of each script run (app.py, COCKPIT_RUN_LOG)
    run_log.unlink(missing_ok=True)
    with browser.serve(db, work / "server.log", env={"COCKPIT_RUN_LOG": str(run_log)}) as (base, server):
        stop = asyncio.Event()

        async def sample_memory():
            while not stop.is_set():
                peak["rss"] = max(peak["rss"], browser.memory_kib(server.pid).get("VmRSS", 0))
                await asyncio.sleep(0.5)

        sampler = asyncio.create_task(sample_memory())
        loads = []
        importer = None
        try:
            async with async_playwright() as p:
                b = await browser.launch_async(p, niceness=args.nice)
                # One context, a tab per person: twenty Streamlit sessions (one per websocket) that share
                # the browser's cache of the app's scripts, as returning users' browsers each have it.
                ctx = await b.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
                await ctx.add_init_script(RUN_CLOCK_JS)
                try:
                    if args.warmup:
                        stats["warmup_s"] = await warm_up(ctx, base, pages, 300)
                    server_cpu0 = cpu_seconds([server.pid])
                    seen: dict[int, float] = {}  # pid -> CPU seconds when last seen (processes come and go)
                    for pid in descendants(os.getpid()):
                        seen[pid] = cpu_seconds([pid])
                    base_cpu = dict(seen)

                    async def sample_cpu():
                        while not stop.is_set():
                            for pid in descendants(os.getpid()):
                                c = cpu_seconds([pid])
                                if c:
                                    seen[pid] = max(seen.get(pid, 0.0), c)
                            await asyncio.sleep(2)

                    cpu_task = asyncio.create_task(sample_cpu())
                    if args.import_mode == "loop":
                        importer = asyncio.create_task(import_loop(db, work, stop, imports))
                    elif args.import_mode == "big":
                        importer = asyncio.create_task(big_import(db, args.big_files, work, imports))
                    t0 = time.monotonic()
                    stats["started_at"] = time.time()
                    deadline = t0 + args.seconds
                    random.seed(0)
                    people = [asyncio.create_task(person(n, ctx, base, pages, deadline, args.page_timeout, stats,
                                                         delay=args.stagger * n / max(args.sessions, 1),
                                                         think=args.think))
                              for n in range(args.sessions)]

                    async def sample_load():
                        while not all(t.done() for t in people):
                            loads.append(os.getloadavg()[0])
                            await asyncio.sleep(5)

                    load_task = asyncio.create_task(sample_load())
                    done = await asyncio.wait_for(asyncio.gather(*people, return_exceptions=True),
                                                  timeout=args.seconds + GRACE_S)
                    load_task.cancel()
                    stats["session_failures"] = [repr(d)[:300] for d in done if isinstance(d, BaseException)]
                    stats["wall_s"] = time.monotonic() - t0
                    cpu_task.cancel()
                    stats["server_cpu_s"] = cpu_seconds([server.pid]) - server_cpu0
                    # everything else we started (browser processes, the import), as last sampled
                    stats["other_cpu_s"] = sum(c - base_cpu.get(pid, 0.0) for pid, c in seen.items()
                                               if pid != server.pid)
                finally:
                    await b.close()
        finally:
            stop.set()
            if importer:
                importer.cancel()
                try:
                    await importer
                except (asyncio.CancelledError, Exception):
                    pass
            sampler.cancel()
        mem = browser.memory_kib(server.pid)
    stats["server_runs"] = server_runs(run_log, stats.get("started_at", 0.0))
    stats["load_before"] = load_before
    stats["server_peak_mib"] = max(mem.get("VmHWM", 0), peak["rss"]) / 1024
    stats["imports"] = imports
    stats["load_max"] = max(loads) if loads else os.getloadavg()[0]
    stats["load_mean"] = statistics.mean(loads) if loads else os.getloadavg()[0]
    return stats


def report(stats: dict, args) -> int:
    all_times = [t for ts in stats["times"].values() for t in ts]
    print(f"load average before the run: {stats.get('load_before', 0):.1f} (the machine is shared)")
    print(f"load: {args.sessions} browser sessions (arriving over {args.stagger:.0f} s, ~{args.think:.0f} s on each "
          f"page, browsers at nice {args.nice}, import at nice {args.import_nice}) × {args.seconds:.0f} s "
          f"against one `streamlit run` server ({os.cpu_count()} cores); a copy of {args.db}; "
          f"page timeout {args.page_timeout:.0f} s")
    print("page completion = click → page drawn, nothing stale; script done = click → the server's run of the "
          "page reported finished (by the browser's clock); server run = the script run as the server timed it "
          "(app.py's run log: every finished run of the page during the window, first loads included)")
    print(f"{'page':<14}{'visits':>7}{'p50 s':>8}{'p95 s':>8}{'max s':>8}   {'script done p50':>15}{'p95 s':>8}"
          f"   {'server runs':>11}{'p50 s':>8}{'p95 s':>8}{'max s':>8}")
    all_runs = [t for ts in stats["run_times"].values() for t in ts]
    srv = stats.get("server_runs", {})
    all_srv = [t for ts in srv.values() for t in ts]

    def line(name, ts, rs, ss):
        run = f"{pct(rs, 50):>15.2f}{pct(rs, 95):>8.2f}" if rs else f"{'':>23}"
        done = f"{pct(ts, 50):>8.2f}{pct(ts, 95):>8.2f}{max(ts):>8.2f}" if ts else f"{'':>24}"
        server = f"   {len(ss):>11}{pct(ss, 50):>8.2f}{pct(ss, 95):>8.2f}{max(ss):>8.2f}" if ss else ""
        print(f"{name:<14}{len(ts):>7}{done}   {run}{server}")

    for url_path, _ in browser.pages():
        line(url_path, stats["times"].get(url_path, []), stats["run_times"].get(url_path, []), srv.get(url_path, []))
    if all_times:
        line("all pages", all_times, all_runs, all_srv)
    fl = stats["first_load"]
    if fl:
        print(f"first load of the app per session: p50 {pct(fl, 50):.2f} s, p95 {pct(fl, 95):.2f} s")
    imps = stats["imports"]
    ok = [i for i in imps if i["code"] == 0]
    cut = [i for i in imps if i["code"] == "cut"]
    failed = [i for i in imps if i["code"] not in (0, "cut")]
    if args.import_mode != "none":
        secs = [i["seconds"] for i in ok]
        what = (f"{IMPORT_OPINIONS} new opinions each, in a loop" if args.import_mode == "loop"
                else "one big import: " + ", ".join(p.name for p in args.big_files))
        print(f"command-line import during the run ({what}): {len(ok)} done "
              f"({sum(i.get('rows', 0) for i in ok):,} rows read, {sum(i.get('imported', 0) for i in ok):,} added)"
              + (f", each {pct(secs, 50):.1f} s p50, {max(secs):.1f} s max" if secs else "")
              + (f"; 1 still running at the end ({cut[0]['seconds']:.0f} s in)" if cut else "")
              + f"; {len(failed)} failed")
    if stats["url_fallbacks"]:
        print(f"sidebar links not clickable within {CLICK_TIMEOUT_S} s, URL opened instead: {stats['url_fallbacks']}")
    if "warmup_s" in stats:
        print(f"warm-up before the run: one session opened every page once in {stats['warmup_s']:.0f} s")
    errors = {
        "stException elements": stats["exceptions"],
        "page errors (JavaScript)": stats["page_errors"],
        "timeouts": stats["timeouts"],
        "failed imports": [i.get("error", "") for i in failed],
        "sessions that failed": stats.get("session_failures", []),
    }
    total = sum(len(v) for v in errors.values())
    print(f"errors: {total} — " + ", ".join(f"{k} {len(v)}" for k, v in errors.items()))
    for k, v in errors.items():
        for e in v[:5]:
            print(f"  {k}: {e}")
    print(f"server peak RSS {stats['server_peak_mib']:,.0f} MiB; load average during the run "
          f"mean {stats['load_mean']:.1f}, max {stats['load_max']:.1f}; wall {stats.get('wall_s', 0):.0f} s")
    if "server_cpu_s" in stats:
        print(f"CPU used during the run: server {stats['server_cpu_s']:.0f} s, browsers and import "
              f"{stats['other_cpu_s']:.0f} s, of {os.cpu_count() * stats.get('wall_s', 0):.0f} s available")
    return 0 if total == 0 else 1


def main() -> int:
    global IMPORT_NICE
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/scale/store.duckdb"),
                    help="the store to serve (copied first; default /tmp/scale/store.duckdb from bench_scale.py)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--page-timeout", type=float, default=60, help="seconds before a page counts as timed out")
    ap.add_argument("--import", dest="import_mode", choices=("big", "loop", "none"), default="big",
                    help="big: one large import, as the weekly import (default; --big-file, default the 2024 "
                         "opinions export of bench_scale.py beside --db); loop: a fresh small export imported "
                         "again and again (a stress test: the data changes every few seconds); none")
    ap.add_argument("--big-file", dest="big_files", type=Path, action="append",
                    help="file(s) for --import big (default exports/民情民意_2024.csv in the folder of --db)")
    ap.add_argument("--import-nice", type=int, default=IMPORT_NICE,
                    help=f"CPU niceness of the command-line import (default {IMPORT_NICE}: a batch job below "
                         "the app, as a scheduled import would run; 0 to compete as equals)")
    ap.add_argument("--nice", type=int, default=19,
                    help="CPU niceness of the browsers (default 19: in real use they run on the users' "
                         "computers, not on the server's cores; 0 to compete as equals)")
    # 12 s: each person goes through all eight pages in about two minutes ("cycling through all pages
    # for two minutes"). Shorter asks more of the harness than of the server: a headless Chromium
    # tab uses ~1 s of CPU per page view against the server's ~0.2 s (measured at a million
    # opinions), and here the twenty tabs share the server's two cores.
    ap.add_argument("--think", type=float, default=12.0,
                    help="mean seconds a person looks at a page before the next click (default 12; 0: none)")
    ap.add_argument("--stagger", type=float, default=20.0,
                    help="seconds over which the sessions arrive (default 20)")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="start the sessions on a server that has served nothing yet")
    ap.add_argument("--workdir", type=Path, help="where the copy of the store goes (default: a temporary folder)")
    args = ap.parse_args()
    IMPORT_NICE = args.import_nice
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: run bench/bench_scale.py first (or give --db)")
    if args.import_mode == "big" and not args.big_files:
        args.big_files = [args.db.parent / "exports" / "民情民意_2024.csv"]
    work = Path(tempfile.mkdtemp(prefix="cockpit-load-", dir=args.workdir))
    try:
        db = work / "cockpit.duckdb"
        shutil.copy(args.db, db)
        stats = asyncio.run(asyncio.wait_for(run(args, db, work), timeout=args.seconds + 2 * GRACE_S))
        return report(stats, args)
    finally:
        if args.workdir:  # keep the server's run log and output for a look afterwards
            for name in ("runs.jsonl", "server.log"):
                if (work / name).exists():
                    shutil.copy(work / name, args.workdir / name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
