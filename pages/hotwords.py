"""热词分析 — hot words of citizens' opinions, rising and falling, with the opinions behind them.

Layout only: every figure comes from ``analytics.domain.hotwords`` and ``analytics.domain.hotissues``
(definitions in docs/hotwords.md); the page leads with the hot issues of the filter. Reads
go through short read-only connections (``hw.store_reader``) and are cached by the store file's
stamp; writes (dictionary changes, the candidate pool) go through ``hw.store_writer``, a short
read-write transaction that waits for readers, so the app never keeps a connection open. Re-cutting
all opinions after a dictionary change runs in a background thread (``_Job``) that holds the store
only for short moments per batch; every session sees its progress bar.

The word being looked at is in the URL (``?word=加装电梯``), so a view can be shared as a link.
"""
from __future__ import annotations

import threading
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from analytics.domain import hotissues as hi
from analytics.domain import hotwords as hw
from analytics.store.db import StoreError
from analytics.text import segment as textseg
from pages import _access, _layout

URL_PATH = "hotwords"
ALL = "全部"
TOP_N = 50  # words in the table
CLOUD_N = 60  # words offered to the cloud (those that fit are drawn)
PILLS_N = 30  # clickable words under the cloud
PAGE_SIZE = 10  # opinions per page in the drill-down
ISSUES_N = 10  # hot issues listed
HISTORY_MONTHS = 24  # trend, heat map and burst history
WORD_PARAM = "word"

FILTER_LABELS = {"station": "联络站", "channel": "来源渠道", "category": "分类"}
TERMS_METHOD = (
    "**词分** = 意见数 × 特征性 × 集中度 × 稀有度 × 词性权重\n\n"
    f"- **特征性**：这个词在本范围意见里的频率比它在一般汉语（jieba 词典约 6000 万词的语料）里高多少倍，取 log2 再减 {hi.KEYNESS_FLOOR:g}"
    "（高出不到 16 倍的词，如“无法”“开始”“国家”，得 0）；\n"
    "- **集中度**：（一条意见里出现两次以上的意见数 + 1）÷（含该词的意见数 + 2）——真正说的事会在留言里反复出现，套话只说一次；\n"
    "- **稀有度**：ln(1 + 本范围意见数 ÷ 含该词的意见数)——四分之一的留言都有的词多半是留言的体裁，不是具体的事；\n"
    "- **词性权重**：名词和新词 1，动词 0.5（投诉、咨询说的是留言在做什么），形容词 0.3；副词、代词、数量词等虚词不计。\n\n"
    "地点（以小区、街道、路、镇、村等结尾的名称，以及 A市、A7县 这类代号）、机构（…局、…政府、…公司）和人名称谓（陈书记）不算热词；"
    "地点显示在热点问题里。详见 docs/hotwords.md。")


# ───────────────────────────── cached reads ─────────────────────────────

@st.cache_data(show_spinner=False, max_entries=16)
def hot_state(db: str, stamp: tuple) -> dict:
    """What the page needs to know about the store's segmentation (cached by the file's stamp)."""
    with hw.store_reader(db) as con:
        active = hw.active_version(con)
        if active is None:
            return {"key": "none", "active": None, "pending": hw.pending_count(con), "range": None,
                    "versions": pd.DataFrame(), "files_differ": False}
        return {
            "key": hw.seg_state(con),
            "active": active,
            "pending": hw.pending_count(con),
            "range": hw.data_range(con),
            "versions": hw.dictionary_versions(con),
            "files_differ": hw.files_differ_from_active(con),
        }


def state_of(db: str) -> dict:
    return hot_state(db, _layout._stamp(Path(db)))


def _call(fn, db: str, *args, **kwargs):
    with hw.store_reader(db) as con:
        return fn(con, *args, **kwargs)


@st.cache_data(show_spinner=False, max_entries=64)
def options(db: str, key: str, town: str | None, version: int) -> dict:
    return _call(hw.filter_options, db, town, version)


@st.cache_data(show_spinner=False, max_entries=256)
def top(db: str, key: str, start: date, end: date, prev_start: date, filters: tuple, version: int, n: int):
    return _call(hi.top_terms, db, start, end, top=n, dict_version=version, prev_start=prev_start, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=128)
def issues(db: str, key: str, start: date, end: date, filters: tuple, version: int) -> list[dict]:
    return _call(hi.hot_issues, db, start, end, top=ISSUES_N, dict_version=version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def issue_page(db: str, key: str, issue: dict, page: int):
    return _call(hi.issue_opinions, db, issue, page, PAGE_SIZE)


@st.cache_data(show_spinner=False, max_entries=128)
def rising(db: str, key: str, start: date, end: date, filters: tuple, version: int):
    return _call(hw.rising_words, db, start, end, history=HISTORY_MONTHS, dict_version=version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def trend(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int):
    return _call(hw.word_trend, db, word, start, end, "month", version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def spread(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int):
    return _call(hw.word_spread, db, word, start, end, version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def heat(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int):
    return _call(hw.word_town_month, db, word, start, end, version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def related(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int):
    return _call(hw.related_words, db, word, start, end, 20, 3, version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=256)
def drill(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int, page: int):
    return _call(hw.drilldown, db, word, start, end, page, PAGE_SIZE, version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=64)
def score(db: str, key: str, words: tuple, start: date, end: date, filters: tuple, version: int) -> dict:
    return _call(hw.candidate_score, db, list(words), start, end, version, **dict(filters))


@st.cache_data(show_spinner=False, max_entries=16)
def proposals(db: str, key: str, version: int) -> pd.DataFrame:
    return _call(hw.new_word_proposals, db, dict_version=version)


@st.cache_data(show_spinner=False, max_entries=32)
def cloud(words: tuple, weights: tuple) -> pd.DataFrame:
    return hw.cloud_layout(list(words), list(weights))


def export_opinions(db: str, word: str, start: date, end: date, filters: tuple, version: int) -> bytes:
    """The xlsx of every opinion holding the word (built only when the button is pressed)."""
    df = _call(hw.drilldown_all, db, word, start, end, dict_version=version, **dict(filters))
    df = df.rename(columns={"opinion_id": "编号", "submitted_at": "提交时间", "town": "镇街", "station": "联络站",
                            "channel": "来源渠道", "category": "分类", "title": "标题", "content": "内容（已脱敏）",
                            "submitter": "提交人（已脱敏）", "status": "状态", "hits": "出现次数"})
    return hw.to_xlsx({f"含“{word}”的意见"[:31]: df})


# ───────────────────────────── background jobs ─────────────────────────────

class _Job:
    """A dictionary change (or catch-up segmentation) running in its own thread; one per store.
    Every session shows its progress; a rerun or a closed tab does not stop it."""

    def __init__(self, label: str, target, *args, **kwargs):
        self.label, self.message, self.fraction = label, "准备中…", 0.0
        self.error: Exception | None = None
        self.result = None
        self.done = threading.Event()
        self._call = (target, args, kwargs)
        self.thread = threading.Thread(target=self._run, name="cockpit-hotwords", daemon=True)

    def progress(self, message: str, fraction: float) -> None:
        self.message, self.fraction = message, min(max(float(fraction), 0.0), 1.0)

    def _run(self) -> None:
        target, args, kwargs = self._call
        try:
            self.result = target(*args, progress=self.progress, **kwargs)
        except Exception as exc:  # shown to the sessions watching
            self.error = exc
        finally:
            self.done.set()


_JOBS: dict[str, _Job] = {}
_JOBS_LOCK = threading.Lock()


def who() -> tuple[str, str | None]:
    """The signed-in user and role, for writes and the audit log."""
    return _access.current_user(), _access.current_role()


def job_of(db: str) -> _Job | None:
    with _JOBS_LOCK:
        return _JOBS.get(db)


def start_job(db: str, label: str, target, *args, **kwargs) -> bool:
    """Start a job unless one is running for this store; False when one is."""
    with _JOBS_LOCK:
        job = _JOBS.get(db)
        if job is not None and not job.done.is_set():
            return False
        job = _JOBS[db] = _Job(label, target, *args, **kwargs)
        job.thread.start()
        return True


def apply_dictionary(db: str, userdict: str, stopwords: str, note: str, user: str, role: str | None,
                     progress=None) -> int:
    """Make a version of these texts, re-cut every opinion, activate it, write the files back.
    ``user``/``role`` are taken when the analyst submits (the thread has no session of its own)."""
    v = hw.set_dictionary_at(db, userdict, stopwords, user, note, progress=progress, role=role)
    hw.write_dictionary_files(userdict, stopwords)
    return v


@st.fragment(run_every=1.0)
def job_panel(db: str) -> None:
    """The running job's progress bar; a finished job's result, once."""
    job = job_of(db)
    if job is None:
        return
    if not job.done.is_set():
        st.progress(job.fraction, text=f"{job.label}：{job.message}（{job.fraction:.0%}）")
        return
    with _JOBS_LOCK:
        if _JOBS.get(db) is job:
            del _JOBS[db]
    if job.error is not None:
        st.error(f"{job.label}失败：{job.error}")
    else:
        st.success(f"{job.label}完成：词典版本 {job.result} 已启用。")
        st.rerun(scope="app")


# ───────────────────────────── the selected word ─────────────────────────────

def selected_word() -> str | None:
    w = st.query_params.get(WORD_PARAM)
    return w.strip() if w and w.strip() else None


def select_word(word: str | None) -> None:
    if word:
        st.query_params[WORD_PARAM] = word
    elif WORD_PARAM in st.query_params:
        del st.query_params[WORD_PARAM]


def _on_pick(key: str) -> None:
    select_word(st.session_state.get(key))


def word_pills(label: str, words: list[str], key: str) -> None:
    """Clickable words; the one being looked at shows selected."""
    if not words:
        return
    current = selected_word()
    st.session_state[key] = current if current in words else None
    st.pills(label, words, key=key, on_change=_on_pick, args=(key,), width="stretch", wrap=True)


# ───────────────────────────── sections ─────────────────────────────

def cloud_chart(df: pd.DataFrame) -> None:
    head = df.head(CLOUD_N)
    lay = cloud(tuple(head["word"]), tuple(int(x) for x in head["docs"]))
    if lay.empty:
        return
    change = head.set_index("word")["change"].reindex(lay["word"]).fillna(0)
    colors = ["#C0392B" if c > 0 else ("#2E86C1" if c < 0 else "#566573") for c in change]
    docs = head.set_index("word")["docs"].reindex(lay["word"])
    fig = go.Figure(go.Scatter(
        x=lay["x"], y=lay["y"], mode="text", text=lay["word"],
        textfont=dict(size=lay["size"], color=colors, family="Noto Sans CJK SC, sans-serif"),
        customdata=list(zip(docs, change)),
        hovertemplate="%{text}<br>意见数 %{customdata[0]:,}<br>较上期 %{customdata[1]:+,}<extra></extra>"))
    fig.update_layout(width=760, height=380, margin=dict(l=0, r=0, t=0, b=0), showlegend=False,
                      xaxis=dict(visible=False, range=[0, 720]), yaxis=dict(visible=False, range=[0, 360]),
                      plot_bgcolor="rgba(0,0,0,0)")
    st.plotly_chart(fig, width="content", config={"displayModeBar": False, "staticPlot": False})
    st.caption("字号表示含该词的意见数；红色：比上期多，蓝色：比上期少。")


def top_section(df: pd.DataFrame, n_opinions_label: str) -> None:
    if df.empty:
        st.info("所选范围内没有已分词的意见。")
        return
    left, right = st.columns([3, 2])
    with left:
        cloud_chart(df)
        word_pills("点一个词，看它的趋势、分布和原文", list(df["word"].head(PILLS_N)), "pick_top")
    with right:
        table = df.assign(share=df["share"] * 100, change_ratio=df["change_ratio"] * 100)
        _layout.dataframe(
            table[["word", "score", "count", "docs", "share", "change", "change_ratio"]],
            hide_index=True, height=520, key="top_table", on_select=_on_table_select, selection_mode="single-row",
            column_config={
                "word": st.column_config.TextColumn("词", help="点选一行查看详情"),
                "count": st.column_config.NumberColumn("次数", help="该词出现的总次数", format="%d"),
                "score": st.column_config.NumberColumn("词分", help="排序依据，见“怎么算的”", format="%.0f"),
                "docs": st.column_config.NumberColumn("意见数", help="含该词的意见条数", format="%d"),
                "share": st.column_config.NumberColumn("占比", help=f"意见数 ÷ {n_opinions_label}", format="%.1f%%"),
                "change": st.column_config.NumberColumn("较上期", help="意见数 − 上期意见数", format="%+d"),
                "change_ratio": st.column_config.NumberColumn("变化率", help="意见数 ÷ 上期意见数 − 1（上期为 0 时空白）",
                                                              format="%+.0f%%"),
            })
        st.session_state["_top_words"] = list(df["word"])


def _on_table_select() -> None:
    rows = st.session_state.get("top_table", {}).get("selection", {}).get("rows", [])
    words = st.session_state.get("_top_words", [])
    if rows and rows[0] < len(words):
        select_word(words[rows[0]])


def rising_section(df: pd.DataFrame) -> None:
    st.caption("近几个月反映明显变多的词：和它自己平常的水平比，不和别的词比，所以常年都多的词不会上榜。"
               "强度越大，变多得越反常。")
    with st.expander("怎么算的"):
        st.markdown("在最近 24 个月的逐月数据上，把每个词的每个月看成“平常”或“突然变多”两种状态之一，"
                    "找出最说得通的一串状态（Kleinberg 两状态突发模型）；与本期重叠的“突然变多”的一段就是它的上升期，"
                    "强度是这一段比按平常算多出来的把握。强度至少 10、至少 10 条意见才算，以免偶然的几条上榜。")
    if df.empty:
        st.info("本期没有检测到上升词。")
        return
    show = df.assign(rise_start=[d.strftime("%Y年%m月") for d in df["rise_start"]],
                     rise_end=[("至今" if o else d.strftime("%Y年%m月")) for d, o in zip(df["rise_end"], df["ongoing"])])
    _layout.dataframe(
        show[["word", "strength", "rise_start", "rise_end", "docs_burst", "current", "baseline", "ratio"]],
        hide_index=True,
        column_config={
            "word": "词", "strength": st.column_config.NumberColumn("突发强度", format="%.1f"),
            "rise_start": "上升开始", "rise_end": "持续到",
            "docs_burst": st.column_config.NumberColumn("突发期意见数", format="%d"),
            "current": st.column_config.NumberColumn("末月意见数", format="%d"),
            "baseline": st.column_config.NumberColumn("常态应有", format="%.1f",
                                                      help="按该词在突发期以外的占比，末月应有的意见数"),
            "ratio": st.column_config.NumberColumn("倍数", format="%.1f"),
        })
    word_pills("点一个上升词查看详情", list(df["word"].head(PILLS_N)), "pick_rising")


def word_section(db: str, key: str, word: str, sel, filters: tuple, version: int) -> None:
    start, end = sel.period.start, sel.period.end
    hist_start = (pd.Timestamp(end) - pd.DateOffset(months=HISTORY_MONTHS)).date()
    st.divider()
    head, clear = st.columns([6, 1])
    head.subheader(f"“{word}”")
    if clear.button("关闭", key="close_word", icon=":material/close:"):
        select_word(None)
        st.rerun()
    tr = trend(db, key, word, hist_start, end, filters, version)
    if tr["docs"].sum() == 0:
        st.warning(f"在最近 {HISTORY_MONTHS} 个月、所选范围内没有意见含“{word}”（它可能是停用词，或不在当前词典的切分结果里）。")
        return
    in_period = tr[(tr["period"] >= start) & (tr["period"] < end)]
    docs = int(in_period["docs"].sum())
    total = int(in_period["total"].sum())
    c1, c2, c3 = st.columns(3)
    c1.metric("本期含该词的意见", f"{docs:,} 条", border=True)
    c2.metric("占本期意见", f"{docs / total:.1%}" if total else "—", border=True)
    sc = score(db, key, (word,), start, end, filters, version)
    c3.metric("备选库得分（若列入）", f"{sc['score']:.2f}", border=True, help=hw.SCORE_PLAIN)

    left, right = st.columns(2)
    with left:
        fig = go.Figure()
        fig.add_bar(x=tr["period"], y=tr["docs"], name="意见数", marker_color="#4C78A8",
                    hovertemplate="%{x|%Y年%m月}<br>%{y:,} 条<extra></extra>")
        fig.add_scatter(x=tr["period"], y=tr["share"] * 100, name="占比 %", yaxis="y2", mode="lines",
                        line_color="#F58518", hovertemplate="%{x|%Y年%m月}<br>占比 %{y:.1f}%<extra></extra>")
        fig.add_vrect(x0=start, x1=end, fillcolor="#F5B041", opacity=0.15, line_width=0)
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), legend_orientation="h",
                          title=dict(text="逐月趋势（阴影为本期）", font_size=14),
                          xaxis=_layout.DATE_AXIS, yaxis=dict(title="条", rangemode="tozero"),
                          yaxis2=dict(title="%", overlaying="y", side="right", rangemode="tozero", showgrid=False,
                                      tickmode="auto", nticks=5, tickformat=".2~f"))
        st.plotly_chart(fig, config={"displayModeBar": False})
    with right:
        sp = spread(db, key, word, start, end, filters, version)
        sp = sp[sp["docs"] > 0]
        fig = go.Figure(go.Bar(x=sp["docs"], y=sp["town"], orientation="h", marker_color="#54A24B",
                               customdata=sp["share"] * 100,
                               hovertemplate="%{y}<br>%{x:,} 条，占该镇街意见 %{customdata:.1f}%<extra></extra>"))
        fig.update_layout(height=320, margin=dict(l=10, r=10, t=30, b=10), yaxis=dict(autorange="reversed"),
                          title=dict(text="本期各镇街", font_size=14))
        st.plotly_chart(fig, config={"displayModeBar": False})

    hm = heat(db, key, word, hist_start, end, filters, version)
    if not hm.empty:
        pivot = hm.pivot_table(index="town", columns="period", values="docs", fill_value=0)
        pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
        months = [pd.Timestamp(c).strftime("%Y-%m") for c in pivot.columns]
        fig = go.Figure(go.Heatmap(z=pivot.values, x=months,
                                   y=list(pivot.index), colorscale="YlOrRd",
                                   hovertemplate="%{y} · %{x}<br>%{z} 条<extra></extra>"))
        fig.update_layout(height=max(260, 22 * len(pivot) + 80), margin=dict(l=10, r=10, t=30, b=10),
                          xaxis=_layout.month_ticks(months),
                          title=dict(text=f"镇街 × 月份（最近 {HISTORY_MONTHS} 个月）", font_size=14))
        st.plotly_chart(fig, config={"displayModeBar": False})

    rel = related(db, key, word, start, end, filters, version)
    st.markdown("**相关词**（与它同在一条意见中的词，比随机情况多得越多越靠前）")
    if rel.empty:
        st.caption("本期没有足够的共现（至少 3 条意见）。")
    else:
        word_pills("相关词", list(rel["word"]), "pick_related")
        with st.expander("相关词的数字"):
            _layout.dataframe(rel, hide_index=True, column_config={
                "word": "词", "together": st.column_config.NumberColumn("同现意见数", format="%d"),
                "docs": st.column_config.NumberColumn("该词意见数", format="%d"),
                "lift": st.column_config.NumberColumn("提升度", format="%.1f", help="同现意见数 × 总意见数 ÷ (两词意见数之积)"),
                "npmi": st.column_config.NumberColumn("NPMI", format="%.2f", help="归一化点互信息，1 为总是一起出现"),
                "confidence": st.column_config.NumberColumn("置信度", format="%.2f", help="同现意见数 ÷ 所选词的意见数")})

    opinions_section(db, key, word, start, end, filters, version)
    candidate_form(db, word, rel, sel, filters, version)


def opinion_card(r, words) -> None:
    """One opinion (masked by the domain), its word(s) highlighted."""
    with st.container(border=True):
        meta = " · ".join(str(x) for x in (str(r.submitted_at)[:16], r.town, r.station, r.channel,
                                            r.category, r.status, r.submitter) if isinstance(x, str) and x.strip())
        st.caption(f"{r.opinion_id} · {meta}")
        if r.title:
            st.markdown(f"**{hw.highlight_html(r.title, words)}**", unsafe_allow_html=True)
        st.markdown(hw.highlight_html(r.content, words), unsafe_allow_html=True)


def opinions_section(db: str, key: str, word: str, start: date, end: date, filters: tuple, version: int) -> None:
    st.markdown(f"**含“{word}”的意见原文**（个人信息已脱敏，新的在前）")
    page_key = f"page_{word}"
    page = int(st.session_state.get(page_key, 1))
    rows, total = drill(db, key, word, start, end, filters, version, page)
    pages = max(1, -(-total // PAGE_SIZE))
    c1, c2 = st.columns([1, 3])
    c1.number_input(f"页码（共 {pages} 页，{total:,} 条）", min_value=1, max_value=pages, key=page_key, step=1)
    with c2:
        _access.download_button("下载全部（xlsx）", data=lambda: export_opinions(db, word, start, end, filters, version),
                                file_name=f"热词_{word}_{start}_至_{end - timedelta(days=1)}.xlsx", what=f"含“{word}”的意见原文（已脱敏）",
                                filters={"热词": word, "起": str(start), "止": str(end - timedelta(days=1)), **dict(filters)}, rows=total,
                                icon=":material/download:",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    for r in rows.itertuples():
        opinion_card(r, word)


def _cn_day(d) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def issues_section(db: str, key: str, items: list[dict], sel, filters: tuple, version: int) -> None:
    st.caption("把同一地点、同一件事的意见归成一个热点问题：相似的留言（同样的关键词）、不同的人、前后相隔不超过 60 天。"
               "按热度排序。点开一个问题看它的意见原文，可以把它列入监督项目备选库。")
    with st.expander("怎么算的", icon=":material/calculate:"):
        st.markdown(
            f"**热度** = {hi.HEAT_FORMULA.removeprefix('热度 = ')}\n\n"
            + "\n".join(f"- **{k}**：{v}" for k, v in hi.HEAT_PARTS.items())
            + "\n\n**归并**：每条意见取它最有特征的 6 个词（词分高、在本范围里少见的词权重大）；按日期逐条看，"
              f"与已有问题的“中心”（各条意见词权重之和）余弦相似度至少 {hi.SIMILARITY}、地点一致（都写了地点时，"
              f"一条的具体地点在另一条里出现；镇街不同的不归并）、距该问题最近一条不超过 {hi.MAX_GAP_DAYS} 天，"
              f"就归入该问题，否则另起一个；再把中心相似度至少 {hi.MERGE_SIMILARITY}、地点相同、时间相接的问题合并。"
              "至少两人、两条意见才算热点问题。**标题** = 地点（半数以上意见写到的最具体地点）：事项（在各条意见中权重之和最大的两个词）。"
              "详见 docs/hotwords.md。")
    if not items:
        st.info("所选范围内没有热点问题（至少两人、两条意见说同一件事）。")
        return
    for it in items:
        support = f"、支持 {it['support']}" if it.get("support") else ""
        label = (f"{it['rank']}. {it['title']} · 热度 {it['heat']:.1f} · {it['opinions']} 条意见、{it['submitters']} 人{support} · "
                 f"{_cn_day(it['first'])}至{_cn_day(it['last'])}")
        with st.expander(label):
            if it.get("headline"):
                st.markdown(f"代表性留言：**{it['headline']}**")
            st.caption(f"地点：{'、'.join(it['places']) or '—'} · 关键词：{'、'.join(it['terms'])}")
            parts = pd.DataFrame({"部分": list(it["heat_parts"]), "得分": list(it["heat_parts"].values()),
                                  "含义": [hi.HEAT_PARTS[k] for k in it["heat_parts"]]})
            _layout.dataframe(parts, hide_index=True, column_config={
                "得分": st.column_config.NumberColumn("得分", format="%.2f")})
            issue_opinions_block(db, key, it)
            issue_candidate_form(db, it, sel, filters, version)


def issue_opinions_block(db: str, key: str, issue: dict) -> None:
    page_key = f"ipage_{issue['rank']}_{issue['opinion_ids'][0]}"
    page = int(st.session_state.get(page_key, 1))
    rows, total = issue_page(db, key, issue, page)
    pages = max(1, -(-total // PAGE_SIZE))
    st.number_input(f"意见原文（个人信息已脱敏，新的在前）页码（共 {pages} 页，{total:,} 条）", min_value=1, max_value=pages,
                    key=page_key, step=1)
    terms_ = issue["terms"][:5]
    for r in rows.itertuples():
        opinion_card(r, terms_)


def issue_candidate_form(db: str, issue: dict, sel, filters: tuple, version: int) -> None:
    with st.form(f"icand_{issue['rank']}_{issue['opinion_ids'][0]}"):
        st.markdown("**列入监督项目备选库**（以它的关键词为议题的词，热点问题本身——热度、意见、地点、时间——作为证据保存）")
        title = st.text_input("议题名称", value=issue["title"])
        note = st.text_area("备注（为什么值得监督）")
        ok = st.form_submit_button("加入备选库", type="primary")
    if ok:
        try:
            with hw.store_writer(db) as con:
                cid = hi.add_issue_candidate(con, issue, sel.period.start, sel.period.end, _access.current_user(),
                                             title=title, note=note, dict_version=version, role=_access.current_role(),
                                             **dict(filters))
        except (hw.HotwordsError, StoreError) as exc:
            st.error(str(exc))
        else:
            st.success(f"已加入备选库，编号 {cid}（证据按 {sel.period.label} 的数据保存）。到“监督项目备选库”查看。")


def candidate_form(db: str, word: str, rel: pd.DataFrame, sel, filters: tuple, version: int) -> None:
    with st.expander("列入监督项目备选库", icon=":material/playlist_add:"):
        with st.form(f"cand_{word}"):
            title = st.text_input("议题名称", value=word)
            words = st.multiselect("热词（含其中任一词的意见都算）", [word, *rel["word"].head(15)], default=[word])
            note = st.text_area("备注（为什么值得监督）")
            ok = st.form_submit_button("加入备选库", type="primary")
        if ok:
            try:
                with hw.store_writer(db) as con:
                    cid = hw.add_candidate(con, words or [word], sel.period.start, sel.period.end,
                                           _access.current_user(), title=title, note=note, dict_version=version,
                                           role=_access.current_role(), **dict(filters))
            except (hw.HotwordsError, StoreError) as exc:
                st.error(str(exc))
            else:
                st.success(f"已加入备选库，编号 {cid}（证据按 {sel.period.label} 的数据保存）。到“监督项目备选库”查看。")


def dictionary_section(db: str, state: dict, busy: bool) -> None:
    # The files in data/ are the dictionary; the store keeps a version of every text applied. An
    # edit here starts from the files (so an edit made in a text editor is never lost) and writes
    # them back.
    userdict, stopwords = textseg.read_userdict_file(), textseg.read_stopwords_file()
    st.caption(f"当前词典版本 {state['active']}。词典以 data/userdict.txt 和 data/stopwords.txt 为准：这里的改动写回这两个文件，"
               "生成新版本并在后台把全部意见重新分词（进度条见页首）；旧版本及其分词结果都保留，"
               "在“词典版本”里可以按旧版本复现当时的热词表。")
    if state["files_differ"]:
        st.warning("data/userdict.txt 或 data/stopwords.txt 在应用之外被修改过，与当前词典版本不同"
                   "（下面的改动会连同这些修改一起生效）。")
        if st.button("应用 data/ 中的词典文件", disabled=busy):
            start_job(db, "应用词典文件", apply_dictionary, db, textseg.read_userdict_file(),
                      textseg.read_stopwords_file(), "应用 data/ 中的文件", *who())
            st.rerun()
    with st.form("dict_edit", clear_on_submit=True):
        c1, c2 = st.columns(2)
        add_w = c1.text_area("加入词典的词（空格、逗号或换行分隔）", placeholder="例如：赭山湾 宁新村")
        del_w = c1.text_area("从词典删除的词")
        add_s = c2.text_area("加入停用词")
        del_s = c2.text_area("从停用词删除")
        go_ = st.form_submit_button("保存并重新分词", type="primary", disabled=busy)
    if go_:
        new_ud = hw.remove_words_from_text(hw.add_words_to_userdict(userdict, hw.split_words(add_w), "分析员添加"),
                                           hw.split_words(del_w)) if (add_w or del_w) else userdict
        new_sw = hw.remove_words_from_text(hw.add_stopwords(stopwords, hw.split_words(add_s)),
                                           hw.split_words(del_s)) if (add_s or del_s) else stopwords
        try:
            textseg.parse_userdict(new_ud)
            textseg.parse_stopwords(new_sw)
        except textseg.DictionaryError as exc:
            st.error(str(exc))
        else:
            if (new_ud, new_sw) == (userdict, stopwords):
                st.info("词典没有变化。")
            else:
                start_job(db, "词典更新", apply_dictionary, db, new_ud, new_sw, "分析员在页面上修改", *who())
                st.rerun()

    st.markdown("**新词建议**：经常相邻出现、内部结合紧（PMI 高）、左右搭配自由（边界熵高），而词典里还没有的词。")
    if st.button("生成新词建议（抽样最近 20,000 条意见）", disabled=busy):
        st.session_state["show_proposals"] = True
    if st.session_state.get("show_proposals"):
        props = proposals(db, state["key"], state["active"])
        if props.empty:
            st.caption("没有找到符合条件的新词。")
        else:
            edited = _layout.data_editor(
                props.assign(accept=False)[["accept", "word", "count", "pmi", "left_entropy", "right_entropy", "parts"]],
                hide_index=True, key="proposals_editor", disabled=["word", "count", "pmi", "left_entropy",
                                                                    "right_entropy", "parts"],
                column_config={"accept": st.column_config.CheckboxColumn("采纳"), "word": "候选新词",
                               "count": st.column_config.NumberColumn("相邻次数", format="%d"),
                               "pmi": st.column_config.NumberColumn("PMI", format="%.1f"),
                               "left_entropy": st.column_config.NumberColumn("左熵", format="%.2f"),
                               "right_entropy": st.column_config.NumberColumn("右熵", format="%.2f"),
                               "parts": "原切分"})
            chosen = list(edited.loc[edited["accept"], "word"])
            if st.button(f"采纳选中的 {len(chosen)} 个词并重新分词", disabled=busy or not chosen):
                start_job(db, "采纳新词", apply_dictionary, db, hw.add_words_to_userdict(userdict, chosen),
                          stopwords, f"采纳新词建议：{'、'.join(chosen)}", *who())
                st.session_state["show_proposals"] = False
                st.rerun()

    with st.expander("词典版本"):
        v = state["versions"]
        if not v.empty:
            _layout.dataframe(v[["version", "active", "state", "created_at", "created_by", "note", "opinions"]],
                         hide_index=True, column_config={
                             "version": "版本", "active": "当前", "state": "状态", "created_at": "创建时间",
                             "created_by": "创建人", "note": "说明", "opinions": st.column_config.NumberColumn("已分词意见", format="%d")})
    with st.expander("查看词典与停用词文件原文"):
        c1, c2 = st.columns(2)
        c1.code(userdict, language=None)
        c2.code(stopwords, language=None)


# ───────────────────────────── the page ─────────────────────────────

def render() -> None:
    _layout.page_header(URL_PATH)
    sel = _layout.selection()
    if sel.period is None:
        st.info("数据库里还没有民情民意数据。请到“数据管理”导入数据。")
        return
    db = sel.db
    job = job_of(db)
    if job is not None:
        job_panel(db)
    busy = job is not None and not job.done.is_set()
    state = state_of(db)
    if state["active"] is None or state["pending"]:
        n = state["pending"]
        st.warning(f"还有 {n:,} 条意见没有分词（导入时会自动分词；这份数据是在分词功能之前导入的）。"
                   if n else "还没有分词词典版本。")
        if st.button("现在分词", type="primary", disabled=busy):
            start_job(db, "分词", hw.segment_pending_at, db, user=who()[0], role=who()[1])
            st.rerun()
        if state["active"] is None:
            return

    versions = list(state["versions"]["version"]) if not state["versions"].empty else [state["active"]]
    f = st.columns(4)
    opts = options(db, state["key"], sel.town, state["active"])
    chosen = {}
    for col, name in zip(f[:3], ("station", "channel", "category")):
        value = col.selectbox(FILTER_LABELS[name], [ALL, *opts[name]], key=f"f_{name}")
        chosen[name] = None if value == ALL else value
    version = f[3].selectbox("词典版本", versions, index=versions.index(state["active"]),
                             format_func=lambda v: f"版本 {v}" + ("（当前）" if v == state["active"] else "（复现）"),
                             help="选旧版本可复现当时按那个词典算出的热词表")
    filters = tuple(sorted({"town": sel.town, **chosen}.items()))
    start, end, prev_start = sel.period.start, sel.period.end, sel.period.previous().start
    key = state["key"]

    tab_issues, tab_top, tab_rising, tab_dict = st.tabs(["热点问题", "热词榜", "上升词", "词典工具"])
    with tab_issues:
        issues_section(db, key, issues(db, key, start, end, filters, version), sel, filters, version)
    with tab_top:
        df = top(db, key, start, end, prev_start, filters, version, TOP_N)
        st.caption(f"{sel.scope}{''.join(' · ' + v for v in chosen.values() if v)} · {sel.period.label}，"
                   f"与{sel.period.previous().label}比较。按词分排序：越能说明群众反映的是什么事，越靠前；地点不算热词。")
        with st.expander("怎么算的", icon=":material/calculate:"):
            st.markdown(TERMS_METHOD)
        top_section(df, "所选范围内的意见数")
    with tab_rising:
        rising_section(rising(db, key, start, end, filters, version))
    with tab_dict:
        dictionary_section(db, state, busy)

    word = selected_word()
    if word:
        word_section(db, key, word, sel, filters, version)
    else:
        st.caption("点选上面的一个词，查看它的逐月趋势、镇街分布、相关词和意见原文。")


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
