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
    "analytics.ingest.importer",
    "analytics.demo.exports",
    "analytics.domain.metrics",
    "analytics.domain.indices",
    "analytics.domain.hotwords",
    "analytics.domain.ranking",
    "analytics.domain.points",
    "analytics.reports.quarterly",
    "analytics.domain.suggestions",
    "analytics.domain.duty",
    "analytics.store.dataset",
    "analytics.access.users",
)


# Which module registers each command, so that ``python -m analytics indices …`` imports only the
# module it needs (all of them cost ~1 s of start-up). A test keeps this equal to what the
# modules register.
COMMANDS = {
    "ingest": "analytics.ingest.importer", "batches": "analytics.ingest.importer", "undo": "analytics.ingest.importer",
    "profiles": "analytics.ingest.importer", "demo": "analytics.demo.exports", "summary": "analytics.domain.metrics",
    "indices": "analytics.domain.indices", "hotwords": "analytics.domain.hotwords", "rank": "analytics.domain.ranking",
    "points": "analytics.domain.points", "report": "analytics.reports.quarterly", "suggestions": "analytics.domain.suggestions",
    "reps": "analytics.domain.duty", "export": "analytics.store.dataset", "users": "analytics.access.users",
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
