"""代表履职: golden values on tests/data/duty_store.sql with the rules of ``CFG`` below, counted by
hand; the shipped data/duty.toml loads; the page through AppTest.

Who did what in 2024 (names resolved as the indices resolve them: id, else a unique name, else the
one in the activity's / opinion's / lead's town):

    R1 张伟 瓜沥   A01 A02 (进站接待 01-05) A03 (进站接待 02-10, by id) A04 视察 A06 主题活动 A07 走访;
                   leads S1 (01-10, answered A 04-01), S4 (2023-12-01, answered A 2024-02-01);
                   seconds S2 (01-10), S5 (03-03); receives O1 O2 (01-05)
    R2 李娜 瓜沥   A01 (进站接待 01-05) A05 学习培训 A07 走访 A08 执法检查; leads S3 (06-01, open);
                   seconds S1; receives O5 (06-06, by id)
    R3 王芳 瓜沥   A03 (进站接待 02-10) A04 视察; seconds S1; receives O3 (02-10)
    R4 王芳 城厢   A05 学习培训; receives O4 (05-05)
    R5 陈静 城厢   A04 视察 A05 学习培训 A10 列席会议; leads S2 (01-10, answered B 07-10)
    R6 (a formula-like name) 城厢: nothing
"""
from __future__ import annotations

import io
import json
from datetime import date
from fractions import Fraction
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from tests.conftest import store_from_sql
from analytics.domain import duty
from analytics.__main__ import main as cli_main
from analytics.core.periods import parse_period
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "duty_store.sql"
REPS = ["R1", "R2", "R3", "R4", "R5", "R6"]

# Distinct point values, so every rule shows in the sums.
RAW = {
    "general": {"on_track_min": 4},
    "duties": [
        {"key": "reception", "label": "进站接待", "counts": "reception_days", "target": 2},
        {"key": "inspect", "label": "视察调研", "counts": "activities", "types": ["视察", "调研"], "target": 1},
        {"key": "study", "label": "学习培训", "counts": "activities", "types": ["学习培训"], "target": 1},
        {"key": "suggest", "label": "建议", "counts": "suggestions", "roles": ["led", "seconded"], "target": 2},
        {"key": "opinions", "label": "接待意见", "counts": "opinions", "target": 2},
    ],
    "points": {
        "reception_day": 10, "suggestion_led": 20, "suggestion_seconded": 7, "suggestion_answered": 3,
        "suggestion_solved": 6, "opinion_received": 0.5,
        "activities": {"进站接待": 0, "视察": 2, "调研": 2, "执法检查": 3, "专题询问": 3, "学习培训": 1,
                       "法治讲座": 1, "主题活动": 4, "走访选民": 5, "列席会议": 1, "听庭": 1, "其他": 1},
    },
}
CFG = duty.parse_config(RAW, "test")
AS_OF = date(2024, 12, 31)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return store_from_sql(tmp_path_factory.mktemp("duty") / "d.duckdb", FIXTURE)


@pytest.fixture()
def con(db):
    c = connect(db, read_only=True)
    yield c
    c.close()


# ───────────────────────────── pace ─────────────────────────────

def test_elapsed_share_of_the_year():
    assert duty.elapsed(2024, date(2024, 1, 1)) == 0
    assert duty.elapsed(2024, date(2024, 4, 1)) == Fraction(1, 4)
    assert duty.elapsed(2024, date(2024, 7, 1)) == Fraction(1, 2)
    assert duty.elapsed(2024, date(2025, 1, 1)) == 1
    # 2024-02-15: one month and 14 of February's 29 days
    assert duty.elapsed(2024, date(2024, 2, 15)) == (1 + Fraction(14, 29)) / 12


def test_due_is_the_kth_of_n_after_k_minus_half_over_n():
    assert [duty.due(1, Fraction(k, 12)) for k in (0, 5, 6, 7, 12)] == [0, 0, 0, 1, 1]  # after mid-year
    assert [duty.due(2, Fraction(k, 12)) for k in (0, 3, 4, 9, 10, 12)] == [0, 0, 1, 1, 2, 2]  # after ¼ and ¾
    assert duty.due(6, Fraction(1, 2)) == 3 and duty.due(4, Fraction(1, 4)) == 1
    assert all(duty.due(t, Fraction(1)) == t for t in range(1, 13))


def test_cutoff():
    assert duty.cutoff(2024, date(2024, 12, 31)) == date(2025, 1, 1)
    assert duty.cutoff(2024, date(2024, 12, 31), date(2024, 7, 1)) == date(2024, 7, 1)
    assert duty.cutoff(2024, date(2024, 5, 9), date(2024, 7, 1)) == date(2024, 5, 10)  # the data ends first
    assert duty.cutoff(2024, date(2023, 6, 1)) == date(2024, 1, 1)


# ───────────────────────────── the record ─────────────────────────────

def test_data_as_of(con):
    assert duty.data_as_of(con) == AS_OF  # O6, the latest date in the three records


def test_events_resolve_names_like_the_indices(con):
    ev = duty.events(con, date(2024, 1, 1), date(2025, 1, 1))
    who = lambda source, ref: sorted(ev[(ev["source"] == source) & (ev["ref_id"] == ref)]["rep_id"])  # noqa: E731
    assert who("activity", "A03") == ["R1", "R3"]        # R1 by id; 王芳 in 瓜沥镇
    assert who("activity", "A04") == ["R1", "R3", "R5"]  # 陈静 is unique
    assert who("activity", "A05") == ["R2", "R4", "R5"]  # 王芳 in 城厢街道
    assert who("activity", "A09") == []                  # 2023
    assert who("seconded", "S1") == ["R2", "R3"]         # 王芳 → the lead's town
    assert who("seconded", "S5") == ["R1"]               # lead unknown, 张伟 still unique
    assert who("led", "S5") == [] and who("led", "S4") == []  # ambiguous lead; led in 2023
    assert who("answer", "S4") == ["R1"]                 # answered 2024-02-01
    assert who("opinion", "O3") == ["R3"] and who("opinion", "O4") == ["R4"] and who("opinion", "O5") == ["R2"]


# ───────────────────────────── 履职积分 ─────────────────────────────

# Per rep and quarter, by hand with CFG:
#  R1 Q1: 视察 2 + reception days 01-05, 02-10 2×10 + led S1 20 + seconded S2, S5 2×7 + answer S4 (A) 3+6
#         + O1, O2 2×0.5 = 66;  Q2: 主题活动 4 + answer S1 (A) 9 = 13;  Q3: 走访 5;  Q4: 0  → 84
#  R2 Q1: reception 01-05 10 + seconded S1 7 = 17;  Q2: 学习培训 1 + led S3 20 + O5 0.5 = 21.5;
#         Q3: 走访 5 + 执法检查 3 = 8  → 46.5
#  R3 Q1: reception 02-10 10 + 视察 2 + seconded S1 7 + O3 0.5 = 19.5
#  R4 Q2: 学习培训 1 + O4 0.5 = 1.5
#  R5 Q1: 视察 2 + led S2 20 = 22;  Q2: 学习培训 1;  Q3: answer S2 (B) 3;  Q4: 列席会议 1  → 27
#  R6: 0
POINTS = {"R1": (66, 13, 5, 0, 84), "R2": (17, 21.5, 8, 0, 46.5), "R3": (19.5, 0, 0, 0, 19.5),
          "R4": (0, 1.5, 0, 0, 1.5), "R5": (22, 1, 3, 1, 27), "R6": (0, 0, 0, 0, 0)}


def test_points_every_rule_and_quarter(con):
    t = duty.points_table(con, 2024, AS_OF, cfg=CFG).set_index("rep_id")
    for rep, values in POINTS.items():
        assert tuple(t.loc[rep, ["Q1", "Q2", "Q3", "Q4", "total"]]) == values, rep


def test_points_percentile_and_rank(con):
    t = duty.points_table(con, 2024, AS_OF, cfg=CFG).set_index("rep_id")
    # ascending R6 0, R4 1.5, R3 19.5, R5 27, R2 46.5, R1 84: Hazen 100·(i + ½)/6
    assert t["percentile"].round(6).to_dict() == {"R1": round(100 * 5.5 / 6, 6), "R2": 75.0,
                                                  "R3": round(100 * 2.5 / 6, 6), "R4": 25.0,
                                                  "R5": round(100 * 3.5 / 6, 6), "R6": round(100 * 0.5 / 6, 6)}
    assert t["rank"].to_dict() == {"R1": 1, "R2": 2, "R5": 3, "R3": 4, "R4": 5, "R6": 6}


def test_points_before_a_quarter_begins_are_none(con):
    t = duty.points_table(con, 2024, AS_OF, period_end=date(2024, 7, 1), cfg=CFG).set_index("rep_id")
    assert t["Q3"].isna().all() and t["Q4"].isna().all()
    assert t.at["R1", "total"] == 66 + 13 and t.at["R5", "total"] == 22 + 1


def test_each_rule_alone(con):
    """Switch one rule on at a time: the total is that rule's count × its points."""
    counts = {  # rule -> per rep count in 2024
        "reception_day": {"R1": 2, "R2": 1, "R3": 1},
        "suggestion_led": {"R1": 1, "R2": 1, "R5": 1},
        "suggestion_seconded": {"R1": 2, "R2": 1, "R3": 1},
        "suggestion_answered": {"R1": 2, "R5": 1},
        "suggestion_solved": {"R1": 2},
        "opinion_received": {"R1": 2, "R2": 1, "R3": 1, "R4": 1},
        "activity:视察": {"R1": 1, "R3": 1, "R5": 1},
        "activity:进站接待": {"R1": 3, "R2": 1, "R3": 1},
        "activity:学习培训": {"R2": 1, "R4": 1, "R5": 1},
    }
    zero = {**{k: 0 for k in duty.POINT_RULES}, "activities": {t: 0 for t in RAW["points"]["activities"]}}
    for rule, per_rep in counts.items():
        pts = {**zero, "activities": dict(zero["activities"])}
        if rule.startswith("activity:"):
            pts["activities"][rule.split(":")[1]] = 1
        else:
            pts[rule] = 1
        cfg = duty.parse_config({**RAW, "points": pts}, "test")
        t = duty.points_table(con, 2024, AS_OF, cfg=cfg).set_index("rep_id")["total"]
        assert t.to_dict() == {r: per_rep.get(r, 0) for r in REPS}, rule


# ───────────────────────────── 十必做 ─────────────────────────────

def test_progress_full_year(con):
    p = duty.progress(con, 2024, AS_OF, cfg=CFG)
    assert p.elapsed == 1 and p.as_of == AS_OF
    assert list(p.duties["due"]) == [2, 1, 1, 2, 2]
    done = p.wide.set_index("rep_id")[[f"{k}_done" for k in ("reception", "inspect", "study", "suggest", "opinions")]]
    assert done.loc["R1"].tolist() == [2, 1, 0, 3, 2]  # S4 was led in 2023: not this year's suggestion
    assert done.loc["R2"].tolist() == [1, 0, 1, 2, 1]
    assert done.loc["R3"].tolist() == [1, 1, 0, 1, 1]
    assert done.loc["R4"].tolist() == [0, 0, 1, 0, 1]
    assert done.loc["R5"].tolist() == [0, 1, 1, 1, 0]
    assert done.loc["R6"].tolist() == [0, 0, 0, 0, 0]
    w = p.wide.set_index("rep_id")
    assert w["on_pace"].to_dict() == {"R1": 4, "R2": 2, "R3": 1, "R4": 1, "R5": 2, "R6": 0}
    assert list(w.index[w["on_track"]]) == ["R1"]  # at least 4 of 5
    towns = p.towns.set_index("town")
    assert (towns.at["瓜沥镇", "on_track"], towns.at["瓜沥镇", "reps"]) == (1, 3)
    assert (towns.at["城厢街道", "on_track"], towns.at["城厢街道", "reps"]) == (0, 3)


def test_progress_mid_year(con):
    # half the year gone: a once-a-year duty is not due yet, a twice-a-year one once
    p = duty.progress(con, 2024, AS_OF, period_end=date(2024, 7, 1), cfg=CFG)
    assert p.elapsed == Fraction(1, 2) and list(p.duties["due"]) == [1, 0, 0, 1, 1]
    w = p.wide.set_index("rep_id")
    # R4: no reception day, no suggestion → 3 on pace; R5: no reception, no opinion → 3; R6: 2
    assert w["on_pace"].to_dict() == {"R1": 5, "R2": 5, "R3": 5, "R4": 3, "R5": 3, "R6": 2}
    assert list(w.index[w["on_track"]]) == ["R1", "R2", "R3"]


def test_reminder_list_and_xlsx(con):
    p = duty.progress(con, 2024, AS_OF, cfg=CFG)
    late = duty.behind(p)
    # most behind first (5 − on pace), then by town (城厢街道 sorts before 瓜沥镇) and id
    assert list(late["rep_id"]) == ["R6", "R4", "R3", "R5", "R2"]
    assert list(late["behind"]) == [5, 4, 4, 3, 3]
    assert late.set_index("rep_id").at["R2", "missing"] == "进站接待 1/2；视察调研 0/1；接待意见 1/2"
    wb = openpyxl.load_workbook(io.BytesIO(duty.reminder_xlsx(late, p)))
    ws = wb.worksheets[0]
    cells = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "代表编号" in cells and "落后的履职事项（已做/应做）" in cells
    assert "'=HYPERLINK(\"x\")" in cells and "'@界别" in cells
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells)


def test_figures_for_the_practice_index(con):
    f = duty.rep_period_figures(con, [parse_period("2024Q1"), parse_period("2024Q2")], CFG, AS_OF)
    q2 = f[f["period"] == "2024Q2"].set_index("rep_id")
    assert q2["points"].to_dict() == {"R1": 13, "R2": 21.5, "R3": 0, "R4": 1.5, "R5": 1, "R6": 0}
    assert list(q2.index[q2["on_track"]]) == ["R1", "R2", "R3"]  # as test_progress_mid_year
    q1 = f[f["period"] == "2024Q1"].set_index("rep_id")
    assert q1["points"].to_dict() == {"R1": 66, "R2": 17, "R3": 19.5, "R4": 0, "R5": 22, "R6": 0}
    assert q1["on_track"].all()  # a quarter gone: nothing is due yet (⌈2·¼ − ½⌉ = 0)


def test_trajectory_adds_up_to_the_points(con):
    tr = duty.trajectory(con, "R1", date(2024, 1, 1), date(2025, 1, 1), CFG)
    assert len(tr) == 13 and tr["points"].sum() == 84
    first = tr[tr["ref_id"].isin(["A01", "A02"])].set_index("ref_id")["points"]
    assert first.to_dict() == {"A01": 10, "A02": 0}  # the day's reception points on its first activity
    assert set(tr["what"]) == {"参加活动", "领衔建议", "领衔建议获答复", "附议建议", "接待群众意见"}
    r5 = duty.trajectory(con, "R5", date(2024, 1, 1), date(2025, 1, 1), CFG)
    assert list(r5["ref_id"]) == ["S2", "A04", "A05", "S2", "A10"] and r5["points"].sum() == 27
    assert duty.trajectory(con, "R6", date(2024, 1, 1), date(2025, 1, 1), CFG).empty


def test_one_representatives_record_is_the_record_of_all_filtered(con):
    """A trajectory asks the statement for one representative (not every record of the year)."""
    start, end = date(2024, 1, 1), date(2025, 1, 1)
    every = duty.events(con, start, end)
    keys = ["day", "source", "ref_id"]

    def plain(frame):  # an all-empty column comes as None (object) alone, as NaN (str) among others
        frame = frame.sort_values(keys).reset_index(drop=True).astype(object)
        return frame.where(frame.notna(), None)

    for rep in sorted(set(every["rep_id"])) + ["R-none"]:
        one = duty.events(con, start, end, rep)
        assert set(one["rep_id"]) <= {rep}
        pd.testing.assert_frame_equal(plain(one), plain(every[every["rep_id"] == rep]))


# ───────────────────────────── configuration ─────────────────────────────

def test_shipped_config():
    cfg = duty.load_config()
    assert len(cfg.duties) == 10 and cfg.on_track_min == 10
    assert all(d.target >= 1 for d in cfg.duties)
    assert set(cfg.activity_points) == set(RAW["points"]["activities"])


@pytest.mark.parametrize("change, words", [
    (lambda r: r["duties"][1].update(types=["视察活动x"]), ["inspect", "types", "视察活动x"]),
    (lambda r: r["duties"][0].update(target=0), ["reception", "target"]),
    (lambda r: r["duties"][3].update(roles=["led", "signed"]), ["suggest", "roles"]),
    (lambda r: r["duties"][4].update(key="reception"), ["key", "重复"]),
    (lambda r: r["points"]["activities"].pop("听庭"), ["[points.activities]", "听庭"]),
    (lambda r: r["points"].update(suggestion_led=-1), ["suggestion_led"]),
    (lambda r: r["general"].update(on_track_min=6), ["on_track_min"]),
])
def test_config_errors_are_chinese_and_name_the_key(change, words):
    raw = json.loads(json.dumps(RAW, ensure_ascii=False))
    change(raw)
    with pytest.raises(duty.DutyConfigError) as exc:
        duty.parse_config(raw, "duty.toml")
    for w in words:
        assert w in str(exc.value)
    assert "duty.toml" in str(exc.value)


# ───────────────────────────── command line ─────────────────────────────

def test_cli_json(db, capsys):
    assert cli_main(["reps", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["year"] == 2024 and out["as_of"] == "2024-12-31" and out["reps"] == 6
    assert len(out["duties"]) == 10 and {t["town"] for t in out["towns"]} == {"瓜沥镇", "城厢街道"}
    assert [p["rep_id"] for p in out["points"]] == REPS
    assert 0 <= out["on_track_share"] <= 1


def test_cli_text_and_year(db, capsys):
    assert cli_main(["reps", "--db", str(db), "--year", "2023"]) == 0
    text = capsys.readouterr().out
    assert "2023年" in text and "十必做" in text


# ───────────────────────────── the page ─────────────────────────────

def _app(db: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at._page_hash = calc_hash("reps")
    for k, v in query.items():
        at.query_params[k] = v
    return at


def test_page_renders_points_duties_and_a_timeline(db, monkeypatch):
    at = _app(db, monkeypatch, period="2024").run()
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["代表人数"] == "6 人"
    assert [t.label for t in at.tabs] == ["履职积分与季度亮分", "履职清单“十必做”", "履职轨迹"]
    points = at.dataframe[0].value
    assert len(points) == 6 and {"Q1 亮分", "Q4 亮分", "全年累计", "全区百分位"} <= set(points.columns)
    assert at.get("download_button"), "the reminder list download is missing"
    at.multiselect(key="rp_towns").select("城厢街道").run()
    assert len(at.dataframe[0].value) == 3
    at.selectbox(key="rp_rep").select("R5").run()
    assert not at.exception and at.query_params["rep"] == "R5"
    traj = at.dataframe[-1].value
    assert list(traj["编号"]) == ["A10", "S2", "A05", "A04", "S2"]  # newest first


def test_page_opens_a_timeline_from_the_url(db, monkeypatch):
    at = _app(db, monkeypatch, period="2024Q2", rep="R2").run()
    assert not at.exception
    assert at.selectbox(key="rp_rep").value == "R2"
    # Q2 chosen in the sidebar: progress and the timeline stop at 2024-06-30 (R2's 走访 07-15 is later)
    assert "A07" not in set(at.dataframe[-1].value["编号"])


def test_practice_index_counts_with_these_rules(con, monkeypatch):
    """The 践行 index's 十必做 share and points are this module's (one definition): with CFG in place
    of data/duty.toml, the town cells carry the hand values of test_figures_for_the_practice_index."""
    from analytics.domain import indices

    monkeypatch.setattr(duty, "load_config", lambda path=None: CFG)
    cs = indices.component_scores(con, "2024Q2", "town")
    got = lambda unit, key: tuple(cs[(cs["unit_id"] == unit) & (cs["component"] == key)][["numerator", "denominator"]].iloc[0])  # noqa: E731
    # 瓜沥镇 R1 R2 R3: points 13 + 21.5 + 0, all three on track; 城厢街道 R4 R5 R6: 1.5 + 1 + 0, none
    assert got("瓜沥镇", "points_per_rep") == (34.5, 3) and got("城厢街道", "points_per_rep") == (2.5, 3)
    assert got("瓜沥镇", "on_track_share") == (3, 3) and got("城厢街道", "on_track_share") == (0, 3)
    rows = indices.receipt_rows(con, "瓜沥镇", "on_track_share", "2024Q2").set_index("rep_id")
    assert rows["in_numerator"].all() and list(rows["on_pace"]) == [5, 5, 5]
    assert list(rows["points"]) == [13, 21.5, 0]


def test_docs_list_every_shipped_duty_and_rule():
    """docs/duty.md states the shipped ten duties with their targets: a change to data/duty.toml
    without the document fails here."""
    doc = (ROOT / "docs" / "duty.md").read_text(encoding="utf-8")
    cfg = duty.load_config()
    for d in cfg.duties:
        assert any(d.label in line and line.rstrip().endswith(f"| {d.target} |") for line in doc.splitlines()), d.label
    assert f"现为 {cfg.on_track_min}" in doc
    for rule in ("reception_day", "suggestion_led", "suggestion_seconded", "opinion_received"):
        assert f"| {cfg.points[rule]:g} |" in doc.replace(f"| +{cfg.points['suggestion_answered']:g} |", ""), rule


def test_page_on_the_demo_store(demo_db, monkeypatch):
    at = _app(demo_db, monkeypatch).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["代表履职"]
    cards = {m.label.split("：")[0]: m.value for m in at.metric}
    assert cards["代表人数"].endswith("人") and cards["“十必做”进度正常"].endswith("%")
    assert len(at.dataframe[0].value) == int(cards["代表人数"].split()[0].replace(",", ""))


@pytest.mark.parametrize("month", [None, 2, 4, 7, 10])
def test_progress_and_points_from_day_counts_equal_those_from_the_record(demo_db, month):
    """The 代表履职 page counts from the year's day counts (kept in the store by the importer); the
    record gives the same figures, to the last bit of every float."""
    con = connect(demo_db, read_only=True)
    try:
        cfg = duty.load_config()
        as_of = duty.data_as_of(con)
        year = duty.years_with_data(con)[0]
        period_end = date(year, month, 1) if month else None
        cut = duty.cutoff(year, as_of, period_end)
        ev = duty.events(con, date(year, 1, 1), cut)
        days = duty._day_counts(con, year, cfg)
        a = duty.progress(con, year, as_of, period_end, cfg, ev)
        b = duty.progress(con, year, as_of, period_end, cfg, days=days)
        pd.testing.assert_frame_equal(a.wide, b.wide)
        pd.testing.assert_frame_equal(a.long, b.long)
        assert a.wide[[c for c in a.wide.columns if c.endswith("_done")]].to_numpy().sum() > 0
        pa = duty.points_table(con, year, as_of, period_end, cfg, ev)
        pb = duty.points_table(con, year, as_of, period_end, cfg, days=days)
        pd.testing.assert_frame_equal(pa, pb)
        assert pa["total"].sum() > 0
    finally:
        con.close()
