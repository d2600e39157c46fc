"""Hot words on small hand-made stores: segmentation at import, queries, bursts, related words,
drill-down, dictionary versions, new-word proposals, the candidate pool and the command line."""
from __future__ import annotations

import hashlib
import io
import json
import random
import re
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analytics.domain import hotwords as hw
from analytics.text import segment as textseg
from analytics.__main__ import main as cli_main
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
from tests.text.test_textseg import sample_messages

TOWNS = ["瓜沥镇", "城厢街道", "宁围街道", "临浦镇", "新塘街道", "义桥镇"]


def opinion(oid: str, day: date, content: str, town: str = "瓜沥镇", title: str = "", status: str = "办理中",
            submitter: str = "张三丰", channel: str = "民声e", category: str = "城乡建设", station: str | None = None):
    return {"opinion_id": oid, "submitted_at": datetime.combine(day, datetime.min.time()) + timedelta(hours=9),
            "channel": channel, "town": town, "station": station, "title": title, "content": content,
            "category": category, "submitter": submitter, "status": status}


def upsert(con, rows: list[dict]) -> None:
    """What the importer does: insert or replace opinions, row_hash a digest of the values."""
    df = pd.DataFrame(rows)
    df["row_hash"] = [hashlib.sha256(json.dumps(r, default=str, ensure_ascii=False, sort_keys=True).encode()).hexdigest()
                      for r in rows]
    con.register("_rows", df)
    con.execute("DELETE FROM opinions WHERE opinion_id IN (SELECT opinion_id FROM _rows)")
    con.execute("""INSERT INTO opinions (opinion_id, submitted_at, channel, town, station, title, content,
                       category, submitter, status, batch_id, row_hash)
                   SELECT opinion_id, submitted_at, channel, town, station, title, content, category,
                          submitter, status, 1, row_hash FROM _rows""")
    con.unregister("_rows")


def import_(con, rows: list[dict]) -> int:
    """Upsert + segment in one transaction, as the importer does per file."""
    con.execute("BEGIN TRANSACTION")
    upsert(con, rows)
    n = hw.segment_pending(con)
    con.execute("COMMIT")
    return n


@pytest.fixture
def store(tmp_path):
    con = connect(tmp_path / "hot.duckdb")
    yield con
    con.close()


def monthly(start: date, months: int):
    for k in range(months):
        y, m = divmod(start.month - 1 + k, 12)
        yield date(start.year + y, m + 1, 1)


FILLERS = ["小区门口道路破损严重", "村里路灯不亮晚上出行不安全", "河道保洁不到位水面漂浮垃圾", "菜市场环境脏乱",
           "公交线路太少出行困难", "学校周边交通拥堵", "农村饮用水水压不足", "广场舞噪音扰民"]


def background(rnd: random.Random, months: list[date], per_month: int, prefix: str) -> list[dict]:
    rows = []
    for mi, m in enumerate(months):
        for k in range(per_month):
            rows.append(opinion(f"{prefix}{mi:02d}{k:03d}", m + timedelta(days=rnd.randrange(27)),
                                f"您好！{rnd.choice(FILLERS)}，希望尽快解决。谢谢！", town=rnd.choice(TOWNS)))
    return rows


# ───────────────────────────── segmentation at import ─────────────────────────────

def test_import_segments_once_and_reimport_does_not(store, monkeypatch):
    rows = [opinion(f"A{i}", date(2024, 5, 1 + i), f"希望加装电梯，第{i}次反映") for i in range(5)]
    calls = {"n": 0}  # texts cut
    real = textseg.Segmenter.count_arrays

    def counting(self, texts, *args, **kw):
        texts = list(texts)
        calls["n"] += len(texts)
        return real(self, texts, *args, **kw)

    monkeypatch.setattr(textseg.Segmenter, "count_arrays", counting)
    assert import_(store, rows) == 5
    assert calls["n"] == 5
    first = store.execute("SELECT opinion_id, doc_id, segmented_at FROM opinion_seg ORDER BY 1").fetchall()
    # The same file again: every opinion unchanged, nothing is cut.
    assert import_(store, rows) == 0
    assert calls["n"] == 5
    assert store.execute("SELECT opinion_id, doc_id, segmented_at FROM opinion_seg ORDER BY 1").fetchall() == first
    # One opinion changed: only it is cut again, and its old words are gone.
    rows[2] = opinion("A2", date(2024, 5, 3), "小区停车难问题突出")
    assert import_(store, rows) == 1
    assert calls["n"] == 6
    words = {r[0] for r in store.execute("""SELECT w.word FROM opinion_words ow JOIN words w USING (word_id)
        JOIN opinion_seg s USING (doc_id) WHERE s.opinion_id = 'A2'""").fetchall()}
    assert words == {"小区", "停车难", "突出"}
    assert store.execute("SELECT count(*) FROM opinion_seg").fetchone()[0] == 5


def test_removed_opinions_leave_the_word_counts(store):
    import_(store, [opinion("A1", date(2024, 5, 1), "加装电梯"), opinion("A2", date(2024, 5, 2), "加装电梯")])
    store.execute("DELETE FROM opinions WHERE opinion_id = 'A2'")  # an undone import
    hw.segment_pending(store)
    df = hw.top_words(store, "2024-05-01", "2024-06-01")
    assert df.set_index("word").loc["加装电梯", "docs"] == 1


def test_dictionary_version_one_comes_from_the_files(store):
    import_(store, [opinion("A1", date(2024, 5, 1), "加装电梯")])
    ud, sw = hw.dictionary_texts(store)
    assert ud == textseg.read_userdict_file() and sw == textseg.read_stopwords_file()
    assert not hw.files_differ_from_active(store)


# ───────────────────────────── queries ─────────────────────────────

def test_top_words_counts_docs_share_and_change(store):
    import_(store, [
        # previous period (April)
        opinion("P1", date(2024, 4, 5), "加装电梯"),
        opinion("P2", date(2024, 4, 6), "停车难"),
        opinion("P3", date(2024, 4, 7), "停车难"),
        # this period (May)
        opinion("C1", date(2024, 5, 5), "加装电梯，加装电梯，加装电梯"),
        opinion("C2", date(2024, 5, 6), "加装电梯，停车难", town="城厢街道"),
        opinion("C3", date(2024, 5, 7), "湘湖景区"),
        opinion("C4", date(2024, 5, 8), "您好，谢谢"),  # no word at all: still an opinion in the filter
    ])
    df = hw.top_words(store, "2024-05-01", "2024-06-01").set_index("word")
    assert list(df.index) == ["加装电梯", "停车难", "湘湖景区"]  # by docs, then count, then word
    row = df.loc["加装电梯"]
    assert (row["count"], row["docs"], row["prev_docs"], row["change"]) == (4, 2, 1, 1)
    assert row["share"] == pytest.approx(2 / 4)
    assert row["change_ratio"] == pytest.approx(1.0)
    park = df.loc["停车难"]
    assert (park["docs"], park["prev_docs"], park["change"]) == (1, 2, -1)
    # A filter: only 城厢街道's opinion.
    town = hw.top_words(store, "2024-05-01", "2024-06-01", town="城厢街道").set_index("word")
    assert set(town.index) == {"加装电梯", "停车难"}
    assert town.loc["加装电梯", "share"] == 1.0


def test_top_50_of_realistic_messages_holds_no_junk(store):
    """The sample message-board corpus: no stopword, number, phone piece, greeting or boilerplate."""
    rnd = random.Random(5)
    msgs = sample_messages()
    rows = [opinion(f"M{i:04d}", date(2024, 4, 1) + timedelta(days=rnd.randrange(90)), m,
                    town=rnd.choice(TOWNS), title=m.splitlines()[0][:20]) for i, m in enumerate(msgs * 4)]
    import_(store, rows)
    top = hw.top_words(store, "2024-04-01", "2024-07-01", top=50)
    assert len(top) == 50
    stop = textseg.parse_stopwords(textseg.read_stopwords_file())
    greetings = {"您好", "你好", "尊敬", "领导", "谢谢", "感谢", "此致", "敬礼", "辛苦", "麻烦"}
    boiler = {"反映", "问题", "希望", "建议", "相关部门", "有关部门", "答复", "回复", "核实", "收悉",
              "关心", "支持", "如下", "致电"}
    phones = "".join(re.findall(r"\d", "".join(msgs)))
    for w in top["word"]:
        assert w not in stop and w not in greetings and w not in boiler, w
        assert re.fullmatch(f"[{textseg.CJK_RANGE}]{{2,}}", w), w
        assert not textseg.is_numberish(w), w
        assert w not in phones
    # And the concerns the messages are about are there.
    assert {"加装电梯", "停车位", "垃圾分类"} & set(top["word"])


def test_trend_spread_and_heat_map(store):
    rows = [opinion("A1", date(2024, 1, 5), "加装电梯"), opinion("A2", date(2024, 3, 5), "加装电梯", town="城厢街道"),
            opinion("A3", date(2024, 3, 6), "停车难", town="城厢街道")]
    import_(store, rows)
    trend = hw.word_trend(store, "加装电梯", "2024-01-01", "2024-04-01")
    assert [(str(p), d, t) for p, d, t in zip(trend["period"], trend["docs"], trend["total"])] == [
        ("2024-01-01", 1, 1), ("2024-02-01", 0, 0), ("2024-03-01", 1, 2)]
    spread = hw.word_spread(store, "加装电梯", "2024-01-01", "2024-04-01").set_index("town")
    assert spread.loc["城厢街道", "docs"] == 1 and spread.loc["城厢街道", "share"] == 0.5
    heat = hw.word_town_month(store, "加装电梯", "2024-01-01", "2024-04-01")
    assert len(heat) == 2 and heat["docs"].sum() == 2


# ───────────────────────────── rising words ─────────────────────────────

def test_burst_detection_finds_a_planted_surge(store):
    rnd = random.Random(1)
    months = list(monthly(date(2023, 1, 1), 18))
    rows = background(rnd, months, 60, "B")
    # 加装电梯 in 2 opinions a month, then 25 a month from 2024-04.
    for mi, m in enumerate(months):
        n = 25 if m >= date(2024, 4, 1) else 2
        rows += [opinion(f"S{mi:02d}{k:02d}", m + timedelta(days=k), "老旧小区没有电梯，要求加装电梯",
                         town=rnd.choice(TOWNS)) for k in range(n)]
    import_(store, rows)
    rising = hw.rising_words(store, "2024-04-01", "2024-07-01")
    assert "加装电梯" in set(rising["word"])
    row = rising.set_index("word").loc["加装电梯"]
    assert row["rise_start"] == date(2024, 4, 1)
    assert row["ongoing"] and row["current"] == 25 and row["baseline"] < 5
    # The always-frequent background words are not "rising".
    assert not {"路灯", "河道保洁", "菜市场"} & set(rising["word"])


@pytest.mark.parametrize("seed,per_month", [(0, 80), (3, 80), (8, 80), (1, 30), (5, 300)])
def test_burst_detection_flags_nothing_in_flat_data(tmp_path, seed, per_month):
    """24 months of the same topics at the same rates (binomial noise only): no word rises, at any
    period end. (Seeds 0, 3 and 8 gave weak noise bursts before the minimum strength existed.)"""
    con = connect(tmp_path / "flat.duckdb")
    import_(con, background(random.Random(seed), list(monthly(date(2023, 1, 1), 24)), per_month, "F"))
    for end in ("2023-04-01", "2023-07-01", "2023-10-01", "2024-01-01", "2024-04-01", "2024-07-01",
                "2024-10-01", "2025-01-01"):
        start = (date.fromisoformat(end) - timedelta(days=90)).isoformat()
        assert hw.rising_words(con, start, end).empty, end
    con.close()


def test_kleinberg_states_on_a_hand_series():
    d = [100] * 10
    r = [[5, 5, 5, 5, 5, 5, 30, 30, 30, 5]]
    states, gain = hw.kleinberg_states(r, d)
    assert states.tolist() == [[0, 0, 0, 0, 0, 0, 1, 1, 1, 0]]
    assert gain[0, 6] > 0 > gain[0, 0]


# ───────────────────────────── related words and drill-down ─────────────────────────────

def test_related_words_by_co_occurrence(store):
    rows = [opinion(f"R{i}", date(2024, 5, 1 + i % 20), "加装电梯遭到低层住户反对") for i in range(8)]
    rows += [opinion(f"Q{i}", date(2024, 5, 1 + i % 20), "小区停车难，停车位不足") for i in range(12)]
    rows += [opinion(f"X{i}", date(2024, 5, 1 + i % 20), "加装电梯，停车位") for i in range(2)]
    import_(store, rows)
    rel = hw.related_words(store, "加装电梯", "2024-05-01", "2024-06-01", min_count=3).set_index("word")
    assert {"低层", "住户", "反对"} <= set(rel.index)
    assert "停车位" not in rel.index  # together only twice (< min_count) and less than chance
    assert rel.loc["住户", "together"] == 8 and rel.loc["住户", "lift"] > 1


def test_drilldown_masks_pages_and_positions(store):
    rows = [opinion(f"D{i:02d}", date(2024, 5, 1) + timedelta(days=i),
                    f"我是业主，电话13812345678，小区加装\n电梯推进不下去（第{i}条）", submitter="欧阳娜娜")
            for i in range(25)]
    import_(store, rows)
    page1, total = hw.drilldown(store, "加装电梯", "2024-05-01", "2024-06-01", page=1, page_size=10)
    page3, _ = hw.drilldown(store, "加装电梯", "2024-05-01", "2024-06-01", page=3, page_size=10)
    assert total == 25 and len(page1) == 10 and len(page3) == 5
    assert page1["opinion_id"].iloc[0] == "D24"  # newest first
    row = page1.iloc[0]
    assert row["submitter"] == "欧***"
    assert "13812345678" not in row["content"] and "[手机号]" in row["content"]
    (a, b), = row["positions"]
    assert re.sub(r"\s", "", row["content"][a:b]) == "加装电梯"
    html = hw.highlight_html(row["content"], "加装电梯")
    assert "<mark>加装<br>电梯</mark>" in html


def test_xlsx_export_neutralises_formulas(store):
    import_(store, [opinion("E1", date(2024, 5, 1), "=HYPERLINK(\"http://x\") 加装电梯", title="@SUM(A1)",
                            submitter="+王五")])
    df = hw.drilldown_all(store, "加装电梯", "2024-05-01", "2024-06-01")
    data = hw.to_xlsx({"意见": df})
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in ws[1]]
    values = dict(zip(header, [c.value for c in ws[2]]))
    assert values["content"].startswith("'=") and values["title"].startswith("'@")
    assert values["submitter"] == "'+**"  # masked, then neutralised
    for cell in ws[2]:
        assert not (isinstance(cell.value, str) and cell.value[:1] in "=+-@"), cell.value


# ───────────────────────────── dictionary versions ─────────────────────────────

def test_dictionary_change_resegments_and_old_lists_are_reproducible(store):
    import_(store, [opinion(f"V{i}", date(2024, 5, 1 + i), "小区门口飞线充电噪音扰民") for i in range(6)])
    before = hw.top_words(store, "2024-05-01", "2024-06-01")
    assert "飞线充电" not in set(before["word"])  # jieba cuts the unknown phrase as 飞线 + 充电
    v1 = hw.active_version(store)
    ud, sw = hw.dictionary_texts(store)
    progress = []
    v2 = hw.set_dictionary(store, hw.add_words_to_userdict(ud, ["飞线充电"]), hw.add_stopwords(sw, ["小区"]),
                           "测试员", progress=lambda m, f: progress.append(f))
    assert v2 == v1 + 1 and hw.active_version(store) == v2
    assert progress and progress[-1] == 1.0
    after = hw.top_words(store, "2024-05-01", "2024-06-01")
    assert "飞线充电" in set(after["word"]) and "小区" not in set(after["word"])
    # The old list, exactly, from the old version's stored words.
    again = hw.top_words(store, "2024-05-01", "2024-06-01", dict_version=v1)
    assert again.equals(before)
    assert "小区" in set(again["word"])
    # Same texts again: nothing new, the version is reused.
    assert hw.set_dictionary(store, *hw.dictionary_texts(store), "测试员") == v2
    # Switching back re-activates version 1.
    hw.activate_version(store, v1)
    assert hw.top_words(store, "2024-05-01", "2024-06-01").equals(before)


def test_bad_dictionary_is_refused_before_anything_changes(store):
    import_(store, [opinion("A1", date(2024, 5, 1), "加装电梯")])
    with pytest.raises(textseg.DictionaryError, match="第 1 行"):
        hw.set_dictionary(store, "千万工程 很多\n", "", "测试员")
    assert store.execute("SELECT count(*) FROM dict_versions").fetchone()[0] == 1


def test_background_resegmentation_on_a_store_file(tmp_path):
    """Re-cutting beside a running app, with an import changing an opinion half-way through."""
    db = tmp_path / "bg.duckdb"
    con = connect(db)
    import_(con, [opinion(f"A{i:02d}", date(2024, 5, 1 + i % 28), "赭山湾码头噪音扰民") for i in range(30)])
    ud, sw = hw.dictionary_texts(con)
    con.close()
    seen = []

    def progress(message, fraction):
        seen.append(fraction)
        if len(seen) == 2:  # between two batches, as an import would: A00 now says something else
            with hw.store_writer(db) as w:
                upsert(w, [opinion("A00", date(2024, 5, 1), "赭山湾菜市场脏乱")])
                hw.segment_pending(w)

    v = hw.set_dictionary_at(db, hw.add_words_to_userdict(ud, ["赭山湾"]), sw, "测试员", batch=7,
                             progress=progress)
    assert seen[-1] == 1.0 and len(seen) >= 5
    con = connect(db, read_only=True)
    assert hw.active_version(con) == v and hw.pending_count(con) == 0
    top = hw.top_words(con, "2024-05-01", "2024-06-01").set_index("word")
    assert top.loc["赭山湾", "docs"] == 30
    assert top.loc["菜市场", "docs"] == 1 and top.loc["码头", "docs"] == 29  # the change is in the new version
    con.close()


def test_new_word_proposals_find_an_unknown_name(store):
    rnd = random.Random(3)
    contexts = ["住在{}附近", "{}的路灯坏了", "去{}要绕路", "{}周边停车难", "希望{}通公交", "{}菜市场脏乱",
                "从{}到镇上", "{}河道发臭", "关于{}的学位", "{}工地噪音"]
    rows = [opinion(f"N{i:03d}", date(2024, 5, 1) + timedelta(days=i % 28),
                    rnd.choice(contexts).format("赭山湾") + "，" + rnd.choice(FILLERS)) for i in range(60)]
    import_(store, rows)
    props = hw.new_word_proposals(store, min_count=5)
    assert "赭山湾" in set(props["word"]), props
    # Accepting it: the next version cuts it whole.
    ud, sw = hw.dictionary_texts(store)
    hw.set_dictionary(store, hw.add_words_to_userdict(ud, props["word"].head(1)), sw, "测试员")
    assert "赭山湾" in set(hw.top_words(store, "2024-05-01", "2024-06-01")["word"])
    assert "赭山湾" not in set(hw.new_word_proposals(store, min_count=5)["word"])


# ───────────────────────────── the candidate pool ─────────────────────────────

def _surge_store(con):
    rnd = random.Random(4)
    months = list(monthly(date(2023, 7, 1), 12))
    rows = background(rnd, months, 40, "B")
    for mi, m in enumerate(months):
        n = 20 if m >= date(2024, 4, 1) else 2
        rows += [opinion(f"S{mi:02d}{k:02d}", m + timedelta(days=k), "老旧小区要求加装电梯",
                         town=TOWNS[k % len(TOWNS)], status="已办结" if k % 4 == 0 else "办理中") for k in range(n)]
    import_(con, rows)


def test_candidate_score_has_its_parts(store):
    _surge_store(store)
    sc = hw.candidate_score(store, ["加装电梯"], "2024-04-01", "2024-07-01")
    parts, inputs = sc["parts"], sc["inputs"]
    assert set(parts) == {"volume", "burst", "spread", "persistence", "unresolved"}
    assert inputs["docs"] == 60 and inputs["towns"] == 6
    assert parts["burst"] > 1  # it surged
    assert parts["unresolved"] == pytest.approx(45 / 60)
    assert parts["spread"] == pytest.approx(inputs["effective_towns"] / 23, abs=1e-3)
    assert sc["score"] == pytest.approx(10 * parts["volume"] * parts["burst"] * parts["spread"]
                                        * parts["persistence"] * parts["unresolved"], rel=1e-3)
    flat = hw.candidate_score(store, ["路灯"], "2024-04-01", "2024-07-01")
    assert flat["parts"]["burst"] == 1.0


def test_candidate_pool_workflow_survives_reimport_and_restart(tmp_path):
    db = tmp_path / "pool.duckdb"
    con = connect(db)
    _surge_store(con)
    cid = hw.add_candidate(con, ["加装电梯", "电梯"], "2024-04-01", "2024-07-01", user="演示用户",
                           title="老旧小区加装电梯", note="多个镇街集中反映")
    ev = hw.get_candidate(con, cid)["evidence"]
    assert ev["docs"] == 60 and ev["period"] == {"start": "2024-04-01", "end": "2024-07-01"}
    assert len(ev["samples"]) == 5 and all("加装电梯" in s["excerpt"] for s in ev["samples"])
    assert len(ev["trend"]) == 12 and ev["towns"]
    hw.set_candidate_status(con, cid, "已列入监督计划", "演示用户", "列入年度监督计划")
    with pytest.raises(hw.HotwordsError):
        hw.set_candidate_status(con, 999, "已办结", "演示用户")
    hw.add_candidate_note(con, cid, "已与常委会办公室沟通", "演示用户")
    # Re-import: every opinion changed (status), so all are segmented again; then a new dictionary.
    con.execute("UPDATE opinions SET status = '已办结', row_hash = row_hash || 'x'")
    assert hw.segment_pending(con) == con.execute("SELECT count(*) FROM opinions").fetchone()[0]
    ud, sw = hw.dictionary_texts(con)
    hw.set_dictionary(con, ud + "\n赭山湾\n", sw, "测试员")
    con.close()
    # Restart.
    con = connect(db)
    row = hw.get_candidate(con, cid)
    assert row["status"] == "已列入监督计划" and row["title"] == "老旧小区加装电梯"
    assert row["evidence"] == ev  # the evidence of that moment is kept as it was
    assert "已与常委会办公室沟通" in row["notes"]
    hist = hw.candidate_history(con, cid)
    assert list(hist["action"]) == ["创建", "状态变更", "备注"]
    assert list(hist["to_status"][:2]) == ["候选", "已列入监督计划"]
    # Live figures now: everything is resolved.
    live = hw.candidate_score(con, ["加装电梯", "电梯"], "2024-04-01", "2024-07-01")
    assert live["parts"]["unresolved"] == 0
    listed = hw.list_candidates(con, status="已列入监督计划")
    assert list(listed["candidate_id"]) == [cid]
    assert hw.list_candidates(con, status="候选").empty
    out = hw.to_xlsx({"备选库": hw.candidates_for_export(listed)})
    assert openpyxl.load_workbook(io.BytesIO(out)).active["B2"].value == "老旧小区加装电梯"
    con.close()


def test_status_transitions_are_checked(store):
    _surge_store(store)
    cid = hw.add_candidate(store, "加装电梯", "2024-04-01", "2024-07-01", user="演示用户")
    with pytest.raises(hw.HotwordsError, match="不能从“候选”改为“已办结”"):
        hw.set_candidate_status(store, cid, "已办结", "演示用户")
    with pytest.raises(hw.HotwordsError, match="状态只能是"):
        hw.set_candidate_status(store, cid, "随便", "演示用户")
    hw.set_candidate_status(store, cid, "不予采纳", "演示用户", "已在其他渠道解决")
    assert hw.get_candidate(store, cid)["status"] == "不予采纳"


# ───────────────────────────── command line ─────────────────────────────

def test_cli_json_and_default_window(tmp_path, capsys):
    db = tmp_path / "cli.duckdb"
    con = connect(db)
    upsert(con, [opinion("A1", date(2024, 6, 1), "加装电梯", town="瓜沥镇"),
                 opinion("A2", date(2024, 6, 2), "加装电梯，停车难", town="城厢街道"),
                 opinion("A3", date(2023, 1, 2), "湘湖景区", town="城厢街道")])
    con.close()  # not segmented yet: the command does it first
    assert cli_main(["hotwords", "--from", "2024-04-01", "--to", "2024-06-30", "--json", "--db", str(db)]) == 0
    out = json.loads(capsys.readouterr().out)
    # (ranked by 词分, docs/hotwords.md §4a: the word in every opinion is not necessarily first)
    assert {"word": "加装电梯", "count": 2, "docs": 2, "share": 1.0, "change": 2} in out
    assert all(set(o) == {"word", "count", "docs", "share", "change"} for o in out)
    # --to is inclusive; --town takes the short name.
    assert cli_main(["hotwords", "--from", "2024-06-02", "--to", "2024-06-02", "--town", "城厢", "--json",
                     "--db", str(db)]) == 0
    assert {o["word"] for o in json.loads(capsys.readouterr().out)} == {"加装电梯", "停车难"}
    # Without dates: the latest 90 days with data (2023's opinion is outside).
    assert cli_main(["hotwords", "--json", "--db", str(db)]) == 0
    assert "湘湖景区" not in {o["word"] for o in json.loads(capsys.readouterr().out)}
    assert cli_main(["hotwords", "--rising", "--db", str(db)]) == 0
    assert cli_main(["hotwords", "--town", "火星", "--db", str(db)]) == 2
    assert "不是萧山区的镇街" in capsys.readouterr().err


# ───────────────────────────── demo data and the two pages ─────────────────────────────

@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    """A small demo store made by the real generator and importer, then segmented."""
    from analytics.demo.exports import write_demo
    from analytics.ingest.importer import ingest_files

    work = tmp_path_factory.mktemp("hot_demo")
    paths = write_demo(work / "exports", years=2, scale=0.05)
    db = work / "cockpit.duckdb"
    con = connect(db)
    ingest_files(con, paths)
    con.execute("BEGIN TRANSACTION")
    hw.segment_pending(con)  # 0 once the importer segments by itself
    con.execute("COMMIT")
    assert hw.pending_count(con) == 0
    con.close()
    return db


def test_top_50_of_demo_opinions_holds_no_junk(demo_db):
    con = connect(demo_db, read_only=True)
    start, end = hw.latest_window(con, 365)
    top = hw.top_words(con, start, end, top=50)
    con.close()
    stop = textseg.parse_stopwords(textseg.read_stopwords_file())
    assert len(top) == 50
    for w in top["word"]:
        assert w not in stop, w
        assert re.fullmatch(f"[{textseg.CJK_RANGE}]{{2,}}", w) and not textseg.is_numberish(w), w
    assert not {"您好", "尊敬", "领导", "谢谢", "此致", "敬礼", "反映", "问题", "希望", "相关部门", "代表"} & set(top["word"])


def page_app(db, monkeypatch, url_path: str, **query):
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at._page_hash = calc_hash(url_path)  # what the browser requests for /<url_path> (see test_app.py)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def all_text(at) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.subheader, *at.caption, *at.markdown, *at.info,
                                             *at.warning, *at.error, *at.success))


def test_hotwords_page_from_a_word_to_its_opinions(demo_db, monkeypatch):
    at = page_app(demo_db, monkeypatch, "hotwords", period="2024Q2").run()
    assert not at.exception
    assert "热词分析" in [t.value for t in at.title]
    pills = next(p for p in at.pills if p.label.startswith("点一个词"))
    word = pills.options[0]
    pills.set_value(word).run()
    assert not at.exception
    assert at.query_params["word"] == word  # in the URL: the view can be shared
    text = all_text(at)
    assert f"含“{word}”的意见原文" in text
    marked = [m.value for m in at.markdown if f"<mark>{word}</mark>" in m.value]
    assert marked, "the drill-down shows the word highlighted"
    assert not any(re.search(r"1[3-9]\d{9}", m) for m in marked)  # masked
    assert [b.proto.label for b in at.get("download_button")] == ["下载全部（xlsx）"]


def test_candidates_page_lists_what_the_hotwords_page_added(demo_db, tmp_path, monkeypatch):
    import shutil

    db = tmp_path / "cockpit.duckdb"
    shutil.copy(demo_db, db)
    con = connect(db, read_only=True)
    word = hw.top_words(con, "2024-04-01", "2024-07-01", top=1)["word"].iloc[0]
    con.close()
    at = page_app(db, monkeypatch, "hotwords", period="2024Q2", word=word).run()
    assert not at.exception
    at.text_input[0].set_value(f"{word}问题专项监督")
    next(b for b in at.button if b.label == "加入备选库").click().run()
    assert not at.exception
    assert any("已加入备选库" in s.value for s in at.success)
    at = page_app(db, monkeypatch, "candidates", period="2024Q2").run()
    assert not at.exception
    assert "监督项目备选库" in [t.value for t in at.title]
    assert f"{word}问题专项监督（候选）" in [s.value for s in at.subheader]
    parts = [m.value for m in at.markdown if m.value.startswith("| 规模 | 突发 | 广度 | 持续 | 未解决 |")]
    assert len(parts) == 2  # the score's parts, as captured and as of now


def test_rising_counts_of_many_towns_in_one_pass_equal_each_towns_own(demo_db, monkeypatch):
    """``prefetch_rising_by_town`` fills what each town's ``rising_words(…, words=…, town=…)`` would
    count (the suggestions page asks 23 towns at once); the answers are the same, and the towns'
    calls then find their counts instead of counting."""
    from analytics.store import memo

    con = connect(demo_db, read_only=True)
    try:
        last = con.execute("SELECT max(day) FROM opinion_seg").fetchone()[0]
        end = last + timedelta(days=1)
        start = date(last.year, 1, 1)
        towns = [t for (t,) in con.execute(
            "SELECT town FROM opinion_seg GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 4").fetchall()]
        words = {t: list(hw.top_words(con, start, end, town=t, top=40)["word"]) + ["不存在的词"] for t in towns}
        # A small store: an easy model, so that something rises in every town
        easy = hw.BurstParams(s=1.2, gamma=0.1, min_docs=1, min_total=2, min_strength=0.0)
        memo.clear()
        own = {t: hw.rising_words(con, start, end, top=10_000, words=words[t], town=t, params=easy) for t in towns}
        memo.clear()
        assert hw.prefetch_rising_by_town(con, end, words, params=easy) == len(towns)

        def refuse(*a, **k):
            raise AssertionError("counted again")
        monkeypatch.setattr(memo, "_stored_or_computed", refuse)
        for t in towns:
            pd.testing.assert_frame_equal(
                hw.rising_words(con, start, end, top=10_000, words=words[t], town=t, params=easy), own[t])
        assert all(len(df) for df in own.values())  # something rose: the comparison is not of empty frames
    finally:
        con.close()
        memo.clear()


def test_an_evidence_period_reads_with_both_days_included():
    from analytics.domain import hotwords as hw

    assert hw.period_text({"start": "2024-10-01", "end": "2025-01-01"}) == "2024-10-01 至 2024-12-31"
    assert set(hw.SCORE_MEANING) == set(hw.SCORE_PARTS)  # every part has its plain words
