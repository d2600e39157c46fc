"""Terms ranked by evidence and hot issues, on hand-made data (docs/hotwords.md §4a, §4b)."""
from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest

from analytics.__main__ import main as cli_main
from analytics.domain import hotissues as hi
from analytics.domain import hotwords as hw
from analytics.store.db import connect
from tests.domain.test_hotwords import import_, opinion


def test_heat_golden():
    # 4 opinions from 3 people over 14 days, 3 in the last 30 days and 1 in the 30 before, no support:
    # 10·ln5 + 10·ln4 + 5·ln1 + 5·ln(1 + 14/7) + 10·(3−1)/(3+1) = 16.094 + 13.863 + 0 + 5.493 + 5 = 40.450
    h = hi.heat(opinions=4, submitters=3, support=0, span_days=14, recent=3, before=1)
    assert h["parts"] == pytest.approx({"意见数": 16.0944, "提交人数": 13.8629, "支持数": 0.0, "持续": 5.4931,
                                        "增长": 5.0}, abs=1e-4)
    assert h["heat"] == pytest.approx(40.4504, abs=1e-4)
    assert hi.heat(1, 1, 0, 1, 0, 0)["growth"] == 0.0  # nothing in either window: no growth
    assert hi.heat(2, 2, 9, 1, 0, 0)["parts"]["支持数"] == pytest.approx(5 * math.log(10))


def test_heat_golden_with_support():
    # 3 opinions from 3 people over 14 days, 2 in the last 30 days and 1 in the 30 before, supported 10
    # times (HEAT_FORMULA): 10·ln(1+3) + 10·ln(1+3) + 5·ln(1+10) + 5·ln(1 + 14/7) + 10·(2−1)/(2+1)
    # = 13.8629 + 13.8629 + 11.9895 + 5.4931 + 3.3333 = 48.5418
    h = hi.heat(opinions=3, submitters=3, support=10, span_days=14, recent=2, before=1)
    assert h["parts"] == pytest.approx({"意见数": 13.8629, "提交人数": 13.8629, "支持数": 11.9895, "持续": 5.4931,
                                        "增长": 3.3333}, abs=1e-4)
    assert h["heat"] == pytest.approx(48.5418, abs=1e-4)


def test_term_score_golden():
    # 10 opinions hold 业主 30 times, 5 of them at least twice; 100 opinions, 10,000 tokens in the filter.
    p = hi.term_score(docs=10, count=30, d2=5, n_docs=100, tokens=10_000, word="业主")
    assert p["keyness"] == pytest.approx(9.0254 - 4, abs=1e-4)       # log2(0.003 ÷ (346 / 60,101,967)) − 4
    assert p["burstiness"] == pytest.approx(0.25)                    # ((5 + 1) ÷ (10 + 2))²
    assert p["rarity"] == pytest.approx(math.log(11))                # ln(1 + 100 ÷ 10)
    assert p["pos_weight"] == 1.0
    assert p["score"] == pytest.approx(10 * 5.0254 * 0.25 * math.log(11), abs=1e-2)  # 30.13
    verb = hi.term_score(docs=10, count=30, d2=5, n_docs=100, tokens=10_000, word="投诉")
    assert verb["pos_weight"] == 0.5
    common = hi.term_score(docs=10, count=30, d2=5, n_docs=100, tokens=10_000, word="国家")
    assert common["keyness"] == 0 and common["score"] == 0           # as common as in general Chinese


def test_classify_makes_a_place_of_a_name_that_begins_a_place():
    kinds = hi.classify(["星沙", "星沙镇", "业主"])
    assert kinds == {"星沙": "地点", "星沙镇": "地点", "业主": "术语"}
    # A dictionary word is a place's name when the place is in at least 30 % as many opinions.
    assert hi.classify({"西地": 10, "西地省": 3})["西地"] == "地点"
    assert hi.classify({"公交": 100, "公交站": 5, "公交车站": 20})["公交"] == "术语"


def D(i, day, vec, places=(), town=None):
    pl = frozenset(places) | ({town} if town else set())
    return hi.Doc(i, day, vec, pl, hi.anchor_of(pl), town)


def test_cluster_groups_one_concern_at_one_place():
    d0 = date(2024, 5, 1)
    plant = {"搅拌站": 3.0, "粉尘": 2.0, "噪音": 1.0}
    docs = [
        D(1, d0, plant, ["丽发新城小区"]),
        D(2, d0 + timedelta(days=9), {"搅拌站": 3.0, "噪音": 2.0}, ["丽发新城小区"]),
        D(3, d0 + timedelta(days=30), {"搅拌站": 3.0, "噪音": 2.0}),               # no place: joins
        D(4, d0 + timedelta(days=35), plant, ["景蓉华苑"]),                          # another estate
        D(5, d0 + timedelta(days=200), plant, ["丽发新城小区"]),                     # months later
        D(6, d0 + timedelta(days=3), {"公交": 3.0, "站点": 2.0}, ["丽发新城小区"]),  # another matter
        D(7, d0 + timedelta(days=5), plant, ["丽发新城小区"], town="瓜沥镇"),
        D(8, d0 + timedelta(days=6), plant, ["丽发新城小区"], town="义桥镇"),        # another 镇街 than 7
    ]
    groups = sorted(sorted(g) for g in hi.cluster(docs))
    assert [1, 2, 3, 7] in groups
    assert [4] in groups and [5] in groups and [6] in groups and [8] in groups
    assert sorted(len(g) for g in groups) == [1, 1, 1, 1, 4]


def test_hot_issues_on_a_store(tmp_path):
    con = connect(tmp_path / "hi.duckdb")
    d0 = date(2024, 4, 2)
    rows = []
    for k in range(6):  # six people about one plant next to one estate, over five weeks
        rows.append(opinion(f"P{k}", d0 + timedelta(days=6 * k),
                            "丽发新城小区旁边新建的混凝土搅拌站粉尘噪音严重，搅拌站晚上也施工，业主无法休息。",
                            title="丽发新城小区旁搅拌站扰民", submitter=f"业主{k}号"))
    for k in range(4):  # four about buses at another place
        rows.append(opinion(f"B{k}", d0 + timedelta(days=5 * k),
                            "望仙路公交站点太少，公交班次间隔太长，老人出行不便，希望增加公交班次。",
                            title="望仙路公交班次太少", submitter=f"乘客{k}号"))
    rows.append(opinion("S1", d0, "小区楼道的路灯坏了很久。", submitter="某人"))
    import_(con, rows)
    issues = hi.hot_issues(con, "2024-04-01", "2024-07-01")
    # By hand. Buses: 4 opinions, 4 people, 2 to 17 April (16 days), none in the period's last 60 days:
    # 10·ln5 + 10·ln5 + 5·ln(1 + 16/7) = 38.14. The plant: 6 and 6, 2 April to 2 May (31 days), its last
    # opinion 59 days before the period's last day (the 30 days before the last 30), none in the last 30:
    # growth (0 − 1)/(0 + 1) = −1, so 10·ln7 + 10·ln7 + 5·ln(1 + 31/7) − 10 = 37.38: it has gone quiet.
    assert [(i["opinions"], i["submitters"]) for i in issues] == [(4, 4), (6, 6)]
    assert [i["heat"] for i in issues] == pytest.approx([38.14, 37.38], abs=0.01)
    assert issues[1]["heat_parts"]["增长"] == -10
    first = issues[1]
    assert first["rank"] == 2 and first["place"] == "丽发新城小区" and first["title"].startswith("丽发新城小区：")
    assert "搅拌站" in first["terms"][:3]
    assert first["opinion_ids"] == [f"P{k}" for k in range(6)]
    assert (first["first"], first["last"]) == (d0, d0 + timedelta(days=30))
    assert issues[0]["place"] == "望仙路"
    rows_, total = hi.issue_opinions(con, first)
    assert total == 6 and rows_["submitter"].str.contains(r"\*").all()  # masked
    # Into the candidate pool like a word, the issue kept in the evidence.
    cid = hi.add_issue_candidate(con, first, "2024-04-01", "2024-07-01", "测试员")
    ev = hw.get_candidate(con, cid)["evidence"]
    ev = json.loads(ev) if isinstance(ev, str) else ev
    assert ev["hot_issue"]["opinion_ids"] == first["opinion_ids"] and ev["hot_issue"]["heat"] == first["heat"]
    # Terms: the place is not a hot word.
    words = list(hi.top_terms(con, "2024-04-01", "2024-07-01")["word"])
    assert "搅拌站" in words and "丽发新城小区" not in words and "望仙路" not in words
    con.close()


def test_hotissues_command_json(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    con = connect(db)
    d0 = date(2024, 4, 2)
    import_(con, [opinion(f"P{k}", d0 + timedelta(days=3 * k), "丽发新城小区旁的搅拌站粉尘噪音扰民，搅拌站夜间施工。",
                          submitter=f"业主{k}号") for k in range(3)])
    con.close()
    assert cli_main(["hotissues", "--db", str(db), "--from", "2024-04-01", "--to", "2024-06-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out) == 1
    assert set(out[0]) == {"rank", "title", "heat", "opinions", "submitters", "support", "first", "last", "places",
                           "terms", "opinion_ids"}
    assert out[0]["support"] == 0  # no 支持数 in these opinions
    assert out[0]["first"] == "2024-04-02" and out[0]["opinion_ids"] == ["P0", "P1", "P2"]
    assert cli_main(["hotissues", "--db", str(db), "--from", "2024-04-01"]) == 2
    assert "--from 与 --to 需同时给出" in capsys.readouterr().err
    assert cli_main(["hotissues", "--db", str(db), "--from", "2024-04-01", "--to", "2024-06-30"]) == 0
    assert "丽发新城小区：" in capsys.readouterr().out


def test_the_store_issues_built_month_by_month_are_one_pass_over_all_opinions(demo_db):
    """``store_issues`` describes and groups the store's opinions a month at a time, letting go of what
    no later opinion can join: the same issues as ``cluster`` over every opinion at once."""
    con = connect(demo_db, read_only=True)
    try:
        v = hw.active_version(con)
        a = hi._assign(con, v)
        cur = con.cursor()
        docs = hi._docs(cur, v, a.weight, a.place_ids, "", [])
        want = sorted(sorted(g) for g in hi.cluster(docs) if len(g) >= hi.MIN_OPINIONS)
    finally:
        con.close()
    got: dict[int, list[int]] = {}
    for d, g in zip(a.doc_id.tolist(), a.issue.tolist()):
        got.setdefault(g, []).append(d)
    assert len(docs) > 1000 and len(want) > 50
    assert sorted(sorted(g) for g in got.values()) == want


def test_a_filters_hot_issue_is_the_store_issue_seen_in_the_filter(tmp_path):
    """The same concern keeps its identity across filters: a month's issue holds the month's opinions
    of the whole period's issue, its heat counted over them."""
    con = connect(tmp_path / "hi.duckdb")
    d0 = date(2024, 4, 2)
    rows = [opinion(f"P{k}", d0 + timedelta(days=6 * k),
                    "丽发新城小区旁边新建的混凝土搅拌站粉尘噪音严重，搅拌站晚上也施工，业主无法休息。",
                    submitter=f"业主{k}号") for k in range(8)]  # 2 April to 14 May
    import_(con, rows)
    whole = hi.hot_issues(con, "2024-04-01", "2024-07-01")
    april = hi.hot_issues(con, "2024-04-01", "2024-05-01")
    assert len(whole) == 1 and whole[0]["opinions"] == 8
    assert april[0]["opinion_ids"] == ["P0", "P1", "P2", "P3", "P4"]
    assert april[0]["heat_parts"]["意见数"] == pytest.approx(10 * math.log(6), abs=0.01)
    assert hi.hot_issues(con, "2024-05-10", "2024-07-01") == []  # one opinion there: not an issue
    con.close()


def test_a_big_issue_is_described_from_a_spread_of_its_opinions_and_counted_in_full(tmp_path, monkeypatch):
    con = connect(tmp_path / "hi.duckdb")
    d0 = date(2024, 4, 2)
    texts = ["丽发新城小区旁边新建的混凝土搅拌站粉尘噪音严重，搅拌站晚上也施工。"]
    import_(con, [opinion(f"P{k}", d0 + timedelta(days=2 * k), texts[0], submitter=f"业主{k}号") for k in range(9)])
    full = hi.hot_issues(con, "2024-04-01", "2024-07-01")
    assert list(hi._spread([5, 6, 7, 8, 9], 3)) == [5, 7, 9] and list(hi._spread([1, 2], 3)) == [1, 2]
    from analytics.store import memo

    memo.clear()
    monkeypatch.setattr(hi, "DESCRIBE", 3)
    seen = []
    real = hi._docs
    monkeypatch.setattr(hi, "_docs", lambda *a, **k: seen.append(real(*a, **k)) or seen[-1])
    small = hi.hot_issues(con, "2024-04-01", "2024-06-30")
    assert len(seen[-1]) == 3  # three opinions read to describe it …
    assert (small[0]["opinions"], small[0]["submitters"], small[0]["opinion_ids"]) == \
        (full[0]["opinions"], full[0]["submitters"], full[0]["opinion_ids"]) == (9, 9, [f"P{k}" for k in range(9)])
    assert small[0]["heat"] == full[0]["heat"] and small[0]["title"] == full[0]["title"]  # … all nine counted
    con.close()


def test_an_issue_adds_up_the_support_of_its_opinions_from_the_export(tmp_path):
    """An export with a 点赞数 column: the issue's support is the sum of its opinions' counts (an empty
    or unreadable cell counts 0), and the heat's 支持数 part is 5·ln(1 + that sum)."""
    from analytics.ingest.importer import ingest_files

    con = connect(tmp_path / "sup.duckdb")
    plant = "丽发新城小区旁边新建的混凝土搅拌站粉尘噪音严重，搅拌站晚上也施工，业主无法休息。"
    bus = "望仙路公交站点太少，公交班次间隔太长，老人出行不便，希望增加公交班次。"
    lines = ["编号,提交时间,镇街,标题,内容,提交人,点赞数"]
    d0 = date(2024, 4, 2)  # the days and people of test_hot_issues_on_a_store
    lines += [f"P{k},{d0 + timedelta(days=6 * k)} 09:00,瓜沥镇,丽发新城小区旁搅拌站扰民,{plant},业主{k}号,{n}"
              for k, n in enumerate(["4", "", "6", "很多", "0", '"1,000"'])]
    lines += [f"B{k},{d0 + timedelta(days=5 * k)} 09:00,瓜沥镇,望仙路公交班次太少,{bus},乘客{k}号," for k in range(4)]
    path = tmp_path / "board.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (r,) = ingest_files(con, [path])
    assert (r.imported, r.warned) == (10, 1)  # 很多: stored, its support unknown
    issues = {i["opinion_ids"][0][0]: i for i in hi.hot_issues(con, "2024-04-01", "2024-07-01")}
    assert issues["P"]["opinion_ids"] == [f"P{k}" for k in range(6)]
    assert issues["P"]["support"] == 4 + 6 + 0 + 1000
    assert issues["P"]["heat_parts"]["支持数"] == pytest.approx(5 * math.log(1 + 1010), abs=0.01)
    assert issues["B"]["support"] == 0 and issues["B"]["heat_parts"]["支持数"] == 0
    # the plant's heat as in test_hot_issues_on_a_store (37.38), plus its support: 37.38 + 5·ln(1011) = 71.97
    assert issues["P"]["heat"] == pytest.approx(37.38 + 5 * math.log(1011), abs=0.02)
    con.close()


def test_an_issues_opinions_page_by_page_newest_first_by_time(tmp_path):
    """Two a day, the later one with the smaller id: pages follow the submission time, not the id."""
    con = connect(tmp_path / "hi.duckdb")
    d0 = date(2024, 4, 2)
    text = "丽发新城小区旁边新建的混凝土搅拌站粉尘噪音严重，搅拌站晚上也施工，业主无法休息。"
    rows = []
    for k in range(3):
        early = opinion(f"Z{k}", d0 + timedelta(days=7 * k), text, submitter=f"早{k}号")
        late = opinion(f"A{k}", d0 + timedelta(days=7 * k), text, submitter=f"晚{k}号")
        late["submitted_at"] += timedelta(hours=8)
        rows += [early, late]
    import_(con, rows)
    (issue,) = hi.hot_issues(con, "2024-04-01", "2024-07-01")
    assert issue["opinion_ids"] == ["Z0", "A0", "Z1", "A1", "Z2", "A2"]
    pages = [hi.issue_opinions(con, issue, page=p, page_size=4) for p in (1, 2, 3)]
    assert [list(df["opinion_id"]) for df, _ in pages] == [["A2", "Z2", "A1", "Z1"], ["A0", "Z0"], []]
    assert {total for _, total in pages} == {6}
    con.close()
