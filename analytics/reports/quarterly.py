"""The quarterly 晾晒 report (专报): a Word document and its tables as a workbook.

``gather`` computes everything the report says (ranking with rank ranges, per-capita view, the
quarter's monthly action points, rising hot words and the top hot issues (热点问题,
``analytics.domain.hotissues.quarter_hot_issues``) when the hot-word tables hold data);
``summary_paragraphs`` writes the summary from those numbers; ``build_docx`` / ``build_xlsx`` lay
them out; ``write_report`` writes both files. ``python -m analytics report`` does the same.

Chinese in Word and LibreOffice: every run carries an East Asian font (``w:rFonts/@w:eastAsia``),
the styles too, with the theme-font attributes removed (they would override the names). Charts are
drawn with matplotlib's object API (no pyplot state; safe in the app's threads) in a CJK font found
on the machine (Noto Sans CJK by preference). Workbook text cells that a spreadsheet would run as a
formula (starting with = + - @) are prefixed with an apostrophe.
"""
from __future__ import annotations

import glob
import io
import time
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from analytics.domain.metrics import unlocated_opinions
from analytics.domain import points as points_mod, ranking as rk
from analytics.domain.indices import INDEX_KEYS, IndexConfig, MEASURES, load_config
from analytics.core.periods import Period, PeriodError
from analytics.core import safe_export
from analytics.core.safe_export import safe_cell  # noqa: F401 (report.safe_cell: the one shared rule)

REPORT_TITLE = "萧山区镇街（开发区）人大工作季度晾晒专报"
ISSUER = "代表联络总站驾驶舱"
FONT_BODY = "宋体"  # East Asian font of the text; Word has it, LibreOffice substitutes a CJK font
FONT_HEAD = "黑体"
FONT_LATIN = "Times New Roman"
LEADERS = 3  # leaders and laggards named in the summary
MOVERS = 3
RISING_WORDS = 8
HOT_ISSUES = 5  # the quarter's top hot issues in the report
WIDE_RANGE = 5  # a rank range spanning at least this many places is called wide in the summary
# CJK fonts for the charts, by preference (globbed: the path differs between machines).
_CJK_FONT_GLOBS = (
    "/usr/share/fonts/**/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/**/NotoSansCJK*.ttc",
    "/usr/share/fonts/**/NotoSansCJKsc-Regular.otf",
    "/usr/share/fonts/**/wqy-microhei.ttc",
    "/usr/share/fonts/**/wqy-zenhei.ttc",
    "/usr/local/share/fonts/**/*CJK*",
    "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/simhei.ttf",
    "/System/Library/Fonts/PingFang.ttc",
)


def file_stem(period: Period) -> str:
    return f"镇街晾晒专报_{period.code}"


# ───────────────────────────── the numbers ─────────────────────────────

@dataclass
class ReportData:
    period: Period
    generated: date
    as_of: date | None  # the latest date in the data
    table: pd.DataFrame  # analytics.domain.ranking.ranking
    per_capita: pd.DataFrame  # analytics.domain.ranking.per_capita
    points: pd.DataFrame  # analytics.domain.points.quarter_table
    cfg: IndexConfig
    points_cfg: points_mod.PointsConfig
    rising: pd.DataFrame | None = None  # rising hot words, None when not available
    hot_issues: list | None = None  # the quarter's top hot issues (analytics.domain.hotissues), None when not available
    seconds: dict = field(default_factory=dict)
    unlocated: int = 0  # 民情民意 of the quarter without a town (未定位): in the district's figures only


def _as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    row = con.cursor().execute("""
        SELECT max(d) FROM (
            SELECT max(CAST(submitted_at AS DATE)) AS d FROM opinions
            UNION ALL SELECT max(date) FROM activities
            UNION ALL SELECT max(submitted_at) FROM suggestions)""").fetchone()
    return row[0] if row else None


def rising_words(con: duckdb.DuckDBPyConnection, period: Period, top: int = RISING_WORDS) -> pd.DataFrame | None:
    """Words rising in the quarter's opinions (``analytics.domain.hotwords.rising_words``, Kleinberg
    bursts by month), or None when that function or its segmented data is not there."""
    try:
        from analytics.domain import hotwords
    except ImportError:
        return None
    fn = getattr(hotwords, "rising_words", None)
    if fn is None:
        return None
    try:
        words = fn(con, period.start, period.end, grain="month", top=top)
    except Exception:  # no dictionary version or no segmented opinions yet: leave the sentence out
        return None
    if words is None or not len(words) or "word" not in words:
        return None
    return words.head(top).reset_index(drop=True)


def hot_issues(con: duckdb.DuckDBPyConnection, period: Period, top: int = HOT_ISSUES) -> list | None:
    """The quarter's top hot issues (``analytics.domain.hotissues.quarter_hot_issues``), or None when
    there are none or the opinions are not segmented."""
    from analytics.domain import hotissues

    try:
        issues = hotissues.quarter_hot_issues(con, period, top=top)
    except Exception:  # no dictionary version or no segmented opinions yet: leave the section out
        return None
    return issues or None


def hot_issue_rows(data: "ReportData") -> tuple[list[str], list[list[str]]]:
    header = ["排名", "热点问题", "热度", "意见数", "提交人数", "时间", "地点", "关键词"]
    rows = [[str(it["rank"]), it["title"], f"{it['heat']:.1f}", str(it["opinions"]), str(it["submitters"]),
             f"{it['first']:%Y年%m月%d日}至{it['last']:%Y年%m月%d日}", "、".join(it["places"][:3]) or "—",
             "、".join(it["terms"][:4])] for it in (data.hot_issues or [])]
    return header, rows


def gather(con: duckdb.DuckDBPyConnection, period=None, config: IndexConfig | None = None,
           points_config: points_mod.PointsConfig | None = None, with_hotwords: bool = True) -> ReportData:
    """Everything the report shows for a quarter (default: the latest quarter with data)."""
    cfg = config or load_config()
    pcfg = points_config or points_mod.load_points_config()
    if period is None:
        period = rk.default_quarter(con)
        if period is None:
            raise PeriodError("数据库里还没有民情民意、代表建议或履职活动数据，无法生成专报。")
    period = rk.as_quarter(period)
    t0 = time.perf_counter()
    table = rk.ranking(con, period, cfg)
    t1 = time.perf_counter()
    per_capita = rk.per_capita(con, period, cfg)
    pts = points_mod.quarter_table(con, period, pcfg)
    t2 = time.perf_counter()
    rising = rising_words(con, period) if with_hotwords else None
    issues = hot_issues(con, period) if with_hotwords else None
    t3 = time.perf_counter()
    return ReportData(period, date.today(), _as_of(con), table, per_capita, pts, cfg, pcfg, rising, issues,
                      {"ranking": t1 - t0, "per_capita_points": t2 - t1, "hotwords": t3 - t2},
                      unlocated_opinions(con, period))


# ───────────────────────────── the summary, written from the numbers ─────────────────────────────

def _f(v) -> str:
    return "—" if v is None or pd.isna(v) else f"{v:.1f}"


_delta = rk.delta_text


def _index_label(cfg: IndexConfig, key: str) -> str:
    return "综合指数" if key == "composite" else cfg.indices[key].label


def _strongest(row: dict, cfg: IndexConfig, best: bool) -> str | None:
    vals = [(row[k], k) for k in INDEX_KEYS if not pd.isna(row[k])]
    if not vals:
        return None
    v, k = max(vals) if best else min(vals)
    return f"{_index_label(cfg, k)}（{_f(v)}）"


def summary_paragraphs(data: ReportData) -> list[str]:
    """The summary in Chinese sentences, every figure taken from ``data``."""
    t, cfg = data.table, data.cfg
    ranked = t[t["rank"].notna()]
    unranked = t[t["rank"].isna()]
    out = []
    first = f"本季度（{data.period.label}）参与排名的镇街（开发区）{len(ranked)} 个"
    if len(unranked):
        first += f"，{len(unranked)} 个因数据不足（样本不足）未排名：{'、'.join(unranked['unit'])}"
    out.append(first + "。综合指数为五大评价指标的加权平均，0–100 分，反映在全区镇街中的相对位置。")
    if data.unlocated:
        out.append(f"另有未定位的民情民意 {data.unlocated:,} 条（导出里没有镇街或镇街认不出）：计入全区，"
                   "不计入任何镇街，也不参加本排名。")
    if not len(ranked):
        return out

    rows = ranked.to_dict("records")
    lead = "、".join(f"{r['unit']}（{_f(r['composite'])} 分，{rk.rank_range_text(r['rank_low'], r['rank_high'])}）"
                     for r in rows[:LEADERS])
    text = f"综合指数居前的是{lead}。"
    best = _strongest(rows[0], cfg, best=True)
    if best:
        text += f"{rows[0]['unit']}得分最高的是{best}。"
    out.append(text)

    if len(rows) > LEADERS:
        tail = rows[-LEADERS:][::-1]
        lag = "、".join(f"{r['unit']}（{_f(r['composite'])} 分，第{int(r['rank'])}名）" for r in tail)
        text = f"综合指数靠后的是{lag}。"
        weak = _strongest(tail[0], cfg, best=False)
        if weak:
            text += f"{tail[0]['unit']}最弱的是{weak}，建议重点关注。"
        out.append(text)

    moved = ranked[ranked["change"].notna()]
    if len(moved):
        up = moved[moved["change"] > 0].sort_values(["change", "score_change"], ascending=False).head(MOVERS)
        down = moved[moved["change"] < 0].sort_values(["change", "score_change"]).head(MOVERS)
        parts = []
        if len(up):
            parts.append("上升最多的是" + "、".join(
                f"{r.unit}（上升 {int(r.change)} 位，{_delta(r.score_change)} 分）" for r in up.itertuples()))
        if len(down):
            parts.append("下降最多的是" + "、".join(
                f"{r.unit}（下降 {int(-r.change)} 位，{_delta(r.score_change)} 分）" for r in down.itertuples()))
        if parts:
            out.append(f"与上季度相比，{'；'.join(parts)}。")
        else:
            out.append("与上季度相比，各镇街名次没有变化。")
    else:
        out.append("上季度没有可比的排名，本期不作升降比较。")

    width = ranked["rank_high"] - ranked["rank_low"] + 1
    wide = ranked[width >= WIDE_RANGE]
    out.append(
        "名次也带有偶然性，排名区间是每个镇街名次可能的范围（算法见附录二）。"
        f"{len(wide)} 个镇街的区间跨越 {WIDE_RANGE} 个及以上名次"
        + (f"（如{wide.iloc[0]['unit']}{rk.rank_range_text(wide.iloc[0]['rank_low'], wide.iloc[0]['rank_high'])}）"
           if len(wide) else "")
        + "，区间重叠的镇街之间差别不大，不宜据零点几分的差距下结论。")

    pts = data.points
    if len(pts):
        done = pts[pts["quarter_ratio"] >= 1]
        low = pts.sort_values("quarter_ratio").head(LEADERS)
        text = (f"月度量化专项行动积分：本季度 {len(done)} 个镇街完成季度目标，{len(pts) - len(done)} 个未完成；"
                f"完成进度最低的是" + "、".join(f"{r.town}（{r.quarter_ratio:.0%}）" for r in low.itertuples()) + "。")
        ytd_done = int((pts["ytd_ratio"] >= 1).sum())
        text += f"年度累计（1 月至 {data.period.months()[-1].n} 月）达到进度的镇街 {ytd_done} 个。"
        out.append(text)

    if data.rising is not None and len(data.rising):
        words = "、".join(f"“{w}”" for w in data.rising["word"])
        out.append(f"群众意见中上升明显的热词有{words}，可结合热词分析页面查看具体意见，研究是否列入监督项目备选库。")
    return out


# ───────────────────────────── charts ─────────────────────────────

@lru_cache(maxsize=1)
def cjk_font_family() -> str | None:
    """Register a CJK font with matplotlib and return its family name (None when none is found)."""
    from matplotlib import font_manager

    for pattern in _CJK_FONT_GLOBS:
        for path in sorted(glob.glob(pattern, recursive=True)):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
            names = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
            sc = [n for n in names if n.endswith(" SC") and "Mono" not in n]
            if sc or names:
                return (sc or names)[0]
    return None


def _rc() -> dict:
    family = cjk_font_family()
    return {"font.family": [family, "DejaVu Sans"] if family else ["DejaVu Sans"],
            "axes.unicode_minus": False, "font.size": 9}


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=180, bbox_inches="tight")
    return buf.getvalue()


def chart_ranking(data: ReportData) -> bytes:
    """Composite by town (bars) beside each town's rank range (line from low to high, dot at rank)."""
    import matplotlib
    from matplotlib.figure import Figure

    ranked = data.table[data.table["rank"].notna()].reset_index(drop=True)
    n = max(len(ranked), 1)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(6.6, 0.27 * n + 1.3))
        ax1, ax2 = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [3, 2], "wspace": 0.05})
        y = np.arange(len(ranked))
        ax1.barh(y, ranked["composite"], color="#4C78A8", height=0.65)
        for yi, v in zip(y, ranked["composite"]):
            ax1.text(v + 1, yi, f"{v:.1f}", va="center", fontsize=7.5)
        ax1.set_yticks(y, [f"{int(r)}. {u}" for r, u in zip(ranked["rank"], ranked["unit"])])
        ax1.invert_yaxis()
        ax1.set_xlim(0, 105)
        ax1.set_xlabel("综合指数（0–100）")
        ax1.set_title("综合指数", fontsize=10)
        ax2.hlines(y, ranked["rank_low"], ranked["rank_high"], color="#9ecae1", linewidth=4)
        ax2.plot(ranked["rank"], y, "o", color="#08519c", markersize=4)
        ax2.set_xlim(n + 0.8, 0.2)
        ax2.set_xlabel("名次（线段为排名区间）")
        ax2.set_title("排名区间", fontsize=10)
        for ax in (ax1, ax2):
            ax.grid(axis="x", color="#dddddd", linewidth=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        fig.suptitle(f"镇街综合指数与排名区间（{data.period.label}）", fontsize=11)
        return _png(fig)


def chart_indices(data: ReportData) -> bytes:
    """The five indices of every town as a heat map (towns in rank order, 样本不足 grey)."""
    import matplotlib
    from matplotlib.figure import Figure

    t = data.table
    values = t[list(INDEX_KEYS)].to_numpy(float)
    labels = [_index_label(data.cfg, k).removesuffix("指数") for k in INDEX_KEYS]
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(5.6, 0.27 * len(t) + 1.3))
        ax = fig.subplots()
        cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#d9d9d9")
        im = ax.imshow(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=100, aspect="auto")
        for i in range(values.shape[0]):
            for j in range(values.shape[1]):
                v = values[i, j]
                ax.text(j, i, "—" if np.isnan(v) else f"{v:.0f}", ha="center", va="center", fontsize=7.5)
        ax.set_xticks(range(len(labels)), labels)
        ax.xaxis.tick_top()
        ax.set_yticks(range(len(t)), [u if pd.notna(r) else f"{u}（样本不足）" for u, r in zip(t["unit"], t["rank"])])
        fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02, label="得分")
        fig.suptitle(f"五大评价指标得分（{data.period.label}，按综合排名排列）", fontsize=11)
        return _png(fig)


def chart_points(data: ReportData) -> bytes:
    """Quarter progress of the monthly action points per town (bars), year to date (diamonds)."""
    import matplotlib
    from matplotlib.figure import Figure

    p = data.points.sort_values(["quarter_ratio", "town"], ascending=[False, True]).reset_index(drop=True)
    with matplotlib.rc_context(_rc()):
        fig = Figure(figsize=(6.4, 0.27 * len(p) + 1.3))
        ax = fig.subplots()
        y = np.arange(len(p))
        ratio = p["quarter_ratio"].to_numpy(float) * 100
        colors = ["#54A24B" if r >= 100 else "#F58518" for r in ratio]
        ax.barh(y, ratio, color=colors, height=0.65, label="本季度完成进度")
        ytd = p["ytd_ratio"].to_numpy(float) * 100
        ax.plot(ytd, y, "D", color="#333333", markeredgecolor="white", markeredgewidth=0.6, markersize=4,
                label="年度累计进度", zorder=3)
        for yi, v in zip(y, ratio):  # the bar's own value inside its end (the diamond is another figure)
            inside = v >= 20
            ax.text(v - 1.5 if inside else v + 1.5, yi, f"{v:.0f}%", va="center", ha="right" if inside else "left",
                    fontsize=7, color="white" if inside else "#333333")
        ax.axvline(100, color="#B22222", linewidth=1, linestyle="--")
        ax.set_yticks(y, p["town"])
        ax.invert_yaxis()
        ax.set_xlim(0, max(110.0, float(np.nanmax(np.r_[ratio, ytd])) * 1.15 if len(ratio) else 110.0))
        ax.set_xlabel("积分 ÷ 目标（%）；虚线为 100%")
        ax.legend(loc="lower right", fontsize=7.5, frameon=False)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        fig.suptitle(f"月度量化专项行动积分完成进度（{data.period.label}）", fontsize=11)
        return _png(fig)


# ───────────────────────────── tables as rows of text ─────────────────────────────

RANKING_HEADER = ["排名", "排名区间", "镇街", "综合指数", "较上季度"]


def ranking_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    """The ranking table as the 专报 prints it: one row per town, ranked first, 样本不足 last."""
    header = RANKING_HEADER + [_index_label(data.cfg, k).removesuffix("指数") for k in INDEX_KEYS]
    rows = []
    for r in data.table.to_dict("records"):
        if pd.isna(r["rank"]):
            rank, rng, move = "—", "样本不足", ""
        else:
            rank, rng = str(int(r["rank"])), rk.rank_range_text(r["rank_low"], r["rank_high"])
            move = rk.change_text(r["change"])
            if not pd.isna(r["score_change"]):
                move = f"{move}（{_delta(r['score_change'])}）" if move else _delta(r['score_change'])
        rows.append([rank, rng, str(r["unit"]), _f(r["composite"]), move] + [_f(r[k]) for k in INDEX_KEYS])
    return header, rows


def points_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    months = data.points.attrs["months"]
    header = ["镇街"] + [f"{int(m[-2:])}月" for m in months] + ["季度积分", "季度目标", "完成进度", "年度累计", "年度进度"]
    rows = []
    for r in data.points.to_dict("records"):
        rows.append([r["town"]] + [f"{r[m]:.1f}" for m in months]
                    + [f"{r['quarter']:.1f}", f"{r['quarter_target']:g}", f"{r['quarter_ratio']:.0%}",
                       f"{r['ytd_points']:.1f}", f"{r['ytd_ratio']:.0%}"])
    return header, rows


def per_capita_rows(data: ReportData) -> tuple[list[str], list[list[str]]]:
    pc = data.per_capita
    order = {u: i for i, u in enumerate(data.table["unit_id"])}
    pc = pc.assign(_o=pc["unit_id"].map(order)).sort_values("_o")
    measures = [m for m in rk.PER_CAPITA_MEASURES if m in pc]
    labels = pc.attrs["labels"]
    header = ["镇街", "常住人口（万）", "代表人数"]
    header += [f"{labels[m]}/万人" for m in measures] + [f"{labels[m]}/代表" for m in measures]
    rows = []
    for r in pc.to_dict("records"):
        pop = "未知" if pd.isna(r["population"]) else f"{r['population'] / 1e4:.1f}"
        reps = "—" if pd.isna(r["reps"]) else f"{int(r['reps'])}"
        per10k = ["未知" if pd.isna(r[f"{m}_per_10k"]) else f"{r[f'{m}_per_10k']:.1f}" for m in measures]
        perrep = ["—" if pd.isna(r[f"{m}_per_rep"]) else f"{r[f'{m}_per_rep']:.2f}" for m in measures]
        rows.append([str(r["unit"]), pop, reps, *per10k, *perrep])
    return header, rows


def definitions(data: ReportData) -> list[tuple[str, list[str]]]:
    """The appendix: (heading, paragraphs) — index definitions from the configuration, the ranking
    rules, the point rules."""
    cfg = data.cfg
    out = []
    idx_lines = [
        "五大评价指标各由几个分项加权组成，各分项和权重见下文。",
        "数据少的镇街，比率很容易偶然偏高或偏低。为了不让它们凭运气冒尖或垫底，每个分项先往全部镇街的平均水平拉近一些："
        f"比率类（如办结率）相当于先添上 {cfg.rate_prior:g} 条平均水平的记录，人均类（如每名代表的活动场次）相当于先添上 "
        f"{cfg.count_prior:g} 次平均水平的活动或意见。数据越多，拉动越小：几百条记录的镇街几乎不受影响。",
        "然后看它在全部镇街中排在什么位置，折成 0 到 100 分：排在正中间约 50 分，比所有镇街都好接近 100 分，"
        "得分相同的镇街分数相同。所以得分说的是“在镇街中的位置”，不是完成了百分之多少。",
        f"数据太少（低于最小样本）的分项不计分；计分的分项合计不到该指数权重的 {cfg.min_coverage:.0%} 时，"
        "这个指数记为“样本不足”，既不打分，也不算 0 分；综合指数同理。"
    ]
    for key in INDEX_KEYS:
        idx = cfg.indices[key]
        parts = []
        for c in idx.components:
            num = MEASURES[c.numerator].label + (f"［{'、'.join(c.types)}］" if c.types else "")
            parts.append(f"{c.label} = {num} ÷ {MEASURES[c.denominator].label}（权重 {c.weight:g}）")
        idx_lines.append(f"{idx.label}（在综合指数中的权重 {idx.weight:g}）：" + "；".join(parts) + "。")
    out.append(("附录一　五大评价指标的定义", idx_lines))
    out.append(("附录二　排名规则", [
        "并列规则：按显示的综合指数（保留 1 位小数）排名，得分相同的镇街名次相同，其后的名次顺延"
        "（如 1、2、2、4），不以其他指标打破并列。",
        "排名区间（名次可能的范围）：数据有限，名次也带有偶然性。好比把各镇街的情况重新“抽查”一遍："
        f"按每个镇街自己的数据量随机重来 {data.table.attrs.get('replicates', rk.REPLICATES)} 次，每次用同样的方法重算得分和名次，"
        "去掉最靠前和最靠后的各 5%，剩下的名次范围就是排名区间（总包含实际名次）。区间窄，名次可靠；"
        "两个镇街的区间重叠，它们的名次之差不宜当作定论。随机数固定，同样的数据总是得到同样的区间。",
        "较上季度：名次变化 = 上季度名次 − 本季度名次（正数为上升）；得分变化 = 本季度综合指数 − 上季度综合指数。"
        "任一季度样本不足的不作比较。",
        "样本不足的镇街不参加排名，列在表末。",
        "人均视图：常住人口取自基层单元名册，未填写的显示为“未知”，不按 0 计算。",
    ]))
    out.append(("附录三　月度量化专项行动积分规则", points_mod.rules_text(data.points_cfg)))
    return out


# ───────────────────────────── Word ─────────────────────────────

def _east_asian(element, east_asia: str, latin: str = FONT_LATIN) -> None:
    """Set explicit fonts on a run's or style's rPr, dropping theme fonts that would override them."""
    from docx.oxml.ns import qn

    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = rpr.makeelement(qn("w:rFonts"), {})
        rpr.insert(0, fonts)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)


def _run(paragraph, text: str, *, font: str = FONT_BODY, size: float | None = None, bold: bool = False,
         color: tuple[int, int, int] | None = None):
    from docx.shared import Pt, RGBColor

    run = paragraph.add_run(text)
    _east_asian(run._element, font)
    if size:
        run.font.size = Pt(size)
    run.font.bold = bold
    if color:
        run.font.color.rgb = RGBColor(*color)
    return run


def _setup_styles(doc) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt, RGBColor

    normal = doc.styles["Normal"]
    normal.font.size = Pt(11)
    _east_asian(normal.element, FONT_BODY)
    lang = normal.element.get_or_add_rPr().makeelement(qn("w:lang"), {qn("w:val"): "en-US", qn("w:eastAsia"): "zh-CN"})
    normal.element.get_or_add_rPr().append(lang)
    for name, size in (("Title", 20), ("Heading 1", 15), ("Heading 2", 12.5)):
        st = doc.styles[name]
        _east_asian(st.element, FONT_HEAD)
        st.font.size = Pt(size)
        st.font.color.rgb = RGBColor(0, 0, 0)
        st.font.bold = True


def _heading(doc, text: str, level: int, new_page: bool = False) -> None:
    p = doc.add_heading(level=level)
    p.paragraph_format.page_break_before = new_page  # a table of 23 rows then fits on its page
    _run(p, text, font=FONT_HEAD)


def _para(doc, text: str, *, size: float | None = None, indent: bool = True, color=None, align=None):
    from docx.shared import Pt

    p = doc.add_paragraph()
    if indent:
        p.paragraph_format.first_line_indent = Pt(22)
    p.paragraph_format.space_after = Pt(4)
    p.paragraph_format.line_spacing = 1.3
    if align is not None:
        p.alignment = align
    _run(p, text, size=size, color=color)
    return p


def _shade(cell, fill: str) -> None:
    from docx.oxml.ns import qn

    tc_pr = cell._element.get_or_add_tcPr()
    shd = tc_pr.makeelement(qn("w:shd"), {qn("w:val"): "clear", qn("w:color"): "auto", qn("w:fill"): fill})
    tc_pr.append(shd)


def _table(doc, header: list[str], rows: list[list[str]], widths_cm: list[float], size: float = 8.5,
           grey_rows: set[int] = frozenset(), left_cols: set[int] = frozenset({0})):
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    table = doc.add_table(rows=1 + len(rows), cols=len(header))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for j, w in enumerate(widths_cm):  # the grid (LibreOffice lays out by it) and each cell (Word)
        table.columns[j].width = Cm(w)
    # The header row repeats on every page.
    tr_pr = table.rows[0]._tr.get_or_add_trPr()
    tr_pr.append(tr_pr.makeelement(qn("w:tblHeader"), {qn("w:val"): "true"}))
    for i, (row, tr) in enumerate(zip([header, *rows], table.rows)):
        cells = tr.cells  # once per row: table.cell(i, j) rescans the whole grid every call
        for j, text in enumerate(row):
            cell = cells[j]
            cell.width = Cm(widths_cm[j])
            p = cell.paragraphs[0]
            p.paragraph_format.space_after = Pt(0)
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if (j in left_cols and i > 0) else WD_ALIGN_PARAGRAPH.CENTER
            grey = i - 1 in grey_rows
            _run(p, text, size=size, bold=(i == 0), font=FONT_HEAD if i == 0 else FONT_BODY,
                 color=(0x80, 0x80, 0x80) if grey else None)
            if i == 0:
                _shade(cell, "D9E2F3")
    return table


def _caption(doc, text: str) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    _para(doc, text, size=9, indent=False, color=(0x59, 0x59, 0x59), align=WD_ALIGN_PARAGRAPH.LEFT)


def _picture(doc, png: bytes, width_cm: float) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    doc.add_picture(io.BytesIO(png), width=Cm(width_cm))
    doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER


def build_docx(data: ReportData) -> bytes:
    """The 专报 as a .docx: title and date, summary, ranking table and charts, monthly points,
    per-capita view, appendix with the definitions."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm

    doc = docx.Document()
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2.0)
    sec.top_margin = sec.bottom_margin = Cm(2.2)
    _setup_styles(doc)
    doc.core_properties.title = f"{REPORT_TITLE}（{data.period.label}）"
    doc.core_properties.author = ISSUER

    title = doc.add_paragraph(style="Title")
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(title, REPORT_TITLE, font=FONT_HEAD, size=20, bold=True)
    sub = doc.add_paragraph()
    sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
    _run(sub, data.period.label, font=FONT_HEAD, size=14)
    meta = doc.add_paragraph()
    meta.alignment = WD_ALIGN_PARAGRAPH.CENTER
    as_of = f"{data.as_of:%Y年%m月%d日}" if data.as_of else "—"
    _run(meta, f"{ISSUER}生成　生成日期：{data.generated:%Y年%m月%d日}　数据截至：{as_of}", size=10,
         color=(0x59, 0x59, 0x59))

    _heading(doc, "一、总体情况", 1)
    for text in summary_paragraphs(data):
        _para(doc, text)

    _heading(doc, "二、综合排名", 1, new_page=True)
    header, rows = ranking_rows(data)
    grey = {i for i, r in enumerate(rows) if r[0] == "—"}
    _table(doc, header, rows, [1.0, 2.1, 3.4, 1.6, 2.4] + [6.5 / len(INDEX_KEYS)] * len(INDEX_KEYS), grey_rows=grey,
           left_cols={2})
    _caption(doc, "说明：得分 0–100，表示在全部镇街中的位置（50 约为中等）；排名按显示的综合指数（1 位小数），得分相同名次相同；"
                  "排名区间是名次可能的范围（见附录二）；较上季度栏为名次变化（括号内为得分变化）；"
                  "样本不足的镇街不排名，列在表末。")
    _picture(doc, chart_ranking(data), 16.5)
    _picture(doc, chart_indices(data), 14.5)

    _heading(doc, "三、月度量化专项行动积分", 1, new_page=True)
    _para(doc, "各镇街每月的活动积分、民情民意积分与建议答复积分之和，与月度目标相比的完成进度（规则见附录三）。")
    header, rows = points_rows(data)
    n_months = len(data.points.attrs["months"])
    _table(doc, header, rows, [3.4] + [1.3] * n_months + [1.6, 1.6, 1.6, 1.7, 1.6])
    _picture(doc, chart_points(data), 15.5)

    _heading(doc, "四、人均视图", 1, new_page=True)
    _para(doc, "按常住人口（每万人）和代表人数（每名代表）折算的本季度工作量，便于规模不同的镇街相互比较。"
               "常住人口未填写的显示为“未知”。")
    header, rows = per_capita_rows(data)
    k = (len(header) - 3)
    _table(doc, header, rows, [3.4, 1.5, 1.3] + [10.8 / max(k, 1)] * k, size=7.5)

    if data.hot_issues:
        from analytics.domain.hotissues import HEAT_FORMULA

        _heading(doc, "五、群众反映的热点问题", 1, new_page=True)
        _para(doc, "同一地点、同一事项的群众意见归并为一个热点问题（相似留言、不同提交人、前后相隔不超过 60 天），"
                   "按热度排列本季度的前几位，可作为人大监督议题的参考。")
        header, rows = hot_issue_rows(data)
        _table(doc, header, rows, [1.0, 4.2, 1.2, 1.2, 1.4, 3.2, 2.6, 2.2], left_cols={1, 6, 7})
        _caption(doc, f"说明：{HEAT_FORMULA}（支持数在导出文件有该列时计入）。")

    for i, (heading, lines) in enumerate(definitions(data)):
        _heading(doc, heading, 1, new_page=(i == 0))
        for line in lines:
            _para(doc, line, size=10)

    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# ───────────────────────────── Excel ─────────────────────────────

SIGNED = "+0.0;-0.0;0.0"  # a change to one decimal with its sign
RANK = safe_export.INTEGER
SCORE = safe_export.ONE_DECIMAL


def _sheet(wb, title: str, header: list[str], rows: list[list], formats: dict[str, str] | None = None) -> None:
    """A sheet: bold header, frozen first row, widths from the content; ``formats`` gives columns
    (by header) a number format, so a share reads 84.8% and a score 52.1 (the cells keep full values)."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    ws = wb.create_sheet(title)
    ws.append([safe_cell(h) for h in header])
    for row in rows:
        ws.append([safe_cell(None if isinstance(v, float) and np.isnan(v) else v) for v in row])
    safe_export.number_formats(ws, header, formats or {})
    bold, fill = Font(bold=True), PatternFill("solid", fgColor="D9E2F3")
    for c in ws[1]:
        c.font, c.fill = bold, fill
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    ws.freeze_panes = "A2"
    for j, h in enumerate(header, start=1):
        width = max([len(str(h))] + [len(str(r[j - 1])) for r in rows if r[j - 1] is not None]) if rows else len(h)
        ws.column_dimensions[get_column_letter(j)].width = min(40, max(8, width * 1.8 + 2))


def _num_or_none(v, digits: int = 1):
    return None if v is None or pd.isna(v) else round(float(v), digits)


def build_xlsx(data: ReportData) -> bytes:
    """The report's tables as a workbook: 综合排名, 各指数排名, 月度积分, 人均视图, 热点问题 (when there are
    some), 说明."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    cfg, t = data.cfg, data.table
    idx_labels = [_index_label(cfg, k) for k in INDEX_KEYS]
    header = ["排名", "排名区间下限", "排名区间上限", "单元编号", "镇街", "综合指数", "上季度排名", "上季度综合指数",
              "名次变化（正数为上升）", "得分变化", *idx_labels, "样本不足"]
    rows = []
    for r in t.to_dict("records"):
        rows.append([_num_or_none(r["rank"], 0), _num_or_none(r["rank_low"], 0), _num_or_none(r["rank_high"], 0),
                     r["unit_id"], r["unit"], _num_or_none(r["composite"]), _num_or_none(r["prev_rank"], 0),
                     _num_or_none(r["prev_composite"]), _num_or_none(r["change"], 0), _num_or_none(r["score_change"]),
                     *[_num_or_none(r[k]) for k in INDEX_KEYS], "是" if r["insufficient"] else "否"])
    _sheet(wb, "综合排名", header, rows, {
        **dict.fromkeys(["排名", "排名区间下限", "排名区间上限", "上季度排名"], RANK), "名次变化（正数为上升）": "+0;-0;0",
        **dict.fromkeys(["综合指数", "上季度综合指数", *idx_labels], SCORE), "得分变化": SIGNED})

    header = ["镇街", "指数", "排名", "排名区间下限", "排名区间上限", "得分", "上季度排名", "名次变化", "得分变化"]
    rows = []
    for key in INDEX_KEYS:
        for r in rk.by_index(t, key).to_dict("records"):
            rows.append([r["unit"], _index_label(cfg, key), _num_or_none(r["rank"], 0), _num_or_none(r["rank_low"], 0),
                         _num_or_none(r["rank_high"], 0), _num_or_none(r["score"]), _num_or_none(r["prev_rank"], 0),
                         _num_or_none(r["change"], 0), _num_or_none(r["score_change"])])
    _sheet(wb, "各指数排名", header, rows, {**dict.fromkeys(["排名", "排名区间下限", "排名区间上限", "上季度排名"], RANK),
                                          "名次变化": "+0;-0;0", "得分": SCORE, "得分变化": SIGNED})

    months = data.points.attrs["months"]
    header = ["镇街", *[f"{m} 积分" for m in months], "季度积分", "季度目标", "季度完成进度", "年度累计积分",
              "年度累计目标", "年度累计进度"]
    rows = [[r["town"], *[_num_or_none(r[m], 2) for m in months], _num_or_none(r["quarter"], 2),
             _num_or_none(r["quarter_target"], 2), _num_or_none(r["quarter_ratio"], 4),
             _num_or_none(r["ytd_points"], 2), _num_or_none(r["ytd_target"], 2), _num_or_none(r["ytd_ratio"], 4)]
            for r in data.points.to_dict("records")]
    _sheet(wb, "月度积分", header, rows, {
        **dict.fromkeys([*[f"{m} 积分" for m in months], "季度积分", "季度目标", "年度累计积分", "年度累计目标"], SCORE),
        "季度完成进度": safe_export.PERCENT, "年度累计进度": safe_export.PERCENT})

    pc = data.per_capita
    labels = pc.attrs["labels"]
    measures = [m for m in rk.PER_CAPITA_MEASURES if m in pc]
    header = ["单元编号", "镇街", "常住人口", "代表人数"]
    header += [labels[m] for m in measures] + [f"{labels[m]}/万人" for m in measures] + [f"{labels[m]}/代表" for m in measures]
    rows = []
    for r in pc.to_dict("records"):
        rows.append([r["unit_id"], r["unit"], "未知" if pd.isna(r["population"]) else int(r["population"]),
                     _num_or_none(r["reps"], 0), *[_num_or_none(r[m], 1) for m in measures],
                     *["未知" if pd.isna(r[f"{m}_per_10k"]) else round(float(r[f"{m}_per_10k"]), 2) for m in measures],
                     *[_num_or_none(r[f"{m}_per_rep"], 3) for m in measures]])
    _sheet(wb, "人均视图", header, rows, {
        "代表人数": RANK, **{labels[m]: SCORE for m in measures},
        **{f"{labels[m]}/万人": safe_export.TWO_DECIMALS for m in measures},
        **{f"{labels[m]}/代表": safe_export.TWO_DECIMALS for m in measures}})

    if data.hot_issues:
        header, rows = hot_issue_rows(data)
        _sheet(wb, "热点问题", header, rows)

    notes = [[f"{REPORT_TITLE}（{data.period.label}）"], [f"生成日期 {data.generated:%Y-%m-%d}"]]
    notes += [[p] for p in summary_paragraphs(data)]
    for heading, lines in definitions(data):
        notes.append([heading])
        notes += [[line] for line in lines]
    _sheet(wb, "说明", ["内容"], notes)
    wb["说明"].column_dimensions["A"].width = 120

    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ───────────────────────────── files and command line ─────────────────────────────

def write_report(con: duckdb.DuckDBPyConnection, out_dir, period=None) -> dict:
    """Write ``镇街晾晒专报_<quarter>.docx`` and ``.xlsx`` into ``out_dir``; returns their paths
    and the seconds each step took."""
    t0 = time.perf_counter()
    data = gather(con, period)
    t1 = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    docx_path = out / f"{file_stem(data.period)}.docx"
    xlsx_path = out / f"{file_stem(data.period)}.xlsx"
    docx_path.write_bytes(build_docx(data))
    t2 = time.perf_counter()
    xlsx_path.write_bytes(build_xlsx(data))
    t3 = time.perf_counter()
    return {"period": data.period.code, "docx": docx_path, "xlsx": xlsx_path,
            "seconds": {"gather": t1 - t0, **data.seconds, "docx": t2 - t1, "xlsx": t3 - t2, "total": t3 - t0}}
