"""``users``: user administration."""
from __future__ import annotations


from analytics.access.users import (
    AuthError,
    ROLES,
    USERS_ENV,
    add_user,
    load_users,
    normalize_name,
    reset_password,
    set_disabled,
    set_oidc,
    set_role,
    users_path,
)
from analytics.cli.common import print_json, add_db_argument


def _cli_actor() -> str:
    try:
        import getpass
        who = getpass.getuser()
    except Exception:  # no login name in some containers
        who = "?"
    return f"命令行（{who}）"


def _read_password_stdin() -> str:
    import sys

    line = sys.stdin.readline()
    return line.rstrip("\r\n")


def _audit_cli(args, action: str, target: str, detail: dict | None = None) -> None:
    from analytics.store import audit

    audit.record_at(args.db, action, _cli_actor(), target=target, detail=detail)


def _run_users(args) -> int:
    import sys

    path = args.users
    try:
        if args.users_command == "list":
            users = load_users(path)
            rows = [{"name": u.name, "role": u.role, "disabled": u.disabled, "must_change": u.must_change,
                     "oidc": u.oidc, "created_at": u.created_at, "updated_at": u.updated_at} for u in users.values()]
            if args.json:
                print_json({"users": rows})
            elif not rows:
                print(f"{path or users_path()}：还没有用户（应用以演示模式运行，只能在本机打开）。")
            else:
                for r in rows:
                    state = "已停用" if r["disabled"] else ("待改密码" if r["must_change"] else "正常")
                    print(f"{r['name']}\t{r['role']}\t{state}" + (f"\tOIDC {r['oidc']}" if r["oidc"] else ""))
            return 0
        if args.users_command == "add":
            password = _read_password_stdin() if args.password_stdin else None
            generated = add_user(args.name, args.role, password, oidc=args.oidc or "", path=path)
            _audit_cli(args, "user_add", normalize_name(args.name), {"role": args.role})
            print(f"已添加用户“{normalize_name(args.name)}”（{args.role}）。")
            if generated:
                print(f"一次性密码：{generated}\n（请当面或通过安全渠道交给本人；首次登录时必须修改。）")
            return 0
        if args.users_command in ("disable", "enable"):
            set_disabled(args.name, args.users_command == "disable", path=path)
            _audit_cli(args, f"user_{args.users_command}", normalize_name(args.name))
            print(f"用户“{normalize_name(args.name)}”已{'停用' if args.users_command == 'disable' else '启用'}。")
            return 0
        if args.users_command == "reset":
            password = _read_password_stdin() if args.password_stdin else None
            generated = reset_password(args.name, password, path=path)
            _audit_cli(args, "user_reset", normalize_name(args.name))
            print(f"已重设用户“{normalize_name(args.name)}”的密码。")
            if generated:
                print(f"一次性密码：{generated}\n（首次登录时必须修改。）")
            return 0
        if args.users_command == "role":
            set_role(args.name, args.role, path=path)
            _audit_cli(args, "user_role", normalize_name(args.name), {"role": args.role})
            print(f"用户“{normalize_name(args.name)}”的角色已改为 {args.role}。")
            return 0
        if args.users_command == "oidc":
            set_oidc(args.name, args.identity, path=path)
            _audit_cli(args, "user_oidc", normalize_name(args.name), {"oidc": args.identity})
            print(f"用户“{normalize_name(args.name)}”的 OIDC 身份已设为“{args.identity}”。")
            return 0
    except AuthError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    return 2


def register(subparsers) -> None:
    p = subparsers.add_parser("users", help="驾驶舱用户：添加、停用、启用、重设密码、改角色、列出")
    p.add_argument("--users", metavar="PATH", help=f"用户文件（默认：环境变量 {USERS_ENV} 或 data/users.toml）")
    add_db_argument(p)
    sub = p.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    s = sub.add_parser("list", help="列出用户")
    s.add_argument("--json", action="store_true", help="以 JSON 输出")
    s = sub.add_parser("add", help="添加用户（不给密码时生成一次性密码，首次登录必须修改）")
    s.add_argument("name", help="用户名")
    s.add_argument("--role", required=True, choices=ROLES, help="角色")
    s.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为密码")
    s.add_argument("--oidc", help="用 OIDC 登录时对应的电子邮箱或账号标识")
    for action, text in (("disable", "停用用户（立即失去访问权限）"), ("enable", "重新启用用户")):
        sub.add_parser(action, help=text).add_argument("name", help="用户名")
    s = sub.add_parser("reset", help="重设密码（不给密码时生成一次性密码）")
    s.add_argument("name", help="用户名")
    s.add_argument("--password-stdin", action="store_true", help="从标准输入读一行作为密码")
    s = sub.add_parser("role", help="修改角色")
    s.add_argument("name", help="用户名")
    s.add_argument("role", choices=ROLES, help="新角色")
    s = sub.add_parser("oidc", help="设置（或用空字符串清除）用户的 OIDC 身份")
    s.add_argument("name", help="用户名")
    s.add_argument("identity", help="电子邮箱或账号标识")
    p.set_defaults(func=_run_users)
