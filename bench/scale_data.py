"""The benchmark dataset at scale: demo exports with ~1,000,000 opinions, ~100,000 suggestions and
~200,000 activities (issue 9), written once into a work folder and reused while its parameters match.

``analytics.demo.exports`` has one scale for all kinds (at the scale that gives a million opinions it writes
only ~21,000 suggestions and ~80,000 activities), so the suggestion and activity files are written
again at their own scales with the demo's own writers. Same seed → same files.

    python bench/scale_data.py --workdir /tmp/scale   # only generate (bench_scale.py calls it too)
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.demo import exports as demo  # noqa: E402

DEFAULTS = {"opinions": 1_000_000, "suggestions": 100_000, "activities": 200_000, "years": 2, "seed": 0}


def _per_scale_one(years: int, seed: int) -> dict[str, int]:
    """Rows the demo writes at scale 1, per kind (suggestions and activities counted by the demo's
    own row makers; opinions from its nominal rate, which it meets within a percent)."""
    world = demo.build_world(seed)
    ys = demo.demo_years(years)
    return {
        "opinions": demo.OPINIONS_PER_YEAR * years,
        "suggestions": sum(len(demo._suggestion_rows(world, y, 1.0)) for y in ys),
        "activities": sum(len(demo._activity_rows(world, y, m, 1.0)) for y in ys for m in range(1, 13)),
    }


def ensure_exports(work: Path, opinions: int, suggestions: int, activities: int, years: int = 2,
                   seed: int = 0, log=print) -> dict:
    """Write (or reuse) ``work/exports``; return the manifest: parameters, files with rows, seconds."""
    out = work / "exports"
    manifest_path = work / "exports.json"
    params = {"opinions": opinions, "suggestions": suggestions, "activities": activities,
              "years": years, "seed": seed}
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("params") == params and all(Path(f["path"]).exists() for f in manifest["files"]):
            manifest["reused"] = True
            return manifest
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    one = _per_scale_one(years, seed)
    scales = {k: params[k] / one[k] for k in one}
    log(f"generating demo exports into {out}: scales {', '.join(f'{k} {v:.2f}' for k, v in scales.items())}")
    t0 = time.perf_counter()
    main = demo.write_demo_counted(out, seed=seed, years=years, scale=scales["opinions"])
    world = demo.build_world(seed)
    ys = demo.demo_years(years)
    # Replace the suggestion and activity files by the same tables at their own scales.
    extra = out / "_more"
    extra.mkdir()
    more = demo._write_suggestions(world, extra, ys, scales["suggestions"])
    more += demo._write_activities(world, extra, ys, scales["activities"])
    files = []
    for path, n in main:
        if path.name.startswith(("代表建议", "履职活动")):
            path.unlink()
        else:
            files.append((path, n))
    for path, n in more:
        target = out / path.name
        path.replace(target)
        files.append((target, n))
    extra.rmdir()
    seconds = time.perf_counter() - t0
    manifest = {
        "params": params, "scales": scales, "seconds": round(seconds, 1), "reused": False,
        "files": [{"path": str(p), "rows": n, "bytes": p.stat().st_size} for p, n in sorted(files)],
    }
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, required=True)
    for k, v in DEFAULTS.items():
        ap.add_argument(f"--{k}", type=int, default=v)
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    m = ensure_exports(args.workdir, args.opinions, args.suggestions, args.activities, args.years, args.seed)
    for f in m["files"]:
        print(f"{Path(f['path']).name}\t{f['rows']:,} rows\t{f['bytes'] / 2**20:,.1f} MiB")
    print(f"{'reused' if m['reused'] else 'written'} in {m['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
