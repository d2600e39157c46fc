"""The cockpit at a million opinions: every figure of issue 9 measured on this machine, in one table.

    python bench/bench_scale.py [--workdir /tmp/scale] [--opinions 1000000]

Steps (``--steps`` picks some; results of earlier runs in the work folder are reused for the rest):

1. generate  demo exports: 1,000,000 opinions, 100,000 suggestions, 200,000 activities
             (bench/scale_data.py; reused while the parameters match);
2. import    into a new store without segmentation, then into a new store with it
             (bench/ingest_run.py: the command-line import in a process of its own);
3. reimport  the same unchanged files again into the segmented store;
4. size      of the store, with and without the hot-word tables;
5. pages     every page through AppTest, a fresh process each: first (cold) run and warm reruns
             (bench/bench_cockpit.py --page);
6. queries   what the command line computes, called in-process on a read-only connection: p50/p95
             over repeated calls (and the first call on a fresh connection, as the app makes one on a
             cache miss);
7. memory    the app's peak resident memory: `streamlit run` on the store, every page opened once in
             headless Chromium, then VmHWM of the server process (bench/browser.py);
8. parquet   the store exported as partitioned Parquet (analytics/store/dataset.py), and queries on it;
9. baseline  the same questions answered the straightforward way — pandas over the exported csv,
             jieba.lcut per view on a sample — with the ratio to the cockpit's answer time.

Everything is measured on a shared machine: each figure carries the 1-minute load average at the
time, and ratios are only taken between figures of one run.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import scale_data  # noqa: E402

STEPS = ("generate", "import", "reimport", "size", "pages", "queries", "memory", "parquet", "baseline")

# Targets of issue 9 on this machine.
IMPORT_TARGET_S = 300
REIMPORT_TARGET = 0.10
PAGE_WARM_TARGET_S = 1.5
HOTWORDS_P95_TARGET_MS = 200
INDICES_TARGET_MS = 300
APP_RSS_TARGET_MIB = 1536  # 1.5 GiB

QUERY_RUNS = 20  # repeated calls per query (p50/p95)
FRESH_RUNS = 5  # calls on a fresh connection each
PAGE_RUNS = 5  # warm AppTest reruns per page


def load() -> float:
    return round(os.getloadavg()[0], 1)


def pct(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation, as numpy's default."""
    xs = sorted(values)
    if len(xs) == 1:
        return xs[0]
    k = (len(xs) - 1) * q / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def log(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S} load {load():.1f}] {msg}", file=sys.stderr, flush=True)


def remove_store(db: Path) -> None:
    for p in db.parent.glob(db.name + "*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink()


def store_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in (db, db.with_name(db.name + ".wal")) if p.exists())


class _Skip(Exception):
    """A baseline view that this dataset cannot answer the straightforward way."""


class Bench:
    def __init__(self, args):
        self.args = args
        self.work: Path = args.workdir
        self.store = self.work / "store.duckdb"
        self.noseg = self.work / "noseg.duckdb"
        self.results_path = self.work / "results.json"
        self.results: dict = {}
        if self.results_path.exists():
            self.results = json.loads(self.results_path.read_text(encoding="utf-8"))

    def save(self, step: str, figures: dict) -> None:
        self.results[step] = figures
        self.results.setdefault("measured_at", {})[step] = datetime.now().replace(microsecond=0).isoformat()
        self.results_path.write_text(json.dumps(self.results, ensure_ascii=False, indent=1, default=str),
                                     encoding="utf-8")

    def files(self) -> list[str]:
        return [f["path"] for f in self.results["generate"]["files"]]

    # ── 1 ──
    def step_generate(self) -> dict:
        a = self.args
        m = scale_data.ensure_exports(self.work, a.opinions, a.suggestions, a.activities, a.years, log=log)
        kinds = {"opinions": "民情民意", "suggestions": "代表建议", "activities": "履职活动"}
        rows = {k: sum(f["rows"] for f in m["files"] if Path(f["path"]).name.startswith(v)) for k, v in kinds.items()}
        return {"files": m["files"], "rows": rows, "seconds": m["seconds"], "reused": m["reused"],
                "bytes": sum(f["bytes"] for f in m["files"]), "load": load()}

    # ── 2, 3 ──
    def limits_file(self) -> Path:
        """data/limits.toml with room for the benchmark's files (a year of a million opinions is one
        ~250 MB csv of ~500,000 rows), passed to the importer as COCKPIT_LIMITS."""
        import re

        text = (ROOT / "data" / "limits.toml").read_text(encoding="utf-8")
        text = re.sub(r"(?m)^max_mb\s*=.*$", "max_mb = 4000", text)
        text = re.sub(r"(?m)^max_rows\s*=.*$", "max_rows = 10000000", text)
        path = self.work / "limits.toml"
        path.write_text(text, encoding="utf-8")
        return path

    def _ingest(self, db: Path, segment: bool) -> dict:
        cmd = [sys.executable, str(BENCH / "ingest_run.py"), "--db", str(db), *self.files()]
        if not segment:
            cmd.insert(2, "--no-segment")
        env = dict(os.environ)
        if (ROOT / "data" / "limits.toml").exists():
            env["COCKPIT_LIMITS"] = str(self.limits_file())
        load0 = load()
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        if out.returncode != 0:
            raise RuntimeError(f"import failed ({out.returncode}):\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        files = r.pop("report")["files"]
        r["rows_read"] = sum(f["rows_read"] for f in files)
        for k in ("imported", "updated", "unchanged", "rejected"):
            r[k] = sum(f[k] for f in files)
        r["errors"] = [f["error"] for f in files if f.get("error")]
        if r["errors"]:
            raise RuntimeError("import refused files:\n" + "\n".join(r["errors"]))
        r["total_s"] = r["import_s"] + r["segment_after_s"]
        r["load"] = max(load0, load())
        return r

    def step_import(self) -> dict:
        remove_store(self.noseg)
        log("import without segmentation …")
        plain = self._ingest(self.noseg, segment=False)
        remove_store(self.store)
        log("import with segmentation …")
        seg = self._ingest(self.store, segment=True)
        return {"plain": plain, "seg": seg}

    def step_reimport(self) -> dict:
        log("re-import of the unchanged files …")
        return self._ingest(self.store, segment=True)

    # ── 4 ──
    def step_size(self) -> dict:
        import duckdb

        con = duckdb.connect(str(self.store), read_only=True)
        try:
            words = con.execute("SELECT count(*) FROM opinion_words").fetchone()[0]
            blocks = con.execute("SELECT database_size, total_blocks, used_blocks FROM pragma_database_size()").fetchone()
        finally:
            con.close()
        return {"store": store_bytes(self.store), "noseg": store_bytes(self.noseg) if self.noseg.exists() else None,
                "word_rows": words, "database_size": blocks[0], "load": load()}

    # ── 5 ──
    def step_pages(self) -> dict:
        from analytics.core import labels

        out = {}
        for p in labels.PAGES:
            log(f"page {p.url_path} …")
            load0 = load()
            proc = subprocess.run(
                [sys.executable, str(BENCH / "bench_cockpit.py"), "--db", str(self.store), "--page", p.url_path,
                 "--runs", str(self.args.page_runs), "--json"],
                cwd=ROOT, capture_output=True, text=True)
            if proc.returncode != 0 or not proc.stdout.strip():
                out[p.url_path] = {"error": (proc.stderr or "no output")[-500:], "title": p.title}
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            r["title_ok"] = r["titles"][:1] == [p.title]
            r["load"] = max(load0, load())
            out[p.url_path] = r
        return out

    # ── 6 ──
    def query_cases(self, con):
        from analytics.domain import hotwords as hw
        from analytics.domain import indices
        from analytics.domain import metrics
        from analytics.domain import ranking
        from analytics.domain import suggestions

        q = metrics.periods_with_data(con, "quarter")[0]
        icfg = indices.load_config()
        scfg = suggestions.load_config()
        session = suggestions.latest_session(con)
        town = "瓜沥镇"
        return q, [
            ("summary", f"metrics.headline {q.code} 全区", lambda c: metrics.headline(c, q, None)),
            ("indices", f"indices.compute_indices {q.code} 镇街", lambda c: indices.compute_indices(c, q, "town", icfg)),
            ("indices", f"indices.compute_indices {q.code} 联络站", lambda c: indices.compute_indices(c, q, "station", icfg)),
            ("rank", f"ranking.ranking {q.code}", lambda c: ranking.ranking(c, q, icfg)),
            ("hotwords", f"hotwords.top_words {q.code} 全区", lambda c: hw.top_words(c, q.start, q.end)),
            ("hotwords", f"hotwords.top_words {q.code} {town}", lambda c: hw.top_words(c, q.start, q.end, town=town)),
            ("hotwords", f"hotwords.rising_words {q.code}", lambda c: hw.rising_words(c, q.start, q.end)),
            ("suggestions", f"suggestions.report {session}",
             lambda c: suggestions.report(c, suggestions.Scope(session=session), scfg)),
        ]

    def time_queries(self, db: Path, runs: int, fresh_runs: int) -> dict:
        """Per query: the first call with nothing remembered (``analytics.store.memo`` cleared — what a
        command-line run does), then p50/p95 of repeated calls, and calls on a fresh connection
        each (what the app does on a cache miss)."""
        from analytics.store import memo
        from analytics.store.db import connect

        con = connect(db, read_only=True)
        out = {}
        try:
            q, cases = self.query_cases(con)
            for group, label, fn in cases:
                memo.clear()
                t = time.perf_counter()
                fn(con)  # also the warm-up: DuckDB's buffers hold what the query reads
                first = (time.perf_counter() - t) * 1000
                n = runs if first < 2000 else max(3, runs // 4)  # slow queries: fewer repeats
                walls, cpus = [], []
                load0 = load()
                for _ in range(n):
                    t, c = time.perf_counter(), time.process_time()
                    fn(con)
                    walls.append((time.perf_counter() - t) * 1000)
                    cpus.append((time.process_time() - c) * 1000)
                fresh = []
                for _ in range(fresh_runs if first < 2000 else min(fresh_runs, 2)):
                    t = time.perf_counter()
                    c2 = connect(db, read_only=True)
                    try:
                        fn(c2)
                    finally:
                        c2.close()
                    fresh.append((time.perf_counter() - t) * 1000)
                out[label] = {"group": group, "first": first, "runs": n, "p50": pct(walls, 50), "p95": pct(walls, 95),
                              "cpu_p50": pct(cpus, 50), "fresh_p50": pct(fresh, 50) if fresh else None,
                              "load": max(load0, load())}
                log(f"{label}: p50 {out[label]['p50']:.0f} ms, p95 {out[label]['p95']:.0f} ms")
        finally:
            con.close()
        return out

    def step_queries(self) -> dict:
        return self.time_queries(self.store, self.args.query_runs, FRESH_RUNS)

    # ── 7 ──
    def step_memory(self) -> dict:
        import browser
        from playwright.sync_api import sync_playwright

        import threading

        out = {"pages": {}, "errors": [], "page_peak_mib": {}}
        log_path = self.work / "server_memory.log"
        with browser.serve(self.store, log_path) as (base, proc):
            out["rss_idle_mib"] = browser.memory_kib(proc.pid).get("VmRSS", 0) / 1024
            current = {"page": None}
            done = threading.Event()

            def sample():  # which page's run made the peak: the server's RSS every 50 ms
                while not done.wait(0.05):
                    rss = browser.memory_kib(proc.pid).get("VmRSS", 0) / 1024
                    page = current["page"]
                    if page and rss > out["page_peak_mib"].get(page, 0):
                        out["page_peak_mib"][page] = rss

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            with sync_playwright() as p:
                b = browser.launch(p)
                try:
                    ctx = b.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
                    page = ctx.new_page()
                    for rnd in (1, 2):  # the second round hits the caches
                        for url_path, title in browser.pages():
                            current["page"] = url_path
                            t = time.perf_counter()
                            page.goto(f"{base}/{url_path}")
                            browser.wait_done(page, title, 120_000)
                            s = time.perf_counter() - t
                            out["pages"].setdefault(url_path, []).append(s)
                            out["errors"] += [f"{url_path}: {e}" for e in browser.errors_on(page)]
                            log(f"browser round {rnd} {url_path}: {s:.2f} s, server RSS "
                                f"{browser.memory_kib(proc.pid).get('VmRSS', 0) / 1024:.0f} MiB")
                    ctx.close()
                finally:
                    b.close()
                    done.set()
            mem = browser.memory_kib(proc.pid)
        out["rss_end_mib"] = mem.get("VmRSS", 0) / 1024
        out["peak_mib"] = mem.get("VmHWM", 0) / 1024
        out["load"] = load()
        return out

    # ── 8 ──
    def step_parquet(self) -> dict:
        from analytics.reports import parquet_export
        from analytics.store.db import connect

        target = self.work / "parquet"
        log("export as Parquet …")
        t = time.perf_counter()
        marker = parquet_export.export_parquet(self.store, target)
        seconds = time.perf_counter() - t
        size = sum(p.stat().st_size for p in target.rglob("*.parquet"))
        n_files = sum(1 for _ in target.rglob("*.parquet"))
        t = time.perf_counter()
        for _ in range(5):
            connect(target, read_only=True).close()
        open_ms = (time.perf_counter() - t) / 5 * 1000
        queries = self.time_queries(target, max(3, self.args.query_runs // 4), 0)
        return {"seconds": seconds, "bytes": size, "files": n_files, "open_ms": open_ms,
                "rows": {k: v["rows"] for k, v in marker["tables"].items()}, "queries": queries, "load": load()}

    # ── 9 ──
    def step_baseline(self) -> dict:
        """The straightforward way: each view reads the export it needs with pandas and computes
        its answer; hot words are cut with jieba.lcut when the view is opened."""
        import re
        from collections import Counter

        import jieba
        import pandas as pd

        import browser
        from analytics.domain import hotwords as hw
        from analytics.domain import metrics
        from analytics.text import segment as textseg
        from analytics.core.periods import parse_period
        from analytics.store.db import connect

        files = {Path(f).name: Path(f) for f in self.files()}
        op_path = files["民情民意_2024.csv"]  # the 2024 export: UTF-8 with BOM, one title row
        sg_path = files.get("代表建议_2024.csv")  # alias headers, 甲/乙/丙, a 合计 row
        q = parse_period("2024Q4")
        year = parse_period("2024")
        town = "瓜沥镇"
        out: dict = {"sample": self.args.sample}

        rss0 = browser.memory_kib(os.getpid()).get("VmRSS", 0)
        t = time.perf_counter()
        df = pd.read_csv(op_path, skiprows=1, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        df["提交时间"] = pd.to_datetime(df["提交时间"])
        out["read_opinions_s"] = time.perf_counter() - t
        out["opinion_rows"] = len(df)
        out["frame_mib"] = (browser.memory_kib(os.getpid()).get("VmRSS", 0) - rss0) / 1024
        sg = None
        if sg_path is not None:
            t = time.perf_counter()
            sg = pd.read_csv(sg_path, skiprows=1, encoding="utf-8", dtype=str, keep_default_na=False)
            sg["提出日期"] = pd.to_datetime(sg["提出日期"], errors="coerce")
            sg = sg[sg["提出日期"].notna()]  # the 合计 row at the end has no date
            out["read_suggestions_s"] = time.perf_counter() - t
        stop = set(textseg.read_stopwords_file().split())
        t = time.perf_counter()
        jieba.initialize()
        out["jieba_init_s"] = time.perf_counter() - t
        keep = re.compile(r"^[\u4e00-\u9fff]{2,}$")

        def in_q(frame, col, period):
            return frame[(frame[col] >= pd.Timestamp(period.start)) & (frame[col] < pd.Timestamp(period.end))]

        con = connect(self.store, read_only=True)
        try:
            def cockpit(fn, runs=5):
                fn()
                ts = []
                for _ in range(runs):
                    t0 = time.perf_counter()
                    fn()
                    ts.append(time.perf_counter() - t0)
                return statistics.median(ts)

            views = {}
            # 1. Top words of a quarter (全区).
            t = time.perf_counter()
            qdf = in_q(df, "提交时间", q)
            texts = (qdf["标题"] + "。" + qdf["内容"]).tolist()
            filter_s = time.perf_counter() - t
            sample = texts[:: max(1, len(texts) // self.args.sample)][: self.args.sample]  # spread over the quarter
            t = time.perf_counter()
            counts: Counter = Counter()
            for x in sample:
                counts.update({w for w in jieba.lcut(x) if keep.match(w) and w not in stop})
            cut_s = time.perf_counter() - t
            est = filter_s + cut_s * len(texts) / max(len(sample), 1)
            mine = hw.top_words(con, q.start, q.end, top=10)["word"].tolist()
            views["top_words"] = {
                "label": f"{q.code} 全区热词前 50（{len(texts):,} 条意见）",
                "naive_compute_s": est, "naive_estimated": True, "cut_sample_s": cut_s, "cut_n": len(sample),
                "cockpit_s": cockpit(lambda: hw.top_words(con, q.start, q.end)),
                "overlap_top10": len(set(mine) & {w for w, _ in counts.most_common(10)}),
            }
            # 2. One town's 办结率 in a quarter.
            t = time.perf_counter()
            tq = in_q(df, "提交时间", q)
            tq = tq[tq["镇街"] == town]
            naive_rate = (tq["状态"] == "已办结").sum() / (tq["状态"] != "不予受理").sum()
            compute_s = time.perf_counter() - t
            fig = metrics.compute(con, "closure_rate", q, town)
            views["closure_town"] = {
                "label": f"{town} {q.code} 办结率", "naive_compute_s": compute_s,
                "cockpit_s": cockpit(lambda: metrics.compute(con, "closure_rate", q, town)),
                "equal": abs(float(naive_rate) - float(fig.value)) < 1e-12,
            }
            # 3. Every town's opinions and 办结率 in a quarter (a ranking table).
            t = time.perf_counter()
            qq = in_q(df, "提交时间", q)
            g = qq.groupby("镇街").agg(n=("状态", "size"), closed=("状态", lambda s: (s == "已办结").sum()),
                                      base=("状态", lambda s: (s != "不予受理").sum()))
            g["rate"] = g["closed"] / g["base"]
            compute_s = time.perf_counter() - t
            towns = list(g.index)
            views["closure_all_towns"] = {
                "label": f"各镇街 {q.code} 意见数与办结率（{len(towns)} 个）", "naive_compute_s": compute_s,
                "cockpit_s": cockpit(lambda: [metrics.compute(con, "closure_rate", q, tw) for tw in towns], runs=3),
                "equal": all(abs(float(g.loc[tw, "rate"]) - float(metrics.compute(con, "closure_rate", q, tw).value)) < 1e-12
                             for tw in towns[:5]),
            }
            # 4. The year's 代表建议 解决率 (a csv at benchmark scale; a small demo writes xlsx).
            if sg is None:
                raise _Skip
            t = time.perf_counter()
            ys = in_q(sg, "提出日期", year)
            cls = ys["答复类型"].map({"甲": "A", "乙": "B", "丙": "C"}).fillna(ys["答复类型"])
            naive_rate = cls.isin(metrics.RESOLVED_CLASSES).sum() / cls.isin(metrics.ANSWERED_CLASSES).sum()
            compute_s = time.perf_counter() - t
            fig = metrics.compute(con, "resolution_rate", year, None)
            views["resolution_year"] = {
                "label": f"{year.code} 年代表建议解决率（{len(ys):,} 件）", "naive_compute_s": compute_s,
                "naive_read": "read_suggestions_s",
                "cockpit_s": cockpit(lambda: metrics.compute(con, "resolution_rate", year, None)),
                "equal": abs(float(naive_rate) - float(fig.value)) < 1e-12,
            }
        except _Skip:
            pass
        finally:
            con.close()
        for v in views.values():
            read = out[v.get("naive_read", "read_opinions_s")]
            v["naive_view_s"] = read + v["naive_compute_s"]  # every view reads its export again
            v["ratio"] = v["naive_view_s"] / v["cockpit_s"]
            v["ratio_cached"] = v["naive_compute_s"] / v["cockpit_s"]  # the frame kept in memory
        out["views"] = views
        out["load"] = load()
        return out

    def run(self, steps: list[str]) -> None:
        for step in steps:
            log(f"── {step} ──")
            figures = getattr(self, f"step_{step}")()
            self.save(step, figures)


# ───────────────────────────── the table ─────────────────────────────

def _mib(n: float | None) -> str:
    return "—" if n is None else f"{n / 2**20:,.0f} MiB"


def _ok(flag: bool | None) -> str:
    return {True: "✓", False: "✗", None: ""}[flag]


def table(results: dict) -> list[tuple[str, str, str, str, str]]:
    """Rows of (figure, measured, target or ratio, met, load)."""
    rows: list[tuple[str, str, str, str, str]] = []

    def add(name, value, target="", met=None, ld=None):
        rows.append((name, value, target, _ok(met), "" if ld is None else f"{ld:.1f}"))

    def section(title):
        rows.append((f"## {title}", "", "", "", ""))

    g = results.get("generate")
    if g:
        section("data")
        r = g["rows"]
        add("demo exports: opinions / suggestions / activities",
            f"{r['opinions']:,} / {r['suggestions']:,} / {r['activities']:,}")
        add("export files, size", f"{len(g['files'])} files, {_mib(g['bytes'])}",
            "reused" if g["reused"] else f"written in {g['seconds']:.0f} s", None, g["load"])
    imp = results.get("import")
    if imp:
        section("import (python -m analytics ingest, all files, new store)")
        for key, label in (("plain", "without segmentation"), ("seg", "with segmentation")):
            x = imp[key]
            rows_s = x["rows_read"] / x["total_s"]
            chars_s = x["opinion_chars"] / x["total_s"]
            detail = ""
            if key == "seg" and x["segment_after_s"]:
                detail = f" (import {x['import_s']:.0f} s + segmentation after it {x['segment_after_s']:.0f} s)"
            if key == "plain" and x["segmented"]:
                detail = " (segmentation could not be switched off)"
            met = x["total_s"] < IMPORT_TARGET_S if key == "seg" else None
            add(f"import {label}: time{detail}", f"{x['total_s']:.1f} s",
                f"< {IMPORT_TARGET_S} s" if key == "seg" else "", met, x["load"])
            add(f"  rows/s, opinion chars/s", f"{rows_s:,.0f} rows/s, {chars_s / 1e6:.2f} M chars/s")
            add(f"  rows read / imported / rejected", f"{x['rows_read']:,} / {x['imported']:,} / {x['rejected']:,}")
            add(f"  importer peak RSS", f"{x['peak_rss_kib'] / 1024:,.0f} MiB")
        if imp["plain"]["total_s"]:
            add("segmentation's share of the import", f"{1 - imp['plain']['total_s'] / imp['seg']['total_s']:.0%}")
    re_ = results.get("reimport")
    if re_ and imp:
        first = imp["seg"]["total_s"]
        ratio = re_["total_s"] / first
        add("re-import of the same unchanged files", f"{re_['total_s']:.1f} s ({ratio:.1%} of first)",
            f"< {REIMPORT_TARGET:.0%}", ratio < REIMPORT_TARGET, re_["load"])
        add("  unchanged / rows read", f"{re_['unchanged']:,} / {re_['rows_read']:,}",
            "", re_["unchanged"] == re_["rows_read"])
    s = results.get("size")
    if s:
        section("store")
        add("store size (DuckDB file), with hot-word tables", _mib(s["store"]),
            f"{s['word_rows']:,} word rows", None, s["load"])
        if s.get("noseg"):
            add("store size without hot-word tables", _mib(s["noseg"]))
    pg = results.get("pages")
    if pg:
        section("pages: server-side run through AppTest (fresh process per page)")
        for url_path, r in pg.items():
            if r.get("error"):
                add(f"page {url_path}", "ERROR " + r["error"][:80], "", False)
                continue
            warm = r["warm"]
            med, mx = statistics.median(warm), max(warm)
            add(f"page {url_path}: cold / warm median (max)",
                f"{r['first']:.2f} s / {med:.3f} s ({mx:.3f} s)", f"warm < {PAGE_WARM_TARGET_S} s",
                med < PAGE_WARM_TARGET_S and r["title_ok"], r["load"])
    qs = results.get("queries")
    if qs:
        section("queries in-process, read-only connection: first call, then p50 / p95 of repeated calls (ms)")
        for label, r in qs.items():
            target, met = "", None
            if r["group"] == "hotwords":
                target, met = f"p95 < {HOTWORDS_P95_TARGET_MS} ms", r["p95"] < HOTWORDS_P95_TARGET_MS
            elif r["group"] in ("indices", "rank"):
                target, met = f"< {INDICES_TARGET_MS} ms", r["p95"] < INDICES_TARGET_MS
            fresh = f"; fresh conn. {r['fresh_p50']:,.0f}" if r.get("fresh_p50") is not None else ""
            first = f"first {r['first']:,.0f}; " if "first" in r else ""
            add(label, f"{first}{r['p50']:,.0f} / {r['p95']:,.0f}{fresh} ms", target, met, r["load"])
            if met is not None and "first" in r and r["first"] >= (HOTWORDS_P95_TARGET_MS if r["group"] == "hotwords"
                                                                   else INDICES_TARGET_MS):
                add("  (first call, nothing remembered: the command line's case)", f"{r['first']:,.0f} ms",
                    target.replace("p95 ", ""), False)
    m = results.get("memory")
    if m:
        section("app (streamlit run, every page opened twice in Chromium)")
        add("server peak RSS (VmHWM)", f"{m['peak_mib']:,.0f} MiB", f"< {APP_RSS_TARGET_MIB} MiB",
            m["peak_mib"] < APP_RSS_TARGET_MIB, m["load"])
        add("server RSS idle / at the end", f"{m['rss_idle_mib']:,.0f} / {m['rss_end_mib']:,.0f} MiB")
        if m.get("page_peak_mib"):
            top = sorted(m["page_peak_mib"].items(), key=lambda kv: -kv[1])[:3]
            add("  highest RSS seen while a page ran", ", ".join(f"{p} {v:,.0f}" for p, v in top) + " MiB")
        first = [v[0] for v in m["pages"].values()]
        second = [v[-1] for v in m["pages"].values()]
        add("browser page completion, first / second visit (median, max)",
            f"{statistics.median(first):.2f} ({max(first):.2f}) / {statistics.median(second):.2f} ({max(second):.2f}) s")
        add("stException elements seen", str(len(m["errors"])), "0", not m["errors"])
    pq = results.get("parquet")
    if pq:
        section("Parquet dataset (export --parquet; read-only views)")
        add("export time, size, files", f"{pq['seconds']:.1f} s, {_mib(pq['bytes'])}, {pq['files']} files",
            "", None, pq["load"])
        add("open (views over the files)", f"{pq['open_ms']:.0f} ms")
        base = results.get("queries", {})
        for label, r in pq["queries"].items():
            ref = base.get(label)
            ratio = f"{r['p50'] / ref['p50']:.1f}× the DuckDB file" if ref and ref["p50"] else ""
            first = f"first {r['first']:,.0f}; " if "first" in r else ""
            add(f"{label} (Parquet)", f"{first}{r['p50']:,.0f} / {r['p95']:,.0f} ms", ratio, None, r["load"])
    b = results.get("baseline")
    if b:
        section(f"baseline: pandas over the csv exports, jieba.lcut per view (sample {b['sample']:,} texts)")
        add("read 民情民意_2024.csv with pandas", f"{b['read_opinions_s']:.1f} s, {b['opinion_rows']:,} rows, "
            f"+{b['frame_mib']:,.0f} MiB", "", None, b["load"])
        if "read_suggestions_s" in b:
            add("read 代表建议_2024.csv with pandas", f"{b['read_suggestions_s']:.2f} s")
        for v in b["views"].values():
            est = " (jieba extrapolated)" if v.get("naive_estimated") else ""
            same = "" if "equal" not in v else ("; same answer" if v["equal"] else "; DIFFERENT answer")
            if "overlap_top10" in v:
                same = f"; {v['overlap_top10']}/10 top words shared"
            add(f"{v['label']}: naive per view{est} / cockpit",
                f"{v['naive_view_s']:.2f} s / {v['cockpit_s'] * 1000:.0f} ms",
                f"{v['ratio']:,.0f}× (frame cached: {v['ratio_cached']:,.0f}×){same}")
    return rows


def print_table(results: dict, out=sys.stdout) -> None:
    rows = table(results)
    w = [max(len(r[i]) for r in rows if not r[0].startswith("## ")) for i in range(5)]
    head = ("figure", "measured", "target / ratio", "met", "load")
    w = [max(w[i], len(head[i])) for i in range(5)]
    line = f"{head[0]:<{w[0]}}  {head[1]:<{w[1]}}  {head[2]:<{w[2]}}  {head[3]:<3}  {head[4]:>4}"
    print(line, file=out)
    print("-" * len(line), file=out)
    for r in rows:
        if r[0].startswith("## "):
            print(f"{r[0][3:]}", file=out)
            continue
        print(f"{r[0]:<{w[0]}}  {r[1]:<{w[1]}}  {r[2]:<{w[2]}}  {r[3]:<3}  {r[4]:>4}", file=out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/scale"), help="work folder (default /tmp/scale)")
    ap.add_argument("--opinions", type=int, default=scale_data.DEFAULTS["opinions"])
    ap.add_argument("--suggestions", type=int, default=scale_data.DEFAULTS["suggestions"])
    ap.add_argument("--activities", type=int, default=scale_data.DEFAULTS["activities"])
    ap.add_argument("--years", type=int, default=scale_data.DEFAULTS["years"])
    ap.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS),
                    help="run only these steps (the others are taken from the last run in the work folder)")
    ap.add_argument("--query-runs", type=int, default=QUERY_RUNS)
    ap.add_argument("--page-runs", type=int, default=PAGE_RUNS)
    ap.add_argument("--sample", type=int, default=3000, help="texts cut with jieba in the baseline (default 3000)")
    ap.add_argument("--table-only", action="store_true", help="print the table of the last results")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args)
    if not args.table_only:
        steps = [s for s in STEPS if s in args.steps]
        if "generate" not in steps and "generate" not in bench.results:
            steps.insert(0, "generate")
        bench.run(steps)
    print(f"bench_scale: {os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, "
          f"work folder {args.workdir}; load = 1-minute load average when measured")
    print_table(bench.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
