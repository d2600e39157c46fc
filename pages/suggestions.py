"""代表建议 — every suggestion followed to its answer and evaluation.

Layout only: every figure comes from ``analytics.domain.suggestions`` (definitions in docs/suggestions.md).
The scope is a 届次会次 (``?session=``) or the sidebar's period (``?scope=period``), and the
sidebar's town; one suggestion's timeline opens from the overdue list, or from ``?suggestion=ID``.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.core import labels
from analytics.domain import suggestions as sg
from analytics.core.periods import parse_period
from pages import _layout

URL_PATH = "suggestions"
SESSION_PARAM, SCOPE_PARAM, SUGGESTION_PARAM = "session", "scope", "suggestion"
SCOPE_SESSION, SCOPE_PERIOD = "届次会次", "所选期间"
PICK_KEY = "sg_pick"  # the suggestion whose timeline is shown
TYPE_COLORS = {"大会期间": "#4C78A8", "闭会期间": "#F58518", sg.ALL_TYPES: "#54A24B"}
SUBSET_COLOR = "#BAB0AC"
NO_PICK = ""

COLUMN_LABELS = {
    "suggestion_id": "建议编号", "title": "标题", "submit_type": "提出类型", "lead_rep": "领衔代表", "town": "镇街",
    "main_handler": "主办单位", "supervision": "督办方式", "assigned_at": "交办时间", "due_at": "答复期限",
    "days_overdue": "逾期天数", "status": "状态", "answer_class": "答复类别", "answered_at": "答复时间",
    "follow_up_due": "跟进到期日", "second_answered_at": "二次答复时间", "days_left": "距到期（天）",
    "days_late": "跟进晚了（天）", "words": "仍在上升的词", "method": "判断方法", "evidence": "依据",
    "suggestions": "建议件数", "answered": "已答复", "open": "未答复", "overdue": "其中逾期", "on_time": "按期答复",
    "due": "已到期", "on_time_rate": "按期答复率", "solved": "解决", "classified": "有答复类别",
    "solved_rate": "解决率", "satisfied": "满意", "evaluated": "已评价", "satisfied_rate": "满意率",
    "score": "综合得分", "rank": "排名", "small": "样本少",
}


# ───────────────────────────── cached reads ─────────────────────────────

def _hot_key(db: str) -> str:
    """Changes when the opinions are (re-)segmented: the rising-topic flag depends on it."""
    from pages import hotwords as hot_page

    try:
        return hot_page.state_of(db)["key"]
    except Exception:  # no hot-word tables yet: the flag falls back to keywords
        return "none"


@st.cache_data(show_spinner=False, max_entries=8)
def _sessions(db: str, version: str) -> list[str]:
    with _layout.read_store(db) as con:
        return sg.sessions(con)


@st.cache_data(show_spinner="正在计算代表建议各环节…", max_entries=32)
def _report(db: str, version: str, hot: str, session: str | None, period: str | None, town: str | None) -> dict:
    scope = sg.Scope(session=session, period=parse_period(period) if period else None, town=town)
    with _layout.read_store(db) as con:
        return sg.report(con, scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _timeline(db: str, version: str, suggestion_id: str) -> dict | None:
    with _layout.read_store(db) as con:
        return sg.timeline(con, suggestion_id)


# ───────────────────────────── pieces ─────────────────────────────

# The wide tables fit a 1366-px screen (about 900 px beside the sidebar): the columns one reads
# first, each with a width in px; the others stay in the data (the row's details, the download).
OVERDUE_SHOWN = {"suggestion_id": 95, "title": 300, "lead_rep": 70, "main_handler": 130, "days_overdue": 70,
                 "status": 80}
PROMISES_SHOWN = {"suggestion_id": 95, "title": 210, "main_handler": 110, "answer_class": 70, "follow_up_due": 95,
                  "second_answered_at": 100, "status": 65, "days_left": 75, "days_late": 75}
RISING_SHOWN = {"suggestion_id": 95, "title": 300, "town": 130, "lead_rep": 70, "answered_at": 95, "words": 100,
                "method": 90}  # 依据 (a sentence) is listed in full under the table


def _labels(shown: dict[str, int]) -> list[str]:
    return [COLUMN_LABELS[c] for c in shown]


def _widths(shown: dict[str, int]) -> dict:
    return {COLUMN_LABELS[c]: st.column_config.Column(width=w) for c, w in shown.items()}


def _unknown_as_dash(df: pd.DataFrame) -> pd.DataFrame:
    """Empty text cells read "—" (unknown), not Streamlit's grey "None"."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].fillna("—")
    return out


def _pct(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v * 100:.1f}%"


def _scope(sel: _layout.Selection, sessions: list[str]) -> tuple[str | None, str | None]:
    """(session, period code): the scope chosen on the page, kept in the URL."""
    qp = st.query_params
    by_period = qp.get(SCOPE_PARAM) == "period" and sel.period is not None
    c1, c2 = st.columns([1, 3])
    with c1:
        mode = st.segmented_control("统计范围", (SCOPE_SESSION, SCOPE_PERIOD), key="sg_mode",
                                    default=SCOPE_PERIOD if by_period else SCOPE_SESSION, required=True,
                                    help="按届次会次：该次会议的大会期间建议和闭会期间建议；按所选期间：提出时间在侧栏所选期间内的建议。")
    if mode == SCOPE_PERIOD and sel.period is not None:
        qp[SCOPE_PARAM] = "period"
        if SESSION_PARAM in qp:
            del qp[SESSION_PARAM]
        with c2:
            st.caption(f"提出时间在 {sel.period.label} 的建议（在侧栏更换期间）")
        return None, sel.period.code
    if SCOPE_PARAM in qp:
        del qp[SCOPE_PARAM]
    wanted = qp.get(SESSION_PARAM)
    if wanted not in sessions:
        wanted = sessions[0]
    with c2:
        session = st.selectbox("届次会次", sessions, index=sessions.index(wanted), key="sg_session")
    if session != sessions[0] or SESSION_PARAM in qp:
        qp[SESSION_PARAM] = session
    return session, None


def _rate_cards(rep: dict) -> None:
    total = rep["rates"][sg.ALL_TYPES].set_index("key")
    rows = (("closed_rate", "on_time_rate", "solved_rate"), ("satisfied_rate", "weighted_satisfied_rate", "done_rate"))
    for keys in rows:
        for col, key in zip(st.columns(len(keys)), keys):
            r = total.loc[key]
            num = f"{r['numerator']:g}"
            help_text = f"{r['definition']}\n\n计算公式：{r['formula']}\n\n本范围：{num} ÷ {r['denominator']}"
            by = "　".join(f"{t[:2]} {_pct(rep['rates'][t].set_index('key').at[key, 'value'])}" for t in sg.SUBMIT_TYPES)
            with col:
                st.metric(r["label"], _pct(r["value"]), help=help_text, border=True)
                st.caption(f"{num} / {r['denominator']} 件　·　{by}")


def _funnel_figure(f: pd.DataFrame, color: str) -> go.Figure:
    labels_ = [("其中：" if s else "") + lbl for lbl, s in zip(f["label"], f["subset"])]
    colors = [SUBSET_COLOR if s else color for s in f["subset"]]
    text = [f"{c:,} 件（{_pct(sh)}）" for c, sh in zip(f["count"], f["share"])]
    fig = go.Figure(go.Funnel(y=labels_, x=f["count"], text=text, textinfo="text", marker_color=colors,
                              hovertemplate="%{y}：%{x:,} 件<extra></extra>", connector={"visible": False}))
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=10, b=10), yaxis_title=None)
    return fig


def _funnels(rep: dict) -> None:
    st.subheader("环节漏斗：提出 → 交办 → 督办 → 办理 → 答复 → 代表评价 → 二次答复")
    cols = st.columns(2)
    for col, t in zip(cols, sg.SUBMIT_TYPES):
        f = rep["funnel"][t]
        with col:
            st.markdown(f"**{t}**（{int(f.loc[0, 'count']):,} 件）")
            if f.loc[0, "count"]:
                st.plotly_chart(_funnel_figure(f, TYPE_COLORS[t]), config={"displayModeBar": False}, key=f"funnel_{t}")
            else:
                st.caption("本范围没有这一类建议。")
    st.caption("灰色的“督办”和“二次答复”是前一环节中的一部分（只有部分建议有督办方式、有二次答复），不是每件建议都要经过的环节。"
               "每个环节的件数是“已经走到这一步”的建议，比例以提出件数为 100%。")
    table = []
    for key, label, subset in sg.STAGES:
        row = {"环节": ("其中：" if subset else "") + label}
        for t in (sg.ALL_TYPES, *sg.SUBMIT_TYPES):
            f = rep["funnel"][t].set_index("stage")
            row[f"{t}（件）"] = int(f.at[key, "count"])
            row[f"{t}（占提出）"] = _pct(f.at[key, "share"])
        all_f = rep["funnel"][sg.ALL_TYPES].set_index("stage")
        here = all_f.at[key, "here"]
        row["停在这一步（全部）"] = None if here is None or pd.isna(here) else int(here)
        row["怎么算"] = sg.STAGE_DEFINITIONS[key]
        table.append(row)
    with st.expander("各环节件数与定义"):
        _layout.dataframe(pd.DataFrame(table), hide_index=True)


def _clocks(rep: dict) -> None:
    st.subheader("各环节用时（天）")
    c = rep["clocks"]
    dated = c[c["note"].isna() & (c["clock"] != "open_age")]
    fig = go.Figure()
    for t in sg.SUBMIT_TYPES:
        part = dated[dated["submit_type"] == t]
        fig.add_bar(x=part["label"], y=part["median"], name=t, marker_color=TYPE_COLORS[t],
                    customdata=part[["n", "p90"]].to_numpy(),
                    hovertemplate="%{x}<br>中位数 %{y:.0f} 天<br>90% 分位 %{customdata[1]:.0f} 天<br>%{customdata[0]} 件"
                                  f"<extra>{t}</extra>")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), barmode="group", yaxis_title="中位数（天）",
                      legend_orientation="h")
    left, right = st.columns([3, 2])
    with left:
        st.plotly_chart(fig, config={"displayModeBar": False}, key="clocks")
    with right:
        allc = c[c["submit_type"] == sg.ALL_TYPES]
        show = pd.DataFrame({
            "环节": allc["label"],
            "件数": allc["n"],
            "中位数": allc["median"].map(lambda v: "—" if pd.isna(v) else f"{v:.0f}"),
            "90% 分位": allc["p90"].map(lambda v: "—" if pd.isna(v) else f"{v:.0f}"),
            "最长": allc["max"].map(lambda v: "—" if pd.isna(v) else f"{v:.0f}"),
        })
        _layout.dataframe(show, hide_index=True, column_config={
            "环节": st.column_config.TextColumn(width=140),
            **{c: st.column_config.Column(width=50) for c in ("件数", "中位数", "90% 分位", "最长")}})
    st.caption(sg.NO_EVALUATION_DATE + " “交办至今仍未答复”是未答复建议从交办到数据截止日的天数。")


def _on_overdue_select() -> None:
    state = st.session_state.get("sg_overdue_table")
    rows = state.selection.rows if state is not None else []
    ids = st.session_state.get("_sg_overdue_ids", [])
    if rows and rows[0] < len(ids):
        st.session_state[PICK_KEY] = ids[rows[0]]
        st.query_params[SUGGESTION_PARAM] = ids[rows[0]]


def _on_pick() -> None:
    picked = st.session_state.get(PICK_KEY)
    if picked:
        st.query_params[SUGGESTION_PARAM] = picked
    elif SUGGESTION_PARAM in st.query_params:
        del st.query_params[SUGGESTION_PARAM]


def _overdue(rep: dict, sel: _layout.Selection) -> None:
    od = rep["overdue"]
    st.subheader(f"逾期未答复：{len(od)} 件")
    st.caption(f"未答复 {rep['open']} 件，其中已过答复期限的 {rep['overdue_n']} 件（以数据中最晚的日期 {rep['as_of']} 为准）。"
               "点选一行，或在下面的选择框里选一件，查看它的全过程。")
    ids = list(od["suggestion_id"])
    st.session_state["_sg_overdue_ids"] = ids
    if len(od):
        _layout.dataframe(_unknown_as_dash(od).rename(columns=COLUMN_LABELS), hide_index=True, key="sg_overdue_table",
                     on_select=_on_overdue_select, selection_mode="single-row",
                     column_order=_labels(OVERDUE_SHOWN), column_config=_widths(OVERDUE_SHOWN))
        st.caption("交办时间、答复期限、督办方式、提出类型等见选中建议的全过程。")
    wanted = st.query_params.get(SUGGESTION_PARAM)
    options = [NO_PICK, *ids]
    if wanted and wanted not in options:
        options.insert(1, wanted)
    titles = dict(zip(od["suggestion_id"], od["title"]))
    if wanted and st.session_state.get(PICK_KEY) != wanted:
        st.session_state[PICK_KEY] = wanted
    if st.session_state.get(PICK_KEY) not in options:
        st.session_state[PICK_KEY] = NO_PICK
    pick = st.selectbox("查看一件建议的全过程", options, key=PICK_KEY, on_change=_on_pick,
                        format_func=lambda i: "（请选择）" if i == NO_PICK else f"{i}　{titles.get(i, '')}")
    if pick:
        _timeline_view(sel, pick)


def _timeline_view(sel: _layout.Selection, suggestion_id: str) -> None:
    t = _timeline(sel.db, sel.version, suggestion_id)
    if t is None:
        st.warning(f"没有编号为“{suggestion_id}”的代表建议。")
        return
    r, ev = t["row"], t["events"]
    with st.container(border=True):
        st.markdown(f"#### {r['suggestion_id']}　{r['title']}")
        st.caption(f"{r['session']} · {r['submit_type'] or '提出类型未填'} · 领衔代表 {r['lead_rep']}"
                   f"（{r['town'] or '镇街不明'}） · 当前：{t['status']}")
        dated = ev[ev["date"].notna()]
        if len(dated):
            _timeline_chart(dated, t)
        show = ev.assign(date=ev["date"].map(lambda d: "（无日期）" if d is None or pd.isna(d) else str(d)))
        _layout.dataframe(show.rename(columns={"date": "日期", "stage": "环节", "event": "事项", "detail": "说明"}),
                     hide_index=True)
        if r.get("content"):
            with st.expander("建议内容"):
                st.write(r["content"])


def _timeline_chart(dated: pd.DataFrame, t: dict) -> None:
    """Dated events on a time axis; an open suggestion's wait up to the data's last day in red."""
    x = pd.to_datetime(dated["date"])
    mid = x.min() + (x.max() - x.min()) / 2
    fig = go.Figure(go.Scatter(
        x=x, y=dated["stage"], mode="markers+text", text=dated["event"],
        textposition=["top right" if v <= mid else "top left" for v in x],
        marker=dict(size=14, color="#4C78A8"), textfont=dict(size=12),
        hovertemplate="%{x|%Y-%m-%d}<br>%{text}<extra></extra>"))
    last = x.max()
    as_of = pd.Timestamp(t["as_of"]) if t.get("as_of") else None
    row = t["row"]
    if as_of is not None and row.get("due_at") and t["status"].startswith("已逾期"):
        due = pd.Timestamp(row["due_at"])
        fig.add_scatter(x=[due, as_of], y=["答复期限", "答复期限"], mode="lines+markers", line=dict(color="#E45756", width=4),
                        marker=dict(size=[0, 12], color="#E45756"), hoverinfo="skip")
        fig.add_annotation(x=as_of, y="答复期限", text=f"数据截至 {as_of:%Y-%m-%d}：逾期 {(as_of - due).days} 天",
                           showarrow=False, yshift=18, font=dict(color="#E45756"))
        last = max(last, as_of)
    first = x.min()
    pad = max(pd.Timedelta(days=10), (last - first) * 0.12)
    fig.update_layout(height=100 + 48 * dated["stage"].nunique(), margin=dict(l=10, r=10, t=45, b=10),
                      showlegend=False, yaxis=dict(autorange="reversed", title=None, type="category"),
                      xaxis=dict(title=None, range=[first - pad, last + pad], **_layout.DAY_AXIS))
    st.plotly_chart(fig, config={"displayModeBar": False}, key="sg_timeline_chart")


def _departments(rep: dict) -> None:
    st.subheader("承办单位（主办单位）")
    d = rep["departments"]
    if d.empty:
        st.caption("本范围没有建议。")
        return
    cfg = sg.load_config()
    show = d.copy()
    for c in ("on_time_rate", "solved_rate", "satisfied_rate"):
        show[c] = show[c] * 100
    show["small"] = show["small"].map({True: f"已答复不足 {cfg.dept_min_answered} 件，不排名", False: ""})
    order = ["rank", "main_handler", "score", "on_time_rate", "solved_rate", "satisfied_rate", "suggestions",
             "open", "overdue", "small"]
    counts = ["main_handler", "suggestions", "answered", "open", "overdue", "on_time", "due", "solved", "classified",
              "satisfied", "evaluated"]
    rate = dict(format="%.0f%%", min_value=0, max_value=100, width=110)
    _layout.dataframe(show[order].rename(columns=COLUMN_LABELS), hide_index=True, column_config={
        "排名": st.column_config.NumberColumn(width=50), "主办单位": st.column_config.TextColumn(width=140),
        "按期答复率": st.column_config.ProgressColumn(**rate), "解决率": st.column_config.ProgressColumn(**rate),
        "满意率": st.column_config.ProgressColumn(**rate),
        "综合得分": st.column_config.NumberColumn(format="%.1f", width=70),
        **{COLUMN_LABELS[c]: st.column_config.NumberColumn(width=60) for c in ("suggestions", "open", "overdue")},
        "样本少": st.column_config.TextColumn(width=130),
    })
    with st.expander("各单位的件数：每个比率的分子与分母"):
        _layout.dataframe(show[counts].rename(columns=COLUMN_LABELS), hide_index=True)
    st.caption(f"综合得分 = 按期答复率、解决率、满意率三者的平均 × 100。件数少的单位，比率容易偶然偏高偏低，所以每个比率"
               f"先往全部单位的总体水平拉近一些（相当于先添上 {cfg.dept_prior_strength:g} 件总体水平的建议），"
               "它们就不会因偶然而排在最前或最后。"
               f"已答复不足 {cfg.dept_min_answered} 件的单位列出但不排名。")


def _promises(rep: dict) -> None:
    p = rep["promises"]
    s = rep["promise_summary"]
    st.subheader("承诺跟踪：B 类、C 类答复的后续")
    cfg = sg.load_config()
    rule = "，".join(f"{c} 类答复后 {m} 个月" for c, m in cfg.follow_up_months.items())
    cols = st.columns(len(s))
    for col, (k, v) in zip(cols, s.items()):
        col.metric(k, f"{v} 件", border=True)
    st.caption(f"跟进到期日：{rule}；有二次答复时间即算已跟进。离到期不足 {cfg.due_soon_days} 天为“即将到期”。")
    if len(p):
        status = st.pills("显示", list(s), default=[k for k in s if k != "已跟进"], selection_mode="multi",
                          key="sg_promise_status")
        shown = p[p["status"].isin(status or [])].copy()
        for c in ("answered_at", "follow_up_due", "second_answered_at"):
            shown[c] = pd.to_datetime(shown[c])
        for c in ("days_left", "days_late"):
            shown[c] = pd.to_numeric(shown[c]).astype("Int64")
        _layout.dataframe(shown.rename(columns=COLUMN_LABELS), hide_index=True, column_order=_labels(PROMISES_SHOWN),
                          column_config={**_widths(PROMISES_SHOWN),
                                         "答复时间": st.column_config.DateColumn(format="YYYY-MM-DD", width=95),
                                         "跟进到期日": st.column_config.DateColumn(format="YYYY-MM-DD", width=95),
                                         "二次答复时间": st.column_config.DateColumn(format="YYYY-MM-DD", width=95)})
        st.caption("领衔代表、镇街见该建议的全过程（上方“查看一件建议的全过程”）。")


def _rising(rep: dict) -> None:
    r = rep["rising"]
    st.subheader("答复“已解决”，群众仍在反映")
    if r is None or r.empty:
        st.caption("本范围没有这样的建议。")
    else:
        _layout.dataframe(r.rename(columns=COLUMN_LABELS), hide_index=True, column_order=_labels(RISING_SHOWN),
                          column_config=_widths(RISING_SHOWN))
        st.markdown("**依据**\n" + "\n".join(f"- {row.suggestion_id} {row.title}（{row.town}）：{row.evidence}"
                                                for row in r.itertuples()))
    st.caption("答复为解决类（A 类）的建议，其标题中的话题词在领衔代表所在镇街的群众意见里，答复之后仍在上升。"
               "有热词数据时用热词分析的上升词（突发检测，按月）；还没有分词时改用关键词比较（答复后与答复前同样长的时间里，"
               "标题含该词的意见条数）。这只是提示：请打开建议和意见核实。")


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    sel = _layout.selection()
    sessions = _sessions(sel.db, sel.version)
    if not sessions:
        st.info(labels.NO_DATA)
        return
    session, period = _scope(sel, sessions)
    rep = _report(sel.db, sel.version, _hot_key(sel.db), session, period, sel.town)
    st.caption(f"{rep['scope'].label} · 共 {rep['n']:,} 件 · 数据截至 {rep['as_of']}（建议中最晚的日期）")
    if rep["n"] == 0:
        st.info("这个范围里没有代表建议。")
        wanted = st.query_params.get(SUGGESTION_PARAM)
        if wanted:
            _timeline_view(sel, wanted)
        return
    _rate_cards(rep)
    _funnels(rep)
    _clocks(rep)
    _overdue(rep, sel)
    _departments(rep)
    _promises(rep)
    _rising(rep)
    with st.expander("口径：每个比率怎么算"):
        st.markdown("\n".join(f"- **{r.label}**：{r.definition}  \n  公式：{r.formula}" for r in sg.RATES))
        st.caption("建议按领衔代表在代表名册中的所属镇街归属镇街；“数据截至”是建议数据中最晚的日期（提出、交办、答复、二次答复），"
                   "不是电脑上的今天：同样的数据，任何时候算出的逾期都一样。")


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
