"""The data contract: the five kinds of export, their fields, header aliases and value vocabularies.

Everything the importer knows about the platforms' exports is read from ``data/contract.toml``;
``docs/data-contract.md`` describes the same file for people. Nothing here touches the store.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from analytics.core.config import ConfigError, read_toml
from analytics.core.paths import DATA_DIR

CONTRACT_PATH = DATA_DIR / "contract.toml"

FIELD_TYPES = ("id", "text", "int", "date", "datetime", "enum", "town")
KINDS = ("units", "reps", "opinions", "suggestions", "activities")
TOWN_SUFFIXES = ("街道", "镇")


class ContractError(ConfigError):
    """The contract file itself is wrong; the message is Chinese and names the place."""


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    type: str
    required: bool
    aliases: tuple[str, ...]
    vocab: str | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    key: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]


@dataclass(frozen=True)
class Contract:
    kinds: dict[str, Kind]
    vocabs: dict[str, dict[str, str]]  # vocab name -> {normalised spelling: canonical value}
    canon: dict[str, tuple[str, ...]] = field(default_factory=dict)  # vocab name -> canonical values

    def header_map(self, kind: str) -> dict[str, str]:
        """Normalised header spelling -> field name, for one kind."""
        out: dict[str, str] = {}
        for f in self.kinds[kind].fields:
            for spelling in (f.label, *f.aliases):
                out.setdefault(norm_header(spelling), f.name)
        return out

    def lookup(self, vocab: str, value: str) -> str | None:
        """The canonical value for a spelling, or None when the vocabulary does not know it."""
        return self.vocabs[vocab].get(norm_value(value))

    @property
    def towns(self) -> tuple[str, ...]:
        return self.canon["town"]


_BRACKETS = re.compile(r"[（(【\[][^）)】\]]*[）)】\]]")
_SPACES = re.compile(r"[\s\u3000*＊:：]+")


def norm_header(text: object) -> str:
    """A header cell as compared with the contract: NFKC, no spaces, no bracketed notes, no '*'."""
    s = unicodedata.normalize("NFKC", str(text or ""))
    s = _BRACKETS.sub("", s)
    return _SPACES.sub("", s).casefold()


def norm_value(text: object) -> str:
    s = unicodedata.normalize("NFKC", str(text or ""))
    return re.sub(r"\s+", "", s).casefold()


def _fail(msg: str) -> None:
    raise ContractError(f"数据契约文件 {CONTRACT_PATH.name} 有误：{msg}")


def parse_contract(raw: dict) -> Contract:
    vocabs: dict[str, dict[str, str]] = {}
    canon: dict[str, tuple[str, ...]] = {}
    for vname, table in (raw.get("vocab") or {}).items():
        if not isinstance(table, dict) or not table:
            _fail(f"[vocab.{vname}] 应为“标准值 = [写法…]”的列表")
        lookup: dict[str, str] = {}
        for value, spellings in table.items():
            if not isinstance(spellings, list):
                _fail(f"[vocab.{vname}] 中“{value}”的写法应写成列表，如 [\"甲\", \"甲类\"]")
            forms = [value, *spellings]
            if vname == "town":
                forms += [value[: -len(s)] for s in TOWN_SUFFIXES if value.endswith(s) and len(value) > len(s) + 1]
            for form in forms:
                key = norm_value(form)
                if key in lookup and lookup[key] != value:
                    _fail(f"[vocab.{vname}] 写法“{form}”同时属于“{lookup[key]}”和“{value}”")
                lookup[key] = value
        vocabs[vname] = lookup
        canon[vname] = tuple(table)
    if "town" not in vocabs:
        _fail("缺少 [vocab.town]（镇街名单）")

    kinds: dict[str, Kind] = {}
    for kname in KINDS:
        k = (raw.get("kinds") or {}).get(kname)
        if not k:
            _fail(f"缺少 [kinds.{kname}]")
        fields = []
        for i, f in enumerate(k.get("fields") or [], start=1):
            where = f"[kinds.{kname}] 第 {i} 个字段（{f.get('label', '?')}）"
            for req in ("name", "label", "type"):
                if req not in f:
                    _fail(f"{where} 缺少 {req}")
            if f["type"] not in FIELD_TYPES:
                _fail(f"{where} 的 type “{f['type']}” 不认识，可用：{'、'.join(FIELD_TYPES)}")
            if f["type"] == "enum" and f.get("vocab") not in vocabs:
                _fail(f"{where} 的词表 vocab “{f.get('vocab')}” 不存在")
            fields.append(Field(f["name"], f["label"], f["type"], bool(f.get("required", False)),
                                tuple(f.get("aliases", [])), f.get("vocab")))
        kind = Kind(kname, k.get("label", kname), k.get("key", ""), tuple(fields))
        if kind.key not in kind.columns:
            _fail(f"[kinds.{kname}] 的主键 key “{kind.key}” 不是它的字段")
        seen: dict[str, str] = {}
        for f in fields:
            for spelling in (f.label, *f.aliases):
                h = norm_header(spelling)
                if h in seen and seen[h] != f.name:
                    _fail(f"[kinds.{kname}] 表头写法“{spelling}”同时属于 {seen[h]} 和 {f.name}")
                seen[h] = f.name
        kinds[kname] = kind
    return Contract(kinds, vocabs, canon)


@lru_cache(maxsize=None)
def load_contract(path: str | None = None) -> Contract:
    p = Path(path) if path else CONTRACT_PATH
    raw = read_toml(p, "数据契约", ContractError)
    return parse_contract(raw)
