"""Chinese labels of the interface, in one place: page titles and descriptions, metric names, UI words.

A label is data, not an identifier: code uses the English keys, pages look the words up here.
Definitions of figures (formulas in words) live next to their code in ``analytics/metrics.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

APP_TITLE = "代表联络站驾驶舱"
DISTRICT = "全区"  # the whole district: town = None
DISTRICT_NAME = "萧山区"


@dataclass(frozen=True)
class PageLabel:
    url_path: str  # also the module name under pages/
    title: str
    icon: str  # Material Symbols name, as st.Page takes it
    description: str  # what the page shows (or will show), one or two sentences


# In navigation order; the first is the default page.
PAGES: tuple[PageLabel, ...] = (
    PageLabel("cockpit", "驾驶舱", ":material/dashboard:",
              "所选期间与范围的核心数据：民情民意、办结率、满意率、代表建议、解决率、履职活动与参与代表人次，"
              "以及与上一期的比较。"),
    PageLabel("ranking", "镇街排名", ":material/leaderboard:",
              "23 个镇街（开发区）按五大评价指标（活跃、践行、监督、解忧、学思）的季度排名与晾晒，"
              "每个得分都可以展开看到它由哪些数据、按什么公式算出。"),
    PageLabel("hotwords", "热词分析", ":material/cloud:",
              "群众意见中的高频热词：本期与上期相比哪些词在上升、出现在哪些镇街，"
              "点开一个词可以读到它背后的意见原文（已脱敏）。"),
    PageLabel("candidates", "监督项目备选库", ":material/fact_check:",
              "由热词整理出的监督议题候选：来源热词、涉及意见数与镇街、分析员的备注与处理状态。"),
    PageLabel("suggestions", "代表建议", ":material/description:",
              "代表建议从提出、交办、督办、办理到答复和代表评价的全过程，"
              "包括逾期未答复、答复类别（A/B/C）和二次答复的跟踪。"),
    PageLabel("reps", "代表履职", ":material/badge:",
              "代表履职清单“十必做”的完成进度、履职积分与每位代表的履职轨迹。"),
    PageLabel("data", "数据管理", ":material/database:",
              "导入各平台导出的数据文件，查看每一批导入的结果和被拒收的行及原因，必要时撤销一次导入。"),
)
PAGE_BY_PATH = {p.url_path: p for p in PAGES}

# Headline figures (keys as in analytics.metrics.METRICS).
METRIC_LABELS = {
    "opinions": "收到民情民意",
    "closure_rate": "办结率",
    "satisfaction_rate": "满意率",
    "suggestions": "代表建议",
    "resolution_rate": "解决率",
    "activities": "履职活动",
    "participations": "参与代表人次",
}

GRAIN_LABELS = {"year": "年", "quarter": "季度", "month": "月"}
PREVIOUS_LABELS = {"year": "较上年", "quarter": "较上季度", "month": "较上月"}

# Shared sidebar and banners.
SIDEBAR_GRAIN = "统计周期"
SIDEBAR_PERIOD = "期间"
SIDEBAR_TOWN = "范围"
DEMO_BANNER = "当前显示的是系统生成的**演示数据**（虚构，仅供试用）。导入真实数据请到“数据管理”。"
NO_DATA = "数据库里还没有民情民意、代表建议或履职活动数据。请到“数据管理”导入数据。"
PLANNED = "此页面正在建设中，下一步将在这里展示："
BAD_PERIOD = "链接中的期间“{value}”无法识别或没有数据，已改为 {fallback}。"
BAD_TOWN = "链接中的范围“{value}”不是萧山区的镇街，已改为全区。"
BOOTSTRAP_TITLE = "首次启动：正在生成并导入演示数据…"
BOOTSTRAP_DONE = "演示数据已就绪"
STORE_BUSY = "数据库正被导入程序占用，请稍后刷新页面。"
