"""未定位 opinions located later: a town proposed from the places their text names, accepted or
assigned by a clerk as a batch that can be undone like an import, and audited.

The gazetteer (``data/gazetteer.csv``: 地名, 类别, 镇街) lists the district's villages, communities,
stations, roads and rivers with their town; the towns' own names and short forms (瓜沥镇, 瓜沥) count
too. A text is proposed the one town its places point to: places of several towns, or a place
listed under several towns (a river through three), propose nothing.

How figures change when rows are located (docs/data-management.md): the district's figures stay
as they were (the rows were always in them); the town's figures gain the rows; towns' indices and
the ranking are computed again with them.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from analytics.core.contract import Contract, load_contract
from analytics.core.paths import DATA_DIR
from analytics.core.privacy import mask_text
from analytics.ingest.profiles import AdminError, load_limits
from analytics.store.db import login_name

GAZETTEER_PATH = DATA_DIR / "gazetteer.csv"
MIN_PLACE_CHARS = 2  # shorter names match too much
SHOWN_TEXT = 80  # characters of an opinion's text the page shows beside its proposal


@dataclass(frozen=True)
class Gazetteer:
    places: dict[str, frozenset[str]]  # place name -> the towns it is in
    pattern: re.Pattern | None  # every place, longest first

    def towns_named(self, text: str | None) -> dict[str, list[str]]:
        """town -> the places of ``text`` that name it (a place in several towns names none)."""
        out: dict[str, list[str]] = {}
        if not text or self.pattern is None:
            return out
        for m in self.pattern.finditer(text):
            towns = self.places[m.group(0)]
            if len(towns) == 1:
                (town,) = towns
                if m.group(0) not in out.setdefault(town, []):
                    out[town].append(m.group(0))
        return out

    def propose(self, *texts: str | None) -> tuple[str | None, str]:
        """(town, why) for an opinion's title and text; (None, why not) when nothing or several
        towns are named."""
        named: dict[str, list[str]] = {}
        for t in texts:
            for town, places in self.towns_named(t).items():
                named.setdefault(town, []).extend(p for p in places if p not in named.get(town, []))
        if not named:
            return None, "文中没有地名表里的地名"
        if len(named) > 1:
            return None, "文中的地名分属几个镇街：" + "；".join(f"{t}（{'、'.join(p)}）" for t, p in named.items())
        (town, places), = named.items()
        return town, f"文中提到{'、'.join(places)}"


def _read_gazetteer(path: Path) -> list[tuple[str, str]]:
    """(place, town) rows of the gazetteer file; AdminError (file, row) for a town not of the district."""
    contract = load_contract()
    rows = []
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return rows
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for i, r in enumerate(csv.DictReader(lines), start=2):
        place, town = (r.get("地名") or "").strip(), (r.get("镇街") or "").strip()
        if not place:
            continue
        canon = contract.lookup("town", town)
        if canon is None:
            raise AdminError(f"地名表 {path.name} 中“{place}”一行的镇街“{town}”不是萧山区的镇街")
        rows.append((place, canon))
    return rows


@lru_cache(maxsize=4)
def _gazetteer(path: str, stamp: float) -> Gazetteer:
    contract = load_contract()
    places: dict[str, set[str]] = {}
    for town in contract.towns:
        for name in {town, re.sub(r"(街道|镇)$", "", town)}:
            if len(name) >= MIN_PLACE_CHARS:
                places.setdefault(name, set()).add(town)
    for place, town in _read_gazetteer(Path(path)):
        if len(place) >= MIN_PLACE_CHARS:
            places.setdefault(place, set()).add(town)
    frozen = {p: frozenset(t) for p, t in places.items()}
    names = sorted(frozen, key=len, reverse=True)
    return Gazetteer(frozen, re.compile("|".join(map(re.escape, names))) if names else None)


def load_gazetteer(path: str | Path | None = None) -> Gazetteer:
    p = Path(path) if path else GAZETTEER_PATH
    return _gazetteer(str(p), p.stat().st_mtime if p.exists() else 0.0)


UNLOCATED_COLUMNS = ["编号", "提交时间", "标题", "内容", "建议镇街", "依据"]


def unlocated_frame(con, limit: int | None = 500, gazetteer: Gazetteer | None = None) -> tuple[pd.DataFrame, int]:
    """(the newest unlocated opinions with a proposed town and why, how many there are in all).
    Text is masked as on every page."""
    gz = gazetteer or load_gazetteer()
    cur = con.cursor()
    try:
        total = cur.execute("SELECT count(*) FROM opinions WHERE town IS NULL").fetchone()[0]
        rows = cur.execute(
            "SELECT opinion_id, submitted_at, title, content FROM opinions WHERE town IS NULL "
            "ORDER BY submitted_at DESC, opinion_id" + (" LIMIT ?" if limit else ""),
            [int(limit)] if limit else []).fetchall()
    finally:
        cur.close()
    out = []
    for oid, at, title, content in rows:
        town, why = gz.propose(title, content)
        text = mask_text(content or "")
        out.append([oid, at.strftime("%Y-%m-%d %H:%M") if at else "", mask_text(title or "") if title else "",
                    text if len(text) <= SHOWN_TEXT else text[:SHOWN_TEXT] + "…", town or "", why])
    return pd.DataFrame(out, columns=UNLOCATED_COLUMNS), int(total)


def proposals(con, gazetteer: Gazetteer | None = None) -> dict[str, str]:
    """opinion_id -> proposed town, for every unlocated opinion with a proposal."""
    gz = gazetteer or load_gazetteer()
    rows = con.cursor().execute("SELECT opinion_id, title, content FROM opinions WHERE town IS NULL").fetchall()
    out = {}
    for oid, title, content in rows:
        town, _ = gz.propose(title, content)
        if town:
            out[oid] = town
    return out


def _check(assignments: dict[str, str], contract: Contract) -> dict[str, str]:
    if not assignments:
        raise AdminError("没有选择要定位的意见")
    out = {}
    for oid, town in assignments.items():
        canon = contract.lookup("town", str(town or ""))
        if canon is None:
            raise AdminError(f"意见 {oid} 的镇街“{town}”不是萧山区的镇街")
        out[str(oid)] = canon
    return out


def locate(con, assignments: dict[str, str], user: str | None = None, source: str = "补定位") -> dict:
    """Give unlocated opinions their town, in the caller's write transaction, as one batch
    (``import_batches``, with before-images in ``row_history``): ``undo`` takes it back like an
    import. Only opinions still without a town are changed. Returns {batch_id, located, skipped}."""
    from analytics.domain.hotwords import segment_pending
    from analytics.ingest.importer import row_hash_sql

    contract = load_contract()
    wanted = _check(assignments, contract)
    k = contract.kinds["opinions"]
    cur = con.cursor()
    cur.execute("CREATE OR REPLACE TEMP TABLE locate_plan (opinion_id VARCHAR PRIMARY KEY, town VARCHAR)")
    cur.executemany("INSERT INTO locate_plan VALUES (?, ?)", list(wanted.items()))
    cur.execute("DELETE FROM locate_plan WHERE opinion_id NOT IN (SELECT opinion_id FROM opinions WHERE town IS NULL)")
    n = cur.execute("SELECT count(*) FROM locate_plan").fetchone()[0]
    if not n:
        cur.execute("DROP TABLE locate_plan")
        raise AdminError("所选的意见都已有镇街（可能刚被别人定位），没有改动")
    batch_id = cur.execute("SELECT nextval('batch_seq')").fetchone()[0]
    cur.execute("""INSERT INTO row_history (batch_id, kind, row_key, action, old_row)
                   SELECT ?, 'opinions', t.opinion_id, 'update', to_json(t) FROM opinions t
                   WHERE t.opinion_id IN (SELECT opinion_id FROM locate_plan)""", [batch_id])
    cur.execute("UPDATE opinions SET town = p.town, batch_id = ? FROM locate_plan p "
                "WHERE opinions.opinion_id = p.opinion_id", [batch_id])
    cur.execute(f"UPDATE opinions SET row_hash = {row_hash_sql(k, 'opinions')} WHERE batch_id = ?", [batch_id])
    digest = hashlib.sha256(json.dumps(sorted(wanted.items()), ensure_ascii=False).encode()).hexdigest()
    by_town = dict(cur.execute("SELECT town, count(*) FROM locate_plan GROUP BY town ORDER BY town").fetchall())
    name = f"{source}（{n} 条意见）"
    cur.execute(
        """INSERT INTO import_batches (batch_id, file_name, sha256, kinds, imported_at, imported_by, rows_read,
               imported, updated, unchanged, rejected, skipped, sheets, profile, warned)
           VALUES (?, ?, ?, 'opinions', ?, ?, ?, 0, ?, 0, 0, 0, ?, NULL, 0)""",
        [batch_id, name, digest, dt.datetime.now().replace(microsecond=0), user or login_name(), n, n,
         json.dumps([{"sheet": None, "kind": "opinions", "kind_label": "民情民意", "note": source,
                      "towns": by_town}], ensure_ascii=False)])
    cur.execute("DROP TABLE locate_plan")
    segment_pending(cur)  # the word counts carry the town: the changed opinions are counted again
    return {"batch_id": batch_id, "located": n, "skipped": len(wanted) - n, "towns": by_town, "file_name": name}


def locate_at(db, assignments: dict[str, str], user: str | None = None, role: str | None = None,
              wait: float | None = None, source: str = "补定位") -> dict:
    """``locate`` on a store others read: in a copy swapped in whole, audited, counted ahead."""
    from analytics.domain import ahead
    from analytics.store import audit
    from analytics.store.db import snapshot

    if wait is None:
        wait = load_limits().import_wait_s
    with snapshot(db, wait=wait, what="补定位", user=user) as snap:
        snap.con.execute("BEGIN TRANSACTION")
        try:
            result = locate(snap.con, assignments, user, source)
            audit.record(snap.con, "locate", user or login_name(), role=role, target=result["file_name"],
                         detail={"batch_id": result["batch_id"], "towns": result["towns"]})
            snap.con.execute("COMMIT")
        except BaseException:
            snap.con.execute("ROLLBACK")
            raise
        ahead.build_quietly(snap.con)
    return result
