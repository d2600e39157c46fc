"""驾驶舱 — the default page: headline figures of the chosen period and town, with the change
against the previous period and each figure's definition on hover; opinions per month."""
from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from analytics import labels, metrics
from pages import _layout

URL_PATH = "cockpit"
CARDS_PER_ROW = 4  # 7 figures: 4 + 3 cards; readable on a laptop and on a meeting-room screen


def _card(h: metrics.Headline, grain: str) -> None:
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
              delta_description=labels.PREVIOUS_LABELS[grain] if change else None)


def _monthly_chart(sel: _layout.Selection) -> None:
    df = _layout.opinions_by_month(sel.db, sel.version, sel.period.code, sel.town)
    fig = go.Figure()
    fig.add_bar(x=df["month"], y=df["opinions"], name="收到", marker_color="#4C78A8",
                hovertemplate="%{x}<br>收到 %{y:,} 条<extra></extra>")
    fig.add_scatter(x=df["month"], y=df["closed"], name="其中已办结", mode="lines+markers",
                    line_color="#F58518", hovertemplate="%{x}<br>已办结 %{y:,} 条<extra></extra>")
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=10, b=10), legend_orientation="h",
                      xaxis_title=None, yaxis_title="条", xaxis_type="category",
                      yaxis_rangemode="tozero")
    st.subheader(f"民情民意逐月情况（{sel.scope}，截至{sel.period.months()[-1].label}）")
    st.plotly_chart(fig, config={"displayModeBar": False})


def render() -> None:
    _layout.page_header(URL_PATH)
    sel = _layout.selection()
    if sel.period is None:
        st.info(labels.NO_DATA)
        return
    rows = _layout.headline(sel.db, sel.version, sel.period.code, sel.town)
    for start in range(0, len(rows), CARDS_PER_ROW):
        for col, h in zip(st.columns(CARDS_PER_ROW), rows[start:start + CARDS_PER_ROW]):
            with col:
                _card(h, sel.period.grain)
    _monthly_chart(sel)
    with st.expander("指标口径：每个数字怎么算"):
        st.markdown("\n".join(f"- **{m.label}**：{m.definition}  \n  公式：{m.formula}" for m in metrics.METRICS))
        st.caption("期间为左闭右开的日期区间；民情民意和代表建议按提交时间归属期间，状态和评价以最近一次导入为准。")


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from app import main

    main()
