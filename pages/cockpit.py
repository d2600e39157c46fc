"""驾驶舱 — the default page: the district at a glance for a chair meeting.

Headline figures (with the change against the previous period, definitions on hover); the five
indices of the chosen unit (the sidebar's town or 全区, or one of the town's stations) against the
district; the 1+23+64 tree coloured by an index; the unit's monthly trend; alerts that open the rows
behind them; score receipts with the rows behind each component and, for a town, which stations pull
it up or down. ``?screen=1`` turns the page into a big-screen view (dark, large type, no sidebar) that
refreshes itself.

Layout only: every number comes from ``analytics`` (metrics, indices, hierarchy, alerts), read
through the cached readers below, keyed by the store's data version.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.colors import sample_colorscale

from analytics.domain import alerts
from analytics.domain import hierarchy
from analytics.domain import hotissues
from analytics.domain import indices
from analytics.core import labels
from analytics.domain import metrics
from analytics.domain import ranking
from analytics.domain.indices import INDEX_KEYS, SCORE_COLUMNS
from analytics.core.periods import Period, parse_period, period_of
from pages import _access, _layout

URL_PATH = "cockpit"
CARDS_PER_ROW = 4  # 7 figures: 4 + 3 cards; readable on a laptop and on a meeting-room screen
SCREEN_PARAM = _layout.SCREEN_PARAM  # ?screen=1 opens the big-screen mode
SCREEN_REFRESH_S = 60  # a meeting-room screen: fresh within a minute; a warm run costs well under 1 s
TREND_MONTHS = 12  # the trend shows the year up to the period's last month
ROWS_SHOWN = 2000  # rows behind an alert or a component shown at once (the table scrolls)
FALL_MIN_POINTS = 5.0  # a fall of a few percentile points is ordinary movement among peers
FALLS_LISTED = 10
INSUFFICIENT_COLOR = "#B0B0B0"  # 样本不足: grey, never a colour of the scale
SCALE = "RdYlGn"  # low red → high green, as 晾晒 reads
LEVEL_WORDS = labels.LEVEL_LABELS
PICK_ORDER = ["composite", *INDEX_KEYS]  # index pickers: the composite first


# ───────────────────────────── cached readers (keyed by the data version) ─────────────────────────────

@st.cache_resource(show_spinner=False)
def _config(stamp: int) -> indices.IndexConfig:
    return indices.load_config()


def config() -> indices.IndexConfig:
    """data/indices.toml, read again when the file changes."""
    return _config(indices.CONFIG_PATH.stat().st_mtime_ns)


def config_error() -> str | None:
    """A mistake in data/indices.toml in Chinese (file, key), or None."""
    try:
        config()
    except (indices.IndexConfigError, OSError) as exc:
        return f"五大评价指标暂时无法计算：{exc}"
    return None


def config_ok(say: bool = True) -> bool:
    """A mistake in data/indices.toml is said in Chinese (file, key); the headline figures, which
    do not depend on it, stay on the page."""
    problem = config_error()
    if problem is not None and say:
        st.error(problem, icon=":material/error:")
    return problem is None


@st.cache_data(show_spinner=False, max_entries=32)
def scored_tree(db: str, version: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return hierarchy.scored_tree(con, period, config())


@st.cache_data(show_spinner=False, max_entries=64)
def trend(db: str, version: str, unit_id: str, start: str, end: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return indices.index_trend(con, unit_id, start, end, "month", config())


@st.cache_data(show_spinner=False, max_entries=128)
def receipt(db: str, version: str, unit_id: str, index: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return indices.receipt(con, unit_id, index, period, config())


@st.cache_data(show_spinner=False, max_entries=64)
def receipt_rows(db: str, version: str, unit_id: str, component: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return indices.receipt_rows(con, unit_id, component, period, config())


@st.cache_data(show_spinner=False, max_entries=64)
def contributions(db: str, version: str, town_unit_id: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return indices.station_contributions(con, town_unit_id, period, config())


@st.cache_data(show_spinner=False, max_entries=32)
def overdue_opinions(db: str, version: str, town: str | None) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return alerts.overdue_opinions(con, town, config())


@st.cache_data(show_spinner=False, max_entries=32)
def overdue_suggestions(db: str, version: str, town: str | None) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return alerts.overdue_suggestions(con, town)


@st.cache_data(show_spinner=False, max_entries=64)
def falls(db: str, version: str, period: str, level: str, town: str | None) -> pd.DataFrame:
    # from the scored trees the page holds anyway: each period is scored once
    now = scored_tree(db, version, period)
    before = scored_tree(db, version, parse_period(period).previous().code)
    return alerts.falls_between(now, before, level, town, limit=None, min_drop=FALL_MIN_POINTS, config=config())


@st.cache_data(show_spinner=False, max_entries=64)
def fall_detail(db: str, version: str, unit_id: str, index: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return alerts.fall_detail(con, unit_id, index, period, config())


@st.cache_data(show_spinner=False, max_entries=32)
def insufficient(db: str, version: str, period: str, town: str | None) -> pd.DataFrame:
    return alerts.insufficient_in(scored_tree(db, version, period), town, config())


@st.cache_data(show_spinner=False, max_entries=64)
def insufficient_detail(db: str, version: str, unit_id: str, period: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return alerts.insufficient_detail(con, unit_id, period, config())


# ───────────────────────────── words and numbers ─────────────────────────────

def index_label(key: str) -> str:
    return alerts.index_label(key, config())


def index_parts(key: str) -> str:
    """What an index is made of, in a few words (data/indices.toml): its components' names."""
    cfg = config()
    if key == "composite":
        weights = {cfg.indices[k].weight for k in INDEX_KEYS}
        how = "平均" if len(weights) == 1 else "加权平均"
        return f"{'、'.join(cfg.indices[k].label.removesuffix('指数') for k in INDEX_KEYS)}五个指数的{how}"
    return "、".join(c.label for c in cfg.indices[key].components)


def index_definition(key: str) -> str:
    """The index in words, from data/indices.toml: what it asks, its parts and their weights."""
    cfg = config()
    purpose = labels.INDEX_PURPOSES[key]
    if key == "composite":
        parts = "、".join(f"{cfg.indices[k].label}×{cfg.indices[k].weight:g}" for k in INDEX_KEYS)
        return f"{purpose}：{parts}。"
    parts = "、".join(f"{c.label}×{c.weight:g}" for c in cfg.indices[key].components)
    return (f"{purpose}。由 {parts} 合成（× 后是权重）。得分 0–100：和同级单元比排在什么位置，50 约为中等，"
            f"越高越好。怎么算的见本页最后。")


def method_text() -> str:
    """The method behind every score, in plain Chinese, with the figures of data/indices.toml."""
    cfg = config()
    return "\n".join([
        "- **分项**：每个指数由几个分项组成。分项是一个比率（如 已办结 ÷ 应办结）或一个人均数（如 活动场次 ÷ 代表人数）。",
        "- **数据少的不凭运气冒尖**：数据少的单元，比率很容易偶然很高或很低，所以先把它往同级单元的平均水平拉一拉："
        f"相当于给每个单元先添上 {cfg.rate_prior:g} 条“平均水平”的记录。只有 3 条记录的联络站因此基本停在平均线附近，"
        "有几百条记录的镇街几乎不受影响。",
        "- **得分是位置，不是百分比**：把拉过之后的值和同级单元放在一起比（镇街和镇街比，联络站和联络站比），"
        "排在正中间约 50 分，最好的接近 100，最差的接近 0。",
        f"- **指数**：各分项得分按权重平均。数据太少的分项不计分；计分的分项不到权重的 {cfg.min_coverage:.0%} 时，"
        "整个指数显示“样本不足”，既不打分，也不算 0 分。",
        f"- **{labels.COMPOSITE_LABEL}**：{index_parts('composite')}。",
        "- **“全区”的得分**：把全区合计的值放在镇街中间比较，看全区相当于一个什么水平的镇街。",
    ])


def score_text(v) -> str:
    return labels.INSUFFICIENT if v is None or pd.isna(v) else f"{float(v):.1f}"


def _value_text(v, kind: str) -> str:
    if v is None or pd.isna(v):
        return "—"
    if kind == "rate":
        return f"{float(v) * 100:.1f}%"
    return f"{float(v):.3g}" if abs(float(v)) < 100 else f"{float(v):,.0f}"


def _num_text(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{float(v):,.6g}"


def score_color(v) -> str:
    if v is None or pd.isna(v):
        return INSUFFICIENT_COLOR
    return sample_colorscale(SCALE, [min(max(float(v), 0.0), 100.0) / 100.0])[0]


def unit_name(unit: pd.Series) -> str:
    """The district is 全区 on the page (its row in the units export may be named 总站)."""
    return labels.DISTRICT if unit["level"] == "district" else unit["unit"]


def short_name(unit: str) -> str:
    return unit.removesuffix("代表联络站") if unit.endswith("代表联络站") and len(unit) > 5 else unit


# ───────────────────────────── the chosen unit ─────────────────────────────

def chosen_unit(sel: _layout.Selection, tree: pd.DataFrame) -> pd.Series:
    """The sidebar's town (or the district); for a town, one of its stations may be picked here."""
    district = tree[tree["level"] == "district"].iloc[0]
    if sel.town is None:
        return district
    town_rows = tree[(tree["level"] == "town") & (tree["town"] == sel.town)]
    if town_rows.empty:
        st.info(f"基层单元名册中没有“{sel.town}”，下面显示全区。")
        return district
    town = town_rows.iloc[0]
    stations = tree[(tree["level"] == "station") & (tree["parent_id"] == town["unit_id"])]
    options = [town["unit_id"], *stations["unit_id"]]
    names = dict(zip(tree["unit_id"], tree["unit"]))
    picked = st.selectbox("单元", options, key=f"ck_unit_{town['unit_id']}",
                          format_func=lambda u: f"{names[u]}（镇街）" if u == town["unit_id"] else names[u],
                          help="镇街本身，或它的一个联络站。换镇街请用左侧的“范围”。")
    return tree[tree["unit_id"] == picked].iloc[0]


# ───────────────────────────── headline figures ─────────────────────────────

def _card(h: metrics.Headline, grain: str, describe: bool = True) -> None:
    m, cur = h.metric, h.current
    value = metrics.format_value(m, cur.value)
    if not m.is_rate and cur.value is not None:
        value = f"{value} {m.unit}"
    explain = m.help
    if m.is_rate:
        explain += f"\n\n本期：{cur.numerator:,} ÷ {cur.denominator:,}"
    prev = metrics.format_value(m, h.previous.value)
    explain += f"\n\n上期（{h.previous.period.label}）：{prev}"
    change = metrics.format_change(h)
    color = "off" if m.higher_is_better is None else ("normal" if m.higher_is_better else "inverse")
    st.metric(m.label, value, delta=change, delta_color=color, help=explain, border=True, height="stretch",
              delta_description=labels.PREVIOUS_LABELS[grain] if change and describe else None)


def headline_cards(sel: _layout.Selection, per_row: int = CARDS_PER_ROW, describe: bool = True) -> None:
    rows = _layout.headline(sel.db, sel.version, sel.period.code, sel.town)
    for start in range(0, len(rows), per_row):
        for col, h in zip(st.columns(per_row), rows[start:start + per_row]):
            with col:
                _card(h, sel.period.grain, describe)
    if sel.town is None and (n := _layout.unlocated_opinions(sel.db, sel.version, sel.period.code)):
        st.caption(metrics.UNLOCATED_NOTE.format(n=n))


# ───────────────────────────── the five indices ─────────────────────────────

def index_cards(unit: pd.Series, district: pd.Series, previous: pd.Series | None, grain: str) -> None:
    """Six cards (five indices + composite): score or 样本不足, the district beside it, the change
    against the previous period, and the definition under it (in full on hover)."""
    for col, key in zip(st.columns(len(SCORE_COLUMNS)), SCORE_COLUMNS):
        with col, st.container(border=True, height="stretch"):
            st.markdown(f"**{index_label(key)}**", help=index_definition(key))
            v = unit[key]
            st.markdown(f"### {score_text(v)}")
            extra = []
            if unit["unit_id"] != district["unit_id"]:
                extra.append(f"全区 {score_text(district[key])}")
            if previous is not None and not pd.isna(v) and not pd.isna(previous[key]):
                extra.append(f"{labels.PREVIOUS_LABELS[grain]} {float(v) - float(previous[key]):+.1f}")
            if extra:
                st.caption("  \n".join(extra))
            st.caption(labels.INDEX_PURPOSES[key])


def index_bars(unit: pd.Series, district: pd.Series, height: int = 320) -> go.Figure:
    keys = list(SCORE_COLUMNS)
    x = [index_label(k) for k in keys]
    fig = go.Figure()
    series = [(unit, short_name(unit_name(unit)), "#C8102E")]
    if unit["unit_id"] != district["unit_id"]:
        series.append((district, labels.DISTRICT, "#8C9BAB"))
    for row, name, color in series:
        y = [None if pd.isna(row[k]) else float(row[k]) for k in keys]
        fig.add_bar(x=x, y=y, name=name, marker_color=color,
                    text=[score_text(v) for v in y], textposition="outside",
                    hovertemplate=f"{name}<br>%{{x}}：%{{text}}<extra></extra>")
        for xi, v in zip(x, y):
            if v is None:  # 样本不足 is said, never drawn as a bar of 0
                fig.add_annotation(x=xi, y=4, text=labels.INSUFFICIENT, showarrow=False,
                                   font=dict(color="#666", size=12), yanchor="bottom")
    fig.update_layout(barmode="group", height=height, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(range=[0, 110], title="得分"), legend_orientation="h",
                      legend_y=1.12)
    return fig


# ───────────────────────────── the 1+23+64 tree ─────────────────────────────

def tree_figure(tree: pd.DataFrame, key: str, height: int = 520, highlight: str | None = None) -> go.Figure:
    """Treemap of the district → towns → stations, each coloured by ``key`` (grey: 样本不足).
    Every station has the same area; a town without stations counts as one. Click a town to open it.
    ``highlight``: a unit_id drawn with a heavy outline (the unit chosen on the page)."""
    has_children = set(tree["parent_id"])
    values = [0 if u in has_children else 1 for u in tree["unit_id"]]
    level_words = [LEVEL_WORDS[lv] for lv in tree["level"]]
    scores = [score_text(v) for v in tree[key]]
    composite = [score_text(v) for v in tree["composite"]]
    fig = go.Figure(go.Treemap(
        ids=tree["unit_id"], labels=[short_name(u) for u in tree["unit"]], parents=tree["parent_id"],
        values=values, branchvalues="remainder", maxdepth=2,
        # The district's own score is in its hover; its box is the frame around the towns.
        marker=dict(colors=[("#eef1f5" if lv == "district" else score_color(v))
                            for lv, v in zip(tree["level"], tree[key])],
                    line=dict(width=[4 if u == highlight else 1 for u in tree["unit_id"]],
                              color=["#1f2a44" if u == highlight else "#ffffff" for u in tree["unit_id"]])),
        customdata=np.column_stack([tree["unit"], level_words, scores, composite]),
        texttemplate="%{label}<br>%{customdata[2]}",
        hovertemplate=(f"<b>%{{customdata[0]}}</b>（%{{customdata[1]}}）<br>{index_label(key)}：%{{customdata[2]}}"
                       f"<br>{labels.COMPOSITE_LABEL}：%{{customdata[3]}}<extra></extra>"),
        pathbar=dict(visible=True),
    ))
    fig.update_layout(height=height, margin=dict(l=0, r=0, t=0, b=0))
    return fig


def tree_section(sel: _layout.Selection, tree: pd.DataFrame, unit: pd.Series) -> str:
    """The tree coloured by the index picked here; returns that index (the stations' pulls follow it)."""
    st.subheader("1+23+64 基层单元")
    key = st.selectbox("按哪个指数着色", PICK_ORDER, key="ck_color", format_func=index_label,
                       help="颜色由红（低）到绿（高），灰色为样本不足。点击镇街可展开它的联络站，点上方路径返回。")
    highlight = None if unit["level"] == "district" else unit["unit_id"]
    st.plotly_chart(tree_figure(tree, key, highlight=highlight), config={"displayModeBar": False}, key="ck_tree")
    st.caption(f"颜色：{index_label(key)}，红低绿高，灰色 = {labels.INSUFFICIENT}。镇街与镇街比，联络站与联络站比；"
               "“全区”是全区汇总值放在镇街中的位置。每个联络站面积相同。")
    return key


# ───────────────────────────── monthly trend ─────────────────────────────

def trend_window(period: Period) -> tuple[str, str] | None:
    """(first, last) month codes: up to TREND_MONTHS months ending with the period's last month,
    not before the first month with data."""
    months = _layout.available_periods("month")
    last = period.months()[-1]
    if not months:
        return None
    first = last
    for _ in range(TREND_MONTHS - 1):
        first = first.previous()
    earliest = parse_period(months[-1])
    first = max(first, earliest)
    return (first.code, last.code) if first <= last else None


LEGEND_ON_TOP = dict(orientation="h", yanchor="bottom", y=1.02, x=0)  # the month axis keeps its two-line ticks


month_ticks = _layout.month_ticks  # the cockpit's month axes (also the big screen's)


def trend_figure(df: pd.DataFrame, height: int = 340) -> go.Figure:
    fig = go.Figure()
    for key in SCORE_COLUMNS:
        y = [None if pd.isna(v) else float(v) for v in df[key]]
        fig.add_scatter(x=df["period"], y=y, name=index_label(key), mode="lines+markers",
                        line=dict(width=4 if key == "composite" else 2), connectgaps=False,
                        hovertemplate=f"%{{x}}<br>{index_label(key)}：%{{y:.1f}}<extra></extra>")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10), legend=LEGEND_ON_TOP,
                      xaxis=month_ticks(df["period"]), yaxis=dict(range=[0, 100], title="得分"))
    return fig


def trend_section(sel: _layout.Selection, unit: pd.Series) -> None:
    left, right = st.columns(2)
    with left:
        st.subheader(f"指数逐月走势（{unit_name(unit)}）")
        window = trend_window(sel.period)
        if window is None:
            st.info("没有按月的数据。")
        else:
            df = trend(sel.db, sel.version, unit["unit_id"], *window)
            st.plotly_chart(trend_figure(df), config={"displayModeBar": False}, key="ck_trend")
            st.caption("每个月在当月的同级单元中比较；线条断开处为样本不足。")
    with right:
        _monthly_chart(sel)


def _monthly_chart(sel: _layout.Selection) -> None:
    df = _layout.opinions_by_month(sel.db, sel.version, sel.period.code, sel.town)
    fig = go.Figure()
    fig.add_bar(x=df["month"], y=df["opinions"], name="收到", marker_color="#4C78A8",
                hovertemplate="%{x}<br>收到 %{y:,} 条<extra></extra>")
    fig.add_scatter(x=df["month"], y=df["closed"], name="其中已办结", mode="lines+markers",
                    line_color="#F58518", hovertemplate="%{x}<br>已办结 %{y:,} 条<extra></extra>")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=40, b=10), legend=LEGEND_ON_TOP,
                      xaxis=month_ticks(df["month"]), yaxis_title="条", yaxis_rangemode="tozero")
    st.subheader(f"民情民意逐月情况（{sel.scope}，截至{sel.period.months()[-1].label}）")
    st.plotly_chart(fig, config={"displayModeBar": False}, key="ck_monthly")


# ───────────────────────────── alerts ─────────────────────────────

def _rows_table(df: pd.DataFrame) -> None:
    shown = df.head(ROWS_SHOWN).rename(columns=labels.ROW_LABELS)
    shown.attrs = {}  # as-of dates etc. are said in the caption; Arrow cannot carry them
    if len(df) > ROWS_SHOWN:
        st.caption(f"共 {len(df):,} 行，显示前 {ROWS_SHOWN:,} 行。")
    _layout.dataframe(shown, hide_index=True)


def _most(df: pd.DataFrame, col: str) -> str:
    """'最多的镇街：宁围街道 106、…' — where the overdue items sit (镇街, 联络站 or 主办单位)."""
    if df.empty:
        return ""
    blank, word = {"town": ("（未归属镇街）", "镇街"), "station": ("（未填联络站）", "联络站"),
                   "main_handler": ("（未填主办单位）", "主办单位")}[col]
    counts = df[col].fillna("").replace("", blank).value_counts().head(5)
    return f"最多的{word}：" + "、".join(f"{t} {n}" for t, n in counts.items())


def alert_data(sel: _layout.Selection) -> dict:
    level = "station" if sel.town else "town"
    return {
        "opinions": overdue_opinions(sel.db, sel.version, sel.town),
        "suggestions": overdue_suggestions(sel.db, sel.version, sel.town),
        "falls": falls(sel.db, sel.version, sel.period.code, level, sel.town),
        "insufficient": insufficient(sel.db, sel.version, sel.period.code, sel.town),
    }


def alerts_section(sel: _layout.Selection) -> None:
    st.subheader("预警")
    data = alert_data(sel)
    op, sg, fl, ins = data["opinions"], data["suggestions"], data["falls"], data["insufficient"]
    tabs = st.tabs([f"逾期未办结的民情民意（{len(op):,}）", f"逾期未答复的代表建议（{len(sg):,}）",
                    f"指数降幅最大（{len(fl)}）", f"样本不足的单元（{len(ins)}）"])
    with tabs[0]:
        as_of = op.attrs.get("as_of")
        st.caption(f"已受理、未办结，且提交已超过 {op.attrs.get('on_time_days')} 天（与解忧指数“按期办结”同一期限）；"
                   f"以数据中最晚的时间 {as_of:%Y-%m-%d %H:%M} 为准，不论提交在哪一期。提交人已脱敏。" if as_of else
                   "还没有民情民意数据。")
        if len(op):
            st.markdown(f"**{len(op):,} 条**逾期，最长逾期 {int(op['days_overdue'].max())} 天。"
                        f"{_most(op, 'station' if sel.town else 'town')}")
            with st.expander(f"打开 {len(op):,} 条明细"):
                _rows_table(op)
    with tabs[1]:
        as_of = sg.attrs.get("as_of")
        st.caption(f"答复期限已过、还没有答复（没有答复时间和答复类别）的代表建议，以建议数据中最晚的日期 {as_of} 为准；"
                   "按领衔代表所属镇街归属。" if as_of else "还没有代表建议数据。")
        if len(sg):
            st.markdown(f"**{len(sg):,} 件**逾期未答复，最长逾期 {int(sg['days_overdue'].max())} 天。"
                        f"{_most(sg, 'main_handler')}")
            with st.expander(f"打开 {len(sg):,} 件明细"):
                _rows_table(sg)
    with tabs[2]:
        _falls_tab(sel, fl)
    with tabs[3]:
        _insufficient_tab(sel, ins)


def _selected_row(event) -> int | None:
    rows = getattr(getattr(event, "selection", None), "rows", None) or []
    return rows[0] if rows else None


def _falls_tab(sel: _layout.Selection, fl: pd.DataFrame) -> None:
    prev = sel.period.previous().label
    st.caption(f"与上一期（{prev}）相比得分下降超过 {FALL_MIN_POINTS:g} 分的单元与指数，降幅大的在前"
               f"（{'本镇街的联络站' if sel.town else '镇街'}；两期都有得分的才比较）。选中一行可看各分项两期的对比。")
    if fl.empty:
        st.markdown("没有明显下降的指数。")
        return
    top = fl.head(FALLS_LISTED)
    if len(fl) > FALLS_LISTED:
        st.caption(f"共 {len(fl)} 项，列出降幅最大的 {FALLS_LISTED} 项。")
    show = pd.DataFrame({"单元": top["unit"], "指数": top["label"], "上期得分": top["previous"].map(score_text),
                         "本期得分": top["score"].map(score_text), "变化": top["change"].map(lambda v: f"{v:+.1f}")})
    event = _layout.dataframe(show, hide_index=True, key="ck_falls", on_select="rerun", selection_mode="single-row")
    i = _selected_row(event)
    if i is not None and i < len(top):
        r = top.iloc[i]
        st.markdown(f"**{r['unit']} · {r['label']}**：{sel.period.label} 与 {prev} 的分项对比")
        d = fall_detail(sel.db, sel.version, r["unit_id"], r["index"], sel.period.code)
        _layout.dataframe(pd.DataFrame({
            "分项": d["label"], "上期分子": d["numerator_prev"].map(_num_text), "上期分母": d["denominator_prev"].map(_num_text),
            "上期得分": d["score_prev"].map(score_text), "本期分子": d["numerator"].map(_num_text),
            "本期分母": d["denominator"].map(_num_text), "本期得分": d["score"].map(score_text),
            "变化": d["change"].map(lambda v: "—" if pd.isna(v) else f"{v:+.1f}")}), hide_index=True)


def _insufficient_tab(sel: _layout.Selection, ins: pd.DataFrame) -> None:
    st.caption("本期至少有一个指数样本不足的单元：数据太少，不打分（不是 0 分）。选中一行可看是哪些分项、差多少。")
    if ins.empty:
        st.markdown("所有单元的五个指数都有足够的数据。")
        return
    show = pd.DataFrame({"单元": ins["unit"], "层级": ins["level"].map(LEVEL_WORDS), "镇街": ins["town"],
                         "样本不足的指数": ins["indices"],
                         "综合指数": np.where(ins["composite"], labels.INSUFFICIENT, "有得分")})
    event = _layout.dataframe(show, hide_index=True, key="ck_insufficient", on_select="rerun", selection_mode="single-row")
    i = _selected_row(event)
    if i is not None and i < len(ins):
        r = ins.iloc[i]
        d = insufficient_detail(sel.db, sel.version, r["unit_id"], sel.period.code)
        st.markdown(f"**{r['unit']}** 样本不足的分项")
        _layout.dataframe(pd.DataFrame({"指数": d["index"], "分项": d["label"], "分子": d["numerator"].map(_num_text),
                                   "分母": d["denominator"].map(_num_text), "最小样本": d["minimum"].map(_num_text),
                                   "说明": d["note"]}), hide_index=True)


# ───────────────────────────── score receipts ─────────────────────────────

RECEIPT_SHOWN = ["label", "kind", "numerator", "denominator", "raw", "prior", "adjusted", "score", "weight",
                 "effective_weight", "contribution", "note"]


def receipt_table(df: pd.DataFrame) -> pd.DataFrame:
    """The receipt as shown: Chinese headers, rates as percentages, 样本不足 in words."""
    kind_words = {**indices.KIND_LABELS, "index": "指数"}
    out = pd.DataFrame({
        "label": df["label"], "kind": df["kind"].map(kind_words),
        "numerator": df["numerator"].map(_num_text), "denominator": df["denominator"].map(_num_text),
        "raw": [_value_text(v, k) for v, k in zip(df["raw"], df["kind"])],
        "prior": [_value_text(v, k) for v, k in zip(df["prior"], df["kind"])],
        "adjusted": [_value_text(v, k) for v, k in zip(df["adjusted"], df["kind"])],
        "score": df["score"].map(score_text), "weight": df["weight"].map(lambda v: f"{v:g}"),
        "effective_weight": df["effective_weight"].map(lambda v: f"{v:.0%}"),
        "contribution": df["contribution"].map(lambda v: "—" if pd.isna(v) else f"{v:.1f}"),
        "note": df["note"].fillna(""),
    })
    return out[RECEIPT_SHOWN].rename(columns=labels.RECEIPT_LABELS)


def receipt_section(sel: _layout.Selection, unit: pd.Series) -> None:
    st.markdown(f"**得分明细（{unit_name(unit)} · {sel.period.label}）**：每个分项的分子、分母、调整前后的值和得分。")
    cfg = config()
    key = st.selectbox("指数", PICK_ORDER, key="ck_receipt_index", format_func=index_label)
    df = receipt(sel.db, sel.version, unit["unit_id"], key, sel.period.code)
    score = df.attrs.get("score")
    st.markdown(f"**{index_label(key)} = {score_text(score)}**"
                + ("" if score is None else "（= 各行“贡献”之和；贡献 = 有效权重 × 得分）")
                + f"；样本充足的部分占权重 {df.attrs.get('coverage', 0):.0%}（不到 {cfg.min_coverage:.0%} 即为样本不足）。")
    _layout.dataframe(receipt_table(df), hide_index=True)
    st.caption("原始值 = 分子 ÷ 分母；调整后 = 按数据多少往同级平均拉过之后的值（见“方法”）；"
               "得分 = 调整后的值在同级单元中的位置（0–100）。")

    comps = cfg.components if key == "composite" else list(cfg.indices[key].components)
    names = {c.key: f"{cfg.indices[c.index].label} · {c.label}" if key == "composite" else c.label for c in comps}
    if st.toggle("打开某个分项背后的原始行", key="ck_rows_open"):
        comp = st.selectbox("分项", [c.key for c in comps], key=f"ck_rows_component_{key}", format_func=names.get)
        rows = receipt_rows(sel.db, sel.version, unit["unit_id"], comp, sel.period.code)
        st.caption(f"{names[comp]}：{len(rows):,} 行。比率类分项中“计入分子/计入分母”标明每行算在哪里；提交人已脱敏。")
        _rows_table(rows)


def pulls_figure(pull: pd.DataFrame, height: int | None = None) -> go.Figure:
    pull = pull.assign(_v=pull["pull"].fillna(0.0)).sort_values("_v")
    names = [short_name(s) for s in pull["station"]]
    colors = [INSUFFICIENT_COLOR if pd.isna(v) else ("#1A9850" if v > 0 else "#D73027" if v < 0 else "#999")
              for v in pull["pull"]]
    text = ["无法比较" if pd.isna(v) else f"{v:+.1f}" for v in pull["pull"]]
    fig = go.Figure(go.Bar(x=pull["_v"], y=names, orientation="h", marker_color=colors, text=text,
                           textposition="outside", hovertemplate="%{y}：%{text}<extra></extra>"))
    fig.update_layout(height=height or 80 + 36 * len(pull), margin=dict(l=10, r=40, t=10, b=10),
                      xaxis=dict(title="拉动（分）：镇街得分 − 去掉该站后的得分", zeroline=True, zerolinewidth=2))
    return fig


def pulls_section(sel: _layout.Selection, town: pd.Series, key: str) -> None:
    st.markdown(f"**哪些联络站拉高、拉低了 {town['unit']} 的{index_label(key)}**")
    df = contributions(sel.db, sel.version, town["unit_id"], sel.period.code)
    pull = df[df["component"] == key]
    if pull.empty:
        st.caption("这个镇街没有联络站。")
        return
    st.plotly_chart(pulls_figure(pull), config={"displayModeBar": False}, key="ck_pulls")
    st.caption("把该站的行从数据中拿掉、所有镇街重新计分：镇街得分下降说明该站在拉高（绿），上升说明在拉低（红）。"
               "“无法比较”：两种情形下样本充足的分项不同，差值反映的是覆盖面而不是该站。")


# ───────────────────────────── big screen ─────────────────────────────
# One block of HTML sized in units of the screen: 1em = 1/45 of its height or 1/80 of its width,
# whichever is smaller — 24 px at 1920×1080, 48 px at 3840×2160, 17 px on a 1366×768 laptop — so the
# same layout fills each of them without scrolling, and no text is smaller than 1em. Everything
# before the screen (banners, the first-start status) is hidden: the screen says 演示数据 in its own
# header line.

SCREEN_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"] { display: none !important; }
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] { background: #0b1220 !important; color: #e6edf3; }
[data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] { gap: 0 !important; }
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] > :has(~ * .ck-screen) { display: none !important; }
.ck-screen { font-size: min(calc(100vh / 45), calc(100vw / 80)); line-height: 1.25; height: 100vh; box-sizing: border-box;
  padding: .45em 1em .5em; display: flex; flex-direction: column; gap: .45em; overflow: hidden; color: #e6edf3;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif; }
.ck-screen * { box-sizing: border-box; }
.ck-head { display: flex; justify-content: space-between; align-items: baseline; gap: 1em; white-space: nowrap; }
.ck-head h1 { font-size: 1.7em; margin: 0; padding: 0; color: #fff; font-weight: 700; line-height: 1.2; }
.ck-head .sub { font-size: 1em; color: #aab7cf; overflow: hidden; text-overflow: ellipsis; }
.ck-head .demo { color: #f0c674; }
.ck-head a { color: #aab7cf; }
.ck-cards { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: .5em; }
.ck-card { background: #131d31; border: 1px solid #2a3a57; border-radius: .35em; padding: .25em .6em; min-width: 0; }
.ck-card .l { font-size: 1em; color: #aab7cf; white-space: nowrap; }
.ck-card .v { font-size: 1.8em; font-weight: 700; color: #fff; line-height: 1.15; white-space: nowrap; }
.ck-card .v small { font-size: .6em; font-weight: 400; }
.ck-card .d { font-size: 1em; white-space: nowrap; }
.up { color: #5ad68a; } .down { color: #ff6b6b; } .flat { color: #aab7cf; }
.ck-main { flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 58fr) minmax(0, 42fr); gap: .8em; }
.ck-table { width: 100%; height: 100%; border-collapse: collapse; font-size: 1em; table-layout: fixed; }
.ck-table th { color: #aab7cf; font-weight: 400; text-align: right; padding: 0 .35em; white-space: nowrap; }
.ck-table td { text-align: right; padding: 0 .35em; white-space: nowrap; line-height: 1.15;
  border-top: 1px solid #1c2942; font-variant-numeric: tabular-nums; }
.ck-table th.t, .ck-table td.t { text-align: left; overflow: hidden; text-overflow: ellipsis; }
.ck-table th.t { width: 26%; } .ck-table th.r { width: 6.5%; } .ck-table th.c { width: 11%; }
.ck-table td.s { color: #fff; }
.ck-table tr.me td { outline: 2px solid #fff; outline-offset: -2px; }
.ck-side { display: flex; flex-direction: column; gap: .5em; min-height: 0; }
.ck-alerts { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: .5em; }
.ck-alert { background: #131d31; border: 1px solid #2a3a57; border-radius: .35em; padding: .3em .6em; min-width: 0; }
.ck-alert .t { font-size: 1em; color: #aab7cf; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ck-alert .n { font-size: 1.8em; font-weight: 700; color: #ff6b6b; line-height: 1.15; }
.ck-alert .n.ok { color: #5ad68a; }
.ck-alert .n small { font-size: .6em; font-weight: 400; color: #aab7cf; }
.ck-alert div.i { font-size: 1em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ck-panel { flex: 1; min-height: 0; background: #131d31; border: 1px solid #2a3a57; border-radius: .35em;
  padding: .3em .6em; overflow: hidden; }
.ck-panel .t { color: #aab7cf; }
.ck-panel ol { margin: .1em 0 0 1.3em; padding: 0; font-size: 1em !important; }
.ck-panel li { font-size: 1em !important; line-height: 1.25; margin: 0; padding: 0; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.ck-unit .t { color: #aab7cf; margin-bottom: .2em; }
.ck-unit .g { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: .5em; }
.ck-note { font-size: 1em; color: #8fa1bf; }
</style>
"""
SCREEN_ALERT_ITEMS = 2  # under each alert's count: where most of them sit (2 lines at 24 px)
SCREEN_HOT_ISSUES = 3


def screen_mode() -> bool:
    """The big screen: asked for by ``?screen=1``, and always for the 大屏 role (a wall display)."""
    return _layout.screen_requested() or _access.screen_only()


def _link(**changes) -> str:
    """A relative link to this page with the current query parameters changed (None removes one)."""
    params = {k: v for k, v in st.query_params.to_dict().items()}
    for k, v in changes.items():
        if v is None:
            params.pop(k, None)
        else:
            params[k] = v
    return "?" + urlencode(params) if params else "?"


def _cell_color(v) -> str:
    """A score's colour of the red–green scale, translucent so that white figures stay readable."""
    if v is None or pd.isna(v):
        return "transparent"
    return score_color(v).replace("rgb(", "rgba(").replace(")", ", 0.45)")


def _arrow(change: float | None, good_when_up: bool | None, text: str) -> str:
    """The change with an arrow, green when it is good news, red when bad, grey when neither."""
    if change is None or pd.isna(change) or not text:
        return '<span class="flat">—</span>'
    if round(float(change), 9) == 0:
        return f'<span class="flat">{escape(text)}</span>'
    up = float(change) > 0
    tone = "flat" if good_when_up is None else ("up" if up == good_when_up else "down")
    return f'<span class="{tone}">{"▲" if up else "▼"} {escape(text.lstrip("+-↑↓"))}</span>'


def screen_cards(sel: _layout.Selection) -> str:
    out = []
    for h in _layout.headline(sel.db, sel.version, sel.period.code, sel.town):
        m, value = h.metric, metrics.format_value(h.metric, h.current.value)
        unit = "" if m.is_rate or h.current.value is None else f" <small>{escape(m.unit)}</small>"
        delta = _arrow(h.change, m.higher_is_better, metrics.format_change(h) or "")
        out.append(f'<div class="ck-card"><div class="l">{escape(m.label)}</div>'
                   f'<div class="v">{escape(value)}{unit}</div><div class="d">{delta}</div></div>')
    return f'<div class="ck-cards">{"".join(out)}</div>'


def screen_towns(sel: _layout.Selection, tree: pd.DataFrame, prev_tree: pd.DataFrame) -> str:
    """The towns by composite rank: rank, its change, the composite and the five indices, each cell
    tinted by its score (grey dash: 样本不足)."""
    towns = tree[tree["level"] == "town"]
    places = ranking.places(towns, prev_tree[prev_tree["level"] == "town"])
    towns = towns.merge(places, on="unit_id").sort_values(["rank", "unit_id"], na_position="last")
    prev_word = labels.PREVIOUS_LABELS[sel.period.grain]
    head = ("<tr><th class='r'>名次</th><th class='t'>镇街</th><th class='c'>" + escape(prev_word) + "</th>"
            + "".join(f"<th>{escape(index_label(k).removesuffix('指数') or index_label(k))}</th>"
                      for k in SCORE_COLUMNS) + "</tr>")
    rows = []
    for r in towns.itertuples():
        rank = "—" if pd.isna(r.rank) else f"{int(r.rank)}"
        move = _arrow(r.change, True, ranking.change_text(r.change))
        cells = "".join(f'<td class="s" style="background:{_cell_color(getattr(r, k))}">'
                        f'{"—" if pd.isna(getattr(r, k)) else score_text(getattr(r, k))}</td>' for k in SCORE_COLUMNS)
        me = ' class="me"' if r.town == sel.town else ""
        rows.append(f"<tr{me}><td>{rank}</td><td class='t'>{escape(short_name(r.unit))}</td><td>{move}</td>{cells}</tr>")
    return f'<table class="ck-table"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def screen_unit(sel: _layout.Selection, tree: pd.DataFrame, prev_tree: pd.DataFrame) -> str:
    """The scope's own five indices and composite (全区, or the sidebar's town), with the change."""
    level, match = ("district", None) if sel.town is None else ("town", sel.town)
    pick = (tree["level"] == level) & ((tree["town"] == match) if match else True)
    if not pick.any():
        return ""
    unit = tree[pick].iloc[0]
    before = prev_tree[prev_tree["unit_id"] == unit["unit_id"]]
    items = []
    for k in SCORE_COLUMNS:
        v = unit[k]
        p = before.iloc[0][k] if len(before) else np.nan
        change = np.nan if pd.isna(v) or pd.isna(p) else float(v) - float(p)
        items.append(f'<div class="ck-card"><div class="l">{escape(index_label(k))}</div>'
                     f'<div class="v">{"—" if pd.isna(v) else score_text(v)}</div>'
                     f'<div class="d">{_arrow(change, True, ranking.delta_text(change))}</div></div>')
    return (f'<div class="ck-unit"><div class="t">{escape(sel.scope)}的五大评价指标'
            f'（{labels.PREVIOUS_LABELS[sel.period.grain]}）</div><div class="g">{"".join(items)}</div></div>')


def _alert_box(title: str, count: int, unit: str, items: list[str]) -> str:
    cls = "n ok" if count == 0 else "n"
    lines = "".join(f'<div class="i">{escape(i)}</div>' for i in items[:SCREEN_ALERT_ITEMS])
    return (f'<div class="ck-alert"><div class="t">{escape(title)}</div>'
            f'<div class="{cls}">{count:,}<small> {escape(unit)}</small></div>{lines}</div>')


def screen_alerts(sel: _layout.Selection) -> str:
    data = alert_data(sel)
    op, sg, fl, ins = data["opinions"], data["suggestions"], data["falls"], data["insufficient"]

    def top(df: pd.DataFrame, col: str, blank: str) -> list[str]:
        counts = df[col].fillna("").replace("", blank).value_counts().head(SCREEN_ALERT_ITEMS) if len(df) else {}
        return [f"{short_name(t)} {n:,}" for t, n in dict(counts).items()]

    # Where the overdue items sit: towns for the district, stations for a town; suggestions by 主办单位.
    where = ("station", "（未填联络站）") if sel.town else ("town", "（未归属镇街）")
    boxes = [
        _alert_box("逾期未办结民情民意", len(op), "条", top(op, *where)),
        _alert_box("逾期未答复代表建议", len(sg), "件", top(sg, "main_handler", "（未填主办单位）")),
        _alert_box(f"指数降了 {FALL_MIN_POINTS:g} 分以上", len(fl), "项",
                   [f"{short_name(r.unit)} {r.label.removesuffix('指数')} {r.change:+.1f}" for r in fl.head(3).itertuples()]),
        _alert_box("数据太少、不打分的单元", len(ins), "个",
                   [f"{short_name(r.unit)}：{r.indices or labels.COMPOSITE_LABEL}" for r in ins.head(3).itertuples()]),
    ]
    return f'<div class="ck-alerts">{"".join(boxes)}</div>'


@st.cache_data(show_spinner=False, max_entries=32)
def _hot_issues(db: str, version: str, quarter: str, town: str | None) -> list[tuple[str, int]]:
    with _layout.read_store(db) as con:
        return [(i["title"], int(i["opinions"]))
                for i in hotissues.quarter_hot_issues(con, quarter, top=SCREEN_HOT_ISSUES, town=town)]


def quarter_hot_issues(sel: _layout.Selection) -> list[tuple[str, int]]:
    """The quarter's top hot issues for the big screen, as (title, opinions), hottest first: the
    chosen quarter, or the quarter a chosen month or year ends in (``hotissues.quarter_hot_issues``;
    counted ahead at import for the latest quarter)."""
    if sel.period is None:
        return []
    quarter = sel.period if sel.period.grain == "quarter" else period_of(sel.period.end - timedelta(days=1), "quarter")
    return _hot_issues(sel.db, sel.version, quarter.code, sel.town)


def screen_hot_issues(sel: _layout.Selection) -> str:
    issues = quarter_hot_issues(sel)[:SCREEN_HOT_ISSUES]
    if not issues:
        return ""
    items = "".join(f"<li>{escape(t)} <span class='flat'>{n:,} 条</span></li>" for t, n in issues)
    return f'<div class="ck-panel"><div class="t">本期热点问题</div><ol>{items}</ol></div>'


def screen_head(sel: _layout.Selection) -> str:
    as_of = overdue_opinions(sel.db, sel.version, sel.town).attrs.get("as_of") if config_ok(say=False) else None
    demo = '<span class="demo">演示数据（虚构，仅供试用）</span> · ' if sel.is_demo else ""
    return (f'<div class="ck-head"><h1>{labels.APP_TITLE} · {escape(sel.scope)}</h1>'
            f'<div class="sub">{demo}{sel.period.label}'
            + (f" · 数据截至 {as_of:%Y年%-m月%-d日}" if as_of else "")
            + f" · {datetime.now():%H:%M} 更新"
            # a wall display's account (the 大屏 role) has no normal page to go back to
            + ("" if _access.screen_only() else f' · <a href="{_link(**{SCREEN_PARAM: None})}" target="_self">退出大屏</a>')
            + "</div></div>")


def screen_html(sel: _layout.Selection) -> str:
    parts = [screen_head(sel), screen_cards(sel)]
    if (problem := config_error()) is not None:
        parts.append(f'<div class="ck-note">{escape(problem)}</div>')
    else:
        tree = scored_tree(sel.db, sel.version, sel.period.code)
        prev_tree = scored_tree(sel.db, sel.version, sel.period.previous().code)
        side = screen_unit(sel, tree, prev_tree) + screen_alerts(sel) + screen_hot_issues(sel)
        note = (f'<div class="ck-note">得分 0–100，与其他镇街相比，50 为中等；'
                f'“—”为数据太少、不打分；{labels.PREVIOUS_LABELS[sel.period.grain]}为名次升降。</div>')
        parts.append(f'<div class="ck-main"><div>{screen_towns(sel, tree, prev_tree)}</div>'
                     f'<div class="ck-side">{side}{note}</div></div>')
    return f'<div class="ck-screen">{"".join(parts)}</div>'


@st.fragment(run_every=SCREEN_REFRESH_S)
def screen_body(sel: _layout.Selection) -> None:
    """Everything on the big screen; reruns itself every SCREEN_REFRESH_S seconds. An import made
    since the page opened changes the data version: then the whole app reruns to pick it up; so it
    does when the signed-in user was disabled meanwhile (the app then shows the login form)."""
    if not _access.keep_alive() or _layout.data_version_now(sel.db) != sel.version:
        st.rerun()
    st.html(screen_html(sel))


def render_screen(sel: _layout.Selection) -> None:
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(SCREEN_CSS)
    screen_body(sel)


# ───────────────────────────── the page ─────────────────────────────

def render() -> None:
    sel = _layout.selection()
    if sel.period is not None and screen_mode():
        render_screen(sel)
        return
    head, link = st.columns([5, 1], vertical_alignment="bottom")
    with head:
        _layout.page_header(URL_PATH)
    if sel.period is None:
        st.info(labels.NO_DATA)
        return
    with link, st.container(horizontal_alignment="right"):  # its right edge on the cards' right edge
        st.link_button("大屏模式", _link(**{SCREEN_PARAM: "1"}), icon=":material/tv:",
                       help="打开深色大屏：大字号、无侧栏，每分钟自动刷新，适合会议室投屏。")
    headline_cards(sel)
    if not config_ok():
        return

    tree = scored_tree(sel.db, sel.version, sel.period.code)
    previous = sel.period.previous()
    prev_tree = scored_tree(sel.db, sel.version, previous.code)
    st.subheader("五大评价指标")
    unit = chosen_unit(sel, tree)
    district = tree[tree["level"] == "district"].iloc[0]
    prev_rows = prev_tree[prev_tree["unit_id"] == unit["unit_id"]]
    index_cards(unit, district, prev_rows.iloc[0] if len(prev_rows) else None, sel.period.grain)
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(index_bars(unit, district), config={"displayModeBar": False}, key="ck_bars")
    with right:
        st.markdown("\n".join(f"- **{index_label(k)}**：{index_parts(k)}" for k in SCORE_COLUMNS))
    peers = LEVEL_WORDS["town" if unit["level"] == "district" else unit["level"]]  # 全区 is placed among the towns
    st.caption(f"得分 0–100：和其他{peers}比排在什么位置，50 约为中等，越高越好。"
               "“全区”是全区合计放在镇街中间比较的位置。数据太少的显示“样本不足”：不打分，也不算 0 分。"
               "怎么算的见本页最后。")

    key = tree_section(sel, tree, unit)
    if unit["level"] == "town":
        pulls_section(sel, unit, key)
    trend_section(sel, unit)
    alerts_section(sel)

    with st.expander("怎么算的"):
        method, receipt_tab, figures = st.tabs(["五大指数的算法", "得分明细", "上方数字的口径"])
        with method:
            st.markdown(method_text())
        with receipt_tab:
            receipt_section(sel, unit)
        with figures:
            st.markdown("\n".join(f"- **{m.label}**：{m.definition}  \n  公式：{m.formula}" for m in metrics.METRICS))
            st.caption("期间含首日、不含次期首日；民情民意和代表建议按提交时间归属期间，状态和评价以最近一次导入为准。")


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
