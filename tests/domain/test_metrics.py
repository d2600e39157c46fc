"""Golden tests of the headline figures on tests/data/metrics_store.sql, computed by hand below.

Each expected value says which rows of the fixture make it, so a reader can check it against the
definitions in analytics/domain/metrics.py without running anything.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import store_from_sql
from analytics.domain import metrics
from analytics.__main__ import main as cli_main
from analytics.core.periods import Period, parse_period
from analytics.store.db import connect

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "metrics_store.sql"
Q1, Q2 = parse_period("2024Q1"), parse_period("2024Q2")


def load_fixture(db: Path) -> Path:
    return store_from_sql(db, FIXTURE)


@pytest.fixture()
def con(tmp_path):
    c = connect(load_fixture(tmp_path / "m.duckdb"), read_only=True)
    yield c
    c.close()


def fig(con, key, period=Q2, town=None):
    f = metrics.compute(con, key, period, town)
    return f.value, f.numerator, f.denominator


def test_every_metric_has_one_definition_with_label_and_formula():
    keys = [m.key for m in metrics.METRICS]
    assert len(keys) == len(set(keys)) == 7
    for m in metrics.METRICS:
        assert m.label and m.definition and m.formula and m.unit
        assert m.definition in m.help and m.formula in m.help


def test_opinions_count_submitted_in_period(con):
    # Q2 district: O01..O07 (O08 is 03-31 23:59:59 -> Q1; O10 is 07-01 00:00 -> Q3) = 7
    assert fig(con, "opinions") == (7, 7, None)
    # Q2 瓜沥镇: O01..O05 = 5; Q1 district: O08, O09 = 2
    assert fig(con, "opinions", town="瓜沥镇") == (5, 5, None)
    assert fig(con, "opinions", Q1) == (2, 2, None)


def test_closure_rate_excludes_rejected_counts_unknown_status(con):
    # Q2 district: 已办结 O01 O02 O03 O06 = 4; denominator 7 minus O05 (不予受理) = 6 (O07 NULL stays)
    assert fig(con, "closure_rate") == (pytest.approx(4 / 6), 4, 6)
    # Q2 瓜沥镇: O01 O02 O03 = 3 of O01..O04 = 4
    assert fig(con, "closure_rate", town="瓜沥镇") == (0.75, 3, 4)
    # Q1 district: O08 of O08, O09
    assert fig(con, "closure_rate", Q1) == (0.5, 1, 2)


def test_satisfaction_rate_counts_basic_satisfaction_ignores_unevaluated(con):
    # Q2 district: 满意 O01 + 基本满意 O02 = 2 of evaluated O01 O02 O03 = 3 (O05, O06 未评价; O04, O07 NULL)
    assert fig(con, "satisfaction_rate") == (pytest.approx(2 / 3), 2, 3)
    # Q2 城厢街道: O06 未评价, O07 NULL -> nothing evaluated -> no value (not 0 %, not 100 %)
    assert fig(con, "satisfaction_rate", town="城厢街道") == (None, 0, 0)


def test_suggestions_belong_to_the_lead_representatives_town(con):
    # Q2 district: S01..S05 = 5 (S06 is Q1)
    assert fig(con, "suggestions") == (5, 5, None)
    # 瓜沥镇: S01 (by id R001), S02 and S05 (by name 张伟) = 3; 王芳 is in two towns, so S04 is in neither
    assert fig(con, "suggestions", town="瓜沥镇") == (3, 3, None)
    assert fig(con, "suggestions", town="城厢街道") == (1, 1, None)  # S03 (李娜)


def test_resolution_rate_is_a_class_among_answered(con):
    # Q2 district: A = S01 S04 = 2 of answered S01..S04 = 4 (S05 unanswered)
    assert fig(con, "resolution_rate") == (0.5, 2, 4)
    # 瓜沥镇: S01 (A) of S01, S02 (S05 unanswered); 城厢街道: S03 is C -> 0 of 1
    assert fig(con, "resolution_rate", town="瓜沥镇") == (0.5, 1, 2)
    assert fig(con, "resolution_rate", town="城厢街道") == (0.0, 0, 1)


def test_activities_and_participations(con):
    # Q2 district: A01 A02 A03 = 3; 人次: A01 headcount 5 + A02 three names (、 and ；) + A03 nothing = 8
    assert fig(con, "activities") == (3, 3, None)
    assert fig(con, "participations") == (8, 8, None)
    assert fig(con, "participations", town="城厢街道") == (0, 0, None)
    assert fig(con, "participations", Q1) == (1, 1, None)  # A04: one name


def test_headline_compares_with_previous_period(con):
    rows = {h.metric.key: h for h in metrics.headline(con, Q2)}
    assert list(rows) == [m.key for m in metrics.METRICS]
    assert rows["opinions"].previous.period == Q1
    # opinions 7 vs 2: +250 %; closure 4/6 vs 1/2: +16.7 points; suggestions 5 vs 1: +400 %
    assert rows["opinions"].change == pytest.approx(2.5)
    assert rows["closure_rate"].change == pytest.approx(4 / 6 - 1 / 2)
    assert metrics.format_change(rows["closure_rate"]) == "+16.7 个百分点"
    assert metrics.format_change(rows["suggestions"]) == "+400.0%"


def test_change_is_none_without_a_base(con):
    # 2023Q4 has no data: counts 0 -> no relative change; 城厢街道 has no satisfaction value in Q2
    rows = {h.metric.key: h for h in metrics.headline(con, Q1)}
    assert rows["opinions"].previous.value == 0 and rows["opinions"].change is None
    rows = {h.metric.key: h for h in metrics.headline(con, Q2, "城厢街道")}
    assert rows["satisfaction_rate"].change is None


def test_periods_with_data_and_latest(con):
    assert metrics.periods_with_data(con, "quarter") == [parse_period(p) for p in ("2024Q3", "2024Q2", "2024Q1")]
    assert metrics.periods_with_data(con, "year") == [Period("year", 2024)]
    assert metrics.latest_period(con, "month") == parse_period("2024-07")  # O10
    assert metrics.latest_period(con, "quarter") == parse_period("2024Q3")


def test_latest_period_of_empty_store(tmp_path):
    c = connect(tmp_path / "empty.duckdb")
    assert metrics.latest_period(c, "quarter") is None
    c.close()


def test_opinions_by_month(con):
    df = metrics.opinions_by_month(con, Q2, months=3)
    # Apr: O01 O06 (both closed); May: O02 O04 O05 (O02 closed); Jun: O03 O07 (O03 closed)
    assert df.to_dict("records") == [
        {"month": "2024-04", "opinions": 2, "closed": 2},
        {"month": "2024-05", "opinions": 3, "closed": 1},
        {"month": "2024-06", "opinions": 2, "closed": 1},
    ]
    year = metrics.opinions_by_month(con, Q2)  # 12 months ending 2024-06, empty months as 0
    assert list(year["month"])[:1] == ["2023-07"] and len(year) == 12
    assert int(year["opinions"].sum()) == 9  # O01..O09


def test_cli_summary_json(tmp_path, capsys):
    db = load_fixture(tmp_path / "m.duckdb")
    assert cli_main(["summary", "--db", str(db), "--period", "2024Q2", "--town", "瓜沥", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["period"] == "2024Q2" and out["town"] == "瓜沥镇"  # short name accepted
    by_key = {f["key"]: f for f in out["figures"]}
    assert by_key["closure_rate"]["numerator"] == 3 and by_key["closure_rate"]["denominator"] == 4
    assert by_key["opinions"]["previous"] == {"period": "2024Q1", "value": 1.0, "numerator": 1, "denominator": None}


def test_cli_summary_defaults_to_latest_quarter(tmp_path, capsys):
    db = load_fixture(tmp_path / "m.duckdb")
    assert cli_main(["summary", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "全区 · 2024年第3季度" in out and "收到民情民意" in out


def test_cli_summary_rejects_bad_input(tmp_path, capsys):
    db = load_fixture(tmp_path / "m.duckdb")
    assert cli_main(["summary", "--db", str(db), "--town", "杭州"]) == 2
    assert "不是萧山区的镇街" in capsys.readouterr().err
    assert cli_main(["summary", "--db", str(db), "--period", "2024Q5"]) == 2
    assert "无法识别的期间" in capsys.readouterr().err
