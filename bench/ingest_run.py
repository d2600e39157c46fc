"""One measured command-line import, in a process of its own (so its peak memory is its own).

    python bench/ingest_run.py --db PATH [--no-segment] FILE...

Runs ``python -m analytics ingest FILE... --db PATH --json`` in this process and prints one JSON
object: the importer's report, wall seconds, and the process's peak resident memory (with its
worker processes). With ``--no-segment`` the hot-word segmentation is switched off (its function is
replaced by one that does nothing), to see what segmentation costs. Should the importer leave
opinions unsegmented (an importer that does not segment yet), they are segmented right after it,
timed separately (``segment_after_s``), so "import with segmentation" always ends with hot words
ready, as the import in the app does.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _switch_off_segmentation() -> None:
    import analytics.domain.hotwords as hw
    import analytics.ingest.importer as ingest

    def nothing(*args, **kwargs) -> int:
        return 0

    for mod in (hw, ingest):
        for name in ("segment_pending", "segment_pending_at"):
            if hasattr(mod, name):
                setattr(mod, name, nothing)


def peak_rss_kib() -> int:
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(me, kids)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--no-segment", action="store_true")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()

    from analytics.domain import hotwords as hw
    from analytics.__main__ import main as cli
    from analytics.store.db import connect

    if args.no_segment:
        _switch_off_segmentation()
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = cli(["ingest", *args.files, "--db", args.db, "--json"])
    import_s = time.perf_counter() - t0
    if code != 0:
        print(buf.getvalue()[-3000:], file=sys.stderr)
        return code
    report = json.loads(buf.getvalue())
    con = connect(args.db)
    try:
        pending = hw.pending_count(con)
        segmented_in_import = pending == 0
        seg_s = 0.0
        if pending and not args.no_segment:
            t0 = time.perf_counter()
            con.execute("BEGIN TRANSACTION")
            hw.segment_pending(con)
            con.execute("COMMIT")
            seg_s = time.perf_counter() - t0
        n_op, chars = con.execute(
            "SELECT count(*), coalesce(sum(length(coalesce(title, '')) + length(content)), 0) FROM opinions"
        ).fetchone()
        seg_rows = con.execute("SELECT count(*) FROM opinion_seg").fetchone()[0]
    finally:
        con.close()
    print(json.dumps({
        "import_s": import_s, "segment_after_s": seg_s, "segmented_in_import": segmented_in_import,
        "pending_after_import": pending, "opinions": n_op, "opinion_chars": chars, "segmented": seg_rows,
        "peak_rss_kib": peak_rss_kib(), "load_avg": os.getloadavg()[0], "report": report,
    }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
