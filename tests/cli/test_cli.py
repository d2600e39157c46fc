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
