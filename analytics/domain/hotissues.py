"""Hot-word terms ranked by evidence, and 热点问题 (hot issues): opinions about one concern at one place.

Both read what segmentation stored at import (``opinion_words``, ``opinion_seg``; no text is cut here).
The definitions, with their reasons and measured figures, are in docs/hotwords.md §4a and §4b.

Terms (``top_terms``): the words of the filter's opinions, each classified by ``analytics.text.terms``
(term / place / organisation / person / function word); places are kept apart as the 地点, the other
non-terms are dropped, and the terms are ranked by

    词分 score = 意见数 × 特征性 × 集中度 × 稀有度 × 词性权重

- 特征性 keyness = max(0, log2(f / f_bg) − 4): f the word's share of the filter's tokens, f_bg its
  share of jieba's 60-million-word corpus of general Chinese; 4 = sixteen times more frequent than in
  general Chinese gives 0 (无法, 开始, 国家 never get there);
- 集中度 burstiness = (opinions holding it at least twice + 1) ÷ (opinions holding it + 2): a topical
  word is repeated in a message about it, a word of the genre (咨询, 得到) is said once;
- 稀有度 rarity = ln(N ÷ 意见数), N = opinions in the filter: a word in a quarter of all messages
  is the genre of the filter, not a concern;
- 词性权重 = 1 for nouns and unknown words, 0.5 for verbs and verbal nouns (投诉, 咨询: what the
  message does, not what it is about), 0.3 for adjectives.

A term that begins a place of the filter (星沙 of 星沙镇) is a place.

Hot issues (``hot_issues``): see ``cluster`` and ``heat``.
"""
from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analytics.domain import hotwords as hw
from analytics.text import terms as tx

CANDIDATES = 3000   # words read per query (by opinions), then ranked in Python
KEYNESS_FLOOR = 4.0
POS_WEIGHT = {"v": 0.5, "vn": 0.5, "vd": 0.5, "vi": 0.5, "a": 0.3, "an": 0.3, "ad": 0.3}


def _word_rows(cur, v: int, start: date, end: date, fsql: str, fparams: list, limit: int = CANDIDATES):
    return cur.execute(f"""
        WITH w AS (
            SELECT word_id, count(*) AS docs, sum(cnt) AS count, count(*) FILTER (WHERE cnt >= 2) AS d2
            FROM opinion_words WHERE dict_version = ? AND day >= ? AND day < ?{fsql}
            GROUP BY word_id ORDER BY docs DESC, count DESC, word_id LIMIT ?)
        SELECT w.word_id, words.word, w.docs, w.count, w.d2 FROM w JOIN words USING (word_id)""",
                       [v, start, end, *fparams, int(limit)]).fetchall()


def _totals(cur, v: int, start: date, end: date, fsql: str, fparams: list) -> tuple[int, int]:
    n, tokens = cur.execute(
        f"SELECT count(*), coalesce(sum(n_words), 0) FROM opinion_seg WHERE dict_version = ? AND day >= ? AND day < ?{fsql}",
        [v, start, end, *fparams]).fetchone()
    return int(n), int(tokens)


def term_score(docs: int, count: int, d2: int, n_docs: int, tokens: int, word: str) -> dict:
    """The parts of a term's score (module docstring); a golden test checks them by hand."""
    key = max(0.0, tx.keyness(count, tokens, word) - KEYNESS_FLOOR)
    burst = (d2 + 1) / (docs + 2)
    rarity = math.log(n_docs / docs) if docs and n_docs > docs else 0.0
    posw = POS_WEIGHT.get(tx.pos(word), 1.0)
    return {"keyness": key, "burstiness": burst, "rarity": rarity, "pos_weight": posw,
            "score": docs * key * burst * rarity * posw}


def classify(words) -> dict[str, str]:
    """word -> kind; a term that begins a place among ``words`` (星沙 / 星沙镇) is a place."""
    kinds = {w: tx.kind(w) for w in words}
    places = [w for w, k in kinds.items() if k == tx.PLACE]
    prefixes = {p[:i] for p in places for i in range(2, len(p))}
    for w, k in kinds.items():
        if k == tx.TERM and w in prefixes:
            kinds[w] = tx.PLACE
    return kinds


def top_terms(con, start, end, top: int = 50, dict_version: int | None = None, **filters) -> pd.DataFrame:
    """Columns: word, docs, count, share, score, keyness, burstiness, rarity, pos_weight — best first."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    fsql, fparams = hw._filters({k: filters.get(k) for k in hw.FILTER_COLUMNS})
    cur = con.cursor()
    try:
        rows = _word_rows(cur, v, start, end, fsql, fparams)
        n, tokens = _totals(cur, v, start, end, fsql, fparams)
    finally:
        cur.close()
    kinds = classify([r[1] for r in rows])
    out = []
    for _, word, docs, count, d2 in rows:
        if kinds[word] != tx.TERM:
            continue
        parts = term_score(int(docs), int(count), int(d2), n, tokens, word)
        if parts["score"] > 0:
            out.append({"word": word, "docs": int(docs), "count": int(count), "share": docs / n if n else 0.0, **parts})
    out.sort(key=lambda r: (-r["score"], -r["docs"], r["word"]))
    cols = ["word", "docs", "count", "share", "score", "keyness", "burstiness", "rarity", "pos_weight"]
    return pd.DataFrame(out[:int(top)], columns=cols)


def top_places(con, start, end, top: int = 20, dict_version: int | None = None, **filters) -> pd.DataFrame:
    """The places named in the filter's opinions (word, docs), most opinions first."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    fsql, fparams = hw._filters({k: filters.get(k) for k in hw.FILTER_COLUMNS})
    cur = con.cursor()
    try:
        rows = _word_rows(cur, v, start, end, fsql, fparams)
    finally:
        cur.close()
    kinds = classify([r[1] for r in rows])
    out = [(w, int(d)) for _, w, d, _, _ in rows if kinds[w] == tx.PLACE]
    return pd.DataFrame(out[:int(top)], columns=["word", "docs"])


# ───────────────────────────── hot issues ─────────────────────────────

ISSUE_TERMS = 400      # the filter's best terms that describe opinions for grouping
SIGNATURE = 6          # an opinion is described by its best terms (count × term weight)
SIMILARITY = 0.45      # cosine of an opinion with an issue's centre to join it
MAX_GAP_DAYS = 60      # an issue takes no opinion more than this after its latest one
MIN_OPINIONS = 2
BROAD_SHARE = 0.05     # a term or place in more than 5 % of the filter's opinions is too broad to group by
GROWTH_DAYS = 30
HEAT_FORMULA = ("热度 = 10×ln(1+意见数) + 10×ln(1+提交人数) + 5×ln(1+支持数) + 5×ln(1+持续周数) + 10×增长；"
                "增长 = (近30天意见数 − 前30天意见数) ÷ (二者之和)，无意见时为 0")


def heat(opinions: int, submitters: int, support: int, span_days: int, recent: int, before: int) -> dict:
    """The heat index and its parts (docs/hotwords.md §4b; a golden test checks it by hand)."""
    growth = (recent - before) / (recent + before) if recent + before else 0.0
    parts = {
        "意见数": 10 * math.log1p(opinions),
        "提交人数": 10 * math.log1p(submitters),
        "支持数": 5 * math.log1p(support),
        "持续": 5 * math.log1p(span_days / 7),
        "增长": 10 * growth,
    }
    return {"heat": sum(parts.values()), "parts": parts, "growth": growth}


def _doc_rows(cur, v, start, end, fsql, fparams, ids: list[int]):
    cur.execute("CREATE OR REPLACE TEMP TABLE _hi_ids (word_id INTEGER)")
    cur.executemany("INSERT INTO _hi_ids VALUES (?)", [[i] for i in ids])
    rows = cur.execute(f"""
        SELECT ow.doc_id, ow.word_id, ow.cnt, ow.day FROM opinion_words ow JOIN _hi_ids USING (word_id)
        WHERE ow.dict_version = ? AND ow.day >= ? AND ow.day < ?{fsql.replace(' AND ', ' AND ow.')}
        ORDER BY ow.day, ow.doc_id""", [v, start, end, *fparams]).fetchall()
    cur.execute("DROP TABLE IF EXISTS _hi_ids")
    return rows


def cluster(docs: list[tuple[int, object, dict[str, float], str | None]]) -> list[list[int]]:
    """Group opinions, in date order, into issues: one pass, each opinion joining the issue whose
    centre (sum of its opinions' term weights) is nearest by cosine — if at least SIMILARITY, the
    issue's latest opinion is at most MAX_GAP_DAYS before, and their places agree (an opinion and an
    issue that both name a place must name the same one) — else starting a new issue. Candidates
    are found through the issues' first terms (an inverted index), so the pass is linear.

    ``docs``: (doc_id, day, {term: weight}, place or None) sorted by day. Returns lists of doc_ids."""
    centres: list[dict[str, float]] = []
    norms: list[float] = []
    last_day: list = []
    places: list[str | None] = []
    members: list[list[int]] = []
    index: dict[str, list[int]] = {}
    for doc_id, day, vec, place in docs:
        if not vec:
            continue
        vnorm = math.sqrt(sum(x * x for x in vec.values()))
        best, best_sim = -1, 0.0
        seen = set()
        for t in vec:
            for c in index.get(t, ())[-50:]:
                if c in seen:
                    continue
                seen.add(c)
                if (day - last_day[c]).days > MAX_GAP_DAYS:
                    continue
                if place and places[c] and place != places[c]:
                    continue
                cen = centres[c]
                dot = sum(w * cen.get(t2, 0.0) for t2, w in vec.items())
                sim = dot / (vnorm * norms[c]) if norms[c] else 0.0
                if sim > best_sim:
                    best, best_sim = c, sim
        if best >= 0 and best_sim >= SIMILARITY:
            cen = centres[best]
            for t, w in vec.items():
                cen[t] = cen.get(t, 0.0) + w
            norms[best] = math.sqrt(sum(x * x for x in cen.values()))
            last_day[best] = day
            members[best].append(doc_id)
            if place and not places[best]:
                places[best] = place
            for t in list(vec)[:2]:
                if best not in index.setdefault(t, [])[-50:]:
                    index[t].append(best)
        else:
            c = len(centres)
            centres.append(dict(vec))
            norms.append(vnorm)
            last_day.append(day)
            places.append(place)
            members.append([doc_id])
            for t in list(vec)[:3]:
                index.setdefault(t, []).append(c)
    return members


def hot_issues(con, start, end, top: int = 10, dict_version: int | None = None, **filters) -> list[dict]:
    """The filter's hot issues, hottest first: rank, title (地点 + 事项), heat, heat_parts, opinions,
    submitters, support, first, last, places, terms, opinion_ids."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    fsql, fparams = hw._filters({k: filters.get(k) for k in hw.FILTER_COLUMNS})
    cur = con.cursor()
    try:
        rows = _word_rows(cur, v, start, end, fsql, fparams)
        n, tokens = _totals(cur, v, start, end, fsql, fparams)
        kinds = classify([r[1] for r in rows])
        weight: dict[int, tuple[str, float]] = {}
        place_docs: dict[int, tuple[str, int]] = {}
        scored = []
        for wid, word, docs, count, d2 in rows:
            k = kinds[word]
            broad = int(docs) > BROAD_SHARE * n
            if k == tx.TERM and not broad:
                p = term_score(int(docs), int(count), int(d2), n, tokens, word)
                if p["score"] > 0:
                    scored.append((p["score"], wid, word, p["rarity"] ** 2 * p["pos_weight"]))
            elif k == tx.PLACE and int(docs) >= 2 and not broad and len(word) >= 3 and tx.specific_place(word):
                place_docs[wid] = (word, int(docs))
        scored.sort(reverse=True)
        for _, wid, word, w in scored[:ISSUE_TERMS]:
            weight[wid] = (word, w)
        data = _doc_rows(cur, v, start, end, fsql, fparams, [*weight, *place_docs]) if weight else []
        by_doc: dict[int, list] = {}
        for doc_id, wid, cnt, day in data:
            by_doc.setdefault(doc_id, [day, [], []])
            if wid in weight:
                by_doc[doc_id][1].append((math.sqrt(cnt) * weight[wid][1], weight[wid][0]))
            else:
                by_doc[doc_id][2].append(place_docs[wid])
        docs = []
        for doc_id, (day, tw, pl) in by_doc.items():
            tw.sort(reverse=True)
            vec = {t: w for w, t in tw[:SIGNATURE]}
            place = min(pl, key=lambda x: (x[1], x[0]))[0] if pl else None
            docs.append((doc_id, day, vec, place))
        docs.sort(key=lambda d: (d[1], d[0]))
        groups = [g for g in cluster(docs) if len(g) >= MIN_OPINIONS]
        issues = _describe(cur, groups, by_doc, weight, start, end)
    finally:
        cur.close()
    issues = [i for i in issues if i["submitters"] >= MIN_OPINIONS or i["opinions"] >= 3]
    issues.sort(key=lambda i: (-i["heat"], i["first"], i["title"]))
    for r, it in enumerate(issues[:int(top)], start=1):
        it["rank"] = r
    return issues[:int(top)]


def _describe(cur, groups, by_doc, weight, start, end) -> list[dict]:
    if not groups:
        return []
    all_ids = [d for g in groups for d in g]
    cur.execute("CREATE OR REPLACE TEMP TABLE _hi_docs (doc_id BIGINT, g INTEGER)")
    cur.executemany("INSERT INTO _hi_docs VALUES (?, ?)", [[d, gi] for gi, g in enumerate(groups) for d in g])
    meta = cur.execute("""
        SELECT h.g, h.doc_id, s.opinion_id, o.submitter, s.day FROM _hi_docs h
        JOIN opinion_seg s USING (doc_id) JOIN opinions o ON o.opinion_id = s.opinion_id""").fetchall()
    cur.execute("DROP TABLE IF EXISTS _hi_docs")
    info: dict[int, list] = {}
    for g, doc_id, oid, sub, day in meta:
        info.setdefault(g, []).append((doc_id, oid, sub, day))
    last_day = end - timedelta(days=1)
    out = []
    for gi, g in enumerate(groups):
        items = sorted(info.get(gi, []), key=lambda x: (x[3], x[1]))
        if not items:
            continue
        term_docs: dict[str, int] = {}
        place_docs: dict[str, int] = {}
        for doc_id in g:
            _, tw, pl = by_doc[doc_id]
            for t in {t for _, t in tw}:
                term_docs[t] = term_docs.get(t, 0) + 1
            for p in {p for p, _ in pl}:
                place_docs[p] = place_docs.get(p, 0) + 1
        terms_ = sorted(term_docs, key=lambda t: (-term_docs[t], t))
        places_ = sorted(place_docs, key=lambda p: (-place_docs[p], p))
        subs = {s for _, _, s, _ in items if s}
        first, last = items[0][3], items[-1][3]
        recent = sum(1 for *_, d in items if (last_day - d).days < GROWTH_DAYS)
        before = sum(1 for *_, d in items if GROWTH_DAYS <= (last_day - d).days < 2 * GROWTH_DAYS)
        h = heat(len(items), len(subs) or len(items), 0, (last - first).days + 1, recent, before)
        title = (places_[0] if places_ else "") + "、".join(terms_[:2])
        out.append({"title": title, "heat": round(h["heat"], 2), "heat_parts": h["parts"],
                    "opinions": len(items), "submitters": len(subs) or len(items), "support": 0,
                    "first": first, "last": last, "places": places_[:5], "terms": terms_[:8],
                    "opinion_ids": [oid for _, oid, _, _ in items]})
    return out
