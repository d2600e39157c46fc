"""Hot-word benchmark: segmentation speed (jieba vs rjieba, one process vs a pool, and the whole
``segment_pending`` step of an import) and hot-word query times at a large store.

    python bench/bench_hotwords.py --opinions 1000000

1. A base store is made from the demo data (``python -m analytics demo`` + ``ingest``, ~44,000
   opinions at scale 1) in the work folder, unless it is already there.
2. Segmentation throughput on all its opinion texts: jieba (reference, on a sample), rjieba in this
   process, rjieba in a pool of worker processes, and ``segment_pending`` end to end (cleaning,
   cutting, counting and writing the word counts to DuckDB). Characters per second of wall time.
3. The opinions are copied (new ids, same texts and dates) until the store holds ``--opinions``, all
   are segmented, and every query the hot-word page runs is timed on a read-only connection: the
   median of 5 runs after one warm-up.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.domain import hotwords as hw  # noqa: E402
from analytics.text import segment as textseg  # noqa: E402
from analytics.store.db import connect  # noqa: E402


def run(cmd: list[str]) -> None:
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-3000:]}")


def base_store(work: Path, scale: float) -> Path:
    db = work / f"base_{scale:g}.duckdb"
    if db.exists():
        return db
    exports = work / f"exports_{scale:g}"
    t0 = time.perf_counter()
    run([sys.executable, "-m", "analytics", "demo", "--out", str(exports), "--years", "2", "--scale", str(scale)])
    files = sorted(str(p) for p in exports.iterdir())
    run([sys.executable, "-m", "analytics", "ingest", *files, "--db", str(db)])
    print(f"base store: demo data at scale {scale:g} generated and imported in {time.perf_counter() - t0:.0f} s")
    return db


def clear_words(con) -> None:
    for t in ("opinion_words", "opinion_seg", "words", "dict_versions"):
        con.execute(f"DELETE FROM {t}")


def cpu_seconds() -> float:
    """CPU time of this process (all threads) and of its finished children (the pool's workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def rate(chars: int, seconds: float) -> str:
    return f"{chars / seconds / 1e6:6.2f} M chars/s"


def seg_throughput(db: Path, jieba_sample: int) -> None:
    con = connect(db, read_only=True)
    rows = con.execute("SELECT title, content FROM opinions ORDER BY opinion_id").fetchall()
    con.close()
    texts = [textseg.opinion_text(t, c) for t, c in rows]
    chars = sum(map(len, texts))
    ud, sw = textseg.read_userdict_file(), textseg.read_stopwords_file()
    print(f"\n== segmentation: {len(texts):,} opinion texts, {chars:,} characters "
          f"(mean {chars / len(texts):.0f} per opinion), {os.cpu_count()} cores ==")
    ref = textseg.Segmenter(ud, sw, engine="jieba")
    sample = texts[:jieba_sample]
    sc = sum(map(len, sample))
    t = time.perf_counter()
    for x in sample:
        ref.count(x)
    print(f"jieba (Python), 1 process, {len(sample):,} texts     {rate(sc, time.perf_counter() - t)}")
    fast = textseg.Segmenter(ud, sw)
    t = time.perf_counter()
    for x in texts:
        fast.count(x)
    print(f"rjieba, 1 process, text by text            {rate(chars, time.perf_counter() - t)}")
    t, c = time.perf_counter(), time.process_time()
    fast.count_arrays(texts)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"rjieba, 1 process, count_arrays (batched)  {rate(chars, wall)}  ({rate(chars, cpu)} per CPU second)")
    for n in sorted({2, os.cpu_count() or 1}):
        if n < 2:
            continue
        t0 = time.perf_counter()
        with textseg.TextCounter(ud, sw, processes=n) as tc:
            tc.count(texts[:100])  # start the workers
            started = time.perf_counter() - t0
            t = time.perf_counter()
            tc.count(texts)
            wall = time.perf_counter() - t
        print(f"rjieba, pool of {n} processes                {rate(chars, wall)}  (+{started:.1f} s to start the pool)")


def segment_all(db: Path, label: str) -> None:
    con = connect(db)
    clear_words(con)
    chars = con.execute("SELECT sum(length(coalesce(title, '')) + length(content)) FROM opinions").fetchone()[0]
    n = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
    t, cpu0 = time.perf_counter(), cpu_seconds()
    con.execute("BEGIN TRANSACTION")
    done = hw.segment_pending(con)
    con.execute("COMMIT")
    wall, cpu = time.perf_counter() - t, cpu_seconds() - cpu0
    rows = con.execute("SELECT count(*) FROM opinion_words").fetchone()[0]
    # Re-import of unchanged opinions: nothing to cut, only the check.
    t = time.perf_counter()
    again = hw.segment_pending(con)
    check = time.perf_counter() - t
    con.close()
    assert done == n and again == 0
    print(f"segment_pending {label}: {n:,} opinions, {chars:,} chars in {wall:.1f} s = {rate(chars, wall)}, "
          f"{n / wall:,.0f} opinions/s; {rows:,} word rows; unchanged re-run {check * 1000:.0f} ms "
          f"(load average {os.getloadavg()[0]:.1f}); CPU {cpu:.1f} s in all processes = "
          f"{chars / cpu / 1e6:.2f} M chars per CPU second")


def grow(base: Path, big: Path, target: int) -> None:
    shutil.copy(base, big)
    con = connect(big)
    n = con.execute("SELECT count(*) FROM opinions").fetchone()[0]
    copies = max(1, -(-target // n))
    cols = [r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'opinions' ORDER BY ordinal_position").fetchall()]
    others = ", ".join(c for c in cols if c != "opinion_id")
    for k in range(1, copies):
        con.execute(f"INSERT INTO opinions SELECT opinion_id || '~{k}', {others} FROM opinions "
                    f"WHERE NOT contains(opinion_id, '~') LIMIT ?", [max(0, min(n, target - k * n))])
    con.close()


def timed(fn, repeat: int = 5) -> tuple[float, float]:
    """Median wall and CPU (all threads of this process) milliseconds over ``repeat`` runs after one
    warm-up. On a busy machine the wall time grows, the CPU time hardly."""
    fn()
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000


def queries(db: Path) -> None:
    con = connect(db, read_only=True)
    n = con.execute("SELECT count(*) FROM opinion_seg").fetchone()[0]
    words_rows = con.execute("SELECT count(*) FROM opinion_words").fetchone()[0]
    first, end = hw.data_range(con)
    q_end = end
    q_start = q_end - timedelta(days=91)
    top = hw.top_words(con, q_start, q_end, top=5)
    word = top["word"].iloc[0]
    town, station, channel, category = con.execute("""
        SELECT town, station, channel, category FROM opinions
        WHERE station IS NOT NULL AND category IS NOT NULL LIMIT 1""").fetchone()
    size = db.stat().st_size / 1e6
    print(f"\n== queries: {n:,} opinions, {words_rows:,} word rows, store {size:,.0f} MB; "
          f"latest quarter {q_start} – {q_end - timedelta(days=1)}; word “{word}” ==")
    cases = [
        ("top_words 50, latest quarter, 全区", lambda: hw.top_words(con, q_start, q_end)),
        ("top_words 50, all data (2 years)", lambda: hw.top_words(con, first, end)),
        ("top_words 50, latest month", lambda: hw.top_words(con, q_end - timedelta(days=30), q_end)),
        (f"top_words 50, quarter, town {town}", lambda: hw.top_words(con, q_start, q_end, town=town)),
        (f"top_words 50, quarter, station", lambda: hw.top_words(con, q_start, q_end, station=station)),
        (f"top_words 50, quarter, channel {channel}", lambda: hw.top_words(con, q_start, q_end, channel=channel)),
        (f"top_words 50, quarter, category {category}", lambda: hw.top_words(con, q_start, q_end, category=category)),
        ("top_words 50, all data, category", lambda: hw.top_words(con, first, end, category=category)),
        ("word_trend, 24 months", lambda: hw.word_trend(con, word, first, end)),
        ("word_spread, quarter", lambda: hw.word_spread(con, word, q_start, q_end)),
        ("word_town_month (heat map), 2 years", lambda: hw.word_town_month(con, word, first, end)),
        ("rising_words, quarter (24 months of history)", lambda: hw.rising_words(con, q_start, q_end)),
        ("related_words, quarter", lambda: hw.related_words(con, word, q_start, q_end)),
        ("drilldown page 1 (20 opinions)", lambda: hw.drilldown(con, word, q_start, q_end)),
        ("candidate_score", lambda: hw.candidate_score(con, [word], q_start, q_end)),
    ]
    print(f"{'':<48} {'wall':>8}    {'CPU':>6}")
    for label, fn in cases:
        wall, cpu = timed(fn)
        print(f"{label:<48} {wall:8.0f} ms {cpu:6.0f} ms")
    print(f"(load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    con.close()


def percentiles(fn, runs: int = 20, reset=None) -> tuple[float, float]:
    """p50 and p95 wall milliseconds over ``runs`` calls after one warm-up (``reset`` before each)."""
    if reset:
        reset()
    fn()
    walls = []
    for _ in range(runs):
        if reset:
            reset()
        t = time.perf_counter()
        fn()
        walls.append((time.perf_counter() - t) * 1000)
    walls.sort()
    return walls[len(walls) // 2], walls[min(len(walls) - 1, int(round(0.95 * (len(walls) - 1))))]


def issue_queries(db: Path) -> None:
    """Terms ranked by evidence and hot issues (issue 16): p50/p95 of the page's queries."""
    from analytics.domain import hotissues as hi
    from analytics.store import memo
    from analytics.text import terms

    terms.lexicon()  # once per process (~1 s): not a query's cost
    con = connect(db, read_only=True)
    first, end = hw.data_range(con)
    q_start = end - timedelta(days=91)
    town = con.execute("SELECT town FROM opinion_seg WHERE town IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1").fetchone()[0]
    n_q = hw.opinions_in_filter(con, q_start, end)
    n_t = hw.opinions_in_filter(con, q_start, end, town=town)
    print(f"\n== terms and hot issues: quarter {q_start} – {end - timedelta(days=1)}: {n_q:,} opinions, {town} {n_t:,} ==")
    print(f"{'':<58} {'p50':>8} {'p95':>8}")
    v = hw.active_version(con)
    t, c = time.perf_counter(), time.process_time()
    assignment = hi._assign(con, v)
    print(f"{'store_issues: every opinion grouped (the importer does it once)':<58} "
          f"{(time.perf_counter() - t) * 1000:8.0f} ms wall, {(time.process_time() - c):.1f} CPU s; "
          f"{len(assignment.doc_id):,} opinions in {len(set(assignment.issue.tolist())):,} issues")

    def new_filter():  # a filter nobody asked for yet, on a server that is up (the store's issues kept)
        with memo._lock:
            for k in [k for k in memo._entries if k[0] == hi.HOT_ISSUES]:
                del memo._entries[k]

    year = end - timedelta(days=365)
    cases = [
        ("top_terms 50, latest quarter, 全区", lambda: hi.top_terms(con, q_start, end), None, 20),
        (f"top_terms 50, latest quarter, {town}", lambda: hi.top_terms(con, q_start, end, town=town), None, 20),
        ("top_terms 50, latest month, 全区", lambda: hi.top_terms(con, end - timedelta(days=30), end), None, 20),
        ("hot_issues, latest year, 全区, new filter", lambda: hi.hot_issues(con, year, end), new_filter, 5),
        ("hot_issues, quarter, 全区, new filter", lambda: hi.hot_issues(con, q_start, end), new_filter, 10),
        (f"hot_issues, quarter, {town}, new filter", lambda: hi.hot_issues(con, q_start, end, town=town), new_filter, 10),
        ("hot_issues, latest month, 全区, new filter",
         lambda: hi.hot_issues(con, end - timedelta(days=30), end), new_filter, 10),
        ("hot_issues, quarter, 全区, kept (memo)", lambda: hi.hot_issues(con, q_start, end), None, 20),
        ("quarter_hot_issues (专报, big screen), kept", lambda: hi.quarter_hot_issues(con), None, 20),
    ]
    for label, fn, reset, runs in cases:
        p50, p95 = percentiles(fn, runs, reset)
        print(f"{label:<58} {p50:8.0f} {p95:8.0f} ms")
    con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opinions", type=int, default=1_000_000, help="size of the large store (default 1000000)")
    ap.add_argument("--base-scale", type=float, default=1.0, help="demo scale of the base store (default 1)")
    ap.add_argument("--jieba-sample", type=int, default=5000, help="texts cut with Python jieba (default 5000)")
    ap.add_argument("--workdir", type=Path, help="keep stores here (reused by the next run)")
    ap.add_argument("--skip-large", action="store_true", help="only the base store")
    ap.add_argument("--store", type=Path, help="only the hot-issue queries, on this segmented store "
                                               "(e.g. the 1M store of bench_scale.py)")
    args = ap.parse_args()
    if args.store:
        issue_queries(args.store)
        return 0
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench_hot_"))
    work.mkdir(parents=True, exist_ok=True)
    base = base_store(work, args.base_scale)
    seg_throughput(base, args.jieba_sample)
    segment_all(base, "(base store)")
    queries(base)
    issue_queries(base)
    if not args.skip_large:
        big = work / f"large_{args.opinions}.duckdb"
        t = time.perf_counter()
        grow(base, big, args.opinions)
        print(f"\nlarge store: opinions copied to {args.opinions:,} in {time.perf_counter() - t:.0f} s")
        segment_all(big, "(large store)")
        queries(big)
        issue_queries(big)
    if not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
