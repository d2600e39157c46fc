"""Command line: ``python -m analytics <command> ...`` — the same computations the pages show.

Each command group is a module of ``analytics.cli`` (the top layer): it defines
``register(subparsers)``, which adds its sub-parsers and sets ``func(args) -> int`` (the exit
status). The computation lives in the layers below; the cli modules parse arguments, open the
store, call them and print.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from analytics.cli.common import ChineseArgumentParser, CommandError
from analytics.core.config import ConfigError
from analytics.core.periods import PeriodError

# Modules that contribute a command, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "analytics.cli.ingest",
    "analytics.cli.batches",
    "analytics.cli.demo",
    "analytics.cli.summary",
    "analytics.cli.indices",
    "analytics.cli.hotwords",
    "analytics.cli.hotissues",
    "analytics.cli.rank",
    "analytics.cli.points",
    "analytics.cli.report",
    "analytics.cli.suggestions",
    "analytics.cli.reps",
    "analytics.cli.export",
    "analytics.cli.users",
)


# Which module registers each command, so that ``python -m analytics indices …`` imports only the
# module it needs (all of them cost ~1 s of start-up). A test keeps this equal to what the
# modules register.
COMMANDS = {
    "ingest": "analytics.cli.ingest", "batches": "analytics.cli.batches", "undo": "analytics.cli.batches",
    "profiles": "analytics.cli.batches", "demo": "analytics.cli.demo", "summary": "analytics.cli.summary",
    "indices": "analytics.cli.indices", "hotwords": "analytics.cli.hotwords", "hotissues": "analytics.cli.hotissues",
    "rank": "analytics.cli.rank",
    "points": "analytics.cli.points", "report": "analytics.cli.report", "suggestions": "analytics.cli.suggestions",
    "reps": "analytics.cli.reps", "export": "analytics.cli.export", "users": "analytics.cli.users",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command``'s module when it is a known command."""
    parser = ChineseArgumentParser(prog="python -m analytics", description="代表联络站驾驶舱 命令行")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=ChineseArgumentParser)
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    # The Windows console and some CI logs are not UTF-8; Chinese messages must still print.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        args = build_parser(argv[0] if argv else None).parse_args(argv)
    except SystemExit as exc:  # a usage error (said in Chinese, exit 2) or --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return int(args.func(args) or 0)
    except CommandError as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except (ConfigError, PeriodError) as exc:  # a configuration file or a --period/--quarter/--month that is wrong
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
