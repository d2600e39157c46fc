"""Town rankings: the tie rule, rank ranges, change against the previous quarter, per-capita views,
what-if weights, the CLI and the page.

The golden store (``tie_store``, built here by SQL inserts) is designed so that every score can be
written down by hand. Five towns, each with 4 representatives and 1 station (E none of either):

  A 瓜沥镇, B 城厢街道, C 楼塔镇, D 河上镇 (D is B's twin: the same rows for its own people),
  E 义桥镇 (no representatives, no data: 样本不足).

In 2024Q2 every component that has data orders the towns A > B = D > C (equal denominators, so
shrinkage keeps the order); the components without any data anywhere (进站接待, 主题活动, 办结 …,
建议) are 样本不足 for everyone. 践行 is computed by the rules of the 代表履职 module (data/duty.toml),
which are not this module's to fix: the golden tests use ``TEST_CONFIG``, the shipped configuration
with 践行 made of one component, 参加视察的代表占比 (A 4/4, B and D 3/4, C 2/4: the same order). So each sufficient component scores, by Hazen among 4 towns,
A (3 + ½)/4 = 87.5, B and D (1 + ½·2)/4 = 50, C ½/4 = 12.5; every index and the composite take the
same values (解忧 is 样本不足, the other four cover 80 % of the weight). Ranks: A 1, B 2, D 2, C 4
("1224"), E unranked and last. 2024Q1 mirrors A and C: C 1, B 2, D 2, A 4 — so A gained 3 places
(+75.0) and C lost 3 (−75.0).
"""
from __future__ import annotations

import json
import sys
import tomllib
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.domain import indices
from analytics.domain import metrics
from analytics.domain import ranking as rk
from analytics.store import db as store
from analytics.__main__ import main
from analytics.core.periods import PeriodError

from tests.domain.test_indices import load, read_golden  # noqa: E402  (the indices' golden dataset)

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "app.py")
TOWNS = {"A": ("T1", "瓜沥镇"), "B": ("T2", "城厢街道"), "C": ("T3", "楼塔镇"), "D": ("T4", "河上镇"),
         "E": ("T5", "义桥镇")}
POPULATION = {"T1": 40_000, "T3": 25_000}  # the others are not filled in: per-10k is 未知

# A quarter's activities by pattern: (type, participants as rep numbers 1-4); a town's pattern is
# its rows in the quarter. "top" A's in Q2, "mid" B's and D's, "low" C's (see the docstring).
PATTERNS = {
    "top": [("视察", [1, 2, 3, 4]), ("视察", [1, 2]), ("视察", [1, 2]), ("学习培训", [3, 4])],
    "mid": [("视察", [1, 2, 3]), ("视察", [1]), ("学习培训", [1])],
    "low": [("视察", [1, 2])],
}
OPINIONS = {"top": 3, "mid": 2, "low": 1}
QUARTER_PATTERNS = {  # quarter start -> town -> pattern
    date(2024, 4, 1): {"A": "top", "B": "mid", "C": "low", "D": "mid"},
    date(2024, 1, 1): {"A": "low", "B": "mid", "C": "top", "D": "mid"},
}


def build_tie_store(path: Path, unit_names: dict[str, str] | None = None) -> Path:
    """The golden store of this module's docstring, by SQL inserts. ``unit_names`` renames units
    (unit_id -> name), e.g. to put a formula-like name in a report."""
    names = unit_names or {}
    con = store.connect(path)
    con.execute("INSERT INTO units (unit_id, name, level, parent, population) VALUES ('U0', '区人大代表联络总站', '总站', NULL, NULL)")
    for key, (uid, town) in TOWNS.items():
        con.execute("INSERT INTO units VALUES (?, ?, '镇街', 'U0', ?, NULL, NULL)",
                    [uid, names.get(uid, town), POPULATION.get(uid)])
        if key == "E":
            continue
        con.execute("INSERT INTO units VALUES (?, ?, '联络站', ?, NULL, NULL, NULL)", [f"S{uid}", f"{town}{key}站", uid])
        for i in range(1, 5):
            con.execute("INSERT INTO reps (rep_id, name, rep_level, town, station) VALUES (?, ?, '区', ?, ?)",
                        [f"{key}{i}", f"代表{key}{i}", town, f"{town}{key}站"])
    for start, plan in QUARTER_PATTERNS.items():
        for key, pattern in plan.items():
            town = TOWNS[key][1]
            for n, (typ, people) in enumerate(PATTERNS[pattern], start=1):
                con.execute("INSERT INTO activities (activity_id, date, town, station, type, participants) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            [f"{start:%y%m}-{key}{n}", start.replace(day=n + 1), town, f"{town}{key}站", typ,
                             "、".join(f"{key}{p}" for p in people)])
            for n in range(OPINIONS[pattern]):
                con.execute("INSERT INTO opinions (opinion_id, submitted_at, town, station, content) VALUES (?, ?, ?, ?, ?)",
                            [f"O{start:%y%m}-{key}{n}", datetime(start.year, start.month, 10 + n), town,
                             f"{town}{key}站", "意见内容"])
    con.close()
    return path


@pytest.fixture(scope="module")
def tie_db(tmp_path_factory) -> Path:
    return build_tie_store(tmp_path_factory.mktemp("tie") / "tie.duckdb")


@pytest.fixture(scope="module")
def tie(tie_db):
    con = store.connect(tie_db, read_only=True)
    yield con
    con.close()


def _test_config() -> indices.IndexConfig:
    raw = tomllib.loads(indices.CONFIG_PATH.read_text(encoding="utf-8"))
    raw["indices"]["practice"]["components"] = [{
        "key": "practice_inspection_share", "label": "参加视察的代表占比", "kind": "rate",
        "numerator": "reps_joined", "denominator": "reps", "types": ["视察"], "weight": 1}]
    return indices.parse_config(raw, "indices.toml")


TEST_CONFIG = _test_config()


@pytest.fixture(scope="module")
def q2(tie) -> pd.DataFrame:
    return rk.ranking(tie, "2024Q2", TEST_CONFIG)


# ───────────────────────────── the tie rule ─────────────────────────────

def test_competition_ranks_on_shown_scores():
    # 83.34 and 83.26 both show as 83.3: a tie for 2nd behind 83.36 (83.4); NaN is unranked and
    # ranks nobody down; 70 is 4th ("1224").
    got = rk.competition_ranks([83.34, 83.26, 83.36, np.nan, 70.0])
    assert got[:3].tolist() == [2, 2, 1] and np.isnan(got[3]) and got[4] == 4
    assert rk.competition_ranks([50.0, 50.0, 50.0]).tolist() == [1, 1, 1]
    # Rows of a matrix are ranked separately (the bootstrap ranks every draw this way).
    assert rk.competition_ranks(np.array([[1.0, 2.0], [2.0, 1.0]])).tolist() == [[2, 1], [1, 2]]


def test_golden_scores_and_ranks_with_a_tie(q2):
    t = q2.set_index("unit_id")
    expected = {"T1": 87.5, "T2": 50.0, "T4": 50.0, "T3": 12.5}
    for uid, score in expected.items():
        assert t.at[uid, "composite"] == pytest.approx(score)
        for k in ("activity", "practice", "supervision", "study"):
            assert t.at[uid, k] == pytest.approx(score), (uid, k)
        assert np.isnan(t.at[uid, "resolution"])  # no opinion closed or evaluated, no suggestion anywhere
    assert q2["unit_id"].tolist() == ["T1", "T2", "T4", "T3", "T5"]  # tie by unit_id, 样本不足 last
    assert q2["rank"].tolist()[:4] == [1, 2, 2, 4]
    e = t.loc["T5"]
    assert e["insufficient"] and np.isnan(e["rank"]) and np.isnan(e["rank_low"]) and np.isnan(e["composite"])


def test_change_against_the_previous_quarter(q2):
    t = q2.set_index("unit_id")
    assert (t.at["T1", "prev_rank"], t.at["T1", "change"], t.at["T1", "score_change"]) == (4, 3, pytest.approx(75))
    assert (t.at["T3", "prev_rank"], t.at["T3", "change"], t.at["T3", "score_change"]) == (1, -3, pytest.approx(-75))
    assert t.at["T2", "change"] == 0 and t.at["T4", "change"] == 0
    assert np.isnan(t.at["T5", "change"])  # unranked in both quarters: not comparable
    # Per index too.
    assert t.at["T1", "activity_rank"] == 1 and t.at["T1", "activity_change"] == 3
    assert rk.change_text(3) == "↑3" and rk.change_text(-2) == "↓2" and rk.change_text(0) == "持平"
    assert rk.change_text(np.nan) == ""


def test_places_are_the_rankings_ranks_without_the_bootstrap(tie, q2):
    """The big screen's ranks (rk.places, from the scores it already holds) are ranking()'s."""
    now = indices.compute_indices(tie, "2024Q2", "town", TEST_CONFIG)
    before = indices.compute_indices(tie, "2024Q1", "town", TEST_CONFIG)
    got = rk.places(now, before).set_index("unit_id")
    want = q2.set_index("unit_id")
    assert got.at["T1", "rank"] == 1 and got.at["T1", "prev_rank"] == 4 and got.at["T1", "change"] == 3
    for col in ("rank", "prev_rank", "change"):
        assert got[col].reindex(want.index).tolist() == pytest.approx(want[col].tolist(), nan_ok=True), col


def test_by_index_view(q2):
    v = rk.by_index(q2, "study")
    assert v["unit_id"].tolist() == ["T1", "T2", "T4", "T3", "T5"]
    assert v["rank"].tolist()[:4] == [1, 2, 2, 4] and v["insufficient"].tolist() == [False] * 4 + [True]
    res = rk.by_index(q2, "resolution")  # 样本不足 everywhere: nobody ranked
    assert res["rank"].isna().all() and res["unit_id"].tolist() == ["T1", "T2", "T3", "T4", "T5"]
    with pytest.raises(ValueError, match="指数只能是"):
        rk.by_index(q2, "happiness")


# ───────────────────────────── rank ranges ─────────────────────────────

def test_rank_range_is_the_5th_to_95th_percentile_and_holds_the_official_rank():
    ranks = np.array([[1.0] * 100 + [2.0] * 100, [3.0] * 195 + [9.0] * 5]).T  # 200 draws, 2 towns
    low, high = rk.rank_ranges(ranks, np.array([1.0, 1.0]))
    assert (low[0], high[0]) == (1, 2)
    # Town 2: 9 in 5 of 200 draws (2.5 %) lies beyond the 95th percentile, 3 — and the range is
    # widened to hold its official rank 1.
    assert (low[1], high[1]) == (1, 3)
    low, high = rk.rank_ranges(ranks, np.array([np.nan, 3.0]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert rk.rank_range_text(3, 7) == "第3–7名" and rk.rank_range_text(2, 2) == "第2名"
    assert rk.rank_range_text(np.nan, np.nan) == "—"


def test_rank_ranges_are_sane_and_reproducible(q2, tie):
    ranked = q2[q2["rank"].notna()]
    assert (ranked["rank_low"] <= ranked["rank"]).all() and (ranked["rank"] <= ranked["rank_high"]).all()
    assert ranked["rank_low"].min() >= 1 and ranked["rank_high"].max() <= 4
    # The same data and seed give the same ranges (B and D, twins, are drawn independently: their
    # ranges may differ a little, each holding rank 2).
    again = rk.ranking(tie, "2024Q2", TEST_CONFIG)
    pd.testing.assert_frame_equal(q2, again)
    other = rk.ranking(tie, "2024Q2", TEST_CONFIG, seed=rk.SEED + 1)
    pd.testing.assert_frame_equal(q2.drop(columns=[c for c in q2 if "rank_low" in c or "rank_high" in c]),
                                  other.drop(columns=[c for c in other if "rank_low" in c or "rank_high" in c]))


def test_more_data_narrows_the_range():
    """The same rates on 100 times the rows: the bootstrap is far surer of the order."""
    cfg = indices.load_config()
    comp = cfg.components[0]  # activities per representative: a count

    def widths(scale):
        x = {c.key: np.zeros(5) for c in cfg.components}
        n = {c.key: np.zeros(5) for c in cfg.components}
        x[comp.key] = np.array([10.0, 11.0, 12.0, 13.0, 14.0]) * scale
        n[comp.key] = np.full(5, 10.0) * scale
        draws = rk.bootstrap_draws(x, n, cfg, 400, seed=1)
        score = draws[comp.key] / n[comp.key]
        ranks = rk.competition_ranks(score)
        low, high = rk.rank_ranges(ranks, np.array([5.0, 4.0, 3.0, 2.0, 1.0]))
        return high - low

    assert widths(100).sum() < widths(1).sum()
    assert widths(100).max() <= 2


@pytest.mark.parametrize("store_name", ["tie", "golden", "demo"])
def test_undisturbed_draw_reproduces_compute_indices(store_name, tie, tmp_path_factory, demo_db):
    """The bootstrap rescoring is analytics.domain.indices' scoring: fed the observed numerators it gives
    the official index and composite scores exactly (the indices' golden data, this module's, a demo)."""
    if store_name == "tie":
        con, periods = tie, ["2024Q2", "2024Q1"]
    elif store_name == "golden":
        path = tmp_path_factory.mktemp("golden") / "g.duckdb"
        c = store.connect(path)
        load(c, read_golden())
        c.close()
        con, periods = store.connect(path, read_only=True), ["2024Q2"]
    else:
        con = store.connect(demo_db, read_only=True)
        periods = [p.code for p in metrics.periods_with_data(con, "quarter")]
    cfg = indices.load_config()
    for period in periods:
        official = indices.compute_indices(con, period, "town", cfg)
        comps = indices.component_scores(con, period, "town", cfg)
        x, n = rk._component_arrays(comps, official["unit_id"].tolist(), cfg)
        got = rk.score_draws({k: v[None, :] for k, v in x.items()}, n, cfg)
        for key in indices.SCORE_COLUMNS:
            np.testing.assert_allclose(got[key][0], official[key].to_numpy(float), atol=1e-9, err_msg=f"{period} {key}")
    if store_name != "tie":
        con.close()


def test_only_quarters_are_ranked(tie):
    with pytest.raises(PeriodError, match="季度"):
        rk.ranking(tie, "2024-05")


# ───────────────────────────── what-if weights ─────────────────────────────

def _scores(rows: dict[str, dict]) -> pd.DataFrame:
    """A hand-made ranking input: index scores per town, official composite by equal weights."""
    frame = pd.DataFrame([{"unit_id": u, "unit": u, **{k: v.get(k, np.nan) for k in indices.INDEX_KEYS}}
                          for u, v in rows.items()])
    cfg = indices.load_config()
    frame["composite"] = rk.combine([frame[k].to_numpy(float) for k in indices.INDEX_KEYS],
                                    [1.0] * 5, cfg.min_coverage)
    frame["rank"] = rk.competition_ranks(frame["composite"])
    return frame


def test_whatif_weights_golden():
    # X: activity 90, the rest 10 -> (90 + 4·10)/5 = 26; Y: all 50 -> 50;
    # Z: activity, practice, supervision 20, two 样本不足 -> 3/5 of the weight = 0.6, enough -> 20.
    table = _scores({"X": dict(activity=90, practice=10, supervision=10, resolution=10, study=10),
                     "Y": dict(activity=50, practice=50, supervision=50, resolution=50, study=50),
                     "Z": dict(activity=20, practice=20, supervision=20)})
    assert table["composite"].tolist() == pytest.approx([26, 50, 20])
    same = rk.whatif(table, {k: 1.0 for k in indices.INDEX_KEYS})
    assert same["moved"].tolist() == [0, 0, 0] and same["unit_id"].tolist() == ["Y", "X", "Z"]
    # 活跃 ×5: X = (5·90 + 4·10)/9 = 54.4 overtakes Y (50); Z = (5·20 + 20 + 20)/7 = 20, still third.
    sim = rk.whatif(table, {"activity": 5.0})
    got = sim.set_index("unit_id")
    assert got.at["X", "whatif_composite"] == pytest.approx(490 / 9)
    assert (got.at["X", "whatif_rank"], got.at["X", "moved"]) == (1, 1)
    assert (got.at["Y", "whatif_rank"], got.at["Y", "moved"]) == (2, -1)
    assert (got.at["Z", "whatif_rank"], got.at["Z", "moved"]) == (3, 0)
    # 解忧 and 学思 ×5: Z's indices now carry 3/13 of the weight < 60 %: 样本不足 under these weights.
    sim = rk.whatif(table, {"resolution": 5.0, "study": 5.0}).set_index("unit_id")
    assert np.isnan(sim.at["Z", "whatif_composite"]) and np.isnan(sim.at["Z", "whatif_rank"])
    with pytest.raises(ValueError, match="负数"):
        rk.whatif(table, {"activity": -1.0})


def test_whatif_with_the_configured_weights_is_the_official_ranking(q2):
    cfg = TEST_CONFIG
    sim = rk.whatif(q2, {k: cfg.indices[k].weight for k in indices.INDEX_KEYS}, cfg).set_index("unit_id")
    official = q2.set_index("unit_id")
    np.testing.assert_allclose(sim.loc[official.index, "whatif_composite"], official["composite"], atol=1e-9)
    assert (sim["moved"].dropna() == 0).all()


# ───────────────────────────── per-capita view ─────────────────────────────

def test_per_capita_with_unknown_population(tie):
    pc = rk.per_capita(tie, "2024Q2").set_index("unit_id")
    # A: 4 activities, 10 headcount, 3 opinions; 4 representatives; 40,000 residents.
    assert pc.at["T1", "activities"] == 4 and pc.at["T1", "reps"] == 4
    assert pc.at["T1", "activities_per_10k"] == pytest.approx(1.0)
    assert pc.at["T1", "headcount_per_10k"] == pytest.approx(2.5)
    assert pc.at["T1", "opinions_per_rep"] == pytest.approx(0.75)
    assert pc.at["T3", "activities_per_10k"] == pytest.approx(1 / 2.5)
    # B has no 常住人口: unknown, never 0; E has no representatives: no per-representative figure.
    assert np.isnan(pc.at["T2", "population"]) and np.isnan(pc.at["T2", "activities_per_10k"])
    assert np.isnan(pc.at["T5", "activities_per_rep"])
    assert pc.attrs["labels"]["population"] == "常住人口"


# ───────────────────────────── command line ─────────────────────────────

def test_cli_rank_json_shape(tie_db, capsys):
    # The shipped configuration: 践行 is either 样本不足 here or orders the towns as the others do,
    # so the composite and ranks are those of the docstring either way.
    assert main(["rank", "--db", str(tie_db), "--json"]) == 0  # default: the latest quarter, 2024Q2
    rows = json.loads(capsys.readouterr().out)
    keys = ["rank", "rank_low", "rank_high", "unit_id", "unit", "composite", "change", *indices.INDEX_KEYS]
    assert all(list(r) == keys for r in rows)
    assert [r["unit_id"] for r in rows] == ["T1", "T2", "T4", "T3", "T5"]
    assert [r["rank"] for r in rows] == [1, 2, 2, 4, None]
    a, e = rows[0], rows[-1]
    assert (a["composite"], a["change"], a["activity"], a["resolution"]) == (87.5, 3, 87.5, None)
    assert isinstance(a["rank_low"], int) and a["rank_low"] <= 1 <= a["rank_high"]
    assert (e["rank"], e["rank_low"], e["composite"], e["change"]) == (None, None, None, None)


def test_cli_rank_text_and_errors(tie_db, capsys):
    assert main(["rank", "--db", str(tie_db), "--quarter", "2024Q1"]) == 0
    out = capsys.readouterr().out
    assert "2024年第1季度" in out and "样本不足" in out and "楼塔镇" in out.splitlines()[2]
    assert main(["rank", "--db", str(tie_db), "--quarter", "2024-05"]) == 2
    assert "季度" in capsys.readouterr().err


# ───────────────────────────── the page ─────────────────────────────

def test_ranking_page_renders_and_what_if_moves_ranks(tie_db, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    monkeypatch.setenv("COCKPIT_DB", str(tie_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at._page_hash = calc_hash("ranking")
    at.run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["镇街排名"]
    table = at.dataframe[0].value
    assert table["镇街"].tolist() == ["瓜沥镇", "城厢街道", "河上镇", "楼塔镇", "义桥镇"]
    assert table["排名"].tolist() == ["1", "2", "2", "4", "—"] and table["排名区间"].iloc[-1] == "样本不足"
    assert table["较上季度"].tolist()[:4] == ["↑3", "持平", "持平", "↓3"]
    assert len(at.slider) == 5 and at.get("download_button")
    # 活跃 ×5: every index orders the towns the same way here, so no rank moves; all to 0 is
    # refused with a warning; the reset button brings the configured weights back.
    at.slider(key="rank_w_activity").set_value(5.0).run()
    assert not at.exception
    assert any("名次与正式排名相同" in m.value for m in at.markdown)
    for k in indices.INDEX_KEYS:
        at.slider(key=f"rank_w_{k}").set_value(0.0)
    at.run()
    assert any("至少要有一个指数的权重大于 0" in w.value for w in at.warning)
    at.button(key="rank_w_reset").click().run()
    assert at.slider(key="rank_w_activity").value == 1.0 and not at.warning


def test_ranking_page_on_demo_data(demo_db, monkeypatch):
    from streamlit.testing.v1 import AppTest
    from streamlit.util import calc_hash

    monkeypatch.setenv("COCKPIT_DB", str(demo_db))
    at = AppTest.from_file(APP, default_timeout=120)
    at._page_hash = calc_hash("ranking")
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert len(table) == 23
    ranks = [int(r) for r in table["排名"] if r != "—"]
    assert ranks == sorted(ranks) and ranks[0] == 1
    # The rank range in plain words behind 「怎么算的」: no statistician's terms, no file path.
    how = next(e for e in at.expander if e.label == "怎么算的")
    words = "\n".join(m.value for m in (*how.markdown, *at.caption))
    assert "名次可能的范围" in words
    for jargon in ("二项分布", "泊松分布", "百分位", "docs/", "indices.toml"):
        assert jargon not in words, jargon
    # Heavier 活跃: some rank moves, and the moved rows are reported.
    at.slider(key="rank_w_activity").set_value(5.0).run()
    assert not at.exception
    assert any("个镇街的名次与正式排名不同" in m.value for m in at.markdown)
