"""代表履职 — the ten must-dos, duty points and each representative's timeline.

Layout only: every figure comes from ``analytics.domain.duty`` (definitions in docs/duty.md, rules in
data/duty.toml). The year is the sidebar period's year and progress is counted up to the end of the
sidebar period (or the data's last day, if earlier); the representative whose timeline is shown is
in the URL (``?rep=R0001``).
"""
from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.domain import duty
from analytics.core import labels
from pages import _access, _layout

URL_PATH = "reps"
REP_PARAM = "rep"
LEVEL_ORDER = ("全国", "省", "市", "区", "镇")
WHAT_COLORS = {"参加活动": "#4C78A8", "接待群众意见": "#54A24B", "领衔建议": "#E45756", "领衔建议获答复": "#B279A2",
               "附议建议": "#F58518"}
COLUMN_LABELS = {
    "rep_id": "代表编号", "name": "姓名", "rep_level": "代表层级", "town": "所属镇街", "station": "进站联络站",
    "sector": "界别", "total": "全年累计", "percentile": "全区百分位", "rank": "全区排名",
    "on_pace": "达到进度项数", "behind": "落后项数", "on_track": "进度正常", "missing": "落后的履职事项（已做/应做）",
    "day": "日期", "what": "履职记录", "kind": "类型", "title": "内容", "where": "地点 / 承办单位", "ref_id": "编号",
    "points": "积分",
}


# ───────────────────────────── cached reads ─────────────────────────────

@st.cache_data(show_spinner="正在计算履职积分与“十必做”进度…", max_entries=16)
def _report(db: str, version: str, year: int, period_end: date) -> dict:
    with _layout.read_store(db) as con:
        return duty.report(con, year, period_end)


@st.cache_data(show_spinner=False, max_entries=64)
def _trajectory(db: str, version: str, rep_id: str, start: date, end: date):
    with _layout.read_store(db) as con:
        return duty.trajectory(con, rep_id, start, end)


@st.cache_data(show_spinner=False, max_entries=8)
def _rules(version: str):
    return duty.rule_table()


# ───────────────────────────── pieces ─────────────────────────────

def _filters(roster: pd.DataFrame, sel: _layout.Selection) -> pd.Series:
    """Town / level / 界别 filters; returns a mask over the roster (all when nothing is chosen)."""
    c1, c2, c3 = st.columns(3)
    towns = sorted(roster["town"].dropna().unique())
    levels = [lv for lv in LEVEL_ORDER if lv in set(roster["rep_level"])]
    sectors = sorted(roster["sector"].dropna().unique())
    with c1:
        pick_towns = st.multiselect("镇街", towns, default=[sel.town] if sel.town in towns else [],
                                    placeholder="全部镇街", key="rp_towns")
    with c2:
        pick_levels = st.multiselect("代表层级", levels, placeholder="全部层级", key="rp_levels")
    with c3:
        pick_sectors = st.multiselect("界别", sectors, placeholder="全部界别", key="rp_sectors")
    mask = pd.Series(True, index=roster.index)
    if pick_towns:
        mask &= roster["town"].isin(pick_towns)
    if pick_levels:
        mask &= roster["rep_level"].isin(pick_levels)
    if pick_sectors:
        mask &= roster["sector"].isin(pick_sectors)
    return mask


def _headline(rep: dict, shown: int) -> None:
    cols = st.columns(4)
    share = rep["on_track_share"]
    cols[0].metric("代表人数", f"{rep['reps']:,} 人", border=True, help="代表名册中的全部代表。")
    cols[1].metric(f"“十必做”进度正常：{rep['on_track']:,} 人", "—" if share is None else f"{share * 100:.1f}%",
                   border=True,
                   help=f"十项中至少 {duty.load_config().on_track_min} 项达到当前进度的代表。进度：一年过去的比例按月计，"
                        "全年目标 N 次中的第 k 次，在一年过去 (k − ½)/N 之后算应完成。")
    cols[2].metric("需要提醒", f"{len(rep['behind']):,} 人", border=True, help="进度不正常的代表，见“十必做”页签的提醒名单。")
    pts = rep["points"]["total"]
    cols[3].metric("人均履职积分", f"{pts.mean():.1f} 分" if len(pts) else "—", border=True,
                   help="全部代表本年（截至进度日期）的履职积分平均数。积分规则见“履职积分”页签。")


def _points_tab(rep: dict, mask: pd.Series) -> None:
    pts = rep["points"]
    shown = pts[mask.to_numpy()].sort_values(["rank", "rep_id"])
    quarters = [q for q in duty.QUARTERS if pts[q].notna().any()]
    st.caption(f"季度“亮分”是该季度内的履职积分；全年累计截至 {rep['as_of']}。百分位是在全区全部 {len(pts)} 名代表中的位置"
               "（100 为最高，并列取中间），排名 1 为积分最高。筛选只改变显示哪些代表，不改变百分位和排名。")
    # Fits 1366 px: 代表层级, 界别 and 代表编号 are in the filters above and in a representative's record.
    cols = ["rank", "name", "town", "station", *quarters, "total", "percentile"]
    _layout.dataframe(shown[cols].rename(columns={**COLUMN_LABELS, **{q: f"{q} 亮分" for q in duty.QUARTERS}}),
                 hide_index=True, column_config={
                     "全区排名": st.column_config.NumberColumn(width=70), "姓名": st.column_config.TextColumn(width=70),
                     "所属镇街": st.column_config.TextColumn(width=100), "进站联络站": st.column_config.TextColumn(width=150),
                     **{f"{q} 亮分": st.column_config.NumberColumn(width=65) for q in quarters},
                     "全区百分位": st.column_config.ProgressColumn(format="%.1f", min_value=0, max_value=100, width=130),
                     "全年累计": st.column_config.NumberColumn(format="%g", width=70),
                 })
    left, right = st.columns([3, 2])
    with left:
        fig = go.Figure()
        filtered = len(shown) < len(pts)
        fig.add_histogram(x=pts["total"], name="全区", marker_color="#BAB0AC" if filtered else "#4C78A8", nbinsx=30)
        if filtered:
            fig.add_histogram(x=shown["total"], name="筛选出的代表", marker_color="#4C78A8", nbinsx=30)
        fig.update_layout(barmode="overlay", height=280, margin=dict(l=10, r=10, t=30, b=10), legend_orientation="h",
                          xaxis_title="全年累计积分", yaxis_title="代表人数", title=dict(text="积分分布", font_size=14))
        fig.update_traces(opacity=0.8)
        st.plotly_chart(fig, config={"displayModeBar": False}, key="rp_hist")
    with right:
        st.markdown("**积分规则**（data/duty.toml）")
        rules = _rules(_layout.selection().version)
        _layout.dataframe(rules.rename(columns={"label": "履职记录", "points": "分值"})[["履职记录", "分值"]],
                     hide_index=True, height=36 * (len(rules) + 1) + 2)


def _duties_tab(rep: dict, mask: pd.Series) -> None:
    prog: duty.Progress = rep["progress"]
    st.caption(f"{rep['year']} 年已过 {float(prog.elapsed) * 100:.0f}%（截至 {prog.as_of}）。"
               "“目前应完成”按进度折算：全年目标 N 次中的第 k 次，在一年过去 (k − ½)/N 之后算应完成。")
    share = prog.long.groupby("duty", sort=False)["on_pace"].mean()
    table = prog.duties.assign(on=[share.get(k, float("nan")) * 100 for k in prog.duties["key"]])
    _layout.dataframe(table.rename(columns={"label": "履职事项", "how": "怎么数", "target": "全年目标", "due": "目前应完成",
                                       "on": "达到进度的代表"}).drop(columns="key"), hide_index=True,
                 column_config={"达到进度的代表": st.column_config.ProgressColumn(format="%.0f%%", min_value=0,
                                                                             max_value=100)})
    towns = prog.towns.sort_values(["share", "town"], ascending=[True, False])
    fig = go.Figure(go.Bar(x=towns["share"] * 100, y=towns["town"], orientation="h", marker_color="#4C78A8",
                           text=[f"{a}/{b}" for a, b in zip(towns["on_track"], towns["reps"])], textposition="outside",
                           hovertemplate="%{y}：%{x:.1f}%<extra></extra>"))
    fig.update_layout(height=40 + 22 * len(towns), margin=dict(l=10, r=40, t=30, b=10), xaxis_range=[0, 110],
                      xaxis_title="进度正常的代表占比（%）", title=dict(text="各镇街进度正常的代表占比", font_size=14))
    st.plotly_chart(fig, config={"displayModeBar": False}, key="rp_towns_chart")

    wide = prog.wide[mask.to_numpy()]
    st.markdown("**每位代表的完成情况**（已做 / 目前应完成）")
    matrix = wide[["name", "town"]].copy()
    for d in prog.duties.itertuples():
        matrix[d.label] = [f"{n} / {d.due}" + (" ✓" if n >= d.target else "") for n in wide[f"{d.key}_done"]]
    matrix["达到进度项数"] = wide["on_pace"]
    matrix["进度正常"] = wide["on_track"].map({True: "是", False: "否"})
    # Ten duties in 1366 px: narrow columns, the duty's full name on the header's hover; the name stays pinned.
    _layout.dataframe(matrix.rename(columns=COLUMN_LABELS), hide_index=True, column_config={
        "姓名": st.column_config.TextColumn(width=65, pinned=True), "所属镇街": st.column_config.TextColumn(width=85),
        **{d.label: st.column_config.TextColumn(width=62, help=d.label) for d in prog.duties.itertuples()},
        "达到进度项数": st.column_config.NumberColumn(width=60), "进度正常": st.column_config.TextColumn(width=50)})
    st.caption("✓ 表示全年目标已经完成。")

    late = rep["behind"]
    late = late[late["rep_id"].isin(wide["rep_id"])]
    st.markdown(f"**需要提醒的代表：{len(late)} 人**（进度不正常，落后最多的在前）")
    _layout.dataframe(late.rename(columns=COLUMN_LABELS), hide_index=True,
                      column_order=["姓名", "所属镇街", "进站联络站", "落后项数", "落后的履职事项（已做/应做）"],
                      column_config={"姓名": st.column_config.TextColumn(width=70),
                                     "所属镇街": st.column_config.TextColumn(width=100),
                                     "进站联络站": st.column_config.TextColumn(width=150),
                                     "落后项数": st.column_config.NumberColumn(width=65),
                                     "落后的履职事项（已做/应做）": st.column_config.TextColumn(width=500)})
    _access.download_button("下载提醒名单（xlsx）", lambda: duty.reminder_xlsx(late, prog),
                            file_name=f"十必做提醒名单_{prog.year}_截至{prog.as_of:%m%d}.xlsx", what="十必做提醒名单",
                            filters={"年度": prog.year, "截至": str(prog.as_of)}, rows=len(late),
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            icon=":material/download:", disabled=late.empty)


def _on_rep_change() -> None:
    rep_id = st.session_state.get("rp_rep")
    if rep_id:
        st.query_params[REP_PARAM] = rep_id


def _trajectory_tab(rep: dict, mask: pd.Series, sel: _layout.Selection) -> None:
    roster = rep["points"]
    options = roster[mask.to_numpy()].sort_values(["town", "name", "rep_id"])
    ids = list(options["rep_id"])
    names = dict(zip(roster["rep_id"], roster["name"] + "（" + roster["town"] + "，" + roster["rep_level"] + "）"))
    wanted = st.query_params.get(REP_PARAM)
    if wanted and wanted in names and wanted not in ids:
        ids.insert(0, wanted)
    if not ids:
        st.caption("没有符合筛选条件的代表。")
        return
    if wanted in ids and st.session_state.get("rp_rep") != wanted:
        st.session_state["rp_rep"] = wanted
    if st.session_state.get("rp_rep") not in ids:
        st.session_state["rp_rep"] = ids[0]
    rep_id = st.selectbox("代表", ids, key="rp_rep", format_func=lambda i: f"{names.get(i, i)}　{i}",
                          on_change=_on_rep_change)
    start, end = date(rep["year"], 1, 1), rep["as_of"].fromordinal(rep["as_of"].toordinal() + 1)
    tr = _trajectory(sel.db, sel.version, rep_id, start, end)
    row = roster.set_index("rep_id").loc[rep_id]
    st.caption(f"{row['name']} · {row['town']} · {row['station'] or '未进站'} · {row['rep_level']}级 · "
               f"{row['sector'] or '界别未填'} · {rep['year']} 年截至 {rep['as_of']}：履职记录 {len(tr)} 条，积分 {row['total']:g}"
               f"（全区第 {row['rank']} 名）")
    if tr.empty:
        st.info("这段时间没有这位代表的履职记录。")
        return
    fig = go.Figure()
    for what, color in WHAT_COLORS.items():
        part = tr[tr["what"] == what]
        if part.empty:
            continue
        fig.add_scatter(x=pd.to_datetime(part["day"]), y=part["what"], mode="markers", name=what,
                        marker=dict(size=11, color=color, opacity=0.8),
                        customdata=part[["kind", "title"]].fillna("").to_numpy(),
                        hovertemplate="%{x|%Y-%m-%d}<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>")
    fig.update_layout(height=260, margin=dict(l=10, r=10, t=10, b=10), showlegend=False,
                      yaxis=dict(title=None, categoryorder="array", categoryarray=list(WHAT_COLORS)[::-1]),
                      xaxis=dict(title=None, range=[pd.Timestamp(start), pd.Timestamp(end)], **_layout.DAY_AXIS))
    st.plotly_chart(fig, config={"displayModeBar": False}, key="rp_traj_chart")
    _layout.dataframe(tr.sort_values("day", ascending=False).rename(columns=COLUMN_LABELS), hide_index=True,
                 column_config={"内容": st.column_config.TextColumn(width="large")})
    st.caption("群众意见的标题在导入时已去除个人信息；一次进站接待当天的接待积分记在当天的第一条接待活动上。")


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    sel = _layout.selection()
    if sel.period is None:
        st.info(labels.NO_DATA)
        return
    year = sel.period.start.year
    rep = _report(sel.db, sel.version, year, sel.period.end)
    st.caption(f"{year} 年 · 进度截至 {rep['as_of']}（侧栏所选期间的末日，或数据中最晚的日期）")
    if rep["reps"] == 0:
        st.info("代表名册还没有导入：请到“数据管理”导入代表名册。")
        return
    mask = _filters(rep["points"], sel)
    _headline(rep, int(mask.sum()))
    tab_points, tab_duties, tab_track = st.tabs(["履职积分与季度亮分", "履职清单“十必做”", "履职轨迹"])
    with tab_points:
        _points_tab(rep, mask)
    with tab_duties:
        _duties_tab(rep, mask)
    with tab_track:
        _trajectory_tab(rep, mask, sel)


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
