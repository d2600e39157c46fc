"""镇街排名 — the 23 towns ranked on the five indices each quarter: the official ranking with rank
ranges and the change against the previous quarter, each index's ranking, per-capita views,
what-if weights, the monthly action points as progress bars, and the quarterly 晾晒 report.

Layout only: every figure comes from ``analytics.domain.ranking``, ``analytics.domain.points`` and
``analytics.reports.quarterly``; results are cached by the store's data version.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.core import labels as ui_labels
from analytics.domain import metrics
from analytics.domain import points as points_mod
from analytics.domain import ranking as rk
from analytics.reports import quarterly as report
from analytics.domain.indices import INDEX_KEYS, IndexConfigError, load_config
from analytics.core.periods import Period, parse_period, period_of
from analytics.store.db import connect
from pages import _access, _layout

URL_PATH = "ranking"
UP, DOWN, CHANGED = "#1a7f37", "#cf222e", "#fff3bf"  # rank rose / fell; what-if row whose rank moved
WEIGHT_MAX, WEIGHT_STEP = 5.0, 0.5  # what-if sliders: 0 … 5 in halves (0 leaves an index out)
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# ───────────────────────────── cached reads ─────────────────────────────

@st.cache_data(show_spinner=False, max_entries=8)
def _quarters(db: str, version: str) -> list[str]:
    with _layout.read_store(db) as con:
        return [p.code for p in metrics.periods_with_data(con, "quarter")]


@st.cache_data(show_spinner=False, max_entries=8)
def _months(db: str, version: str) -> list[str]:
    with _layout.read_store(db) as con:
        return [p.code for p in metrics.periods_with_data(con, "month")]


@st.cache_data(show_spinner="正在计算排名与排名区间…", max_entries=32)
def _ranking(db: str, version: str, quarter: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return rk.ranking(con, quarter)


@st.cache_data(show_spinner=False, max_entries=32)
def _per_capita(db: str, version: str, quarter: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return rk.per_capita(con, quarter)


@st.cache_data(show_spinner=False, max_entries=64)
def _progress(db: str, version: str, month: str) -> pd.DataFrame:
    with _layout.read_store(db) as con:
        return points_mod.progress(con, month)


@st.cache_data(show_spinner=False, max_entries=8)
def _report_file(db: str, version: str, quarter: str, kind: str) -> bytes:
    """The 专报 (docx) or its tables (xlsx). Called when a download button is clicked, in a thread
    of its own, so it opens its own read-only connection (no page furniture there)."""
    con = connect(db, read_only=True)
    try:
        data = report.gather(con, quarter)
    finally:
        con.close()
    return report.build_docx(data) if kind == "docx" else report.build_xlsx(data)


# ───────────────────────────── the period ─────────────────────────────

def _quarter_of(sel: _layout.Selection, quarters: list[str]) -> Period | None:
    """Rankings are quarterly: the sidebar's quarter; for a month, the quarter holding it; for a
    year, its latest quarter with data."""
    p = sel.period
    if p is None or not quarters:
        return None
    if p.grain == "year":
        inside = [q for q in quarters if parse_period(q).year == p.year]
        return parse_period(inside[0]) if inside else parse_period(quarters[0])
    return period_of(p.start, "quarter")


def _points_month(sel: _layout.Selection, quarter: Period, months: list[str]) -> Period:
    """The sidebar's month, else the latest month with data in the quarter, else its last month."""
    if sel.period is not None and sel.period.grain == "month":
        return sel.period
    inside = [m for m in months if quarter.start <= parse_period(m).start < quarter.end]
    return parse_period(inside[0]) if inside else quarter.months()[-1]


# ───────────────────────────── helpers ─────────────────────────────

def _index_labels() -> dict[str, str]:
    cfg = load_config()
    return {"composite": "综合指数", **{k: cfg.indices[k].label for k in INDEX_KEYS}}


def _rank_cell(v) -> str:
    return "—" if pd.isna(v) else str(int(v))


def _move_color(text: str) -> str:
    if isinstance(text, str) and text.startswith("↑"):
        return f"color: {UP}; font-weight: 600"
    if isinstance(text, str) and text.startswith("↓"):
        return f"color: {DOWN}; font-weight: 600"
    return ""


def _ranking_view(view: pd.DataFrame, score_label: str) -> pd.DataFrame:
    """A by_index view as shown: Chinese columns, rank text, range text, arrows."""
    return pd.DataFrame({
        "排名": [_rank_cell(v) for v in view["rank"]],
        "排名区间": ["样本不足" if pd.isna(r) else rk.rank_range_text(lo, hi)
                 for r, lo, hi in zip(view["rank"], view["rank_low"], view["rank_high"])],
        "镇街": view["unit"],
        score_label: view["score"],
        "较上季度": [rk.change_text(c) for c in view["change"]],
        "得分变化": [rk.delta_text(v) for v in view["score_change"]],
        "上季度排名": [_rank_cell(v) for v in view["prev_rank"]],
    })


def _show_ranking(view: pd.DataFrame, score_label: str) -> None:
    shown = _ranking_view(view, score_label)
    styled = shown.style.map(_move_color, subset=["较上季度"]) \
        .format({score_label: "{:.1f}"}, na_rep="—")
    _layout.dataframe(styled, hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3,
                 column_config={
                     score_label: st.column_config.ProgressColumn(score_label, min_value=0, max_value=100,
                                                                  format="%.1f"),
                     "排名区间": st.column_config.TextColumn(help="名次可能的范围：数据少，名次也带偶然性（怎么算的见本页）"),
                     "较上季度": st.column_config.TextColumn(help="名次变化：↑ 上升、↓ 下降"),
                 })


def _range_chart(table: pd.DataFrame) -> go.Figure:
    ranked = table[table["rank"].notna()]
    fig = go.Figure()
    for r in ranked.itertuples():
        fig.add_scatter(x=[r.rank_low, r.rank_high], y=[r.unit, r.unit], mode="lines",
                        line=dict(color="#9ecae1", width=8), hoverinfo="skip", showlegend=False)
    fig.add_scatter(x=ranked["rank"], y=ranked["unit"], mode="markers", marker=dict(color="#08519c", size=9),
                    customdata=list(zip(ranked["composite"].round(1),
                                        [rk.rank_range_text(a, b) for a, b in zip(ranked["rank_low"], ranked["rank_high"])])),
                    hovertemplate="%{y}：第%{x}名，综合 %{customdata[0]}<br>排名区间 %{customdata[1]}<extra></extra>",
                    showlegend=False)
    fig.update_layout(height=28 * len(ranked) + 80, margin=dict(l=10, r=10, t=10, b=40),
                      xaxis=dict(title="名次（线段为排名区间）", dtick=1, range=[len(table) + 0.5, 0.5]),
                      yaxis=dict(autorange="reversed", title=None))
    return fig


def _heatmap(table: pd.DataFrame, labels: dict[str, str]) -> go.Figure:
    z = table[list(INDEX_KEYS)].to_numpy(float)
    text = [["样本不足" if pd.isna(v) else f"{v:.0f}" for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[labels[k] for k in INDEX_KEYS], y=table["unit"], text=text,
                               texttemplate="%{text}", colorscale="RdYlGn", zmin=0, zmax=100,
                               hovertemplate="%{y} · %{x}：%{text}<extra></extra>", colorbar=dict(title="得分")))
    fig.update_layout(height=26 * len(table) + 90, margin=dict(l=10, r=10, t=30, b=10),
                      yaxis=dict(autorange="reversed"), xaxis=dict(side="top"))
    return fig


# ───────────────────────────── tabs ─────────────────────────────

def _tab_official(table: pd.DataFrame, quarter: Period) -> None:
    ranked = int(table["rank"].notna().sum())
    st.caption(f"{quarter.label}：{ranked} 个镇街参加排名"
               + (f"，{len(table) - ranked} 个样本不足（列在表末，不排名）" if ranked < len(table) else "")
               + f"。较上季度与 {parse_period(table.attrs['previous']).label} 相比。")
    _show_ranking(rk.by_index(table, "composite"), "综合指数")
    st.subheader("排名区间：名次有多确定")
    st.plotly_chart(_range_chart(table), config={"displayModeBar": False})
    st.caption("圆点是实际名次，线段是名次可能的范围：线段长，名次受偶然因素影响大；两个镇街的线段重叠，名次之差不宜当作定论。")
    with st.expander("怎么算的"):
        st.markdown(
            "- **并列**：按显示的综合指数（保留 1 位小数）排名，得分相同名次相同，其后的名次顺延（1、2、2、4），"
            "不用其他指标打破并列。\n"
            "- **排名区间**：数据有限，名次也带有偶然性。好比把各镇街的情况重新“抽查”一遍：按每个镇街自己的数据量"
            f"随机重来 {table.attrs['replicates']} 次，每次用同样的方法重算得分和名次，去掉最靠前和最靠后的各 5%，"
            "剩下的名次范围就是排名区间（总包含实际名次）。随机数固定，同样的数据总是得到同样的区间。\n"
            "- **较上季度**：名次变化 = 上季度名次 − 本季度名次（↑ 上升）；得分变化 = 本季度 − 上季度综合指数。\n"
            "- **样本不足**：综合指数样本不足的镇街不排名，列在表末。")


def _tab_indices(table: pd.DataFrame, labels: dict[str, str]) -> None:
    key = st.segmented_control("指数", list(INDEX_KEYS), format_func=labels.get, default=INDEX_KEYS[0],
                               key="rank_index", required=True)
    _show_ranking(rk.by_index(table, key), labels[key])
    st.subheader("五个指数一览（按综合排名排列）")
    st.plotly_chart(_heatmap(table, labels), config={"displayModeBar": False})


def _tab_per_capita(pc: pd.DataFrame) -> None:
    basis = st.segmented_control("折算方式", ["per_10k", "per_rep"], key="rank_basis", required=True,
                                 default="per_10k", format_func={"per_10k": "每万常住人口", "per_rep": "每名代表"}.get)
    labels = pc.attrs["labels"]
    measures = [m for m in rk.PER_CAPITA_MEASURES if m in pc]
    suffix = "/万人" if basis == "per_10k" else "/代表"
    shown = pd.DataFrame({"镇街": pc["unit"], "常住人口（万）": pc["population"] / 1e4, "代表人数": pc["reps"]})
    for m in measures:
        shown[f"{labels[m]}{suffix}"] = pc[f"{m}_{basis}"]
    first = f"{labels[measures[0]]}{suffix}" if measures else None
    if first:
        shown = shown.sort_values(first, ascending=False, na_position="last")
    fmt = {c: "{:.2f}" for c in shown.columns[3:]}
    fmt.update({"常住人口（万）": "{:.1f}", "代表人数": "{:.0f}"})
    _layout.dataframe(shown.style.format(fmt, na_rep="未知" if basis == "per_10k" else "—"), hide_index=True,
                 width="stretch", height=35 * (len(shown) + 1) + 3)
    unknown = int(pc["population"].isna().sum())
    st.caption("本季度的工作量按常住人口（每万人）或代表人数（每名代表）折算，规模不同的镇街可以相互比较；"
               "点列名可排序。计数口径与五大评价指标相同。"
               + (f"{unknown} 个镇街的常住人口未在基层单元名册中填写，显示为“未知”，不按 0 计算。" if unknown else ""))


def _reset_weights(defaults: dict[str, float]) -> None:
    for k, v in defaults.items():
        st.session_state[f"rank_w_{k}"] = v


def _tab_whatif(table: pd.DataFrame, labels: dict[str, str]) -> None:
    cfg = load_config()
    defaults = {k: float(cfg.indices[k].weight) for k in INDEX_KEYS}
    st.caption("拖动滑块改变五个指数在综合指数中的权重，看名次如何变化。只在本页试算，不改动正式的权重。")
    cols = st.columns(len(INDEX_KEYS))
    weights = {}
    for col, k in zip(cols, INDEX_KEYS):
        with col:
            key = f"rank_w_{k}"
            if key not in st.session_state:  # the slider's value lives in session state (reset writes it)
                st.session_state[key] = defaults[k]
            weights[k] = st.slider(labels[k], 0.0, WEIGHT_MAX, step=WEIGHT_STEP, key=key)
    st.button("恢复正式权重", on_click=_reset_weights, args=(defaults,), key="rank_w_reset")
    if sum(weights.values()) <= 0:
        st.warning("至少要有一个指数的权重大于 0。")
        return
    sim = rk.whatif(table, weights, cfg)
    moved = int((sim["moved"].fillna(0) != 0).sum() + (sim["rank"].isna() != sim["whatif_rank"].isna()).sum())
    st.markdown(f"**{moved}** 个镇街的名次与正式排名不同（黄色标出）。" if moved else "名次与正式排名相同。")
    left, right = st.columns(2)
    with left:
        st.markdown("**正式排名**")
        official = rk.by_index(table, "composite")
        _layout.dataframe(pd.DataFrame({"排名": [_rank_cell(v) for v in official["rank"]], "镇街": official["unit"],
                                   "综合指数": official["score"]}).style.format({"综合指数": "{:.1f}"}, na_rep="样本不足"),
                     hide_index=True, width="stretch", height=35 * (len(official) + 1) + 3)
    with right:
        st.markdown("**按上面的权重试算**")
        shown = pd.DataFrame({"排名": [_rank_cell(v) for v in sim["whatif_rank"]], "镇街": sim["unit"],
                              "综合指数": sim["whatif_composite"],
                              "名次变化": [rk.change_text(v) if pd.notna(v) and v != 0 else "" for v in sim["moved"]]})
        changed = ((sim["moved"].fillna(0) != 0) | (sim["rank"].isna() != sim["whatif_rank"].isna())).to_numpy()

        def highlight(row):
            return [f"background-color: {CHANGED}" if changed[row.name] else ""] * len(row)

        _layout.dataframe(shown.style.apply(highlight, axis=1).map(_move_color, subset=["名次变化"])
                     .format({"综合指数": "{:.1f}"}, na_rep="样本不足"),
                     hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3)


def _tab_points(sel: _layout.Selection, quarter: Period, months: list[str]) -> None:
    default = _points_month(sel, quarter, months)
    options = [m.code for m in quarter.months()]
    month = st.selectbox("月份", options, index=options.index(default.code) if default.code in options else 0,
                         format_func=lambda c: parse_period(c).label, key=f"rank_month_{quarter.code}")
    prog = _progress(sel.db, sel.version, month)
    shown = pd.DataFrame({
        "镇街": prog["town"], "本月积分": prog["points"], "本月目标": prog["target"],
        "本月进度": prog["ratio"] * 100, "年度累计积分": prog["ytd_points"], "年度累计目标": prog["ytd_target"],
        "年度累计进度": prog["ytd_ratio"] * 100,
    })
    st.caption(f"{parse_period(month).label}：{int((prog['ratio'] >= 1).sum())} 个镇街达到本月目标，"
               f"{int((prog['ytd_ratio'] >= 1).sum())} 个达到年度累计进度（1 月至本月）。进度超过 100% 的，进度条显示为满格。")
    bar = dict(min_value=0, max_value=100, format="%.0f%%")
    _layout.dataframe(shown, hide_index=True, width="stretch", height=35 * (len(shown) + 1) + 3, column_config={
        "本月积分": st.column_config.NumberColumn(format="%.1f"),
        "本月目标": st.column_config.NumberColumn(format="%.0f"),
        "本月进度": st.column_config.ProgressColumn("本月进度", **bar),
        "年度累计积分": st.column_config.NumberColumn(format="%.1f"),
        "年度累计目标": st.column_config.NumberColumn(format="%.0f"),
        "年度累计进度": st.column_config.ProgressColumn("年度累计进度", **bar),
    })
    with st.expander("积分构成与规则"):
        parts = pd.DataFrame({
            "镇街": prog["town"], "活动场次": prog["activities"], "其中递减场次": prog["discounted"],
            "活动积分": prog["activity_points"], "民情民意（条）": prog["opinions"],
            "民情民意积分": prog["opinion_points"], "答复建议（件）": prog["suggestions_answered"],
            "建议答复积分": prog["suggestion_points"], "合计": prog["points"],
        })
        _layout.dataframe(parts.style.format({c: "{:.1f}" for c in ("活动积分", "民情民意积分", "建议答复积分", "合计")}),
                     hide_index=True, width="stretch")
        st.markdown("\n".join(f"- {line}" for line in points_mod.rules_text(points_mod.load_points_config())))
        st.caption("规则写在 data/points.toml（带中文注释），改动后刷新页面即生效。")


def _tab_report(sel: _layout.Selection, quarter: Period) -> None:
    st.markdown(f"**{report.REPORT_TITLE}（{quarter.label}）**：标题与日期、根据数据写出的总体情况"
                "（前列与靠后的镇街、升降最多的镇街、排名区间、月度积分完成情况、上升热词）、综合排名表、图表、"
                "月度积分表、人均视图，以及指标定义与积分规则附录。点击按钮时生成。")
    stem = report.file_stem(quarter)
    db, version, code = sel.db, sel.version, quarter.code
    left, right = st.columns(2)
    with left:
        _access.download_button("下载专报（Word .docx）", lambda: _report_file(db, version, code, "docx"),
                                file_name=f"{stem}.docx", what=f"晾晒专报 {code}", filters={"季度": code}, mime=DOCX_MIME,
                                icon=":material/description:", key="rank_docx")
    with right:
        _access.download_button("下载表格（Excel .xlsx）", lambda: _report_file(db, version, code, "xlsx"),
                                file_name=f"{stem}.xlsx", what=f"晾晒专报表格 {code}", filters={"季度": code}, mime=XLSX_MIME,
                                icon=":material/table:", key="rank_xlsx")
    st.caption(f"命令行生成同样的文件：python -m analytics report --quarter {code} --out 目录")


# ───────────────────────────── page ─────────────────────────────

def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    try:
        _render()
    except (IndexConfigError, points_mod.PointsConfigError) as exc:  # a clerk's edit: say which key
        st.error(str(exc), icon=":material/settings_alert:")


def _render() -> None:
    sel = _layout.selection()
    quarters = _quarters(sel.db, sel.version)
    quarter = _quarter_of(sel, quarters)
    if quarter is None:
        st.info(ui_labels.NO_DATA)
        return
    note = "" if sel.period.grain == "quarter" else f"（排名按季度：侧栏所选{sel.period.label}所在的季度）"
    st.caption(f"{quarter.label} · 23 个镇街（开发区）{note}")
    table = _ranking(sel.db, sel.version, quarter.code)
    labels = _index_labels()
    # The quarterly report is the analysts' (analytics.access.users.CAPABILITIES "report"): no tab for others.
    with_report = _access.can("report")
    tabs = st.tabs(["综合排名", "分指数排名", "人均视图", "权重模拟", "月度积分", *(["晾晒专报"] if with_report else [])])
    with tabs[0]:
        _tab_official(table, quarter)
    with tabs[1]:
        _tab_indices(table, labels)
    with tabs[2]:
        _tab_per_capita(_per_capita(sel.db, sel.version, quarter.code))
    with tabs[3]:
        _tab_whatif(table, labels)
    with tabs[4]:
        _tab_points(sel, quarter, _months(sel.db, sel.version))
    if with_report:
        with tabs[5]:
            _tab_report(sel, quarter)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
