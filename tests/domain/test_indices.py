"""The five indices: golden values on a store small enough to count by hand, properties, config.

The golden store is tests/data/indices_golden/*.csv (period 2024Q2 = 2024-04-01 … 2024-06-30):
  towns   T1 瓜沥镇 (stations S1 甲村, S2 乙村), T2 城厢街道 (S3 丙社区, parent given by name),
          T3 楼塔镇 (S4 丁村, no data at all), T4 河上镇 (no data, no representatives);
  reps    T1: R01 张伟, R02 李娜, R03 王芳 (S1), R04 赵敏 (S2), R05 刘洋 (no station)
          T2: R06 陈静, R07 杨帆, R08 黄磊 (S3);  T3: R09 周杰, R10 吴昊, R11 王芳 (a 2nd 王芳)
  data as-of time: O20, 2024-07-05 12:00 (the latest time in opinions); on_time_days = 15.
Every count below is written with the rows it comes from; the adjustment and score formulas are
applied by hand (``beta``/``gamma`` below restate docs/indices.md, independently of the code).
"""
from __future__ import annotations

import csv
import json
import random
import re
import tomllib
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.domain import indices
from analytics.domain import metrics
from analytics.store import db as store
from analytics.__main__ import main
from analytics.domain.indices import IndexConfigError, load_config, parse_config
from analytics.core.periods import parse_period

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "indices_golden"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "indices.md"
TABLES = ("units", "reps", "opinions", "suggestions", "activities")
Q2 = "2024Q2"
CJK = re.compile(r"[\u4e00-\u9fff]")

# Hazen mid-rank percentiles among three sufficient towns: bottom, middle, top.
LOW, MID, TOP = 100 * 0.5 / 3, 100 * 1.5 / 3, 100 * 2.5 / 3  # 16.67, 50, 83.33


def beta(x, n, p, m=20):
    """Beta-binomial shrinkage (docs/indices.md): (x + m·p̄) / (n + m)."""
    return (x + m * p) / (n + m)


def gamma(x, e, lam, m=10):
    """Gamma-Poisson shrinkage (docs/indices.md): (x + m) / (e + m/λ̄)."""
    return (x + m) / (e + m / lam)


# ───────────────────────────── loading ─────────────────────────────

def read_golden() -> dict[str, list[dict]]:
    out = {}
    for t in TABLES:
        with open(GOLDEN / f"{t}.csv", encoding="utf-8", newline="") as f:
            out[t] = [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]
    return out


def load(con, tables: dict[str, list[dict]], seed: int | None = None) -> None:
    """Insert rows (in a shuffled order when seed is given); values cast by the store's columns."""
    rng = random.Random(seed)
    order = list(TABLES)
    if seed is not None:
        rng.shuffle(order)
    for t in order:
        rows = list(tables.get(t, []))
        if not rows:
            continue
        if seed is not None:
            rng.shuffle(rows)
        frame = pd.DataFrame(rows, dtype=object)
        con.register("rows_to_load", frame)
        con.execute(f"INSERT INTO {t} BY NAME SELECT * FROM rows_to_load")
        con.unregister("rows_to_load")


@pytest.fixture(scope="module")
def golden_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("golden") / "golden.duckdb"
    con = store.connect(path)
    load(con, read_golden())
    con.close()
    return path


@pytest.fixture(scope="module")
def golden(golden_path):
    con = store.connect(golden_path, read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="module")
def towns(golden):
    return indices.component_scores(golden, Q2, "town")


def comp(frame: pd.DataFrame, unit_id: str, key: str) -> pd.Series:
    rows = frame[(frame["unit_id"] == unit_id) & (frame["component"] == key)]
    assert len(rows) == 1, (unit_id, key)
    return rows.iloc[0]


# ───────────────────────────── golden: counts ─────────────────────────────

# (numerator, denominator) per component for T1, T2, T3 in 2024Q2, counted from the CSVs.
GOLDEN_COUNTS = {
    # activities held at the town: T1 A01-A05; T2 A06-A09; T3 A10, A12. reps: 5, 3, 3
    "activities_per_rep": [(5, 5), (4, 3), (2, 3)],
    # 参与人次: T1 A01 2 (no headcount: 2 names) + 1 + 3 + 4 + 1; T2 2+1+1+3; T3 1 + A12 2 names
    "headcount_per_rep": [(11, 5), (7, 3), (3, 3)],
    # opinions submitted in Q2: T1 O01-O10; T2 O11-O16; T3 O17, O18
    "opinions_per_rep": [(10, 5), (6, 3), (2, 3)],
    # 进站接待 station-days: T1 S1 04-02, 04-09; T2 S3 04-15 (A06 and A07 on one day); T3 none.
    # stations: T1 S1, S2; T2 S3 (parent written as 城厢街道); T3 S4
    "reception_days_per_station": [(2, 2), (1, 1), (0, 1)],
    # 十必做 as analytics.domain.duty counts it (data/duty.toml), from 1 January to the end of Q2 = half the
    # year: due ⌈target·½ − ½⌉ → 进站接待 3 days of 6, 走访 1 of 2, 视察/调研 1 of 2, 接待群众意见 2 of 4, the
    # once-a-year duties 0. The golden opinions name no 接待代表, so nobody has 2 opinions: 0 on track.
    "on_track_share": [(0, 5), (0, 3), (0, 3)],
    # 主题活动: only A05 (R01)
    "theme_share": [(1, 5), (0, 3), (0, 3)],
    # 履职积分 by data/duty.toml (analytics.domain.duty): 进站接待 2 a day (the activity itself 0), 视察/调研 2,
    # 学习培训/法治讲座/听庭 1, 主题活动/走访 2; led 5, answered +1, solved (A) +2 (no 答复时间 in the golden
    # suggestions: the answer is dated by 提出时间, in Q2).
    # T1 R01 days 04-02, 04-09 4 + 学习培训 1 + 主题活动 2 + led G01 G02 10 + answers G01 (A) 3, G02 (B) 1 = 21;
    #    R02 day 04-02 2 + 学习培训 1 = 3;  R03 视察 2 + 学习培训 1 = 3 ("王芳" of A03/A04: the one in 瓜沥镇);
    #    R04 视察 2 + 学习培训 1 + led G08 5 + answered (C) 1 = 9;  R05 视察 2 + led G07 (no answer) 5 = 7  → 43
    # T2 R06 day 04-15 2 + 调研 2 + 讲座 1 + G04 (A) 8 = 13;  R07 day 2 + 讲座 1 + G05 (C) 6 = 9;
    #    R08 day 2 + 讲座 1 + G06 (A) 8 = 11  → 33
    # T3 R09 听庭 1 + 走访 2 + G09 (A) 8 = 11;  R10 走访 2;  R11 0  → 13
    "points_per_rep": [(43, 5), (33, 3), (13, 3)],
    # 视察/调研/执法检查/专题询问 held at the town: T1 A03; T2 A08; T3 none
    "supervision_activities_per_rep": [(1, 5), (1, 3), (0, 3)],
    # reps who joined one: T1 R03, R04, R05 (A03); T2 R06 (A08); T3 none
    "supervision_share": [(3, 5), (1, 3), (0, 3)],
    # suggestions led in Q2: T1 G01 (by id R01), G02, G07, G08; T2 G04-G06; T3 G09.
    # G03 "王芳" is in two towns and G11 is not in the roster: district only. G10 is Q1.
    "suggestions_per_rep": [(4, 5), (3, 3), (1, 3)],
    # 已办结 / not 不予受理: T1 O01 O02 O03 O07 O08 O09 / all but O05; T2 all but O15 / 6; T3 O17 / O17
    "closure_rate": [(6, 9), (5, 6), (1, 1)],
    # closed within 15 days / due. T1: on time O01 (9 d), O03, O07, O09; due = closed with a time
    # (O01 O02 O03 O07 O09; O08 has none) + open and past 15 days at 07-05 12:00 (O04; not O06, O10).
    # T2: on time O11 O12 O14 O16 (O13 took 28 d); due = 5 closed + O15 (06-12 + 15 d < 07-05).
    "on_time_rate": [(4, 6), (4, 6), (1, 1)],
    # 满意 + ½ 基本满意 / evaluated: T1 O01 O03 O08 O09 + ½ O02 / those + O07 (不满意) = 4.5 / 6;
    # T2 O11 O12 O13 O16 + ½ O14 / 5; T3 O17 / 1
    "weighted_satisfaction": [(4.5, 6), (4.5, 5), (1, 1)],
    # A + ½ B / answered: T1 G01 A, G02 B, G08 C (G07 unanswered) = 1.5 / 3; T2 A, C, A = 2 / 3; T3 1/1
    "weighted_resolution": [(1.5, 3), (2, 3), (1, 1)],
    # 学习培训/法治讲座/听庭 participations of the town's reps: T1 A04 × 4; T2 A09 × 3; T3 A10 × 1
    "study_per_rep": [(4, 5), (3, 3), (1, 3)],
    "study_share": [(4, 5), (3, 3), (1, 3)],
}


def test_golden_counts_every_component(towns):
    assert set(GOLDEN_COUNTS) == {c.key for c in load_config().components}
    for key, expected in GOLDEN_COUNTS.items():
        for unit_id, (x, n) in zip(("T1", "T2", "T3"), expected):
            row = comp(towns, unit_id, key)
            assert (row["numerator"], row["denominator"]) == (x, n), (key, unit_id)
            assert row["raw"] == pytest.approx(x / n)


# ───────────────────────────── golden: adjusted values and scores ─────────────────────────────

# component -> [(adjusted, score)] for T1, T2, T3; None = 样本不足. Priors are pooled over the towns.
GOLDEN_SCORES = {
    # λ̄ = 11/11 = 1: T1 15/15 = 1.000, T2 14/13 = 1.077, T3 12/13 = 0.923
    "activities_per_rep": [(gamma(5, 5, 1), MID), (gamma(4, 3, 1), TOP), (gamma(2, 3, 1), LOW)],
    # λ̄ = 21/11: T1 2.051, T2 2.064, T3 1.578
    "headcount_per_rep": [(gamma(11, 5, 21 / 11), MID), (gamma(7, 3, 21 / 11), TOP), (gamma(3, 3, 21 / 11), LOW)],
    # λ̄ = 18/11: T1 1.800, T2 1.756, T3 1.317
    "opinions_per_rep": [(gamma(10, 5, 18 / 11), TOP), (gamma(6, 3, 18 / 11), MID), (gamma(2, 3, 18 / 11), LOW)],
    # λ̄ = 3/4: T1 12/15.33 = 0.783, T2 11/14.33 = 0.767, T3 10/14.33 = 0.698
    "reception_days_per_station": [(gamma(2, 2, 0.75), TOP), (gamma(1, 1, 0.75), MID), (gamma(0, 1, 0.75), LOW)],
    # 0 on track in every town: a tie of zeros is missing data, not a score → 样本不足 for all
    "on_track_share": [None, None, None],
    # p̄ = 1/11; T2 and T3 tie (0 of 3 each): (0 + ½·2)/3 = 33.3
    "theme_share": [(beta(1, 5, 1 / 11), TOP), (beta(0, 3, 1 / 11), 100 / 3), (beta(0, 3, 1 / 11), 100 / 3)],
    # λ̄ = 89/11: T1 53/6.236 = 8.50, T2 43/4.236 = 10.15, T3 23/4.236 = 5.43
    "points_per_rep": [(gamma(43, 5, 89 / 11), MID), (gamma(33, 3, 89 / 11), TOP), (gamma(13, 3, 89 / 11), LOW)],
    # λ̄ = 2/11: T1 11/60 = 0.1833, T2 11/58 = 0.1897, T3 10/58 = 0.1724
    "supervision_activities_per_rep": [(gamma(1, 5, 2 / 11), MID), (gamma(1, 3, 2 / 11), TOP),
                                       (gamma(0, 3, 2 / 11), LOW)],
    "supervision_share": [(beta(3, 5, 4 / 11), TOP), (beta(1, 3, 4 / 11), MID), (beta(0, 3, 4 / 11), LOW)],
    # λ̄ = 8/11 (district-only suggestions are no town's)
    "suggestions_per_rep": [(gamma(4, 5, 8 / 11), MID), (gamma(3, 3, 8 / 11), TOP), (gamma(1, 3, 8 / 11), LOW)],
    # p̄ = 12/16 (T3's row is in the prior); T3's 1 is below the minimum 5: ranks among two towns,
    # 100·½/2 = 25 and 100·1½/2 = 75
    "closure_rate": [(beta(6, 9, 0.75), 25), (beta(5, 6, 0.75), 75), None],
    # p̄ = 9/13; T1 and T2 both 4 of 6: a tie, 50 each
    "on_time_rate": [(beta(4, 6, 9 / 13), 50), (beta(4, 6, 9 / 13), 50), None],
    "weighted_satisfaction": [(beta(4.5, 6, 10 / 12), 25), (beta(4.5, 5, 10 / 12), 75), None],
    "weighted_resolution": [(beta(1.5, 3, 4.5 / 7), 25), (beta(2, 3, 4.5 / 7), 75), None],
    "study_per_rep": [(gamma(4, 5, 8 / 11), MID), (gamma(3, 3, 8 / 11), TOP), (gamma(1, 3, 8 / 11), LOW)],
    "study_share": [(beta(4, 5, 8 / 11), MID), (beta(3, 3, 8 / 11), TOP), (beta(1, 3, 8 / 11), LOW)],
}


def test_golden_adjusted_values_and_scores(towns):
    for key, expected in GOLDEN_SCORES.items():
        for unit_id, exp in zip(("T1", "T2", "T3"), expected):
            row = comp(towns, unit_id, key)
            if exp is None:
                assert row["insufficient"] and np.isnan(row["score"]), (key, unit_id)
                assert "样本不足" in row["note"]
            else:
                assert not row["insufficient"], (key, unit_id)
                assert row["adjusted"] == pytest.approx(exp[0], rel=1e-12), (key, unit_id)
                assert row["score"] == pytest.approx(exp[1], rel=1e-12), (key, unit_id)


def test_golden_indices_towns(golden):
    got = indices.compute_indices(golden, Q2, "town").set_index("unit_id")
    expected = {
        # 活跃: equal weights. T1 (50+50+83.3+83.3)/4; T2 (83.3+83.3+50+50)/4; T3 all bottom
        "activity": {"T1": 200 / 3, "T2": 200 / 3, "T3": LOW},
        # 践行: weights 2, 1, 2; 十必做 share 样本不足, the other two carry 3/5 = 0.6 ≥ min_coverage.
        # T1 (83.3 + 2·50)/3 = 61.1; T2 (33.3 + 2·83.3)/3 = 66.7; T3 (33.3 + 2·16.7)/3 = 22.2
        "practice": {"T1": (TOP + 2 * MID) / 3, "T2": (100 / 3 + 2 * TOP) / 3, "T3": (100 / 3 + 2 * LOW) / 3},
        "supervision": {"T1": (MID + TOP + MID) / 3, "T2": (TOP + MID + TOP) / 3, "T3": LOW},
        # 解忧: weights 3, 2, 3, 2. T1 (3·25 + 2·50 + 3·25 + 2·25)/10 = 30; T2 (3·75+2·50+3·75+2·75)/10 = 70;
        # T3: no component has enough data → 样本不足
        "resolution": {"T1": 30.0, "T2": 70.0, "T3": None},
        "study": {"T1": MID, "T2": TOP, "T3": LOW},
    }
    for key, per_town in expected.items():
        for unit_id, value in per_town.items():
            if value is None:
                assert np.isnan(got.at[unit_id, key])
            else:
                assert got.at[unit_id, key] == pytest.approx(value, rel=1e-12), (key, unit_id)
    # composite: equal weights; T3's 样本不足 解忧 is left out (4 of 5 weights = 0.8 ≥ 0.6)
    assert got.at["T1", "composite"] == pytest.approx((200 / 3 + 550 / 9 + 550 / 9 + 30 + 50) / 5)  # 53.78
    assert got.at["T2", "composite"] == pytest.approx((200 / 3 + 200 / 3 + 650 / 9 + 70 + TOP) / 5)  # 71.78
    assert got.at["T3", "composite"] == pytest.approx((LOW + 200 / 9 + LOW + LOW) / 4)  # 18.06
    assert list(got["insufficient"]) == [False, False, False, True]


def test_golden_stations(golden):
    cs = indices.component_scores(golden, Q2, "station")
    # S1 and S3: 3 activities, 4 人次, 6 opinions, 3 reps each → equal adjusted values, 50 each.
    # S2 has 1 rep and S4 none: below the minimum of 3 reps → 样本不足, left out of the ranking.
    for key in ("activities_per_rep", "headcount_per_rep", "opinions_per_rep"):
        assert comp(cs, "S1", key)["score"] == comp(cs, "S3", key)["score"] == 50
        assert comp(cs, "S2", key)["insufficient"] and comp(cs, "S4", key)["insufficient"]
    # O12 says its station is "丙社区" (no suffix), O08 " 瓜沥镇乙村代表联络站 " (spaces): matched.
    assert comp(cs, "S3", "opinions_per_rep")["numerator"] == 6
    assert comp(cs, "S2", "opinions_per_rep")["numerator"] == 2
    # reception days per station, every station has 1 station: S1 2, S2 0, S3 1, S4 0; λ̄ = 3/4.
    # S2 and S4 tie at the bottom (0 + ½·2)/4 = 25; S3 (2 + ½)/4 = 62.5; S1 (3 + ½)/4 = 87.5
    days = {s: comp(cs, s, "reception_days_per_station") for s in ("S1", "S2", "S3", "S4")}
    assert days["S1"]["adjusted"] == pytest.approx(gamma(2, 1, 0.75))
    assert [days[s]["score"] for s in ("S1", "S2", "S3", "S4")] == [87.5, 25, 62.5, 25]
    got = indices.compute_indices(golden, Q2, "station").set_index("unit_id")
    assert got.at["S1", "activity"] == pytest.approx((50 + 50 + 50 + 87.5) / 4)  # 59.375
    assert got.at["S3", "activity"] == pytest.approx((50 + 50 + 50 + 62.5) / 4)  # 53.125
    # S2: only the reception component (¼ of the weight < 0.6) → 样本不足; S4 has no data at all.
    for s in ("S2", "S4"):
        assert got.loc[s, list(indices.SCORE_COLUMNS)].isna().all()
        assert got.at[s, "insufficient"]


def test_golden_district_is_placed_among_the_towns(golden):
    cs = indices.component_scores(golden, Q2, "district")
    assert set(cs["unit_id"]) == {"U00"}
    # suggestions: all 10 of Q2 (incl. G03 and G11, which no town has) over 11 reps, shrunk toward
    # the towns' 8/11: 20/24.75 = 0.808, above all three towns → (3 + ½)/4 = 87.5
    row = comp(cs, "U00", "suggestions_per_rep")
    assert (row["numerator"], row["denominator"]) == (10, 11)
    assert row["adjusted"] == pytest.approx(gamma(10, 11, 8 / 11))
    assert row["score"] == 87.5
    # 办结率 12/16 equals the towns' prior 0.75: one town below (T1), one above → (1 + ½)/3 = 50
    row = comp(cs, "U00", "closure_rate")
    assert (row["numerator"], row["denominator"], row["score"]) == (12, 16, 50)
    # 活动场次 11/11 = 1.0 ties with T1 (15/15): (1 below + ½·(1 equal + itself))/4 = 50
    assert comp(cs, "U00", "activities_per_rep")["score"] == 50
    got = indices.compute_indices(golden, Q2, "district")
    assert got.loc[0, "activity"] == pytest.approx((50 + 37.5 + 37.5 + 37.5) / 4)


def test_unit_without_data_is_insufficient_not_zero_nor_hundred(golden):
    for level, unit_id in (("town", "T4"), ("station", "S4")):
        got = indices.compute_indices(golden, Q2, level).set_index("unit_id")
        assert got.at[unit_id, "insufficient"]
        assert got.loc[unit_id, list(indices.SCORE_COLUMNS)].isna().all()
    cs = indices.component_scores(golden, Q2, "town")
    t4 = cs[cs["unit_id"] == "T4"]
    assert t4["insufficient"].all() and t4["score"].isna().all()
    assert t4["note"].str.contains("样本不足").all()


def test_period_without_any_activity_is_insufficient_not_a_tie(golden):
    # 2024Q3 holds one opinion (O20) and no activity: rep-based rates would tie every town at
    # "0 of n"; a tie of zeros is missing data, so it is 样本不足 rather than 50 for everyone.
    cs = indices.component_scores(golden, "2024Q3", "town")
    assert cs[cs["component"] == "on_track_share"]["insufficient"].all()
    assert indices.compute_indices(golden, "2024Q3", "town")["insufficient"].all()


# ───────────────────────────── receipts ─────────────────────────────

def test_receipt_adds_up_to_the_index(golden):
    r = indices.receipt(golden, "T1", "resolution", Q2)
    assert list(r["component"]) == ["closure_rate", "on_time_rate", "weighted_satisfaction", "weighted_resolution"]
    # weights 3, 2, 3, 2 → effective 0.3, 0.2, 0.3, 0.2; scores 25, 50, 25, 25
    assert list(r["effective_weight"]) == pytest.approx([0.3, 0.2, 0.3, 0.2])
    assert list(r["contribution"]) == pytest.approx([7.5, 10, 7.5, 5])
    assert r.attrs["score"] == pytest.approx(30) and r.attrs["coverage"] == 1
    row = r.set_index("component").loc["closure_rate"]
    assert (row["numerator"], row["denominator"]) == (6, 9)
    assert row["raw"] == pytest.approx(6 / 9) and row["prior"] == pytest.approx(0.75)
    assert row["adjusted"] == pytest.approx(21 / 29)


def test_receipt_of_insufficient_index_and_composite(golden):
    r = indices.receipt(golden, "T3", "resolution", Q2)
    assert r["insufficient"].all() and r.attrs["score"] is None and r.attrs["coverage"] == 0
    assert "低于最小样本" in r.set_index("component").at["closure_rate", "note"]
    c = indices.receipt(golden, "T3", "composite", Q2)
    assert list(c["index"]) == list(indices.INDEX_KEYS)
    # four sufficient indices of weight 1: each counts ¼
    assert c.attrs["score"] == pytest.approx((LOW + 200 / 9 + LOW + LOW) / 4)
    assert c.attrs["coverage"] == pytest.approx(0.8)
    assert np.isnan(c.set_index("index").at["resolution", "contribution"])


def test_receipt_rows_opinions_are_masked_and_flagged(golden):
    rows = indices.receipt_rows(golden, "T1", "closure_rate", Q2)
    assert sorted(rows["opinion_id"]) == [f"O{i:02d}" for i in range(1, 11)]
    assert rows["in_denominator"].sum() == 9 and rows["in_numerator"].sum() == 6
    assert set(rows.loc[~rows["in_denominator"], "opinion_id"]) == {"O05"}  # 不予受理
    assert (rows["submitter"].str.len() >= 2).all() and rows["submitter"].str.endswith("*").all()
    assert "张三" not in set(rows["submitter"])
    sat = indices.receipt_rows(golden, "T1", "weighted_satisfaction", Q2)
    assert sat["credit"].sum() == 4.5 and sat["in_denominator"].sum() == 6
    station = indices.receipt_rows(golden, "S3", "closure_rate", Q2)
    assert "O12" in set(station["opinion_id"])  # station written "丙社区"


def test_receipt_rows_reps_activities_suggestions(golden):
    reps = indices.receipt_rows(golden, "T1", "on_track_share", Q2).set_index("rep_id")
    assert list(reps.index) == ["R01", "R02", "R03", "R04", "R05"]
    # duties on pace at mid-year (see GOLDEN_COUNTS): the six not yet due, plus R01's 3 reception days
    # and R03/R04/R05's 视察; nobody has the 2 opinions received → nobody on track
    assert list(reps["on_pace"]) == [7, 6, 7, 7, 7] and not reps["in_numerator"].any()
    assert list(reps["points"]) == [21, 3, 3, 9, 7]
    acts = indices.receipt_rows(golden, "T1", "supervision_activities_per_rep", Q2)
    assert list(acts["activity_id"]) == ["A03"]
    sugg = indices.receipt_rows(golden, "T1", "weighted_resolution", Q2)
    assert list(sugg["suggestion_id"]) == ["G01", "G02", "G07", "G08"]
    assert sugg["credit"].sum() == 1.5 and sugg["in_denominator"].sum() == 3
    district = indices.receipt_rows(golden, "U00", "suggestions_per_rep", Q2)
    assert {"G03", "G11"} <= set(district["suggestion_id"])  # placed in no town, still the district's


def test_station_contributions_pull_the_town(golden):
    sc = indices.station_contributions(golden, "T1", Q2)
    assert set(sc["station_id"]) == {"S1", "S2"}
    s2 = sc[sc["station_id"] == "S2"].set_index("component")
    # Without S2 (O07 on time, due): T1 on time 3 of 5 → beta(3, 5, 8/12)… is below T2's 4 of 6,
    # so T1 drops from 50 (tie) to 25: S2 pulls T1 up by 25 points.
    assert s2.at["on_time_rate", "town_score"] == 50
    assert s2.at["on_time_rate", "score_without"] == 25
    assert s2.at["on_time_rate", "pull"] == 25 and s2.at["on_time_rate", "direction"] == "拉高"
    assert s2.at["on_time_rate", "raw"] == 1 and s2.at["on_time_rate", "deviation"] == pytest.approx(1 - 4 / 6)
    assert s2.at["on_time_rate", "share"] == pytest.approx(1 / 6)
    # 监督: A03 (视察) is S2's; without it T1 has none and falls from the middle to the bottom
    # (50 → 16.7 on the component, a third of that on the index of three equal components).
    assert s2.at["supervision_activities_per_rep", "pull"] == pytest.approx(MID - LOW)
    assert s2.at["supervision", "pull"] == pytest.approx((MID - LOW) / 3)
    # Without S2, T1's 满意/解决 fall below their minimum samples: 解忧 is not comparable
    assert np.isnan(s2.at["resolution", "pull"]) and pd.isna(s2.at["resolution", "direction"])
    s1 = sc[sc["station_id"] == "S1"].set_index("component")
    # S1 holds 3 of T1's 5 reps: without it per-rep figures have too few reps → no pull
    assert np.isnan(s1.at["activities_per_rep", "pull"])
    # S1 has both of T1's reception days: without them T1 ties T3 at the bottom, (0 + ½·2)/3
    assert s1.at["reception_days_per_station", "pull"] == pytest.approx(TOP - 100 / 3)


def test_trend_matches_single_periods(golden):
    trend = indices.index_trend(golden, "T1", "2024Q1", Q2)
    assert list(trend["period"]) == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05", "2024-06"]
    may = indices.compute_indices(golden, "2024-05", "town").set_index("unit_id").loc["T1"]
    row = trend.set_index("period").loc["2024-05"]
    for k in indices.SCORE_COLUMNS:
        assert row[k] == pytest.approx(may[k], nan_ok=True)
    quarters = indices.index_trend(golden, "U00", "2024", "2024", grain="quarter")
    assert list(quarters["period"]) == ["2024Q1", "2024Q2", "2024Q3", "2024Q4"]
    assert quarters.set_index("period").at[Q2, "composite"] == pytest.approx(
        indices.compute_indices(golden, Q2, "district").at[0, "composite"])


def test_index_changes(golden):
    ch = indices.index_changes(golden, Q2)
    row = ch[(ch["unit_id"] == "T1") & (ch["index"] == "activity")].iloc[0]
    before = indices.compute_indices(golden, "2024Q1", "town").set_index("unit_id").at["T1", "activity"]
    assert row["change"] == pytest.approx(row["score"] - before)


# ───────────────────────────── one definition: agreement with the headline figures ─────────────

def _raw_config() -> dict:
    return tomllib.loads(indices.CONFIG_PATH.read_text(encoding="utf-8"))


def test_components_reproduce_the_headline_figures(golden):
    """With the headline's weights (基本满意 = 满意, only A solves) the index components count
    exactly what analytics.domain.metrics counts, for every town and the district."""
    raw = _raw_config()
    raw["resolution"]["basic_satisfied_weight"] = 1.0
    raw["resolution"]["answer_credit"] = {"A": 1.0, "B": 0.0, "C": 0.0}
    cfg = parse_config(raw)
    period = parse_period(Q2)
    pairs = {"opinions": ("opinions_per_rep", "numerator"), "closure_rate": ("closure_rate", None),
             "satisfaction_rate": ("weighted_satisfaction", None), "suggestions": ("suggestions_per_rep", "numerator"),
             "resolution_rate": ("weighted_resolution", None), "activities": ("activities_per_rep", "numerator"),
             "participations": ("headcount_per_rep", "numerator")}
    for level, scope in (("town", {"T1": "瓜沥镇", "T2": "城厢街道", "T3": "楼塔镇"}), ("district", {"U00": None})):
        cs = indices.component_scores(golden, Q2, level, cfg)
        for unit_id, town in scope.items():
            for metric_key, (comp_key, only) in pairs.items():
                fig = metrics.compute(golden, metric_key, period, town)
                row = comp(cs, unit_id, comp_key)
                assert row["numerator"] == fig.numerator, (unit_id, metric_key)
                if only is None:
                    assert row["denominator"] == fig.denominator, (unit_id, metric_key)


# ───────────────────────────── properties ─────────────────────────────

SYNTH_TOWNS = ("瓜沥镇", "城厢街道", "北干街道", "衙前镇", "义桥镇")
TYPES = ("进站接待", "视察", "调研", "执法检查", "专题询问", "学习培训", "法治讲座", "主题活动", "走访选民",
         "列席会议", "听庭", "其他")
STATUSES = ("已办结", "已办结", "已办结", "办理中", "不予受理", None)
SATS = ("满意", "满意", "基本满意", "不满意", "未评价", None)


def synth(seed: int, towns=SYNTH_TOWNS) -> dict[str, list[dict]]:
    """A random store of a few towns, two stations each, over the first half of 2024."""
    rng = random.Random(seed)
    t = {k: [] for k in TABLES}
    t["units"].append({"unit_id": "D", "name": "总站", "level": "总站", "parent": None})
    names = iter(f"代表{i:03d}" for i in range(1000))
    for ti, town in enumerate(towns):
        tid = f"T{ti}"
        t["units"].append({"unit_id": tid, "name": town, "level": "镇街", "parent": "D"})
        for si in range(2):
            sname = f"{town}{si}号代表联络站"
            t["units"].append({"unit_id": f"{tid}S{si}", "name": sname, "level": "联络站", "parent": tid})
            for _ in range(rng.randint(2, 6)):
                t["reps"].append({"rep_id": f"R{len(t['reps']):03d}", "name": next(names), "rep_level": "区",
                                  "town": town, "station": sname})
    _synth_rows(rng, t, towns)
    return t


def _synth_rows(rng, t, towns, n_opinions=150, n_acts=60, n_sugg=40, prefix=""):
    stations = {u["name"]: next(x["name"] for x in t["units"] if x["unit_id"] == u["parent"])
                for u in t["units"] if u["level"] == "联络站"}
    start = datetime(2024, 1, 1)
    for i in range(n_opinions):
        town = rng.choice(towns)
        st = rng.choice([s for s, tw in stations.items() if tw == town] + [None])
        sub = start + timedelta(days=rng.randint(0, 180), hours=rng.randint(0, 23))
        status = rng.choice(STATUSES)
        closed = sub + timedelta(days=rng.randint(1, 30)) if status == "已办结" and rng.random() < 0.9 else None
        t["opinions"].append({"opinion_id": f"{prefix}O{i}", "submitted_at": sub, "town": town, "station": st,
                              "content": "意见", "submitter": "张三", "status": status, "closed_at": closed,
                              "satisfaction": rng.choice(SATS)})
    for i in range(n_acts):
        town = rng.choice(towns)
        reps = [r for r in t["reps"] if r["town"] == town]
        st = rng.choice([s for s, tw in stations.items() if tw == town] + [None])
        who = rng.sample(reps, k=min(len(reps), rng.randint(0, 4)))
        t["activities"].append({"activity_id": f"{prefix}A{i}", "date": (start + timedelta(days=rng.randint(0, 180))).date(),
                                "town": town, "station": st, "type": rng.choice(TYPES),
                                "participants": "、".join(r["name"] for r in who) or None,
                                "headcount": rng.choice([None, len(who), len(who) + 1]),
                                "opinions_collected": rng.randint(0, 3)})
    for i in range(n_sugg):
        lead = rng.choice(t["reps"])
        t["suggestions"].append({"suggestion_id": f"{prefix}G{i}", "session": "十八届三次",
                                 "submitted_at": (start + timedelta(days=rng.randint(0, 180))).date(),
                                 "lead_rep": lead["name"], "title": "建议",
                                 "answer_class": rng.choice(["A", "B", "C", None])})


def _scores_everywhere(con) -> dict[str, pd.DataFrame]:
    out = {}
    for level, period in (("town", Q2), ("station", Q2), ("district", Q2), ("town", "2024-03")):
        out[f"{level} {period}"] = indices.component_scores(con, period, level)
        out[f"{level} {period} idx"] = indices.compute_indices(con, period, level)
    return out


@pytest.mark.parametrize("seed", [1, 2])
def test_shuffling_input_rows_changes_no_score(tmp_path, seed):
    tables = synth(seed)
    results = []
    for order in (None, 10 + seed):
        con = store.connect(tmp_path / f"s{seed}_{order}.duckdb")
        load(con, tables, order)
        results.append(_scores_everywhere(con))
        con.close()
    for other in results[1:]:
        for key, frame in results[0].items():
            pd.testing.assert_frame_equal(frame, other[key], check_exact=True, obj=key)
    # and the test data is rich enough to rank: most towns are scored
    assert (~results[0][f"town {Q2} idx"]["insufficient"]).sum() >= 4


def _clone_town(t: dict, src: str, dst: str, dst_id: str) -> None:
    """Add town dst as an exact copy of town src: same stations, reps and rows, renamed."""
    src_id = next(u["unit_id"] for u in t["units"] if u["name"] == src and u["level"] == "镇街")
    rename = {}
    for u in [u for u in t["units"] if u["parent"] == src_id]:
        rename[u["name"]] = u["name"].replace(src, dst)
        t["units"].append({**u, "unit_id": u["unit_id"].replace(src_id, dst_id), "name": rename[u["name"]],
                           "parent": dst_id})
    t["units"].append({"unit_id": dst_id, "name": dst, "level": "镇街", "parent": "D"})
    for r in [r for r in t["reps"] if r["town"] == src]:
        rename[r["name"]] = r["name"] + "乙"
        t["reps"].append({**r, "rep_id": r["rep_id"] + "B", "name": rename[r["name"]], "town": dst,
                          "station": rename.get(r["station"], r["station"])})
    for kind, key in (("opinions", "opinion_id"), ("activities", "activity_id")):
        for row in [x for x in t[kind] if x["town"] == src]:
            new = {**row, key: row[key] + "B", "town": dst, "station": rename.get(row["station"], row["station"])}
            if kind == "activities" and row["participants"]:
                new["participants"] = "、".join(rename[n] for n in row["participants"].split("、"))
            t[kind].append(new)
    for row in [s for s in t["suggestions"] if s["lead_rep"] in rename]:
        t["suggestions"].append({**row, "suggestion_id": row["suggestion_id"] + "B", "lead_rep": rename[row["lead_rep"]]})


def _improve_town(t: dict, town: str, rng: random.Random) -> None:
    """Make a town better on every component: close open opinions on time, raise evaluations,
    raise answer classes, add activities of every type with its representatives."""
    latest = max(o["submitted_at"] for o in t["opinions"])
    for o in t["opinions"]:
        if o["town"] != town:
            continue
        if o["status"] == "办理中" and o["submitted_at"] < latest - timedelta(days=20) and rng.random() < 0.7:
            o["status"], o["closed_at"] = "已办结", o["submitted_at"] + timedelta(days=2)
        if o["satisfaction"] in ("不满意", "基本满意") and rng.random() < 0.7:
            o["satisfaction"] = "满意"
    mine = {r["name"] for r in t["reps"] if r["town"] == town}
    for s in t["suggestions"]:
        if s["lead_rep"] in mine and s["answer_class"] in ("B", "C") and rng.random() < 0.7:
            s["answer_class"] = "A"
    reps = [r for r in t["reps"] if r["town"] == town]
    stations = sorted({r["station"] for r in reps})
    for i, kind in enumerate(TYPES * 2):
        who = rng.sample(reps, k=min(len(reps), 2))
        t["activities"].append({"activity_id": f"X{town}{i}", "date": (datetime(2024, 4, 1) + timedelta(days=3 * i)).date(),
                                "town": town, "station": rng.choice(stations), "type": kind,
                                "participants": "、".join(r["name"] for r in who), "headcount": len(who),
                                "opinions_collected": 1})


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_better_on_every_component_never_scores_lower(tmp_path, seed):
    rng = random.Random(seed)
    t = synth(seed)
    _clone_town(t, "瓜沥镇", "党湾镇", "TB")  # 党湾镇 = an exact copy of 瓜沥镇 ...
    _improve_town(t, "党湾镇", rng)  # ... then made better
    con = store.connect(tmp_path / "d.duckdb")
    load(con, t)
    for period in ("2024Q2", "2024"):
        cs = indices.component_scores(con, period, "town")
        better = cs[cs["unit"] == "党湾镇"].set_index("component")
        worse = cs[cs["unit"] == "瓜沥镇"].set_index("component")
        # the premise: at least as good on every component, with data where the other has it
        for key in better.index:
            if not worse.at[key, "insufficient"]:
                assert not better.at[key, "insufficient"], (period, key)
                assert better.at[key, "adjusted"] >= worse.at[key, "adjusted"] - 1e-12, (period, key)
                assert better.at[key, "score"] >= worse.at[key, "score"], (period, key)
        got = indices.compute_indices(con, period, "town").set_index("unit")
        for k in indices.SCORE_COLUMNS:
            b, w = got.at["党湾镇", k], got.at["瓜沥镇", k]
            if not np.isnan(w) and not np.isnan(b):
                assert b >= w - 1e-9, (period, k)
        assert got.at["党湾镇", "composite"] > got.at["瓜沥镇", "composite"] or period != "2024Q2"
    con.close()


def test_scoring_functions_are_monotone():
    rng = np.random.default_rng(7)
    for _ in range(200):
        v = rng.random(rng.integers(1, 30))
        s = indices.hazen_scores(v)
        order = np.argsort(v)
        assert np.all(np.diff(s[order]) >= 0)  # higher value, never a lower score
        assert np.all((s > 0) & (s < 100))  # never exactly 0 or 100
        assert indices.hazen_insert(v.max() + 1, v) > indices.hazen_insert(v.min() - 1, v)
    assert indices.hazen_scores([0.5]).tolist() == [50.0]
    assert indices.hazen_scores([0.3, 0.3]).tolist() == [50.0, 50.0]
    # shrinkage keeps the order of units with one denominator, and pulls toward the prior
    assert indices.beta_binomial_adjust(3, 3, 0.5, 20) < 1
    assert indices.beta_binomial_adjust(0, 3, 0.5, 20) > 0
    assert indices.gamma_poisson_adjust(0, 5, 2.0, 10) > 0
    assert indices.weighted_score([80, None], [1, 1], 0.6) is None
    assert indices.weighted_score([80, None, 20], [1, 1, 2], 0.6) == pytest.approx(40)


def test_empty_store_lists_the_23_towns_as_insufficient(tmp_path):
    con = store.connect(tmp_path / "empty.duckdb")
    got = indices.compute_indices(con, Q2, "town")
    assert len(got) == 23 and got["insufficient"].all()
    assert indices.compute_indices(con, Q2, "station").empty
    assert indices.compute_indices(con, Q2, "district")["insufficient"].all()
    con.close()


# ───────────────────────────── configuration ─────────────────────────────

def _broken(mutate) -> str:
    raw = _raw_config()
    mutate(raw)
    with pytest.raises(IndexConfigError) as exc:
        parse_config(raw, "indices.toml")
    msg = str(exc.value)
    assert "indices.toml" in msg and CJK.search(msg), msg
    return msg


def test_shipped_config_loads_and_weights_are_positive():
    cfg = load_config()
    assert list(cfg.indices) == list(indices.INDEX_KEYS)
    assert all(c.weight > 0 for c in cfg.components)
    # 十必做 and 履职积分 are data/duty.toml's: the old [practice] section is refused, not silently used
    msg = _broken(lambda r: r.update(practice={"must_do_per_year": 10}))
    assert "practice" in msg


def test_config_unknown_measure_names_the_key():
    msg = _broken(lambda r: r["indices"]["activity"]["components"][0].update(numerator="activites"))
    assert "activity" in msg and "numerator" in msg and "activites" in msg and "不是已知的度量" in msg


def test_config_weight_not_positive():
    msg = _broken(lambda r: r["indices"]["study"]["components"][1].update(weight=0))
    assert "study_share" in msg and "weight" in msg and "大于 0" in msg
    msg = _broken(lambda r: r["indices"]["practice"].update(weight=-1))
    assert "[indices.practice]" in msg and "weight" in msg


def test_config_missing_keys():
    msg = _broken(lambda r: r["indices"].pop("study"))
    assert "[indices.study]" in msg and "缺失" in msg
    msg = _broken(lambda r: r["indices"]["resolution"]["components"][2].pop("weight"))
    assert "weighted_satisfaction" in msg and "缺少 weight" in msg
    msg = _broken(lambda r: r["scoring"].pop("rate_prior"))
    assert "[scoring]" in msg and "rate_prior" in msg


def test_config_other_mistakes():
    msg = _broken(lambda r: r["indices"]["resolution"]["components"][0].update(denominator="opinions"))
    assert "closure_rate" in msg and "只能配分母 opinions_accepted" in msg
    msg = _broken(lambda r: r["indices"]["activity"]["components"][1].update(weigth=1))
    assert "weigth" in msg and "不认识" in msg
    msg = _broken(lambda r: r["indices"]["study"]["components"][0].update(types=["视查"]))
    assert "视查" in msg and "不是活动类型" in msg
    msg = _broken(lambda r: r["indices"]["study"]["components"][0].update(key="closure_rate"))
    assert "closure_rate" in msg and "重复" in msg
    msg = _broken(lambda r: r["resolution"].update(basic_satisfied_weight=1.5))
    assert "basic_satisfied_weight" in msg


def test_config_file_that_is_not_toml(tmp_path):
    bad = tmp_path / "indices.toml"
    bad.write_text("[scoring\nrate_prior = 20\n", encoding="utf-8")
    with pytest.raises(IndexConfigError, match="indices.toml 不是合法的 TOML"):
        load_config(bad)


def test_every_component_and_measure_is_documented():
    text = DOCS.read_text(encoding="utf-8")
    for c in load_config().components:
        assert f"`{c.key}`" in text, c.key
    for m in indices.MEASURES:
        assert f"`{m}`" in text, m


# ───────────────────────────── command line ─────────────────────────────

def test_cli_json(golden_path, capsys):
    assert main(["indices", "--db", str(golden_path), "--period", Q2, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["unit_id"] for r in rows] == ["T1", "T2", "T3", "T4"]
    assert list(rows[0]) == ["unit_id", "unit", "level", "period", "activity", "practice", "supervision",
                             "resolution", "study", "composite", "insufficient"]
    t1, t3, t4 = rows[0], rows[2], rows[3]
    assert (t1["unit"], t1["level"], t1["period"]) == ("瓜沥镇", "town", Q2)
    assert (t1["resolution"], t1["composite"], t1["insufficient"]) == (30.0, 53.8, False)  # see test_golden_indices_towns
    assert t3["resolution"] is None and t3["composite"] == 18.1
    assert t4["composite"] is None and t4["insufficient"] is True


def test_cli_text_levels_and_default_period(golden_path, capsys):
    assert main(["indices", "--db", str(golden_path), "--level", "station", "--period", Q2]) == 0
    out = capsys.readouterr().out
    assert "联络站" in out and "样本不足" in out and "瓜沥镇甲村代表联络站" in out
    assert main(["indices", "--db", str(golden_path), "--json", "--level", "district"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["period"] == "2024Q3"  # latest quarter with data: O20
    assert main(["indices", "--db", str(golden_path), "--period", "2024Q5"]) == 2
    assert "无法识别的期间" in capsys.readouterr().err
