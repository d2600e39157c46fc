"""监督项目备选库 — candidate supervision topics taken from hot words.

Each candidate keeps the evidence captured when it was added (period, counts, trend, towns, sample
opinions, score); beside it the page shows the live figures for the sidebar's period, computed now.
Status 候选 → 已列入监督计划 → 已办结 / 不予采纳, with notes, who and when. Layout only: the pool
lives in DuckDB (``analytics.domain.hotwords``), written through short transactions (``hw.store_writer``).
"""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.core import safe_export
from analytics.domain import hotwords as hw
from analytics.store.db import StoreError
from pages import _access, _layout
from pages import hotwords as hot

# The pool's xlsx as the page shows it: the score to one decimal, the factors to two, the shares
# (广度, 持续, 未解决) in per cent; the cells keep their full values.
POOL_FORMATS = {"得分": safe_export.ONE_DECIMAL, "规模": safe_export.TWO_DECIMALS, "突发": safe_export.TWO_DECIMALS,
                "广度": safe_export.PERCENT, "持续": safe_export.PERCENT, "未解决": safe_export.PERCENT,
                "涉及意见数": safe_export.INTEGER}
POOL_SHEET = "监督项目备选库"


def export_pool(df: pd.DataFrame) -> bytes:
    return safe_export.to_xlsx({POOL_SHEET: hw.candidates_for_export(df)}, formats={POOL_SHEET: POOL_FORMATS})

URL_PATH = "candidates"


@st.cache_data(show_spinner=False, max_entries=32)
def pool(db: str, stamp: tuple, status: tuple, text: str) -> pd.DataFrame:
    with hw.store_reader(db) as con:
        return hw.list_candidates(con, list(status) or None, text or None)


@st.cache_data(show_spinner=False, max_entries=64)
def history(db: str, stamp: tuple, cid: int) -> pd.DataFrame:
    with hw.store_reader(db) as con:
        return hw.candidate_history(con, cid)


@st.cache_data(show_spinner=False, max_entries=64)
def live(db: str, key: str, words: tuple, start: date, end: date, town: str | None) -> dict:
    with hw.store_reader(db) as con:
        return hw.candidate_evidence(con, list(words), start, end, samples=3, town=town)


def _parts(parts: dict, inputs: dict | None = None) -> None:
    # A table, not five metric cards: it stays readable in half a page.
    labels = [label for label, _ in hw.SCORE_PARTS.values()]
    values = [f"{parts.get(k, 0):.2f}" for k in hw.SCORE_PARTS]
    st.markdown("| " + " | ".join(labels) + " |\n|" + "---:|" * len(labels) + "\n| " + " | ".join(values) + " |")
    if inputs:
        st.caption(f"依据：{inputs.get('docs', 0):,} 条意见；突发强度 {inputs.get('burst_weight', 0):.1f}；"
                   f"涉及 {inputs.get('towns', 0)} 个镇街（有效 {inputs.get('effective_towns', 0):.1f} 个）；"
                   f"12 个月中 {inputs.get('months_present', 0)} 个月有 ≥3 条；"
                   f"未办结 {inputs.get('unresolved_docs', 0):,} 条。")


def _trend_chart(points: list[dict], title: str, key: str) -> None:
    if not points:
        return
    df = pd.DataFrame(points)
    fig = go.Figure(go.Bar(x=pd.to_datetime(df["period"]), y=df["docs"], marker_color="#4C78A8",
                           hovertemplate="%{x|%Y年%m月}<br>%{y:,} 条<extra></extra>"))
    fig.update_layout(height=220, margin=dict(l=10, r=10, t=30, b=10), title=dict(text=title, font_size=13),
                      xaxis=_layout.DATE_AXIS, yaxis=dict(rangemode="tozero"))
    st.plotly_chart(fig, config={"displayModeBar": False}, key=key)


def _cn(day) -> str:
    """2024-04-02 -> 2024年4月2日 (a date kept as text in the evidence)."""
    y, m, d = str(day)[:10].split("-")
    return f"{int(y)}年{int(m)}月{int(d)}日"


def _evidence(ev: dict, heading: str, key: str) -> None:
    st.markdown(f"**{heading}**")
    p = ev.get("period", {})
    scope = "、".join(f"{v}" for v in ev.get("filters", {}).values()) or "全区"
    st.caption(f"{hw.period_text(p)} · {scope} · 词典版本 {ev.get('dict_version')}"
               + (f" · 记录于 {ev['captured_at']}" if ev.get("captured_at") else ""))
    c1, c2, c3 = st.columns(3)
    c1.metric("意见数", f"{ev.get('docs', 0):,}", border=True)
    c2.metric("占比", f"{ev.get('share', 0):.1%}", border=True)
    c3.metric("较上期", f"{ev.get('change', 0):+,}", border=True)
    st.metric("得分", f"{ev.get('score', 0):.2f}", help=hw.SCORE_PLAIN)
    _parts(ev.get("score_parts", {}), ev.get("score_inputs"))
    _trend_chart(ev.get("trend", []), "逐月意见数（12 个月）", f"trend_{key}")
    towns = ev.get("towns", [])
    if towns:
        st.caption("涉及镇街：" + "、".join(f"{t['town']} {t['docs']}" for t in towns[:12]))
    issue = ev.get("hot_issue")
    if issue:  # put into the pool from a 热点问题: the issue as it was then
        st.markdown(f"来自热点问题 **{issue.get('title')}**：热度 {issue.get('heat', 0):.1f}，"
                    f"{issue.get('opinions', 0)} 条意见、{issue.get('submitters', 0)} 人，"
                    f"{_cn(issue.get('first'))}至{_cn(issue.get('last'))}；地点：{'、'.join(issue.get('places') or []) or '—'}",
                    help=issue.get("heat_formula"))
    for s in ev.get("samples", []):
        st.markdown(f"> {hw.highlight_html(s['excerpt'], ev.get('words', []))}  \n"
                    f"> <small>{s['opinion_id']} · {s['submitted_at']} · {s['town']}</small>",
                    unsafe_allow_html=True)


def _status_form(db: str, row: dict) -> None:
    allowed = hw.TRANSITIONS[row["status"]]
    with st.form(f"status_{row['candidate_id']}"):
        c1, c2 = st.columns([1, 2])
        new = c1.selectbox("改为", allowed, disabled=not allowed)
        note = c2.text_input("说明（谁决定的、依据什么）")
        ok = st.form_submit_button("更新状态", disabled=not allowed)
    if ok:
        try:
            with hw.store_writer(db) as con:
                hw.set_candidate_status(con, row["candidate_id"], new, _access.current_user(), note,
                                        role=_access.current_role())
        except (hw.HotwordsError, StoreError) as exc:
            st.error(str(exc))
        else:
            st.success(f"已改为“{new}”。")
            st.rerun()
    with st.form(f"note_{row['candidate_id']}", clear_on_submit=True):
        note = st.text_area("添加备注")
        saved = st.form_submit_button("保存备注")
    if saved and note.strip():
        try:
            with hw.store_writer(db) as con:
                hw.add_candidate_note(con, row["candidate_id"], note, _access.current_user(),
                                      role=_access.current_role())
        except (hw.HotwordsError, StoreError) as exc:
            st.error(str(exc))
        else:
            st.rerun()


def _add_form(db: str, sel) -> None:
    with st.expander("手工添加备选项目", icon=":material/add:"):
        with st.form("add_candidate", clear_on_submit=True):
            words = st.text_input("热词（空格或逗号分隔，含其中任一词的意见都算）")
            title = st.text_input("议题名称（可空：用热词）")
            note = st.text_area("备注")
            ok = st.form_submit_button("加入备选库", type="primary")
        if ok:
            try:
                with hw.store_writer(db) as con:
                    cid = hw.add_candidate(con, hw.split_words(words), sel.period.start, sel.period.end,
                                           _access.current_user(), title=title or None, note=note,
                                           role=_access.current_role(), town=sel.town)
            except (hw.HotwordsError, StoreError) as exc:
                st.error(str(exc))
            else:
                st.success(f"已加入，编号 {cid}（证据按 {sel.scope}、{sel.period.label} 保存）。")
                st.rerun()


def render() -> None:
    _layout.page_header(URL_PATH)
    sel = _layout.selection()
    db = sel.db
    stamp = _layout._stamp(Path(db))
    state = hot.state_of(db)
    st.caption("“列入时”是加入备选库那一刻保存的证据，“现在”是按左侧所选期间用当前数据算出的数字。")
    st.caption(hw.SCORE_PLAIN)
    with st.expander("怎么算的"):
        st.markdown("\n".join(f"- **{label}**：{hw.SCORE_MEANING[k]}" for k, (label, _) in hw.SCORE_PARTS.items()))
        st.markdown(f"{hw.SCORE_FORMULA}，其中")
        st.markdown("\n".join(f"- **{label}** = {definition}" for label, definition in hw.SCORE_PARTS.values()))
    if state["active"] is None:
        st.info("还没有分词数据：请先在“热词分析”页完成分词。")
        return
    if sel.period is not None:
        _add_form(db, sel)

    c1, c2 = st.columns([2, 1])
    status = c1.multiselect("状态", hw.STATUSES, default=[], placeholder="全部状态")
    text = c2.text_input("搜索（议题、热词、备注）")
    df = pool(db, stamp, tuple(status), text)
    if df.empty:
        st.info("备选库里还没有项目。在“热词分析”页选中一个词，展开“列入监督项目备选库”即可加入。")
        return
    table = pd.DataFrame({
        "编号": df["candidate_id"], "议题": df["title"], "热词": ["、".join(w) for w in df["words"]],
        "状态": df["status"], "得分（列入时）": df["score"],
        "意见数（列入时）": [e.get("docs") for e in df["evidence"]],
        "更新人": df["updated_by"], "更新时间": df["updated_at"],
    })
    _layout.dataframe(table, hide_index=True, column_config={
        "得分（列入时）": st.column_config.NumberColumn(format="%.2f"),
        "更新时间": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm")})
    _access.download_button("导出 xlsx", data=lambda: export_pool(df),
                            file_name=f"监督项目备选库_{date.today()}.xlsx", what="监督项目备选库（当前筛选）",
                            filters={"状态": "、".join(status), "搜索": text}, rows=len(df),
                            icon=":material/download:", mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

    ids = list(df["candidate_id"])
    cid = st.selectbox("查看项目", ids, format_func=lambda i: f"{i} · {df.set_index('candidate_id').loc[i, 'title']}")
    row = df.set_index("candidate_id").loc[cid].to_dict() | {"candidate_id": cid}
    st.subheader(f"{row['title']}（{row['status']}）")
    st.caption(f"热词：{'、'.join(row['words'])} · 创建：{row['created_by']} {str(row['created_at'])[:16]} · "
               f"最后更新：{row['updated_by']} {str(row['updated_at'])[:16]}")
    left, right = st.columns(2)
    with left:
        _evidence(row["evidence"], "列入时的证据", "then")
    with right:
        if sel.period is not None:
            now = live(db, state["key"], tuple(row["words"]), sel.period.start, sel.period.end, sel.town)
            _evidence(now | {"captured_at": None}, f"现在（{sel.scope} · {sel.period.label}）", "now")
    if row.get("notes"):
        st.markdown("**备注**")
        st.text(row["notes"])
    _status_form(db, row)
    st.markdown("**处理记录**")
    _layout.dataframe(history(db, stamp, cid), hide_index=True, column_config={
        "event_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"), "actor": "操作人",
        "action": "操作", "from_status": "原状态", "to_status": "新状态", "note": "说明"})


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
