"""The one reader of the configuration files in ``data/`` (TOML).

Every file a clerk edits is read here, and every mistake in one is a :class:`ConfigError` (each
file's own error class derives from it) whose message names the file and, where it can, the line
and column or the key — in Chinese, since the clerk reads it.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message says which file and where."""


_WHERE = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_AT_END = re.compile(r"\s*\(at end of document\)\s*$")


def toml_problem(exc: tomllib.TOMLDecodeError) -> str:
    """tomllib's English message with its position in Chinese: "…（第 3 行第 5 列）"."""
    text = str(exc)
    if m := _WHERE.search(text):
        return f"{text[:m.start()]}（第 {m.group(1)} 行第 {m.group(2)} 列）"
    if m := _AT_END.search(text):
        return f"{text[:m.start()]}（在文件末尾）"
    return text


def read_toml(path: str | Path, what: str, error: type[Exception] = ConfigError) -> dict:
    """The parsed file at ``path``; ``what`` names it for the clerk ("指标配置"). A missing, unreadable,
    non-UTF-8 or malformed file raises ``error`` saying which and where."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"找不到{what}文件 {p}") from None
    except UnicodeDecodeError:
        raise error(f"{what}文件 {p.name} 不是 UTF-8 编码的文本，请用 UTF-8 保存后重试") from None
    except OSError as exc:
        raise error(f"{what}文件 {p} 无法读取：{exc.strerror or exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{what}文件 {p.name} 不是合法的 TOML：{toml_problem(exc)}") from None


class Checker:
    """The checks every configuration parser makes, each failing with ``error`` saying where:
    "<what>文件 <source> 有误：<where> <what is wrong>"."""

    def __init__(self, source: str, what: str, error: type[Exception] = ConfigError):
        self.source, self.what, self.error = source, what, error

    def fail(self, where: str, msg: str):
        raise self.error(f"{self.what}文件 {self.source} 有误：{where} {msg}")

    def table(self, obj, where: str) -> dict:
        """``obj`` when it is a TOML table."""
        if not isinstance(obj, dict):
            self.fail(where, "应是一个表（[...] 段落）")
        return obj

    def unknown(self, obj: dict, allowed, where: str) -> None:
        """Refuse keys of ``obj`` that are not ``allowed``, naming the allowed ones."""
        extra = sorted(set(obj) - set(allowed))
        if extra:
            self.fail(where, f"有不认识的项“{'、'.join(map(str, extra))}”，可用：{'、'.join(sorted(map(str, allowed)))}")

    def number(self, obj: dict, key: str, where: str, *, positive: bool = False, minimum: float | None = None,
               maximum: float | None = None, required: bool = True, default: float | None = None) -> float | None:
        """``obj[key]`` as a float within the bounds; ``default`` when it is absent and not required."""
        if key not in obj:
            if required:
                self.fail(where, f"缺少 {key}")
            return default
        v = obj[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(f"{where} 的 {key}", f"应是数字，现在是“{v}”")
        if positive and not v > 0:
            self.fail(f"{where} 的 {key}", f"必须大于 0，现在是 {v}")
        if minimum is not None and v < minimum:
            self.fail(f"{where} 的 {key}", f"不能小于 {minimum}，现在是 {v}")
        if maximum is not None and v > maximum:
            self.fail(f"{where} 的 {key}", f"不能大于 {maximum}，现在是 {v}")
        return float(v)


def load_file(path: str | Path | None, default: Path, what: str, error: type[Exception], parse):
    """``parse(raw, file name)`` of the TOML file at ``path`` (``default`` when None), read by ``read_toml``."""
    p = Path(path) if path else default
    return parse(read_toml(p, what, error), p.name)
