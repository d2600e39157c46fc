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
- 集中度 burstiness = ((opinions holding it at least twice + 1) ÷ (opinions holding it + 2))²: a
  topical word is repeated in a message about it, a word of the genre (咨询, 得到, 合法权益, 上级领导)
  is said once (squared: on the development exports this part separated genre from concern best);
- 稀有度 rarity = ln(1 + N ÷ 意见数), N = opinions in the filter: a word in a quarter of all
  messages is the genre of the filter rather than a concern (the 1 keeps a word that is in every
  opinion of a narrow filter above 0);
- 词性权重 = 1 for nouns and unknown words, 0.5 for verbs and verbal nouns (投诉, 咨询: what the
  message does, not what it is about), 0.3 for adjectives.

A term that begins a place of the filter (星沙 of 星沙镇) is a place.

Hot issues (``hot_issues``): see ``cluster`` and ``heat``.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from datetime import date, timedelta

import numpy as np
import pandas as pd

from analytics.domain import hotwords as hw
from analytics.core.labels import UNLOCATED
from analytics.core.privacy import mask_name, mask_text
from analytics.text import segment as textseg
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
        [v, start, end, *fparams]).fetchall()[0]
    return int(n), int(tokens)


def term_score(docs: int, count: int, d2: int, n_docs: int, tokens: int, word: str) -> dict:
    """The parts of a term's score (module docstring); a golden test checks them by hand."""
    key = max(0.0, tx.keyness(count, tokens, word) - KEYNESS_FLOOR)
    burst = ((d2 + 1) / (docs + 2)) ** 2
    rarity = math.log1p(n_docs / docs) if docs else 0.0
    posw = POS_WEIGHT.get(tx.pos(word), 1.0)
    return {"keyness": key, "burstiness": burst, "rarity": rarity, "pos_weight": posw,
            "score": docs * key * burst * rarity * posw}


NAME_SHARE = 0.3  # a word whose opinions name a place starting with it at least this often is that name


@lru_cache(maxsize=16)
def _dictionary_towns(userdict_text: str) -> frozenset[str]:
    """Words of the user dictionary that the data contract maps to a town (城厢 -> 城厢街道): places.
    (Short names that are ordinary words — 进化, 河上 — are not in the user dictionary.)"""
    from analytics.core.contract import load_contract

    contract = load_contract()
    return frozenset(w for w in textseg.parse_userdict(userdict_text) if contract.lookup("town", w))


def _known_places(cur, v: int) -> frozenset[str]:
    own = cur.cursor()  # dictionary_texts leaves its result open: not on the caller's cursor
    try:
        return _dictionary_towns(hw.dictionary_texts(own, v)[0])
    finally:
        own.close()


def classify(words, cur=None, known_places: frozenset[str] = frozenset()) -> dict[str, str]:
    """word -> kind (``terms.kind``), and a term that is the name of a place is a place: a word jieba
    does not know that begins a place (星沙 / 星沙镇, 泉塘 / 泉塘街道 — among ``words`` or, given ``cur``,
    among every word of the store), or any word when the places starting with it are in at least
    NAME_SHARE as many opinions as the word itself (西地 / 西地省; ``words`` maps word -> opinions),
    or a word of ``known_places`` (the towns' short names in the user dictionary).
    """
    docs = words if isinstance(words, dict) else dict.fromkeys(words, 0)
    kinds = {w: tx.kind(w) for w in docs}
    freq = tx.lexicon()[0]
    cand = [w for w, k in kinds.items() if k == tx.TERM and 2 <= len(w) <= 4]
    unknown = [w for w in cand if w not in freq]
    longer = list(kinds)
    if cur is not None and unknown:
        longer += [r[0] for r in cur.execute(
            "SELECT word FROM words WHERE length(word) > 2 AND (list_contains(?, left(word, 2)) "
            "OR list_contains(?, left(word, 3)) OR list_contains(?, left(word, 4)))",
            [unknown, unknown, unknown]).fetchall()]
    prefixes = {p[:i] for p in longer if tx.kind(p) == tx.PLACE for i in range(2, len(p))}
    named: dict[str, int] = {}
    for p, k in kinds.items():
        if k == tx.PLACE:
            for i in range(2, len(p)):
                named[p[:i]] = named.get(p[:i], 0) + docs[p]
    for w in cand:
        if (w in unknown and w in prefixes) or (docs[w] and named.get(w, 0) >= NAME_SHARE * docs[w]) \
                or w in known_places:
            kinds[w] = tx.PLACE
    return kinds


def top_terms(con, start, end, top: int = 50, dict_version: int | None = None, prev_start=None,
              **filters) -> pd.DataFrame:
    """The filter's terms, best first (module docstring): the columns of ``hotwords.top_words`` (word,
    count, docs, share, prev_docs, change, change_ratio — the previous period as there) and the
    score with its parts (score, keyness, burstiness, rarity, pos_weight)."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    prev = hw.as_date(prev_start) if prev_start is not None else hw._previous(start, end)
    fsql, fparams = hw._filters({k: filters.get(k) for k in hw.FILTER_COLUMNS})
    cur = con.cursor()
    try:
        rows = _word_rows(cur, v, start, end, fsql, fparams)
        n, tokens = _totals(cur, v, start, end, fsql, fparams)
        kinds = classify({r[1]: int(r[2]) for r in rows}, cur, _known_places(cur, v))
        out = []
        for wid, word, docs, count, d2 in rows:
            if kinds[word] != tx.TERM:
                continue
            parts = term_score(int(docs), int(count), int(d2), n, tokens, word)
            if parts["score"] > 0:
                out.append({"word_id": int(wid), "word": word, "docs": int(docs), "count": int(count),
                            "share": docs / n if n else 0.0, **parts})
        out.sort(key=lambda r: (-r["score"], -r["docs"], r["word"]))
        out = out[:int(top)]
        ids = [r["word_id"] for r in out] or [-1]
        prev_docs = dict(cur.execute(f"""
            SELECT word_id, count(*) FROM opinion_words
            WHERE dict_version = ? AND day >= ? AND day < ? AND {hw._in(ids)}{fsql}
            GROUP BY word_id""", [v, prev, start, *ids, *fparams]).fetchall())
    finally:
        cur.close()
    for r in out:
        r["prev_docs"] = int(prev_docs.get(r["word_id"], 0))
        r["change"] = r["docs"] - r["prev_docs"]
        r["change_ratio"] = r["docs"] / r["prev_docs"] - 1 if r["prev_docs"] else None
    cols = ["word", "count", "docs", "share", "prev_docs", "change", "change_ratio", "score", "keyness",
            "burstiness", "rarity", "pos_weight"]
    df = pd.DataFrame(out, columns=["word_id", *cols])[cols]
    for c in ("count", "docs", "prev_docs", "change"):
        df[c] = df[c].astype("int64")
    return df


def top_places(con, start, end, top: int = 20, dict_version: int | None = None, **filters) -> pd.DataFrame:
    """The places named in the filter's opinions (word, docs), most opinions first."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    fsql, fparams = hw._filters({k: filters.get(k) for k in hw.FILTER_COLUMNS})
    cur = con.cursor()
    try:
        rows = _word_rows(cur, v, start, end, fsql, fparams)
        kinds = classify({r[1]: int(r[2]) for r in rows}, cur, _known_places(cur, v))
    finally:
        cur.close()
    out = [(w, int(d)) for _, w, d, _, _ in rows if kinds[w] == tx.PLACE]
    return pd.DataFrame(out[:int(top)], columns=["word", "docs"])


# ───────────────────────────── hot issues ─────────────────────────────

ISSUE_TERMS = 400      # the filter's best terms that describe opinions for grouping
SIGNATURE = 6          # an opinion is described by its best terms (√count × weight)
SIMILARITY = 0.35      # cosine of an opinion with an issue's centre to join it
MERGE_SIMILARITY = 0.5  # cosine of two issues' centres to merge them (second pass)
MAX_GAP_DAYS = 60      # an issue takes no opinion more than this after its latest one
CANDIDATE_ISSUES = 10  # per term, the issues (latest first) an opinion is compared with
LOOKUP_TERMS = 2       # an opinion looks for issues through its best terms only
MIN_OPINIONS = 2
BROAD_SHARE = 0.05     # a term in more than 5 % of the filter's opinions is too broad to group by …
BROAD_MIN = 20         # … unless it is in at most 20 (a small filter)
GROWTH_DAYS = 30
HEAT_FORMULA = ("热度 = 10×ln(1+意见数) + 10×ln(1+提交人数) + 5×ln(1+支持数) + 5×ln(1+持续周数) + 10×增长；"
                "增长 = (近30天意见数 − 前30天意见数) ÷ (二者之和)，二者皆无时为 0")
HEAT_PARTS = {
    "意见数": "10 × ln(1 + 意见数)：规模，增长放缓（第 10 条比第 2 条加得少）",
    "提交人数": "10 × ln(1 + 不同提交人数)：多少人在说，一人反复来信不抬高",
    "支持数": "5 × ln(1 + 各条意见的支持/点赞数之和)：导出文件有这一列时才有，没有时为 0",
    "持续": "5 × ln(1 + 持续周数)：首条到末条的天数 ÷ 7，长期未解决的事更热",
    "增长": "10 × 增长：期间最后 30 天与之前 30 天的意见数之差 ÷ 之和，在 −1 与 1 之间",
}


def heat(opinions: int, submitters: int, support: int, span_days: int, recent: int, before: int) -> dict:
    """The heat index and its parts (HEAT_FORMULA; docs/hotwords.md §4b; a golden test checks it)."""
    growth = (recent - before) / (recent + before) if recent + before else 0.0
    parts = {
        "意见数": 10 * math.log1p(opinions),
        "提交人数": 10 * math.log1p(submitters),
        "支持数": 5 * math.log1p(support),
        "持续": 5 * math.log1p(span_days / 7),
        "增长": 10 * growth,
    }
    return {"heat": sum(parts.values()), "parts": parts, "growth": growth}


@dataclass
class Doc:
    """An opinion as the grouping sees it."""
    doc_id: int
    day: date
    vec: dict[str, float]          # its best terms and their weights
    places: frozenset[str] = frozenset()
    anchor: str | None = None      # its most specific place
    town: str | None = None        # its 镇街 (column), when located


def anchor_of(places) -> str | None:
    """The most specific of an opinion's places (a named place before a code; a district's code before
    a city's), ties by the name."""
    good = [p for p in places if tx.specific_place(p)]
    return min(good, key=lambda p: (tx.place_rank(p), -len(p), p)) if good else None


@lru_cache(maxsize=100_000)
def _anchor(places: frozenset[str]) -> str | None:
    """``anchor_of``, kept: many opinions name the same places."""
    return anchor_of(places)


def _places_agree(doc: Doc, issue: "_Issue") -> bool:
    """An opinion and an issue are about the same place: their 镇街 (the export's column) do not differ,
    and unless one of them names no place, the opinion's most specific place is among the places of
    the issue's first opinion, or that opinion's most specific place is among the opinion's. (The
    issue's first opinion, not all its opinions: otherwise an issue would drift from place to place.)"""
    if doc.town and issue.town and doc.town != issue.town:
        return False
    if not doc.places or not issue.places:
        return True
    return doc.anchor in issue.places or issue.anchor in doc.places


class _Issue:
    __slots__ = ("centre", "norm", "first", "last", "places", "anchor", "town", "members")

    def __init__(self, doc: Doc):
        self.centre = dict(doc.vec)
        self.norm = math.sqrt(sum(x * x for x in doc.vec.values()))
        self.first = self.last = doc.day
        self.places, self.anchor, self.town = doc.places, doc.anchor, doc.town
        self.members = [doc.doc_id]

    def add(self, doc: Doc) -> None:
        if not self.places and doc.places:  # the first opinion that names a place fixes the issue's
            self.places, self.anchor = doc.places, doc.anchor
        if self.town is None:
            self.town = doc.town
        for t, w in doc.vec.items():
            self.centre[t] = self.centre.get(t, 0.0) + w
        self.norm = math.sqrt(sum(x * x for x in self.centre.values()))
        self.last = max(self.last, doc.day)
        self.members.append(doc.doc_id)


class _Clusterer:
    """``cluster`` fed in date order, a chunk at a time (the store's issues are built month by month so
    that only one month's opinions are described in memory at once)."""

    def __init__(self):
        self.issues: list[_Issue] = []
        self.index: dict[str, list[int]] = {}
        self._retired = 0  # the issues before this one were looked at by ``retire``

    def feed(self, docs) -> None:
        """Docs sorted by (day, doc_id), none earlier than those fed before."""
        issues, index = self.issues, self.index
        for doc in docs:
            vec = doc.vec
            if not vec:
                continue
            vnorm = math.sqrt(sum(x * x for x in vec.values()))
            oldest = doc.day - timedelta(days=MAX_GAP_DAYS)
            best, best_sim, seen = -1, 0.0, set()
            for t in islice(vec, LOOKUP_TERMS):
                for c in index.get(t, ())[-CANDIDATE_ISSUES:]:
                    if c in seen:
                        continue
                    seen.add(c)
                    it = issues[c]
                    if it.last < oldest or not _places_agree(doc, it):
                        continue
                    centre = it.centre
                    dot = sum(w * centre.get(t2, 0.0) for t2, w in vec.items())
                    sim = dot / (vnorm * it.norm) if it.norm else 0.0
                    if sim > best_sim:
                        best, best_sim = c, sim
            if best >= 0 and best_sim >= SIMILARITY:
                issues[best].add(doc)
                c = best
            else:
                c = len(issues)
                issues.append(_Issue(doc))
            for t in doc.vec:
                lst = index.setdefault(t, [])
                if not lst or lst[-1] != c:
                    lst.append(c)

    def retire(self, day: date) -> None:
        """Forget the single opinions that no later opinion can join (their latest day more than
        MAX_GAP_DAYS before ``day``): they are never an issue (only the store's issues call this)."""
        issues, oldest = self.issues, day - timedelta(days=MAX_GAP_DAYS)
        while self._retired < len(issues) and issues[self._retired].first < oldest:  # in the order they began
            it = issues[self._retired]
            if len(it.members) < MIN_OPINIONS:  # a single opinion's latest day is its first
                issues[self._retired] = _GONE
            self._retired += 1
        for lst in self.index.values():  # a term's latest CANDIDATE_ISSUES issues are all ever read
            del lst[:-CANDIDATE_ISSUES]

    def result(self) -> list[list[int]]:
        return [it.members for it in merge_similar([it for it in self.issues if it is not _GONE])]


class _Gone:
    """A single opinion let go by ``_Clusterer.retire``: older than any later opinion can join."""
    last = date.min


_GONE = _Gone()


def cluster(docs: list[Doc]) -> list[list[int]]:
    """Group opinions into issues in one pass, in date order: each opinion joins the issue whose centre
    (the sum of its opinions' term weights) is nearest by cosine — if that is at least SIMILARITY, the
    issue's latest opinion is at most MAX_GAP_DAYS earlier and their places agree (``_places_agree``)
    — else it starts a new issue. An opinion is compared only with the latest CANDIDATE_ISSUES issues
    that hold one of its LOOKUP_TERMS best terms (an inverted index), so the pass is linear in the
    opinions. Then ``merge_similar``.
    Returns the issues' doc ids, in the order the issues started (merged ones first)."""
    c = _Clusterer()
    c.feed(sorted(docs, key=lambda d: (d.day, d.doc_id)))
    return c.result()


def _cosine(a: dict[str, float], b: dict[str, float], na: float, nb: float) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items()) / (na * nb) if na and nb else 0.0


def merge_similar(issues: list["_Issue"]) -> list["_Issue"]:
    """Second pass: an issue of two or more opinions whose centre is at least MERGE_SIMILARITY (cosine)
    like a bigger issue's, both naming the same place, overlapping it in time (within MAX_GAP_DAYS), is merged
    into it — one pass over the issues by size, compared through their centres' best terms. The first
    pass cuts one concern into several issues when its messages drift over months."""
    kept: list[_Issue] = []
    index: dict[str, list[int]] = {}
    singles = []
    for it in sorted(issues, key=lambda i: (-len(i.members), i.members[0])):
        if len(it.members) < MIN_OPINIONS:
            singles.append(it)
            continue
        top = sorted(it.centre, key=lambda t: -it.centre[t])[:3]
        target = None
        for c in dict.fromkeys(k for t in top for k in index.get(t, ())):
            big = kept[c]
            if it.town and big.town and it.town != big.town:
                continue
            if not (it.places and big.places) or not (it.anchor in big.places or big.anchor in it.places):
                continue  # only issues that both name a place, the same one
            if it.first > big.last + timedelta(days=MAX_GAP_DAYS) or big.first > it.last + timedelta(days=MAX_GAP_DAYS):
                continue
            if _cosine(it.centre, big.centre, it.norm, big.norm) >= MERGE_SIMILARITY:
                target = big
                break
        if target is None:
            index_id = len(kept)
            kept.append(it)
            for t in top:
                index.setdefault(t, []).append(index_id)
        else:
            for t, w in it.centre.items():
                target.centre[t] = target.centre.get(t, 0.0) + w
            target.norm = math.sqrt(sum(x * x for x in target.centre.values()))
            target.members.extend(it.members)
            target.first, target.last = min(target.first, it.first), max(target.last, it.last)
    return kept + singles


def _term_weights(cur, v, rows, n, tokens) -> tuple[dict[int, tuple[str, float]], dict[int, str]]:
    """The terms that describe opinions for grouping — word id -> (word, weight): the ISSUE_TERMS best
    terms of ``rows`` that are not too broad (BROAD_SHARE), weighted rarity² × 词性权重 — and the
    places among ``rows`` (word id -> word)."""
    kinds = classify({r[1]: int(r[2]) for r in rows}, cur, _known_places(cur, v))
    scored, place_ids = [], {}
    for wid, word, docs, count, d2 in rows:
        k = kinds[word]
        if k == tx.TERM and (int(docs) <= BROAD_SHARE * n or int(docs) <= BROAD_MIN):
            p = term_score(int(docs), int(count), int(d2), n, tokens, word)
            if p["score"] > 0:
                scored.append((p["score"], int(wid), word, p["rarity"] ** 2 * p["pos_weight"]))
        elif k == tx.PLACE:
            place_ids[int(wid)] = word
    scored.sort(key=lambda x: (-x[0], x[1]))
    return {wid: (word, w) for _, wid, word, w in scored[:ISSUE_TERMS]}, place_ids


def _docs(cur, v, weight: dict[int, tuple[str, float]], place_ids: dict[int, str], where: str, params: list,
          join: str = "") -> list[Doc]:
    """The opinions of ``opinion_words`` rows matching ``where`` (on alias ow; ``join`` adds tables) as
    Docs: each described by its SIGNATURE best terms of ``weight`` (√count × weight) and its places,
    sorted by (day, doc_id)."""
    if not weight:
        return []
    ids = np.array([*weight, *place_ids], dtype=np.int32)
    cur.register("_hi_ids", pd.DataFrame({"word_id": ids}))
    try:
        got = cur.execute(f"""
            SELECT ow.doc_id, ow.word_id, ow.cnt, ow.day, ow.town FROM opinion_words ow JOIN _hi_ids USING (word_id){join}
            WHERE ow.dict_version = ?{where}""", [v, *params]).fetchnumpy()
    finally:
        cur.unregister("_hi_ids")
    doc, wid, cnt = (np.asarray(got[k]) for k in ("doc_id", "word_id", "cnt"))
    if not len(doc):
        return []
    # Per word id: its weight (0 for a place) and its word; then per opinion, its words by weight.
    lut_w = np.zeros(int(ids.max()) + 1)
    names = {}
    for i, (word, w) in weight.items():
        lut_w[i] = w
        names[i] = word
    names.update(place_ids)
    wts = np.sqrt(cnt) * lut_w[wid]
    days = np.asarray(got["day"]).astype("datetime64[D]")
    order = np.lexsort((wid, -wts, doc, days))
    doc, wid, wts, days = doc[order], wid[order], wts[order], days[order]
    town = np.asarray(got["town"], dtype=object)[order]
    bounds = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1], True])
    first_days = days[bounds[:-1]].astype(object)  # datetime.date, converted at once
    out = []
    for lo, hi in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
        vec, places = {}, []
        for k in range(lo, hi):
            w = wts[k]
            if w > 0:
                if len(vec) < SIGNATURE:
                    vec[names[int(wid[k])]] = float(w)
            else:
                places.append(names[int(wid[k])])
        t = town[lo] if town[lo] and town[lo] != UNLOCATED else None
        if t:
            places.append(t)  # the opinion's 镇街, when the export says it, is a place of it
        pl = frozenset(places)
        out.append(Doc(int(doc[lo]), first_days[len(out)], vec, pl, _anchor(pl), t))
    return out


# ── the store's issues: every opinion's issue, built once per store state ──

ASSIGNMENT = "hotissues.assignment"  # memo / derived name: the store's issues
CHUNK_DAYS = 31                      # the store's opinions are described and grouped a month at a time


@dataclass
class Assignment:
    """The store's issues: ``cluster`` over every segmented opinion, with the term weights of the whole
    store. Only opinions in an issue of two or more are kept: doc_id (sorted), issue (its number),
    sub (a hash of the submitter, 0 when none), support (0 when unknown); and the term weights and
    places used, to describe an issue's opinions again."""
    doc_id: np.ndarray
    issue: np.ndarray
    sub: np.ndarray
    support: np.ndarray
    weight: dict[int, tuple[str, float]]
    place_ids: dict[int, str]


def store_issues(con, v: int) -> Assignment:
    """The store's issues (``Assignment``), kept per store state and built at import (``warm_ahead``)."""
    from analytics.store import memo

    cur = con.cursor()
    try:
        return memo.remember(cur, ASSIGNMENT, (v, hw.seg_state(cur)), lambda: _assign(con, v))
    finally:
        cur.close()


def _assign(con, v: int) -> Assignment:
    cur = con.cursor()
    try:
        rng = hw.data_range(cur, v)
        weight, place_ids, groups = {}, {}, []
        if rng is not None:
            start, end = rng
            rows = _word_rows(cur, v, start, end, "", [])
            n, tokens = _totals(cur, v, start, end, "", [])
            weight, place_ids = _term_weights(cur, v, rows, n, tokens)
            clu = _Clusterer()
            day = start
            while day < end:
                upto = min(day + timedelta(days=CHUNK_DAYS), end)
                clu.feed(_docs(cur, v, weight, place_ids, " AND ow.day >= ? AND ow.day < ?", [day, upto]))
                clu.retire(upto)
                day = upto
            groups = [g for g in clu.result() if len(g) >= MIN_OPINIONS]
        ids = np.array([d for g in groups for d in g], dtype=np.int64)
        num = np.array([gi for gi, g in enumerate(groups) for _ in g], dtype=np.int32)
        order = np.argsort(ids, kind="stable")
        ids, num = ids[order], num[order]
        sub = np.zeros(len(ids), dtype=np.uint64)
        support = np.zeros(len(ids), dtype=np.int64)
        if len(ids):
            cur.register("_hi_keep", pd.DataFrame({"doc_id": ids}))
            try:
                got = cur.execute("""
                    SELECT k.doc_id, CASE WHEN coalesce(o.submitter, '') = '' THEN 0 ELSE hash(o.submitter) END AS sub,
                           coalesce(o.support, 0) AS support
                    FROM _hi_keep k JOIN opinion_seg s USING (doc_id) JOIN opinions o ON o.opinion_id = s.opinion_id
                    ORDER BY k.doc_id""").fetchnumpy()
            finally:
                cur.unregister("_hi_keep")
            sub = np.asarray(got["sub"]).astype(np.uint64)
            support = np.asarray(got["support"]).astype(np.int64)
    finally:
        cur.close()
    return Assignment(ids, num, sub, support, weight, place_ids)


def _encode_assignment(a: Assignment) -> bytes:
    from analytics.store import derived

    return derived.pack(doc_id=a.doc_id, issue=a.issue, sub=a.sub, support=a.support,
                        meta={"weight": [[k, w, x] for k, (w, x) in a.weight.items()],
                              "places": [[k, w] for k, w in a.place_ids.items()]})


def _decode_assignment(payload: bytes) -> Assignment:
    from analytics.store import derived

    z = derived.unpack(payload)
    meta = z["meta"]
    return Assignment(z["doc_id"], z["issue"], z["sub"], z["support"],
                      {int(k): (w, float(x)) for k, w, x in meta["weight"]}, {int(k): w for k, w in meta["places"]})


HOT_ISSUES = "hotissues.issues"  # memo / derived name: the hot issues of a filter
KEPT_ISSUES = 50                 # issues kept per filter (a request for more recomputes)


def hot_issues(con, start, end, top: int = 10, dict_version: int | None = None, **filters) -> list[dict]:
    """The filter's hot issues, hottest first. Each: rank, title (地点：事项), place, matter, headline (the
    title of its most typical opinion, masked), heat, heat_parts, opinions, submitters, support, first,
    last, places, terms, opinion_ids (oldest first: by submission time, then id).

    The opinions are grouped once per store state, all of them (``store_issues``, built at import by
    ``warm_ahead``, listed in ``analytics.domain.ahead.WARMERS``); a filter's hot issues are the issues
    of its opinions, their heat counted over those opinions. The result is kept per store state too
    (``analytics.store.memo``), and for the pages' default views counted ahead at import."""
    v = hw._resolve_version(con, dict_version)
    start, end = hw.as_date(start), hw.as_date(end)
    flt = tuple((k, filters.get(k)) for k in hw.FILTER_COLUMNS)
    want = max(int(top), KEPT_ISSUES)
    from analytics.store import memo

    cur = con.cursor()
    try:
        key = (v, hw.seg_state(cur), start, end, flt, want)
        issues = memo.remember(cur, HOT_ISSUES, key, lambda: _compute_issues(con, v, start, end, dict(flt), want))
    finally:
        cur.close()
    return [dict(it) for it in issues[:int(top)]]


def warm_ahead(con) -> None:
    """Counting ahead: the hot issues of the latest quarter (the page's default: whole district and each
    town) and of the latest 90 days (the command line's default), whole district."""
    from analytics.domain import metrics

    v = hw.active_version(con)
    if v is None or hw.pending_count(con):
        return
    store_issues(con, v)  # every opinion's issue; each window below is then a lookup
    q = metrics.latest_period(con, "quarter")
    windows = [(q.start, q.end)] if q is not None else []
    if hw.data_range(con) is not None:
        windows.append(hw.latest_window(con))
    for start, end in windows:
        hot_issues(con, start, end)
    if q is not None:
        cur = con.cursor()
        try:
            towns = [t for (t,) in cur.execute(
                "SELECT DISTINCT town FROM opinion_seg WHERE dict_version = ? AND day >= ? AND day < ? "
                "AND town IS NOT NULL AND town <> ? ORDER BY 1",
                [hw.active_version(cur), q.start, q.end, UNLOCATED]).fetchall()]
        finally:
            cur.close()
        for town in towns:
            hot_issues(con, q.start, q.end, town=town)


def _encode(issues) -> bytes:
    return json.dumps(issues, ensure_ascii=False, default=str).encode("utf-8")


def _decode(payload: bytes):
    out = json.loads(payload.decode("utf-8"))
    for it in out:
        it["first"], it["last"] = date.fromisoformat(it["first"]), date.fromisoformat(it["last"])
    return out


SELECT_MARGIN = 20  # issues described beyond those asked for, so that ties at the edge are ranked by title
DESCRIBE = 200      # an issue's terms and places are read from at most this many of its opinions, spread


def _spread(ids: list[int], most: int) -> np.ndarray:
    """``most`` of ``ids`` (all when fewer), evenly spread over them in their order."""
    arr = np.asarray(ids, dtype=np.int64)
    return arr if len(arr) <= most else arr[np.linspace(0, len(arr) - 1, most).round().astype(int)]


def _compute_issues(con, v: int, start: date, end: date, filters: dict, top: int) -> list[dict]:
    """The filter's part of the store's issues (``store_issues``): its opinions are looked up in the
    assignment, each issue's heat is counted over its opinions in the filter (at least MIN_OPINIONS
    opinions from as many people), and only the hottest are described (title, terms, places)."""
    fsql, fparams = hw._filters(filters)
    a = store_issues(con, v)
    cur = con.cursor()
    try:
        got = cur.execute(f"SELECT doc_id, day FROM opinion_seg WHERE dict_version = ? AND day >= ? AND day < ?{fsql}",
                          [v, start, end, *fparams]).fetchnumpy()
        doc = np.asarray(got["doc_id"], dtype=np.int64)
        pos = np.searchsorted(a.doc_id, doc)
        pos[pos >= len(a.doc_id)] = 0
        hit = (a.doc_id[pos] == doc) if len(a.doc_id) else np.zeros(len(doc), dtype=bool)
        if not hit.any():
            return []
        pos, doc = pos[hit], doc[hit]
        days = np.asarray(got["day"]).astype("datetime64[D]")[hit]
        chosen = _hottest(a.issue[pos], a.sub[pos], a.support[pos], days, end, top + SELECT_MARGIN)
        keep = np.isin(a.issue[pos], chosen)
        groups_of: dict[int, list[int]] = {}
        for d, g in zip(doc[keep].tolist(), a.issue[pos][keep].tolist()):
            groups_of.setdefault(g, []).append(d)
        groups = [groups_of[g] for g in sorted(groups_of)]
        if not groups:
            return []
        cur.register("_hi_keep", pd.DataFrame({"doc_id": np.concatenate([_spread(g, DESCRIBE) for g in groups])}))
        try:
            docs = _docs(cur, v, a.weight, a.place_ids, " AND ow.day >= ? AND ow.day < ?", [start, end],
                         join=" JOIN _hi_keep USING (doc_id)")  # the days: DuckDB skips the other row groups
        finally:
            cur.unregister("_hi_keep")
        issues = _summarise(cur, groups, {d.doc_id: d for d in docs}, start, end)
    finally:
        cur.close()
    issues = [i for i in issues if i["submitters"] >= MIN_OPINIONS]
    issues.sort(key=lambda i: (-i["heat"], i["first"], i["title"]))
    for r, it in enumerate(issues[:int(top)], start=1):
        it["rank"] = r
    return issues[:int(top)]


def _hottest(issue: np.ndarray, sub: np.ndarray, support: np.ndarray, days: np.ndarray, end: date,
             top: int) -> np.ndarray:
    """The numbers of the ``top`` hottest issues among the filter's opinions (one entry per opinion):
    ``heat`` counted as ``_summarise`` counts it, with the submitters told apart by their hash."""
    df = pd.DataFrame({"issue": issue, "sub": sub, "support": support,
                       "age": (np.datetime64(end - timedelta(days=1), "D") - days).astype(np.int64),
                       "day": days.astype(np.int64)})
    g = df.groupby("issue", sort=True)
    n = g.size()
    named = df[df["sub"] != 0].groupby("issue")["sub"].nunique().reindex(n.index, fill_value=0)
    subs = named.where(named > 0, n)
    first, last = g["day"].min(), g["day"].max()
    recent = (df["age"] < GROWTH_DAYS).groupby(df["issue"]).sum()
    before = ((df["age"] >= GROWTH_DAYS) & (df["age"] < 2 * GROWTH_DAYS)).groupby(df["issue"]).sum()
    tot = recent + before
    growth = ((recent - before) / tot.where(tot > 0, 1)).where(tot > 0, 0.0)
    heat_ = (10 * np.log1p(n) + 10 * np.log1p(subs) + 5 * np.log1p(g["support"].sum())
             + 5 * np.log1p((last - first + 1) / 7) + 10 * growth)
    ok = (n >= MIN_OPINIONS) & (subs >= MIN_OPINIONS)
    frame = pd.DataFrame({"heat": heat_[ok], "first": first[ok]}).sort_values(["heat", "first"], ascending=[False, True])
    return frame.index.to_numpy()[:int(top)]


def _summarise(cur, groups, docs: dict[int, Doc], start: date, end: date) -> list[dict]:
    """The issues of ``groups`` (doc ids of opinions within [start, end)) as the page shows them."""
    if not groups:
        return []
    ids = np.array([d for g in groups for d in g], dtype=np.int64)
    cur.register("_hi_docs", pd.DataFrame({
        "doc_id": ids, "g": np.array([gi for gi, g in enumerate(groups) for _ in g], dtype=np.int32),
        "described": np.isin(ids, np.fromiter(docs, dtype=np.int64, count=len(docs)))}))
    # the titles of the described opinions only: the headline is chosen among them
    meta = cur.execute("""
        SELECT h.g, h.doc_id, s.opinion_id, o.submitter, s.day, CASE WHEN h.described THEN o.title END,
               coalesce(o.support, 0), o.submitted_at
        FROM _hi_docs h JOIN opinion_seg s USING (doc_id) JOIN opinions o ON o.opinion_id = s.opinion_id
        WHERE s.day >= ? AND s.day < ? AND o.submitted_at >= ? AND o.submitted_at < ?""",
                       [start, end, start, end]).fetchall()
    cur.unregister("_hi_docs")
    info: dict[int, list] = {}
    support: dict[int, int] = {}  # per issue, its opinions' support counts (支持数; unknown counts 0)
    at: dict[str, object] = {}    # opinion id -> submitted at (the order of an issue's opinion_ids)
    for g, doc_id, oid, sub, day, title, sup, submitted in meta:
        info.setdefault(g, []).append((day, oid, doc_id, sub, title))
        support[g] = support.get(g, 0) + int(sup)
        at[oid] = submitted
    last_day = end - timedelta(days=1)
    out = []
    for gi in sorted(info):
        items = sorted(info[gi])
        term_w: dict[str, float] = {}
        place_docs: dict[str, int] = {}
        described = [d for *_, d, _, _ in items if d in docs]  # all, or DESCRIBE of a big issue
        for doc_id in described:
            for t, w in docs[doc_id].vec.items():
                term_w[t] = term_w.get(t, 0.0) + w
            for p in docs[doc_id].places:
                place_docs[p] = place_docs.get(p, 0) + 1
        terms_ = sorted(term_w, key=lambda t: (-term_w[t], t))  # by their weight in the issue's centre
        places_ = sorted((p for p in place_docs if tx.specific_place(p)),
                         key=lambda p: (-place_docs[p], tx.place_rank(p), p))
        subs = {s for *_, s, _ in items if s}
        first, last = items[0][0], items[-1][0]
        recent = sum(1 for d, *_ in items if (last_day - d).days < GROWTH_DAYS)
        before = sum(1 for d, *_ in items if GROWTH_DAYS <= (last_day - d).days < 2 * GROWTH_DAYS)
        n_sub = len(subs) or len(items)
        h = heat(len(items), n_sub, support[gi], (last - first).days + 1, recent, before)
        towns = {docs[d].town for d in described if docs[d].town}
        place = _title_place(places_, place_docs, len(described), towns)
        matter = "、".join(terms_[:2])
        out.append({"title": f"{place}：{matter}" if place else matter, "place": place, "matter": matter,
                    "headline": _headline([it for it in items if it[2] in docs], terms_[:3]),
                    "heat": round(h["heat"], 2), "heat_parts": {k: round(x, 2) for k, x in h["parts"].items()},
                    "opinions": len(items), "submitters": n_sub, "support": support[gi],
                    "first": first, "last": last, "places": places_[:5], "terms": terms_[:8],
                    "opinion_ids": sorted((oid for _, oid, *_ in items), key=lambda o: (at[o], o))})
    return out


def _title_place(places: list[str], place_docs: dict[str, int], n: int, towns=frozenset()) -> str:
    """The issue's place for its title: its most specific place named by at least half its opinions
    (a place named in the text before the 镇街 column, a named place before a code), else ""."""
    common = [p for p in places if place_docs[p] * 2 >= n]
    return min(common, key=lambda p: (tx.place_rank(p), p in towns, -place_docs[p], p)) if common else ""


def _headline(items, terms_: list[str]) -> str:
    """The title of the opinion that holds most of the issue's top terms (earliest on a tie), masked."""
    best, best_hits = "", -1
    for *_, title in items:
        t = (title or "").strip()
        hits = sum(1 for w in terms_ if w in t)
        if t and hits > best_hits:
            best, best_hits = t, hits
    return mask_text(best)[:60]


def quarter_hot_issues(con, quarter=None, top: int = 5, town: str | None = None) -> list[dict]:
    """The top hot issues of a quarter (a ``Period`` or its code such as "2024Q2"; default the latest
    quarter with data), whole district or one town — for the big screen and the quarterly 专报.
    [] when there is nothing segmented."""
    from analytics.core.periods import Period, parse_period
    from analytics.domain import metrics

    if hw.active_version(con) is None:
        return []
    if quarter is None:
        period = metrics.latest_period(con, "quarter")
    elif isinstance(quarter, Period):
        period = quarter
    else:
        period = parse_period(str(quarter))
    if period is None:
        return []
    return hot_issues(con, period.start, period.end, top=top, town=town)


def issue_opinions(con, issue: dict, page: int = 1, page_size: int = 10) -> tuple[pd.DataFrame, int]:
    """An issue's opinions, newest first, one page: (rows, total). Columns as ``hotwords.drilldown``
    (title and content masked again, the submitter by ``mask_name``); ``positions`` of the issue's
    terms in the content, for highlighting."""
    ids = list(issue.get("opinion_ids") or [])
    cols = ["opinion_id", "submitted_at", "town", "station", "channel", "category", "title", "content",
            "submitter", "status", "positions"]
    if not ids:
        return pd.DataFrame(columns=cols), 0
    page = max(int(page), 1)
    # opinion_ids are oldest first by (submitted_at, opinion_id): the page's ones are read by their ids
    # (a look-up in the key's index), not picked from all the issue's (a scan of every opinion).
    newest = ids[::-1][(page - 1) * int(page_size):page * int(page_size)] or [""]
    cur = con.cursor()
    try:
        df = hw._df(cur, f"""
            SELECT opinion_id, submitted_at, coalesce(town, ?) AS town, station, channel, category, title, content,
                   submitter, status
            FROM opinions WHERE opinion_id IN ({", ".join("?" * len(newest))})
            ORDER BY submitted_at DESC, opinion_id DESC""", [UNLOCATED, *newest])
    finally:
        cur.close()
    terms_ = list(issue.get("terms") or [])[:5]
    df["title"] = [mask_text(t) for t in df["title"]]
    df["content"] = [mask_text(t) for t in df["content"]]
    df["submitter"] = [mask_name(n) for n in df["submitter"]]
    df["positions"] = [hw.word_positions(t, terms_) for t in df["content"]]
    return df[cols], len(ids)


def issue_evidence(issue: dict) -> dict:
    """What a candidate made from a hot issue keeps of it (JSON-able; never changed afterwards)."""
    keep = ("title", "headline", "heat", "heat_parts", "opinions", "submitters", "support", "places", "terms",
            "opinion_ids")
    ev = {k: issue.get(k) for k in keep}
    ev["first"], ev["last"] = str(issue.get("first")), str(issue.get("last"))
    ev["heat_formula"] = HEAT_FORMULA
    return {"hot_issue": ev}


def add_issue_candidate(con, issue: dict, start, end, user: str, title: str | None = None, note: str | None = None,
                        dict_version: int | None = None, role: str | None = None, **filters) -> int:
    """Put a hot issue into the candidate pool like a word: its top terms are the candidate's words
    (an opinion belongs to it when it holds any of them), and the issue itself — heat and its parts,
    opinions, places, time range — is kept in the evidence."""
    words = list(issue.get("terms") or [])[:3]
    return hw.add_candidate(con, words, start, end, user, title=title or issue.get("title"), note=note,
                            dict_version=dict_version, role=role, extra_evidence=issue_evidence(issue), **filters)


def _register_derived() -> None:
    from analytics.store import memo

    memo.persist(HOT_ISSUES, _encode, _decode)
    memo.persist(ASSIGNMENT, _encode_assignment, _decode_assignment)


_register_derived()
