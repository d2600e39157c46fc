"""Load at the protocol level: analysts' Streamlit sessions against one `streamlit run` server, no browser.

    python bench/load.py --db STORE [--sessions 20] [--seconds 120] [--think 10] [--arrive 10]
                         [--import none|big|loop] [--json]

One `streamlit run app.py` server on 127.0.0.1 and a free port serves a COPY of the store (an import
must not change the benchmark store). Locust (gevent; one greenlet per session) starts
``--sessions`` users over ``--arrive`` seconds; each opens its own websocket session on
``/_stcore/stream`` (bench/st_protocol.py: Streamlit's own BackMsg/ForwardMsg protobufs, as the
browser's frontend sends and reads them) and views a page every ``--think`` seconds (uniform
0.5–1.5 × think after each view), for ``--seconds``. Each view picks, from a generator seeded by
``--seed`` and the session's number, its page (every page of the menu), its period (a quarter,
month or year present in the store) and its town (全区 or one of the towns), as an analyst exploring
does; it is sent as a rerun of that page with ``?period=…&town=…`` (the parameters the sidebar keeps
in the URL: pages/_layout.py). Its time is from sending the rerun to the server's
``script_finished``. Errors: an exception element, an error alert (the app's "页面出错了" or "store
busy" message), "page not found", a closed socket, no ``script_finished`` within ``--timeout``.

Before the sessions start, one session views every page once with the default choice (the caches of
a server that has been up; ``--no-warmup`` skips it). ``--import big`` re-imports a large export
meanwhile through the command line (default: the 2024 opinions export beside the store — the
``exports/`` of bench_scale.py or the ``demo_exports/`` of a demo store — one line ending added so
that its bytes differ and every row is read); ``--import loop`` imports a fresh 500-row export again
and again (the data changes every few seconds).

Measured: per page and overall p50/p95/max of the view times, errors by kind, the server's CPU
seconds per view (its utime+stime over the run divided by the views), its peak resident memory
(sampled every 0.5 s), the server's own run times (app.py's COCKPIT_RUN_LOG), the load generator's
own CPU (small: it is not a browser) and the imports. ``--py-spy FILE`` records where the server's
time goes (py-spy, collapsed stacks) during the run and prints the top functions. ``--json`` prints
the figures as one JSON line, last. A store with users: ``--users FILE --login NAME:PASSWORD`` signs
every session in through the login form's widget states. Everything started (server, import,
profiler) is terminated when the script ends, however it ends.
"""
from __future__ import annotations

import locust  # noqa: F401  first: Locust's gevent patches the standard library (sockets, threads, subprocess)

import argparse
import contextlib
import csv
import io
import itertools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

import gevent
import psutil
from locust import User, between, constant, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import browser  # noqa: E402
import st_protocol  # noqa: E402

IMPORT_OPINIONS = 500  # opinions per import of --import loop
IMPORT_NICE = 10  # a batch job below the app, as a scheduled import would run (--import-nice)
SAMPLE_S = 0.5  # the server's memory sampled this often
GRAINS_WEIGHT = {"quarter": 0.5, "month": 0.3, "year": 0.2}  # which grain an analyst picks
DISTRICT_SHARE = 0.4  # views of the whole district (no town)


def pct(values: list[float], q: float) -> float | None:
    xs = sorted(values)
    if not xs:
        return None
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def summary(times: list[float]) -> dict:
    r = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {"views": len(times), "p50": r(pct(times, 50)), "p95": r(pct(times, 95)),
            "max": r(max(times) if times else None)}


# ───────────────────────────── what analysts look at ─────────────────────────────

class Explorer:
    """Pages, periods and towns of the store; ``pick(rng)`` one view's (page, query parameters)."""

    def __init__(self, db: Path):
        from analytics.core import labels
        from analytics.core.contract import load_contract
        from analytics.core.periods import GRAINS
        from analytics.domain import metrics
        from analytics.store.db import connect

        self.pages = [p.url_path for p in labels.PAGES]
        self.default_page = self.pages[0]  # served at "/": page_name ""
        con = connect(db, read_only=True)
        try:
            self.periods = {g: [p.code for p in metrics.periods_with_data(con, g)] for g in GRAINS}
        finally:
            con.close()
        self.towns = list(load_contract().towns)

    def page_name(self, page: str) -> str:
        return "" if page == self.default_page else page

    def pick(self, rng: random.Random) -> tuple[str, dict]:
        page = rng.choice(self.pages)
        grains = [g for g in GRAINS_WEIGHT if self.periods.get(g)]
        params: dict = {}
        if grains:
            g = rng.choices(grains, weights=[GRAINS_WEIGHT[x] for x in grains])[0]
            params["period"] = rng.choice(self.periods[g])
        if self.towns and rng.random() >= DISTRICT_SHARE:
            params["town"] = rng.choice(self.towns)
        return page, params


# ───────────────────────────── the imports meanwhile ─────────────────────────────

def small_export(work: Path) -> tuple[list[str], list[list[str]]]:
    """Header and rows of a small opinions export (the demo's latest month, csv)."""
    from analytics.demo.exports import write_demo

    paths = write_demo(work / "small_exports", seed=1, years=1, scale=0.3)
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


def default_big_file(db: Path) -> Path:
    for folder in ("exports", "demo_exports"):  # bench_scale.py's, a demo store's
        f = db.parent / folder / "民情民意_2024.csv"
        if f.exists():
            return f
    return db.parent / "exports" / "民情民意_2024.csv"


class Importer:
    """The command-line import running beside the sessions (``big``: one file, ``loop``: again and
    again), at ``nice``; each import's seconds, rows and outcome in ``log``."""

    def __init__(self, mode: str, db: Path, work: Path, big_files: list[Path], nice: int, limits: Path | None):
        self.mode, self.db, self.work, self.big_files, self.nice = mode, db, work, big_files, nice
        self.limits = limits
        self.log: list[dict] = []
        self.proc: subprocess.Popen | None = None
        self.stopping = False

    def run(self) -> None:
        try:
            if self.mode == "big":
                copies = []
                for f in self.big_files:  # one more line ending, as if downloaded again: every row is read
                    c = self.work / f.name
                    shutil.copyfile(f, c)
                    with open(c, "ab") as fh:
                        fh.write(b"\r\n")
                    copies.append(c)
                self.ingest(copies)
            elif self.mode == "loop":
                header, rows = small_export(self.work)
                for k in itertools.count(1):
                    if self.stopping:
                        break
                    f = self.work / f"民情民意_load_{k:04d}.csv"
                    write_fresh(f, header, rows, k)
                    self.ingest([f])
                    f.unlink(missing_ok=True)
        except Exception as exc:  # counted as a failed import, not lost
            self.log.append({"seconds": 0.0, "code": -1, "error": f"import stopped: {exc!r}"[:500]})

    def ingest(self, files: list[Path]) -> None:
        t = time.monotonic()
        entry: dict = {"code": None}
        self.log.append(entry)
        env = dict(os.environ)
        if self.limits:  # room for a benchmark-sized file (bench_scale.py writes it)
            env["COCKPIT_LIMITS"] = str(self.limits)
        niced = ["nice", "-n", str(self.nice)] if self.nice > 0 else []
        self.proc = subprocess.Popen(
            [*niced, sys.executable, "-m", "analytics", "ingest", *map(str, files), "--db", str(self.db), "--json"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, env=env)
        out, err = self.proc.communicate()
        entry.update(seconds=round(time.monotonic() - t, 2), code=self.proc.returncode)
        if self.stopping and self.proc.returncode != 0:
            entry["code"] = "cut"  # still running when the run ended: neither done nor failed
        elif self.proc.returncode == 0:
            reports = json.loads(out.decode())["files"]
            entry["rows"] = sum(x["rows_read"] for x in reports)
            entry["imported"] = sum(x["imported"] for x in reports)
        else:
            entry["error"] = (err.decode() or out.decode())[-500:]

    def stop(self) -> None:
        self.stopping = True
        kill_group(self.proc)


def import_limits(args) -> Path | None:
    """bench_scale.py's limits.toml (room for a benchmark-sized file) beside the store or the big file."""
    for f in (args.db, *(args.big_files or [])):
        for folder in (f.parent, f.parent.parent):
            if (folder / "limits.toml").exists():
                return folder / "limits.toml"
    return None


def kill_group(proc: subprocess.Popen | None) -> None:
    if proc is not None and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(5)


# ───────────────────────────── the sessions (Locust users) ─────────────────────────────

class ViewFailed(Exception):
    """What Locust records for a failed view (kind: what went wrong)."""

    def __init__(self, kind: str, text: str):
        super().__init__(f"{kind}: {text}")
        self.kind = kind


class Analyst(User):
    """One person's tab: a Streamlit session of its own, viewing page after page. Configured by
    ``configure`` (Locust makes the instances)."""

    abstract = True
    base_url = ""
    explorer: Explorer | None = None
    seed = 0
    view_timeout = 60.0
    login: tuple[str, str] | None = None
    numbers = itertools.count()

    def on_start(self) -> None:
        self.n = next(self.numbers)
        self.rng = random.Random(f"{self.seed}-{self.n}")  # every session its own seeded walk
        self.session = st_protocol.Session(self.base_url, timeout=self.view_timeout)
        if self.login:
            self.sign_in()

    def sign_in(self) -> None:
        from analytics.core import labels

        v = self.session.login(*self.login, name_label=labels.AUTH_NAME, password_label=labels.AUTH_PASSWORD)
        self.record("login", "login", v)

    @task
    def view(self) -> None:
        page, params = self.explorer.pick(self.rng)
        v = self.session.view(self.explorer.page_name(page), params)
        self.record("view", page, v)
        if v.kind in ("timeout", "closed") and self.login:
            self.sign_in()  # a new session (the old one was dropped): sign in again

    def record(self, kind: str, page: str, v: st_protocol.View) -> None:
        self.environment.events.request.fire(
            request_type=kind, name=page, response_time=v.seconds * 1000, response_length=v.bytes,
            exception=ViewFailed(v.kind, v.error) if v.error else None,
            context={"query": v.query, "session": self.n})

    def on_stop(self) -> None:
        self.session.close()


def analyst_class(base_url: str, explorer: Explorer, args) -> type[Analyst]:
    return type("CockpitAnalyst", (Analyst,), {
        "abstract": False, "base_url": base_url, "explorer": explorer, "seed": args.seed,
        "view_timeout": args.timeout, "login": tuple(args.login.split(":", 1)) if args.login else None,
        "numbers": itertools.count(), "wait_time": between(0.5 * args.think, 1.5 * args.think) if args.think > 0
        else constant(0)})


# ───────────────────────────── the run ─────────────────────────────

def server_runs(path: Path, since: float) -> dict[str, list[float]]:
    """Per page: the seconds of each script run the server finished (app.py's COCKPIT_RUN_LOG)."""
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


def warm_up(base_url: str, explorer: Explorer, timeout: float) -> tuple[float, list[str]]:
    """One session views every page once with the default choice."""
    errors = []
    t = time.monotonic()
    with st_protocol.Session(base_url, timeout=timeout) as s:
        for page in explorer.pages:
            v = s.view(explorer.page_name(page))
            if v.error:
                errors.append(f"warm-up {page}: {v.error}")
    return time.monotonic() - t, errors


def cpu_s(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def start_py_spy(pid: int, out: Path, seconds: float) -> subprocess.Popen | None:
    exe = shutil.which("py-spy")
    if not exe:
        print("py-spy not found: no profile (pip install py-spy)", file=sys.stderr)
        return None
    return subprocess.Popen([exe, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "50",
                             "--format", "raw", "--output", str(out), "--nonblocking"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def top_of_profile(path: Path, n: int = 15) -> dict:
    """From py-spy's collapsed stacks: samples per thread kind, and the functions with the most
    samples anywhere on the stack (inclusive) and at the top (self), among the script threads."""
    if not path.exists():
        return {}
    inclusive: Counter = Counter()
    own: Counter = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if not any("script_runner" in f for f in frames):  # only the sessions' script threads
            continue
        c = int(count)
        total += c
        names = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1] + ")"
                 for f in frames]
        for name in set(names):
            inclusive[name] += c
        own[names[-1]] += c
    return {"samples": total,
            "inclusive": [(k, round(v / total, 3)) for k, v in inclusive.most_common(n)] if total else [],
            "self": [(k, round(v / total, 3)) for k, v in own.most_common(n)] if total else []}


NGINX_CONF = """\
# Two (or more) cockpit servers behind nginx: docs/scaling.md §5. Each browser session is one
# websocket, which stays on the server it reached; least_conn sends a new one to the server with the
# fewest open. Sessions need no affinity beyond their socket: the login cookie is checked against the
# session file the servers share (analytics/access/sessions.py), the store is read by both.
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {work}/nginx-body;
    proxy_temp_path {work}/nginx-proxy;
    fastcgi_temp_path {work}/nginx-fastcgi;
    uwsgi_temp_path {work}/nginx-uwsgi;
    scgi_temp_path {work}/nginx-scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream cockpit {{ least_conn; {servers} }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 100m;               # the uploads' limit (data/limits.toml)
        location / {{
            proxy_pass http://cockpit;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;  # the websocket /_stcore/stream
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;  # [network] proxy_header
            proxy_read_timeout 86400;                # a session's socket stays open for hours
        }}
    }}
}}
"""


@contextlib.contextmanager
def proxied(servers: list, work: Path):
    """nginx on a free loopback port in front of ``servers`` (NGINX_CONF); yields its base URL."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    port = browser.free_port()
    conf = work / "nginx.conf"
    conf.write_text(NGINX_CONF.format(work=work, port=port,
                                      servers=" ".join(f"server 127.0.0.1:{s.port};" for s in servers)), encoding="utf-8")
    proc = subprocess.Popen([exe, "-c", str(conf), "-p", str(work), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                if urllib.request.urlopen(url + "/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("nginx did not answer: " + proc.stderr.read().decode(errors="replace")[-1000:])
        yield url
    finally:
        kill_group(proc)


def run(args, db: Path, work: Path) -> dict:
    explorer = Explorer(db)
    run_log = work / "runs.jsonl"  # the server's own record of each script run (app.py)
    env = {"COCKPIT_RUN_LOG": str(run_log)}
    if args.users:
        env["COCKPIT_USERS"] = str(args.users.resolve())
    out: dict = {"periods": {g: len(v) for g, v in explorer.periods.items()}, "towns": len(explorer.towns),
                 "page_order": explorer.pages}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(browser.AppServer(db, work / ("server.log" if i == 0 else f"server{i}.log"), start_timeout=180, env=env))
                   for i in range(args.servers)]
        server = servers[0]
        url = stack.enter_context(proxied(servers, work)) if args.servers > 1 else server.url
        procs = [psutil.Process(s.proc.pid) for s in servers]
        if args.warmup and not args.login:
            for s in servers:  # each server's caches, as a server that has been up
                wu, errs = warm_up(s.url, explorer, max(args.timeout, 300))
                out["warmup_s"], out["warmup_errors"] = out.get("warmup_s", 0) + wu, out.get("warmup_errors", []) + errs
        results: list[dict] = []
        environment = Environment(user_classes=[analyst_class(url, explorer, args)],
                                  stop_timeout=args.timeout + 5)

        def on_request(request_type, name, response_time, response_length, exception=None, context=None, **kw):
            results.append({"type": request_type, "page": name, "seconds": response_time / 1000,
                            "bytes": response_length, "error": str(exception)[:500] if exception else None,
                            "kind": getattr(exception, "kind", None), "at": time.time(), **(context or {})})

        environment.events.request.add_listener(on_request)
        peak = {"rss": 0}
        sampling = True

        def sample() -> None:
            while sampling:
                try:
                    peak["rss"] = max(peak["rss"], *(p.memory_info().rss for p in procs))
                except psutil.Error:
                    return
                gevent.sleep(SAMPLE_S)

        importer = Importer(args.import_mode, db, work, args.big_files or [], args.import_nice, import_limits(args))
        profiler = None
        me = psutil.Process()
        server_cpu0, my_cpu0, t0, started = sum(map(cpu_s, procs)), cpu_s(me), time.monotonic(), time.time()
        sampler = gevent.spawn(sample)
        imp = gevent.spawn(importer.run) if args.import_mode != "none" else None
        if args.py_spy:
            profiler = start_py_spy(server.proc.pid, args.py_spy, args.seconds)
        runner = environment.create_local_runner()
        try:
            rate = args.sessions / args.arrive if args.arrive > 0 else args.sessions
            runner.start(args.sessions, spawn_rate=max(rate, 0.01))
            gevent.sleep(args.seconds)
            runner.stop()  # each session finishes the view it is in (stop_timeout), then leaves
            out["wall_s"] = round(time.monotonic() - t0, 1)
            out["server_cpu_s"] = round(sum(map(cpu_s, procs)) - server_cpu0, 2)
            out["client_cpu_s"] = round(cpu_s(me) - my_cpu0, 2)
            out["server_rss_peak_mib"] = round(peak["rss"] / 2**20)
            out["server_hwm_mib"] = round(max(browser.memory_kib(p.pid).get("VmHWM", 0) for p in procs) / 1024)
        finally:
            sampling = False
            runner.quit()
            importer.stop()
            if imp is not None:
                imp.join(timeout=10)
            sampler.join(timeout=2)
            if profiler is not None:
                try:
                    profiler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    kill_group(profiler)
                if profiler.returncode not in (0, None):
                    out["py_spy_error"] = profiler.stderr.read().decode(errors="replace")[-500:]
    out["results"] = results
    out["imports"] = importer.log
    out["server_runs"] = server_runs(run_log, started)
    if args.py_spy:
        out["profile"] = top_of_profile(args.py_spy)
    return out


def figures(stats: dict, args) -> dict:
    views = [r for r in stats["results"] if r["type"] == "view"]
    logins = [r for r in stats["results"] if r["type"] == "login"]
    failed = [r for r in views + logins if r["error"]]
    import_failures = [i for i in stats["imports"] if i["code"] not in (0, "cut")]
    pages = {}
    for page in sorted({r["page"] for r in views}, key=lambda p: [*stats.get("page_order", []), p].index(p)):
        ts = [r["seconds"] for r in views if r["page"] == page]
        pages[page] = {**summary(ts), "errors": sum(1 for r in views if r["page"] == page and r["error"])}
    runs = stats["server_runs"]
    all_runs = [t for ts in runs.values() for t in ts]
    n = len(views)
    return {
        "client": "protocol", "servers": args.servers, "sessions": args.sessions, "seconds": args.seconds, "think": args.think,
        "arrive": args.arrive, "import": args.import_mode, "seed": args.seed,
        "views": n, "errors": len(failed) + len(import_failures) + len(stats.get("warmup_errors", [])),
        "error_kinds": dict(Counter(r["kind"] or "other" for r in failed)),
        "all": {k: v for k, v in summary([r["seconds"] for r in views]).items() if k != "views"},
        "pages": pages,
        "server_cpu_s_per_view": round(stats["server_cpu_s"] / n, 3) if n else None,
        "server_cpu_s": stats["server_cpu_s"], "server_rss_mib": stats["server_rss_peak_mib"],
        "server_hwm_mib": stats["server_hwm_mib"], "client_cpu_s": stats["client_cpu_s"],
        "wall_s": stats["wall_s"], "views_per_s": round(n / stats["wall_s"], 2) if stats["wall_s"] else None,
        "logins": summary([r["seconds"] for r in logins]) if logins else None,
        "server_runs": {**summary(all_runs), "pages": {p: summary(ts) for p, ts in runs.items()}},
        "imports": stats["imports"], "warmup_s": round(stats.get("warmup_s", 0), 1),
        "store": {"periods": stats["periods"], "towns": stats["towns"]},
        "examples": [f"{r['page']}?{r.get('query', '')}: {r['error']}" for r in failed[:5]]
        + [i.get("error", "") for i in import_failures[:3]] + stats.get("warmup_errors", [])[:3],
        **({"profile": stats["profile"]} if "profile" in stats else {}),
    }


def report(fig: dict, args) -> None:
    s = lambda x: "—" if x is None else f"{x:.2f}"  # noqa: E731
    print(f"load average {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores, shared)")
    print(f"{args.sessions} protocol sessions arriving over {args.arrive:.0f} s, a view every ~{args.think:.0f} s, "
          f"for {args.seconds:.0f} s against one `streamlit run` server on a copy of {args.db}; "
          f"import: {args.import_mode}; view time-out {args.timeout:.0f} s; seed {args.seed}")
    print("view = rerun sent → script_finished received (random page, period, town); "
          "server run = the script run as app.py timed it")
    print(f"{'page':<14}{'views':>6}{'errors':>7}{'p50 s':>8}{'p95 s':>8}{'max s':>8}   "
          f"{'server runs':>11}{'p50 s':>8}{'p95 s':>8}{'max s':>8}")
    runs = fig["server_runs"]["pages"]
    for page, f in [*fig["pages"].items(), ("all", {**fig["all"], "views": fig["views"],
                                                    "errors": sum(p["errors"] for p in fig["pages"].values())})]:
        r = fig["server_runs"] if page == "all" else runs.get(page, summary([]))
        print(f"{page:<14}{f['views']:>6}{f['errors']:>7}{s(f['p50']):>8}{s(f['p95']):>8}{s(f['max']):>8}   "
              f"{r['views']:>11}{s(r['p50']):>8}{s(r['p95']):>8}{s(r['max']):>8}")
    print(f"errors: {fig['errors']} {fig['error_kinds'] or ''}")
    for e in fig["examples"]:
        print(f"  {e}")
    if fig["logins"]:
        print(f"logins: {fig['logins']}")
    for i in fig["imports"]:
        print(f"import: {i}")
    print(f"server: {fig['server_cpu_s']:.1f} CPU-s = {s(fig['server_cpu_s_per_view'])} s per view, "
          f"peak RSS {fig['server_rss_mib']:,} MiB (VmHWM incl. warm-up {fig['server_hwm_mib']:,} MiB); "
          f"load generator {fig['client_cpu_s']:.1f} CPU-s; {fig['views_per_s']} views/s over {fig['wall_s']:.0f} s"
          + (f"; warm-up {fig['warmup_s']:.0f} s" if fig["warmup_s"] else ""))
    prof = fig.get("profile")
    if prof:
        print(f"py-spy: {prof['samples']} samples in the script threads; most time (inclusive):")
        for name, share in prof["inclusive"]:
            print(f"  {share:6.1%}  {name}")
        print("at the top of the stack (self):")
        for name, share in prof["self"]:
            print(f"  {share:6.1%}  {name}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", type=Path, default=Path("/tmp/scale/store.duckdb"),
                    help="the store to serve (copied first; default /tmp/scale/store.duckdb from bench_scale.py)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--servers", type=int, default=1,
                    help="app servers on the same store; more than one: nginx in front (least_conn), docs/scaling.md §5")
    ap.add_argument("--seconds", type=float, default=120, help="how long the sessions view pages")
    ap.add_argument("--think", type=float, default=10.0,
                    help="mean seconds between one view's end and the next (uniform 0.5–1.5×; 0: none)")
    ap.add_argument("--arrive", type=float, default=10.0, help="seconds over which the sessions start")
    ap.add_argument("--import", dest="import_mode", choices=("none", "big", "loop"), default="none",
                    help="an import running meanwhile: big — the big file(s) re-imported once (--big-file); "
                         "loop — a fresh 500-row export imported again and again; none (default)")
    ap.add_argument("--big-file", dest="big_files", type=Path, action="append",
                    help="file(s) for --import big (default 民情民意_2024.csv in exports/ or demo_exports/ beside --db)")
    ap.add_argument("--import-nice", type=int, default=IMPORT_NICE,
                    help=f"CPU niceness of the import (default {IMPORT_NICE}; 0 to compete as equals)")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a view counts as timed out")
    ap.add_argument("--seed", type=int, default=0, help="seed of the views' pages, periods and towns")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="start the sessions on a server that has served nothing yet")
    ap.add_argument("--users", type=Path, help="a users file for the server (COCKPIT_USERS); with --login")
    ap.add_argument("--login", help="NAME:PASSWORD every session signs in with (the login form)")
    ap.add_argument("--py-spy", type=Path, help="record the server with py-spy into this file; print the top")
    ap.add_argument("--workdir", type=Path, help="where the copy of the store goes (default: a temporary folder); "
                                                 "the server's log and run log are kept there")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line, last")
    args = ap.parse_args(argv)
    if not args.db.exists():
        sys.exit(f"no store at {args.db}: run bench/bench_scale.py first (or give --db)")
    if args.import_mode == "big":
        args.big_files = args.big_files or [default_big_file(args.db)]
        missing = [f for f in args.big_files if not f.exists()]
        if missing:
            sys.exit(f"no file to import: {', '.join(map(str, missing))} (give --big-file)")
    if args.login and not args.users:
        sys.exit("--login needs --users")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleaned up like Ctrl-C
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cockpit-load-", dir=args.workdir))
    try:
        db = work / "cockpit.duckdb"
        shutil.copy(args.db, db)
        stats = run(args, db, work)
    finally:
        if args.workdir:  # keep the server's run log and output for a look afterwards
            for name in ("runs.jsonl", "server.log"):
                if (work / name).exists():
                    shutil.copy(work / name, args.workdir / name)
        shutil.rmtree(work, ignore_errors=True)
    fig = figures(stats, args)
    report(fig, args)
    if args.json:
        print(json.dumps(fig, ensure_ascii=False))
    return 0 if fig["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
