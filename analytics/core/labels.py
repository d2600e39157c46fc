"""Chinese labels of the interface, in one place: page titles and descriptions, metric names, UI words.

A label is data, not an identifier: code uses the English keys, pages look the words up here.
Definitions of figures (formulas in words) live next to their code in ``analytics/domain/metrics.py``.
"""
from __future__ import annotations

from dataclasses import dataclass

APP_TITLE = "代表联络站驾驶舱"
DISTRICT = "全区"  # the whole district: town = None
# Opinions without a town (no town column, or a value that names no town of the district): counted in
# the district's figures, never in a town's or in the ranking; shown as their own line.
UNLOCATED = "未定位"
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
    PageLabel("users", "用户与审计", ":material/admin_panel_settings:",
              "管理驾驶舱的用户（添加、停用、重设密码、修改角色），查阅审计日志：谁在什么时候登录、导入、撤销、"
              "修改词典和备选库、导出了什么文件。"),
)
PAGE_BY_PATH = {p.url_path: p for p in PAGES}

# Headline figures (keys as in analytics.domain.metrics.METRICS).
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
BAD_PERIOD = "链接中的期间“{value}”无法识别或没有数据，已改为 {fallback}。"
BAD_TOWN = "链接中的范围“{value}”不是萧山区的镇街，已改为全区。"
BOOTSTRAP_TITLE = "首次启动：正在生成并导入演示数据…"
BOOTSTRAP_DONE = "演示数据已就绪"
STORE_BUSY = "数据库正被导入程序占用，请稍后刷新页面。"

# Login, roles and refusals (pages/_access.py, analytics/access/users.py; docs/security.md).
AUTH_DEMO_MODE = ("**演示模式**：尚未设置任何用户，驾驶舱无需登录，且只能在本机打开。"
                  "用 `python -m analytics users add 姓名 --role 管理员` 添加用户后，所有页面都需要登录。")
AUTH_NO_USERS_REMOTE = ("驾驶舱尚未设置任何用户，而您是从其他计算机访问的：为保护群众的个人信息，"
                        "未设置用户时只能在服务器本机打开。请管理员先用 `python -m analytics users add 姓名 --role 管理员` 添加用户。")
AUTH_LOGIN_TITLE = "登录"
AUTH_NAME = "用户名"
AUTH_PASSWORD = "密码"
AUTH_LOGIN = "登录"
AUTH_LOGOUT = "退出登录"
AUTH_OIDC_BUTTON = "使用统一身份认证登录"
AUTH_OR_PASSWORD = "或使用驾驶舱的用户名和密码："
AUTH_OIDC_NO_AUTHLIB = "统一身份认证已在 .streamlit/secrets.toml 中配置，但服务器上还没有安装 Authlib（pip install \"Authlib>=1.3.2\"），暂时只能用密码登录。"
AUTH_OIDC_UNMAPPED = "您已通过统一身份认证，但这个身份还没有驾驶舱的账户（或账户已停用）。请联系管理员。"
AUTH_LOGIN_HELP = "忘记密码或账户被停用，请联系管理员。连续输错密码后需要等待一段时间才能再试。"
AUTH_EXPIRED = "您已超过 {minutes} 分钟没有操作，为安全起见请重新登录。"
AUTH_GONE = "您的账户已被停用或删除，请联系管理员。"
AUTH_SESSION_ENDED = "这次登录已经结束（已在别处退出，或密码、角色已更改），请重新登录。"
AUTH_REFUSED = "您的角色（{role}）无权打开“{page}”。如需使用，请联系管理员。"
AUTH_SIGNED_IN = "当前用户"
AUTH_CHANGE_PASSWORD = "修改密码"
AUTH_OLD_PASSWORD = "原密码"
AUTH_NEW_PASSWORD = "新密码"
AUTH_NEW_PASSWORD_AGAIN = "再输一次新密码"
AUTH_MUST_CHANGE = "您正在使用管理员生成的一次性密码，请先设置自己的新密码。"

# ───────────────────────────── the five indices (analytics/domain/indices.py) ─────────────────────────────

LEVEL_LABELS = {"district": "全区", "town": "镇街", "station": "联络站"}
COMPOSITE_LABEL = "综合指数"
INSUFFICIENT = "样本不足"  # shown instead of a score: never 0
# What each index asks, in one line (the headings of docs/indices.md section 4 say the same; a
# test keeps the two in step). Weights and components come from data/indices.toml.
INDEX_PURPOSES = {
    "activity": "单元是否经常开门、有人来",
    "practice": "代表是否按履职清单履职",
    "supervision": "监督履职的力度",
    "resolution": "群众的事办得怎么样",
    "study": "学习与能力提升",
    "composite": "五个指数的加权平均",
}
# Columns of a score receipt (indices.receipt).
RECEIPT_LABELS = {
    "index": "指数", "component": "分项代号", "label": "分项", "kind": "类型", "numerator": "分子",
    "denominator": "分母", "raw": "原始值", "prior": "同级平均", "adjusted": "调整后",
    "score": "得分", "weight": "权重", "effective_weight": "有效权重", "contribution": "贡献",
    "insufficient": "样本不足", "note": "说明",
}
# Columns of the rows behind a figure (indices.receipt_rows, analytics.domain.alerts).
ROW_LABELS = {
    "opinion_id": "编号", "submitted_at": "提交时间", "channel": "来源渠道", "town": "镇街", "station": "联络站",
    "title": "标题", "category": "分类", "submitter": "提交人", "status": "状态", "closed_at": "办结时间",
    "satisfaction": "满意度", "activity_id": "活动编号", "date": "活动日期", "type": "活动类型",
    "topic": "活动主题", "participants": "参与代表", "headcount": "参与人次", "opinions_collected": "收集意见数",
    "rep_id": "代表编号", "name": "姓名", "rep_level": "代表层级", "participations": "参加活动次数",
    "suggestions_led": "领衔建议件数", "duties": "履职次数", "must_do": "达标所需次数", "points": "履职积分",
    "on_pace": "“十必做”达到进度的项数",
    "suggestion_id": "建议编号", "session": "届次会次", "lead_rep": "领衔代表", "answer_class": "答复类别",
    "answered_at": "答复时间", "evaluation": "代表评价",
    "in_numerator": "计入分子", "in_denominator": "计入分母", "credit": "计分",
    # alerts
    "handler": "承办单位", "assigned_at": "交办时间", "deadline": "办结期限", "days_overdue": "逾期天数",
    "main_handler": "主办单位", "supervision": "督办方式", "due_at": "答复期限", "submit_type": "提出类型",
    "unit": "单元", "level": "层级", "index": "指数", "score": "本期得分", "previous": "上期得分",
    "change": "变化", "indices": "样本不足的指数", "composite": "综合指数",
    "component": "分项代号", "label": "分项", "numerator": "分子", "denominator": "分母", "note": "说明",
}
# Answer classes of a suggestion (the scheme is configuration: data/contract.toml [vocab.answer_class]).
ANSWER_CLASS_LABELS = {"A": "已解决或基本解决", "B": "正在解决或列入计划", "C": "因条件限制暂难解决"}
