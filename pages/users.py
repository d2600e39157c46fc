"""用户与审计 — the admin's page: the users (add, disable / enable, reset password, change role, OIDC
identity) and the audit log (filters, download). With ``[privacy] admin_raw_names`` on, also the
look-up of one opinion's raw submitter name, each look-up audited.

Only 管理员 opens it (``analytics.access.users.ROLE_PAGES``); in demo mode (no users yet, this machine only)
it is where the first administrator can be added. Layout only: users are kept by ``analytics.access.users``,
the log by ``analytics.store.audit``.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import streamlit as st

from analytics.store import audit
from analytics.access import users as auth
from analytics.core import privacy
from analytics.core.safe_export import to_csv, to_xlsx
from pages import _access, _layout

URL_PATH = "users"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
LOG_DAYS = 30  # the log's default window


def _users_table(users: dict[str, auth.User]) -> None:
    if not users:
        st.info("还没有用户：驾驶舱以演示模式运行（无需登录，只能在本机打开）。添加的第一个用户必须是管理员。",
                icon=":material/person_add:")
        return
    rows = [{
        "用户名": u.name, "角色": u.role,
        "状态": "已停用" if u.disabled else ("待修改一次性密码" if u.must_change else "正常"),
        "登录方式": "、".join(x for x in ("密码" if u.password else "", "统一身份认证" if u.oidc else "") if x),
        "OIDC 身份": u.oidc, "创建时间": u.created_at.replace("T", " "), "最近修改": u.updated_at.replace("T", " "),
    } for u in sorted(users.values(), key=lambda u: (auth.ROLES.index(u.role), u.name))]
    _layout.dataframe(pd.DataFrame(rows), hide_index=True)


def _show_password(name: str, generated: str | None) -> None:
    if generated:
        st.success(f"用户“{name}”的一次性密码：`{generated}`　请当面或通过安全渠道交给本人；"
                   "它只显示这一次，本人首次登录时必须修改。", icon=":material/key:")


def _add_user(users: dict[str, auth.User]) -> None:
    first = not users
    with st.form("users_add", clear_on_submit=True):
        c1, c2 = st.columns(2)
        name = c1.text_input("用户名", max_chars=auth.MAX_NAME_LEN, help="汉字、字母、数字和 . _ - @ ·，最多 32 个字符")
        roles = [auth.ROLE_ADMIN] if first else list(auth.ROLES)
        role = c2.selectbox("角色", roles, help="第一个用户必须是管理员。" if first else None)
        oidc = c1.text_input("统一身份认证的身份（可空）", max_chars=254, help="用 OIDC 登录时对应的电子邮箱或账号标识")
        password = c2.text_input("密码（留空则生成一次性密码）", type="password", max_chars=auth.MAX_PASSWORD_LEN)
        ok = st.form_submit_button("添加用户", type="primary", icon=":material/person_add:")
    if not ok:
        return
    try:
        generated = auth.add_user(name, role, password or None, oidc=oidc)
    except auth.AuthError as exc:
        st.error(str(exc))
        return
    clean = auth.normalize_name(name)
    _access.record("user_add", target=clean, detail={"role": role, **({"oidc": oidc.strip()} if oidc.strip() else {})})
    st.success(f"已添加用户“{clean}”（{role}）。" + ("从现在起所有页面都需要登录：刷新页面后用这个账户登录。" if first else ""))
    _show_password(clean, generated)


def _manage_user(users: dict[str, auth.User]) -> None:
    if not users:
        return
    names = sorted(users)
    name = st.selectbox("选择用户", names, key="users_pick")
    u = users[name]
    st.caption(f"{u.name}：{u.role}，{'已停用' if u.disabled else '正常'}" + (f"，OIDC 身份 {u.oidc}" if u.oidc else ""))
    c1, c2, c3 = st.columns(3)
    try:
        if c1.button("启用" if u.disabled else "停用", key="users_toggle",
                     icon=":material/check_circle:" if u.disabled else ":material/block:"):
            auth.set_disabled(u.name, not u.disabled)
            _access.record("user_enable" if u.disabled else "user_disable", target=u.name)
            st.rerun()
        if c2.button("重设密码", key="users_reset", icon=":material/lock_reset:"):
            generated = auth.reset_password(u.name)
            _access.record("user_reset", target=u.name)
            _show_password(u.name, generated)
        with c3.popover("修改角色或身份", icon=":material/manage_accounts:"):
            role = st.selectbox("新角色", list(auth.ROLES), index=auth.ROLES.index(u.role), key="users_role")
            if st.button("保存角色", key="users_role_save") and role != u.role:
                auth.set_role(u.name, role)
                _access.record("user_role", target=u.name, detail={"from": u.role, "to": role})
                st.rerun()
            oidc = st.text_input("统一身份认证的身份", value=u.oidc, max_chars=254, key="users_oidc")
            if st.button("保存身份", key="users_oidc_save") and oidc.strip() != u.oidc:
                auth.set_oidc(u.name, oidc)
                _access.record("user_oidc", target=u.name, detail={"oidc": oidc.strip()})
                st.rerun()
    except auth.AuthError as exc:
        st.error(str(exc))


@st.cache_data(show_spinner=False, ttl=5, max_entries=16)
def _log(db: str, since: date, until: date, actor: str | None, actions: tuple, text: str) -> pd.DataFrame:
    return audit.read_at(db, since=datetime.combine(since, time()), until=datetime.combine(until + timedelta(days=1), time()),
                         actor=actor, actions=list(actions), text=text or None)


def _audit_log() -> None:
    db = str(_layout.db_path())
    today = date.today()
    c1, c2, c3, c4 = st.columns([2, 2, 3, 3])
    picked = c1.date_input("时间", (today - timedelta(days=LOG_DAYS), today), key="users_log_dates",
                           max_value=today + timedelta(days=1), format="YYYY-MM-DD")
    since, until = (picked if isinstance(picked, (list, tuple)) and len(picked) == 2
                    else (picked[0], picked[0]) if isinstance(picked, (list, tuple)) and picked else (today, today))
    actor = c2.text_input("用户（完整用户名）", key="users_log_actor", max_chars=64).strip() or None
    actions = c3.multiselect("操作", list(audit.ACTIONS), format_func=audit.ACTIONS.get, key="users_log_actions",
                             placeholder="全部操作")
    text = c4.text_input("包含文字（对象、详情）", key="users_log_text", max_chars=200).strip()
    df = _log(db, since, until, actor, tuple(actions), text)
    shown = audit.for_display(df)
    more = "（只显示最新的 {:,} 条）".format(audit.READ_LIMIT) if len(df) >= audit.READ_LIMIT else ""
    st.caption(f"{since} 至 {until}：{len(shown):,} 条记录{more}。没有序号的记录刚写入暂存文件，会在下一次写入时并入数据库。")
    _layout.dataframe(shown, hide_index=True, column_config={"详情": st.column_config.TextColumn(width="large")})
    stem = f"审计日志_{since:%Y%m%d}-{until:%Y%m%d}"
    made_with = {"起": str(since), "止": str(until), "用户": actor, "操作": "、".join(audit.ACTIONS[a] for a in actions),
                 "包含文字": text}
    d1, d2 = st.columns(2)
    with d1:
        _access.download_button("下载（Excel .xlsx）", lambda: to_xlsx({"审计日志": shown}), file_name=f"{stem}.xlsx",
                                what="审计日志", filters=made_with, rows=len(shown), mime=XLSX_MIME, icon=":material/table:", key="users_log_xlsx")
    with d2:
        _access.download_button("下载（CSV）", lambda: to_csv(shown), file_name=f"{stem}.csv", what="审计日志",
                                filters=made_with, rows=len(shown),
                                mime="text/csv", icon=":material/download:", key="users_log_csv")


def _raw_names() -> None:
    """Only with [privacy] admin_raw_names on: one opinion's raw submitter name, each look-up audited."""
    if not _access.can("raw_names"):
        return
    st.subheader("查看提交人原始姓名")
    st.caption("安全设置允许管理员查看。每一次查看都会记入审计日志（谁、何时、哪条意见）。")
    with st.form("users_raw_name"):
        opinion_id = st.text_input("意见编号", max_chars=64)
        ok = st.form_submit_button("查看")
    if not ok or not opinion_id.strip():
        return
    sel = _layout.selection()
    with _layout.read_store(sel.db) as con:
        name = privacy.raw_submitter(con, opinion_id.strip())
    _access.record("raw_names", target=opinion_id.strip()[:64], detail={"found": name is not None})
    if name is None:
        st.warning("没有这个编号的意见。")
    else:
        st.markdown(f"意见 `{opinion_id.strip()}` 的提交人：**{name or '（未填写）'}**")


def render() -> None:
    _layout.page_header(URL_PATH, with_scope=False)
    try:
        users = auth.load_users()
        settings = auth.load_settings()
    except auth.AuthError as exc:
        st.error(str(exc))
        return
    st.caption(f"用户文件：{auth.users_path()}　·　空闲 {settings.idle_minutes} 分钟后需重新登录　·　"
               f"连续输错 {settings.free_attempts} 次后开始等待，最长 {settings.max_delay_minutes} 分钟　·　"
               f"管理员查看原始姓名：{'允许（逐次审计）' if settings.admin_raw_names else '不允许'}")
    tab_users, tab_log = st.tabs(["用户", "审计日志"])
    with tab_users:
        _users_table(users)
        st.subheader("添加用户")
        _add_user(users)
        if users:
            st.subheader("管理用户")
            _manage_user(users)
        _raw_names()
    with tab_log:
        _audit_log()


if __name__ == "__main__":  # run directly by Streamlit's legacy pages/ mode: route through app.py
    from pages import route_through_app

    route_through_app()
