"""Evaluate hot-word terms and hot issues on real exports: anyone can rerun it.

    python bench/eval_hotwords.py ../shared/realdata/tipdm2020c_replies_2816.xlsx [--profile NAME]
    python bench/eval_hotwords.py --demo            # the demo data (one year, the real generator)

Imports the files into a temporary store the way a clerk would (``profiles suggest`` → ``profiles
add`` → ``ingest``, unless ``--profile`` names a mapping already in data/), then prints the top 50
terms and the top 10 hot issues of the whole period. Each term is marked against the hand-written
judgement ``bench/gold_hotwords.toml``: ✓ names a concern, ✗ junk, ? doubtful, · not judged.
The judgement file lists words only; the exports' text stays out of the project.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GOLD = ROOT / "bench" / "gold_hotwords.toml"


def _run(args: list[str], env: dict) -> str:
    res = subprocess.run([sys.executable, "-m", "analytics", *args], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"python -m analytics {' '.join(args)} 失败：\n{res.stdout}\n{res.stderr}")
    return res.stdout


def load_gold(path: Path = GOLD) -> dict[str, str]:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for mark, key in (("✓", "topical"), ("✗", "junk"), ("?", "doubtful")):
        for w in raw.get(key, {}).get("words", []):
            out[w] = mark
    return out


def build_store(files: list[str], profile: str | None, workdir: Path, demo: bool) -> Path:
    db = workdir / "eval.duckdb"
    env = {**os.environ, "COCKPIT_DB": str(db)}
    if demo:
        out = workdir / "demo"
        _run(["demo", "--out", str(out), "--years", "1"], env)
        files = sorted(str(p) for p in out.iterdir())
    for i, f in enumerate(files):
        if not demo and profile is None:
            toml = workdir / f"profile{i}.toml"
            _run(["profiles", "suggest", f, "--out", str(toml)], env)
            _run(["profiles", "add", str(toml)], env)
    args = ["ingest", *files] + (["--profile", profile] if profile else [])
    t0 = time.perf_counter()
    _run(args, env)
    print(f"导入 {len(files)} 个文件：{time.perf_counter() - t0:.1f} 秒")
    return db


def report(db: Path, gold: dict[str, str], top: int = 50, issues: int = 10) -> dict:
    import duckdb

    from analytics.domain import hotissues, hotwords
    from analytics.text import terms

    terms.lexicon()  # jieba's dictionary, read once per process (~1 s): not part of a query's time
    con = duckdb.connect(str(db), read_only=True)
    first, last = hotwords.data_range(con)
    end = last.fromordinal(last.toordinal() + 1)
    t0 = time.perf_counter()
    df = hotissues.top_terms(con, first, end, top=top)
    t_terms = time.perf_counter() - t0
    marks = [gold.get(w, "·") for w in df["word"]]
    print(f"\n期间 {first} 至 {last}；前 {top} 个词（{t_terms * 1000:.0f} ms）：")
    for i, (w, d, m) in enumerate(zip(df["word"], df["docs"], marks), start=1):
        print(f"{i:>3} {m} {w}（{d}）", end="\n" if i % 5 == 0 else "  ")
    junk = marks.count("✗")
    print(f"\n垃圾词 ✗ {junk}，存疑 ? {marks.count('?')}，未判定 · {marks.count('·')}")
    t0 = time.perf_counter()
    hi = hotissues.hot_issues(con, first, end, top=issues)
    t_issues = time.perf_counter() - t0
    print(f"\n前 {issues} 个热点问题（{t_issues * 1000:.0f} ms）：")
    for it in hi:
        print(f"{it['rank']:>3}. {it['title']}  热度 {it['heat']:.1f}  意见 {it['opinions']} 条、"
              f"{it['submitters']} 人，{it['first']}–{it['last']}；词：{'、'.join(it['terms'][:5])}\n"
              f"     代表性留言：{it['headline']}")
    con.close()
    return {"junk": junk, "marks": marks}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*")
    ap.add_argument("--profile")
    ap.add_argument("--demo", action="store_true", help="评估演示数据（一年）")
    ap.add_argument("--gold", default=str(GOLD))
    ap.add_argument("--keep", metavar="DIR", help="把临时库留在这个目录")
    a = ap.parse_args(argv)
    if not a.files and not a.demo:
        ap.error("请给出导出文件，或用 --demo")
    gold = load_gold(Path(a.gold))
    with tempfile.TemporaryDirectory(prefix="eval_hotwords_") as tmp:
        work = Path(a.keep) if a.keep else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        db = build_store(a.files, a.profile, work, a.demo)
        report(db, gold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
