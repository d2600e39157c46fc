"""代表建议闭环: golden values on tests/data/suggestions_store.sql, counted by hand below; the page
through AppTest (rates with their definitions, a timeline opened from the overdue list and by URL).

The store (session 十八届四次 = G01–G12, data "now" = 2024-12-20, G10's 提出时间):

    id   type  lead      assigned  due    answered  class eval   second  主办    督办
    G01  大会  R1 瓜沥   02-01     05-01  03-01     A     满意   -       住建    重点
    G02  大会  张伟→R1   02-01     05-01  05-11     B     基本   09-01   住建    -
    G03  大会  李娜 城厢 02-01     05-01  04-20     C     不满意 -       教育    对口
    G04  大会  王芳 ?    02-01     05-01  -         -     -      -       教育    主任
    G05  大会  R3 瓜沥   02-01     05-01  04-01     A     基本   -       教育    -
    G06  大会  R1        02-05     05-05  04-15     A     未评价 -       住建    -
    G07  闭会  R2 城厢   06-10     09-10  07-01     B     满意   -       城管    -
    G08  闭会  R1        06-15     09-15  -         -     -      -       住建    -
    G09  闭会  R2        11-20     25-02-20 -       -     -      -       城管    -
    G10  闭会  R3        -         -      -         -     -      -       -       -
    G11  闭会  R1        03-10     06-10  06-20     -     -      -       城管    -
    G12  大会  R3        02-01     05-01  03-15     B     满意   -       教育    -
"""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from tests.conftest import store_from_sql
from analytics.domain import metrics
from analytics.domain import suggestions as sg
from analytics.__main__ import main as cli_main
from analytics.core.periods import parse_period
from analytics.store.db import connect

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parents[1] / "data" / "suggestions_store.sql"
S4, S3 = "十八届四次", "十八届三次"
AS_OF = date(2024, 12, 20)


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return store_from_sql(tmp_path_factory.mktemp("sugg") / "s.duckdb", FIXTURE)


@pytest.fixture()
def con(db):
    c = connect(db, read_only=True)
    yield c
    c.close()


@pytest.fixture()
def rows(con):
    return sg.suggestion_rows(con, sg.Scope(session=S4))


def rate(frame: pd.DataFrame, key: str) -> tuple:
    r = frame.set_index("key").loc[key]
    return r["numerator"], r["denominator"]


# ───────────────────────────── now, scope, stages ─────────────────────────────

def test_now_is_the_suggestions_latest_date_not_the_opinions(con):
    # G10 提出 2024-12-20 is the latest suggestion date; P06 (opinion, 2024-12-31) does not count;
    # G09's 答复期限 2025-02-20 is a plan, not a date the export vouches for.
    assert sg.suggestions_as_of(con) == AS_OF


def test_sessions_latest_first_and_scope(con, rows):
    assert sg.sessions(con) == [S4, S3] and sg.latest_session(con) == S4
    assert list(rows["suggestion_id"]) == sorted(rows["suggestion_id"], key=lambda i: (
        rows.set_index("suggestion_id").at[i, "submitted_at"], i))
    assert len(rows) == 12 and "G00" not in set(rows["suggestion_id"])
    # town = lead's town (metrics rule): 瓜沥镇 R1 (G01 G06 G08 G11), 张伟→R1 (G02), R3 (G05 G10 G12)
    gua = sg.suggestion_rows(con, sg.Scope(session=S4, town="瓜沥镇"))
    assert set(gua["suggestion_id"]) == {"G01", "G02", "G05", "G06", "G08", "G10", "G11", "G12"}
    assert pd.isna(rows.set_index("suggestion_id").at["G04", "town"])  # 王芳: two towns → none


def test_stage_membership(rows):
    r = rows.set_index("suggestion_id")
    ids = lambda col: set(r.index[r[col]])  # noqa: E731
    assert ids("assigned") == set(r.index) - {"G10"}                          # 11
    assert ids("supervised") == {"G01", "G03", "G04"}                          # 督办方式 filled
    assert ids("handling") == set(r.index) - {"G10"}                          # assigned with a 主办单位
    assert ids("answered") == {"G01", "G02", "G03", "G05", "G06", "G07", "G11", "G12"}  # G11: a date, no class
    assert ids("classified") == ids("answered") - {"G11"}
    assert ids("evaluated") == {"G01", "G02", "G03", "G05", "G07", "G12"}     # G06 未评价
    assert ids("second") == {"G02"}
    assert ids("solved") == {"G01", "G05", "G06"}
    assert ids("done") == {"G01", "G05"}                                      # solved and 满意/基本满意
    assert ids("open") == {"G04", "G08", "G09", "G10"}
    assert ids("overdue") == {"G04", "G08"}                                   # 05-01, 09-15 < 12-20
    assert r.at["G04", "days_overdue"] == 233 and r.at["G08", "days_overdue"] == 96


# ───────────────────────────── rates ─────────────────────────────

def test_rates_all(rows):
    got = sg.rates(rows, basic_weight=0.5)
    # 办结率: answered 8 (G01 G02 G03 G05 G06 G07 G11 G12) / 12
    assert rate(got, "closed_rate") == (8, 12)
    # 按期答复率: on time G01 G03 G05 G06 G07 G12 = 6 / due = 8 answered with dates + 2 overdue (G04 G08) = 10
    assert rate(got, "on_time_rate") == (6, 10)
    # 解决率: A (G01 G05 G06) = 3 / with a class 7 (G11 has none)
    assert rate(got, "solved_rate") == (3, 7)
    # 满意率: 满意 G01 G07 G12 + 基本满意 G02 G05 = 5 / evaluated 6 (+ G03 不满意)
    assert rate(got, "satisfied_rate") == (5, 6)
    # 加权满意率: (3 + 0.5 × 2) / 6 = 4 / 6
    assert rate(got, "weighted_satisfied_rate") == (4.0, 6)
    # 办成率: A and satisfied G01 G05 = 2 / 12
    assert rate(got, "done_rate") == (2, 12)
    values = got.set_index("key")["value"]
    assert values["done_rate"] == pytest.approx(2 / 12) and values["closed_rate"] == pytest.approx(8 / 12)


def test_rates_by_submit_type(rows):
    parts = sg.by_type(rows)
    big, closed = sg.rates(parts["大会期间"], 0.5), sg.rates(parts["闭会期间"], 0.5)
    # 大会期间 G01–G06, G12 (7): answered 6; due 6 + G04 = 7, on time G01 G03 G05 G06 G12 = 5;
    # classes 6, A 3; evaluated G01 G02 G03 G05 G12 = 5, satisfied 4; done 2
    assert [rate(big, k) for k in sg.CLI_RATE_KEYS] == [(6, 7), (5, 7), (3, 6), (4, 5), (2, 7)]
    # 闭会期间 G07–G11 (5): answered G07 G11; due G07 G11 + G08 = 3, on time G07; class G07 (B);
    # evaluated G07 满意; done 0
    assert [rate(closed, k) for k in sg.CLI_RATE_KEYS] == [(2, 5), (1, 3), (0, 1), (1, 1), (0, 5)]


def test_a_rate_with_no_denominator_has_no_value(con):
    empty = sg.suggestion_rows(con, sg.Scope(session="没有这一届"))
    assert empty.empty and sg.rates(empty, 0.5)["value"].isna().all()


def test_solved_rate_is_the_cockpits(con):
    """Same rate, one definition: the period scope gives metrics.resolution_rate's counts."""
    for period, town in (("2024", None), ("2024", "瓜沥镇"), ("2024Q1", None), ("2023", None)):
        p = parse_period(period)
        fig = metrics.compute(con, "resolution_rate", p, town)
        got = rate(sg.rates(sg.suggestion_rows(con, sg.Scope(period=p, town=town)), 0.5), "solved_rate")
        assert got == (fig.numerator, fig.denominator), (period, town)
        assert len(sg.suggestion_rows(con, sg.Scope(period=p, town=town))) == \
            metrics.compute(con, "suggestions", p, town).value


def test_weighted_satisfaction_uses_the_indices_weight():
    from analytics.domain.indices import load_config

    assert sg.basic_satisfied_weight() == load_config().basic_satisfied_weight


# ───────────────────────────── funnel and clocks ─────────────────────────────

def test_funnel(rows):
    f = sg.funnel(rows).set_index("stage")
    assert list(f["count"]) == [12, 11, 3, 11, 8, 6, 1]
    assert f.at["answered", "share"] == pytest.approx(8 / 12)
    assert f.at["answered", "step_share"] == pytest.approx(8 / 11)     # of 办理
    assert f.at["supervised", "step_share"] == pytest.approx(3 / 11)   # a subset: of 交办
    assert f.at["second", "step_share"] == pytest.approx(1 / 8)        # a subset: of 答复
    # where each suggestion stopped: G10 提出; G04 G08 G09 办理; G06 G11 答复; six evaluated
    assert [f.at[k, "here"] for k in ("submitted", "assigned", "handling", "answered", "evaluated")] == [1, 0, 3, 2, 6]
    assert f[~f["subset"]]["here"].sum() == 12
    assert f.loc[["supervised", "second"], "subset"].all()


def test_clocks(rows):
    c = sg.clocks(rows, AS_OF)
    c = c[c["submit_type"] == sg.ALL_TYPES].set_index("clock")
    # 提出→交办 (days): 22 22 21 20 20 24 9 10 19 9 20 → sorted 9 9 10 19 20 20 20 21 22 22 24
    assert c.at["submit_to_assign", "n"] == 11
    assert c.at["submit_to_assign", "median"] == 20 and c.at["submit_to_assign", "max"] == 24
    assert c.at["submit_to_assign", "mean"] == pytest.approx(196 / 11)
    assert c.at["submit_to_assign", "p90"] == 22  # linear: position 0.9 × 10 = 9 → 22
    # 交办→答复: 29 100 79 60 70 21 102 43 → median (60 + 70) / 2
    assert (c.at["assign_to_answer", "n"], c.at["assign_to_answer", "median"]) == (8, 65)
    assert c.at["assign_to_answer", "max"] == 102
    # 答复→二次答复: G02 05-11 → 09-01 = 113
    assert (c.at["answer_to_second", "n"], c.at["answer_to_second", "median"]) == (1, 113)
    # no evaluation date in the exports: said, not guessed
    assert c.at["answer_to_evaluation", "n"] == 0 and "评价时间" in c.at["answer_to_evaluation", "note"]
    # still open since 交办: G04 323, G08 188, G09 30 days at 2024-12-20
    assert (c.at["open_age", "n"], c.at["open_age", "median"], c.at["open_age", "max"]) == (3, 188, 323)


# ───────────────────────────── overdue, departments, promises ─────────────────────────────

def test_overdue_list(rows):
    od = sg.overdue(rows)
    assert list(od["suggestion_id"]) == ["G04", "G08"]
    assert list(od["days_overdue"]) == [233, 96]
    assert list(od["main_handler"]) == ["区教育局", "区住建局"]
    assert od.at[0, "supervision"] == "主任会议成员牵头督办"


def test_overdue_agrees_with_the_cockpit_alert(con):
    alerts = pytest.importorskip("analytics.domain.alerts")
    a = alerts.overdue_suggestions(con)
    mine = sg.overdue(sg.suggestion_rows(con))
    assert list(a["suggestion_id"]) == list(mine["suggestion_id"])
    assert list(a["days_overdue"]) == list(mine["days_overdue"])


def test_departments_shrunk_and_small_samples(rows):
    cfg = sg.load_config()
    d = sg.departments(rows, cfg).set_index("main_handler")
    # 住建局 G01 G02 G06 G08: on time 2/4 (G01 G06), solved 2/3, satisfied 2/2
    assert tuple(d.loc["区住建局", ["suggestions", "on_time", "due", "solved", "classified", "satisfied", "evaluated"]]) \
        == (4, 2, 4, 2, 3, 2, 2)
    assert d.loc["区住建局", "on_time_rate"] == pytest.approx(0.5)
    # pooled: on time 6/10, solved 3/7, satisfied 5/6; m = 5
    zj = (2 + 5 * 0.6) / (4 + 5) + (2 + 5 * 3 / 7) / (3 + 5) + (2 + 5 * 5 / 6) / (2 + 5)   # 5/9 + 29/56 + 37/42
    jy = (3 + 3) / (4 + 5) + (1 + 15 / 7) / (3 + 5) + (2 + 25 / 6) / (3 + 5)              # 2/3 + 11/28 + 37/48
    cg = (1 + 3) / (2 + 5) + (0 + 15 / 7) / (1 + 5) + (1 + 25 / 6) / (1 + 5)              # 4/7 + 5/14 + 31/36
    none = 3 / 5 + 3 / 7 + 5 / 6                                                           # no data: the pooled rates
    assert d.loc["区住建局", "score"] == pytest.approx(100 * zj / 3)      # 65.15
    assert d.loc["区教育局", "score"] == pytest.approx(100 * jy / 3)      # 61.01
    assert d.loc["区城管局", "score"] == pytest.approx(100 * cg / 3)      # 59.66
    assert d.loc[sg.NO_HANDLER, "score"] == pytest.approx(100 * none / 3)  # 62.06
    # shipped min_answered = 5: nobody has 5 answers, nobody is ranked
    assert d["small"].all() and d["rank"].isna().all()
    # with 2: the three ranked by score; the unnamed one (0 answers) stays unranked despite its 62.06
    d2 = sg.departments(rows, sg.SuggestionConfig(**{**cfg.__dict__, "dept_min_answered": 2})).set_index("main_handler")
    assert d2["rank"].dropna().astype(int).to_dict() == {"区住建局": 1, "区教育局": 2, "区城管局": 3}
    assert d2.at[sg.NO_HANDLER, "small"] and pd.isna(d2.at[sg.NO_HANDLER, "rank"])


def test_add_months_clamps_to_month_end():
    assert sg.add_months(date(2024, 8, 31), 6) == date(2025, 2, 28)
    assert sg.add_months(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert sg.add_months(date(2024, 3, 15), 6) == date(2024, 9, 15)
    assert sg.add_months(date(2024, 7, 1), 6) == date(2025, 1, 1)


def test_promises(rows):
    p = sg.promises(rows, AS_OF, sg.load_config()).set_index("suggestion_id")
    # B → 6 months, C → 12 months after 答复时间
    assert list(p.index) == ["G12", "G07", "G03", "G02"]   # overdue, due soon, pending, done
    assert p.at["G12", "follow_up_due"] == date(2024, 9, 15) and p.at["G12", "status"] == "已逾期"
    assert p.at["G12", "days_left"] == -96
    assert p.at["G07", "follow_up_due"] == date(2025, 1, 1) and p.at["G07", "status"] == "即将到期"
    assert p.at["G07", "days_left"] == 12                  # ≤ due_soon_days 30
    assert p.at["G03", "follow_up_due"] == date(2025, 4, 20) and p.at["G03", "status"] == "待跟进"
    assert p.at["G03", "days_left"] == 121
    assert p.at["G02", "status"] == "已跟进" and p.at["G02", "days_late"] == 0  # 09-01 before 11-11
    assert sg.promise_summary(p.reset_index()) == {"已逾期": 1, "即将到期": 1, "待跟进": 1, "已跟进": 1}


# ───────────────────────────── solved, yet still rising ─────────────────────────────

def test_rising_by_keywords(con, rows):
    r = sg.rising_after_solved(con, rows, AS_OF, sg.load_config(), method=sg.METHOD_KEYWORDS)
    # G05 (停车难, 瓜沥镇, answered 04-01): after 10 (PA), before 2 (P01 P02; P03/P04 just outside,
    # P05 another town) → 10 ≥ 10 and ≥ 2 × 2. G01 (打通断头路): 6 after < 10. G06: no opinions.
    assert list(r["suggestion_id"]) == ["G05"]
    assert r.at[0, "words"] == "停车难" and "答复后 10 条" in r.at[0, "evidence"] and "2 条" in r.at[0, "evidence"]
    assert r.at[0, "method"] == sg.METHOD_KEYWORDS


def test_rising_chooses_keywords_without_hot_words(con, rows):
    assert list(sg.rising_after_solved(con, rows, AS_OF)["method"]) == [sg.METHOD_KEYWORDS]


def test_rising_by_hot_words(tmp_path):
    """With segmented opinions the flag uses hotwords.rising_words: 停车难 bursts in 瓜沥镇 after G05's
    answer; in 城厢街道 it rose before G07's answer only."""
    from analytics.domain import hotwords

    path = tmp_path / "h.duckdb"
    con = connect(path)
    con.execute("""
        INSERT INTO reps (rep_id, name, rep_level, town) VALUES ('R1', '张伟', '区', '瓜沥镇'), ('R2', '李娜', '区', '城厢街道');
        INSERT INTO suggestions (suggestion_id, session, submitted_at, lead_rep, title, answered_at, answer_class) VALUES
            ('H1', '十八届四次', '2024-01-10', 'R1', '关于缓解停车难问题的建议', '2024-03-10', 'A'),
            ('H2', '十八届四次', '2024-01-10', 'R2', '关于缓解停车难问题的建议', '2024-11-10', 'A'),
            ('H3', '十八届四次', '2024-12-30', 'R2', '关于别的事的建议', NULL, NULL);
        -- 24 months × 20 opinions per town; 停车难 in 1 a month, but 10 a month in 瓜沥镇 from 2024-07
        -- and in 城厢街道 in 2024-01 … 2024-06 (before H2's answer in November).
        INSERT INTO opinions (opinion_id, submitted_at, town, title, content)
        SELECT t.town || m || '-' || k, make_timestamp(2023 + m // 12, m % 12 + 1, 1 + k, 9, 0, 0), t.town,
               CASE WHEN k < (CASE WHEN (t.town = '瓜沥镇' AND m >= 18) OR (t.town = '城厢街道' AND m BETWEEN 12 AND 17)
                                   THEN 10 ELSE 1 END) THEN '停车难' ELSE '路灯不亮' END,
               CASE WHEN k < 3 THEN '反映问题' ELSE '其他' END
        FROM range(24) r(m), range(20) q(k), (VALUES ('瓜沥镇'), ('城厢街道')) t(town);
    """)
    hotwords.segment_pending(con)
    con.close()
    con = connect(path, read_only=True)
    try:
        rows = sg.suggestion_rows(con)
        as_of = sg.suggestions_as_of(con)
        r = sg.rising_after_solved(con, rows, as_of, sg.load_config())
        assert list(r["suggestion_id"]) == ["H1"] and list(r["method"]) == [sg.METHOD_HOTWORDS]
        assert "停车难" in r.at[0, "words"] and "2024-12" in r.at[0, "evidence"]
    finally:
        con.close()


# ───────────────────────────── one suggestion ─────────────────────────────

def test_timeline_of_an_answered_suggestion(con):
    t = sg.timeline(con, "G02")
    ev = t["events"]
    assert list(ev["stage"]) == ["提出", "交办", "答复期限", "答复", "代表评价", "二次答复"]
    assert list(ev["date"]) == [date(2024, 1, 10), date(2024, 2, 1), date(2024, 5, 1), date(2024, 5, 11), None,
                                date(2024, 9, 1)]
    assert "超过期限 10 天" in ev.iloc[3]["detail"] and "基本满意" in ev.iloc[4]["event"]
    assert t["status"].startswith("已答复（B 类）") and t["row"]["main_handler"] == "区住建局"


def test_timeline_of_an_overdue_suggestion(con):
    t = sg.timeline(con, "G04")
    assert list(t["events"]["stage"]) == ["提出", "交办", "督办", "答复期限"]
    assert "已逾期 233 天" in t["events"].iloc[3]["detail"] and t["status"] == "已逾期未答复"
    assert sg.timeline(con, "NOPE") is None


def test_timeline_of_a_promise_not_kept(con):
    t = sg.timeline(con, "G12")
    last = t["events"].iloc[-1]
    assert last["stage"] == "跟进到期" and last["date"] == date(2024, 9, 15) and "已逾期" in last["event"]


# ───────────────────────────── configuration ─────────────────────────────

def test_shipped_config_loads():
    cfg = sg.load_config()
    assert cfg.follow_up_months == {"B": 6, "C": 12} and cfg.dept_min_answered == 5


@pytest.mark.parametrize("change, words", [
    (lambda r: r["promises"].update(follow_up_months={"D": 6}), ["follow_up_months", "D"]),
    (lambda r: r["promises"].update(follow_up_months={"B": 0}), ["follow_up_months.B", "正整数"]),
    (lambda r: r["departments"].pop("min_answered"), ["[departments]", "min_answered"]),
    (lambda r: r.update(extra={}), ["extra"]),
    (lambda r: r["rising"].update(ratio="两倍"), ["ratio", "数字"]),
])
def test_config_errors_are_chinese_and_name_the_key(change, words):
    import tomllib

    raw = tomllib.loads(sg.CONFIG_PATH.read_text(encoding="utf-8"))
    change(raw)
    with pytest.raises(sg.SuggestionConfigError) as exc:
        sg.parse_config(raw)
    for w in words:
        assert w in str(exc.value)
    assert "suggestions.toml" in str(exc.value)


# ───────────────────────────── command line ─────────────────────────────

def test_cli_json(db, capsys):
    assert cli_main(["suggestions", "--db", str(db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["session"] == S4 and out["as_of"] == "2024-12-20" and out["suggestions"] == 12
    assert out["closed_rate"] == pytest.approx(8 / 12) and out["on_time_rate"] == pytest.approx(0.6)
    assert out["solved_rate"] == pytest.approx(3 / 7) and out["satisfied_rate"] == pytest.approx(5 / 6)
    assert out["done_rate"] == pytest.approx(2 / 12)
    assert [o["suggestion_id"] for o in out["overdue"]] == ["G04", "G08"]
    assert [f["count"] for f in out["funnel"]["全部"]] == [12, 11, 3, 11, 8, 6, 1]
    assert {d["main_handler"] for d in out["departments"]} >= {"区住建局", "区教育局", "区城管局"}
    assert [p["suggestion_id"] for p in out["promises"]] == ["G12", "G07", "G03", "G02"]


def test_cli_text_and_other_session(db, capsys):
    assert cli_main(["suggestions", "--db", str(db), "--session", S3]) == 0
    text = capsys.readouterr().out
    assert S3 in text and "办结率" in text and "办成率" in text
    assert cli_main(["suggestions", "--db", str(db), "--session", "十九届"]) == 2
    assert "十九届" in capsys.readouterr().err


# ───────────────────────────── the page ─────────────────────────────

def _app(db: Path, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("COCKPIT_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    at._page_hash = calc_hash("suggestions")  # as the browser opens /suggestions (see tests/pages/test_app.py)
    for k, v in query.items():
        at.query_params[k] = v
    return at


def test_page_shows_rates_with_definitions(db, monkeypatch):
    at = _app(db, monkeypatch).run()
    assert not at.exception, at.exception
    cards = {m.label: m for m in at.metric}
    for r in sg.RATES:
        assert r.label in cards and r.definition in cards[r.label].help
    assert cards["办结率"].value == "66.7%" and cards["办成率"].value == "16.7%"
    assert len(at.get("plotly_chart")) >= 3  # two funnels and the clocks
    assert any("逾期未答复：2 件" in s.value for s in at.subheader)


def test_timeline_opens_from_the_overdue_list(db, monkeypatch):
    at = _app(db, monkeypatch).run()
    pick = at.selectbox(key="sg_pick")
    assert pick.options[1:] == ["G04　关于回迁安置提速的建议", "G08　关于噪声治理的建议"]
    pick.select("G04").run()
    assert not at.exception
    assert any("G04" in m.value and "回迁安置" in m.value for m in at.markdown)
    assert at.query_params["suggestion"] == "G04"
    frames = [d.value for d in at.dataframe]
    assert any("已逾期 233 天，仍未答复" in set(f.get("说明", [])) for f in frames)


def test_timeline_opens_from_the_url(db, monkeypatch):
    at = _app(db, monkeypatch, suggestion="G02").run()
    assert not at.exception
    assert at.selectbox(key="sg_pick").value == "G02"
    assert any("G02" in m.value for m in at.markdown)
    at = _app(db, monkeypatch, suggestion="NOPE").run()
    assert not at.exception and any("NOPE" in w.value for w in at.warning)


def test_page_by_period_and_town(db, monkeypatch):
    at = _app(db, monkeypatch, scope="period", period="2024", town="城厢街道").run()
    assert not at.exception
    # 城厢街道 2024: G03 G07 G09 (李娜/R2): answered G03 G07 → 办结率 2/3
    assert {m.label: m.value for m in at.metric}["办结率"] == "66.7%"
    assert any("城厢街道 · 2024年" in c.value for c in at.caption)


def test_docs_define_every_rate_and_stage():
    doc = (ROOT / "docs" / "suggestions.md").read_text(encoding="utf-8")
    for r in sg.RATES:
        assert f"{r.label} `{r.key}`" in doc, r.key
    for _, label, _ in sg.STAGES:
        assert f"| {label} |" in doc or f"| 其中：{label} |" in doc, label
    cfg = sg.load_config()
    assert all(f"{c} 类 {m} 个月" in doc for c, m in cfg.follow_up_months.items())


def test_page_on_the_demo_store_opens_a_timeline(demo_db, monkeypatch):
    """The shared demo store (tests/conftest.py): the page renders, and the first suggestion of the
    overdue list (or, if none is overdue there, one given by URL) opens its timeline."""
    at = _app(demo_db, monkeypatch).run()
    assert not at.exception, at.exception
    assert [t.value for t in at.title] == ["代表建议"]
    pick = at.selectbox(key="sg_pick")
    if len(pick.options) > 1:
        first = pick.options[1].split("\u3000")[0]
        pick.select(first).run()
    else:
        con = connect(demo_db, read_only=True)
        first = sg.suggestion_rows(con)["suggestion_id"].iloc[0]
        con.close()
        at = _app(demo_db, monkeypatch, suggestion=first).run()
    assert not at.exception
    assert any(m.value.startswith(f"#### {first}") for m in at.markdown)
