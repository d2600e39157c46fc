"""Command line: ``python -m analytics <command> ...`` — the same computations the pages show.

Each command lives in the module that computes it; that module defines ``cli_register(subparsers)``,
which adds its sub-parser and sets ``func(args) -> int`` (the exit status).
"""
from __future__ import annotations

import argparse
import importlib
import sys

# Modules that contribute a command, in the order ``--help`` lists them.
COMMAND_MODULES = (
    "analytics.ingest",
    "analytics.demo",
    "analytics.metrics",
    "analytics.indices",
    "analytics.hotwords",
    "analytics.ranking",
    "analytics.points",
    "analytics.report",
    "analytics.suggestions",
    "analytics.duty",
    "analytics.parquet",
    "analytics.auth",
)


# Which module registers each command, so that ``python -m analytics indices …`` imports only the
# module it needs (all of them cost ~1 s of start-up). A test keeps this equal to what the
# modules register.
COMMANDS = {
    "ingest": "analytics.ingest", "batches": "analytics.ingest", "undo": "analytics.ingest",
    "profiles": "analytics.ingest", "demo": "analytics.demo", "summary": "analytics.metrics",
    "indices": "analytics.indices", "hotwords": "analytics.hotwords", "rank": "analytics.ranking",
    "points": "analytics.points", "report": "analytics.report", "suggestions": "analytics.suggestions",
    "reps": "analytics.duty", "export": "analytics.parquet", "users": "analytics.auth",
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command``'s module when it is a known command."""
    parser = argparse.ArgumentParser(prog="python -m analytics", description="代表联络站驾驶舱 命令行")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    modules = [COMMANDS[command]] if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        importlib.import_module(name).cli_register(sub)
    return parser


def add_db_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", metavar="PATH", help="DuckDB 文件（默认：环境变量 COCKPIT_DB 或 data/cockpit.duckdb）")


def main(argv: list[str] | None = None) -> int:
    # The Windows console and some CI logs are not UTF-8; Chinese messages must still print.
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
