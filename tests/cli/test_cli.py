"""The command line's entry point: every command is found, and a command imports only its module."""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
from pathlib import Path

from analytics import __main__ as cli

ROOT = Path(__file__).resolve().parents[2]


def test_the_command_map_is_what_the_modules_register():
    registered = {}
    for name in cli.COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(name).register(sub)
        registered.update({command: name for command in sub.choices})
    assert cli.COMMANDS == registered


def test_a_command_imports_only_its_module():
    code = ("import sys; from analytics.__main__ import build_parser; build_parser('indices'); "
            "print(sorted(m for m in sys.modules if m in ('analytics.ingest.importer', 'analytics.reports.quarterly', 'analytics.access.users', "
            "'analytics.domain.indices', 'analytics.cli.indices', 'analytics.cli.ingest', 'analytics.cli.users')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['analytics.cli.indices', 'analytics.domain.indices']"
    # Without a known command (help, a typo) every command is listed.
    assert set(cli.build_parser(None)._subparsers._group_actions[0].choices) == set(cli.COMMANDS)
    assert set(cli.build_parser("nonsense")._subparsers._group_actions[0].choices) == set(cli.COMMANDS)


import pytest  # noqa: E402


@pytest.mark.parametrize("argv, words", [
    (["hotwords", "--top", "-1"], "个数应在 1–100000 之间"),
    (["hotwords", "--top", "0"], "个数应在 1–100000 之间"),
    (["reps", "--year", "99999999999"], "年份应在 1900–2100 之间"),
    (["batches", "--limit", "-5"], "个数应在 1–100000 之间"),
    (["batches", "--limit", "x"], "“x”不是整数"),
    (["undo"], "缺少必填参数"),
    (["rank", "--bogus"], "不认识的参数"),
])
def test_arguments_out_of_range_are_chinese_usage_errors(argv, words, capsys, tmp_path):
    assert cli.main([*argv, "--db", str(tmp_path / "none.duckdb")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("命令行参数有误：") and words in err and "Traceback" not in err


def test_the_actor_of_a_command_is_the_system_user_and_user_is_recorded_beside_it(tmp_path, capsys):
    from analytics.store import db as store

    f = tmp_path / "a.csv"
    f.write_text("编号,提交时间,镇街,内容\nA1,2024-05-01,瓜沥镇,路灯\n", encoding="utf-8")
    db = tmp_path / "s.duckdb"
    assert cli.main(["ingest", str(f), "--db", str(db), "--user", "王五"]) == 0
    me = store.login_name()
    with store.reading(db) as con:
        assert con.execute("SELECT imported_by FROM import_batches").fetchone() == (f"{me}（--user 王五）",)
        assert con.execute("SELECT actor FROM audit_log WHERE action = 'import'").fetchone() == (f"{me}（--user 王五）",)


def test_hotissues_shows_the_support_read_from_the_export(tmp_path, capsys):
    """ingest an export with 点赞数, then ``hotissues``: the text says 支持 N for an issue with support
    (none for one without), the JSON carries the sum of its opinions' counts."""
    import json

    plant = "丽发新城小区旁的搅拌站粉尘噪音扰民，搅拌站夜间施工。"
    bus = "望仙路公交站点太少，公交班次间隔太长，希望增加公交班次。"
    lines = ["编号,提交时间,镇街,内容,提交人,点赞数"]
    lines += [f"P{k},2024-04-{2 + 3 * k:02d} 09:00,瓜沥镇,{plant},业主{k}号,{n}" for k, n in enumerate([3, "", 7])]
    lines += [f"B{k},2024-04-{3 + 3 * k:02d} 09:00,瓜沥镇,{bus},乘客{k}号," for k in range(3)]
    f = tmp_path / "board.csv"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = str(tmp_path / "s.duckdb")
    assert cli.main(["ingest", str(f), "--db", db]) == 0
    capsys.readouterr()
    assert cli.main(["hotissues", "--db", db, "--from", "2024-04-01", "--to", "2024-06-30", "--json"]) == 0
    got = {it["opinion_ids"][0][0]: it for it in json.loads(capsys.readouterr().out)}
    assert (got["P"]["support"], got["B"]["support"]) == (10, 0)
    assert cli.main(["hotissues", "--db", db, "--from", "2024-04-01", "--to", "2024-06-30"]) == 0
    text = capsys.readouterr().out
    (plant_line,) = [ln for ln in text.splitlines() if got["P"]["title"] in ln]
    (bus_line,) = [ln for ln in text.splitlines() if got["B"]["title"] in ln]
    assert "意见 3 条、3 人、支持 10 " in plant_line and "支持" not in bus_line
