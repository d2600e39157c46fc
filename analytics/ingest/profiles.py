"""Data management: import limits, column-mapping profiles, the batch history and undo.

- **Limits** (``data/limits.toml``; ``COCKPIT_LIMITS`` names another file): file size, rows and
  columns per sheet, an .xlsx's unpacked size and compression ratio, how long an import waits for
  another. ``load_limits`` validates the file and says in Chinese what is wrong with it.
- **Profiles**: how the columns of another system's export map to the contract's fields, plus fixed
  values for fields the export lacks, saved under a name (store table ``profiles``, migration 3).
  A profile is found again by the *signature* of its header row (the set of its header texts,
  normalised like the contract's), so later exports with the same headers import without a
  question; ``python -m analytics ingest --profile NAME`` names one explicitly.
  ``suggest_mapping`` proposes a mapping from header similarity and from what the values look like.
- **History and undo**: every batch with file name, sha256, time, who and counts
  (``list_batches``); ``undo_batch`` removes the rows a batch added and restores the rows it
  changed from their before-images (``row_history``), in one transaction, and marks the batch
  undone. The order rule is in ``undo_batch``'s docstring and docs/data-management.md.

Nothing here imports streamlit; ``pages/data.py`` lays these out.
"""
from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from analytics.core.config import ConfigError, read_toml
from analytics.core.paths import ROOT
from analytics.core.contract import Contract, KINDS, load_contract, norm_header
from analytics.ingest.cells import (WS, as_text, clean_value, column_letter, detect_header, first_text, header_score,
                                   shown_text, to_int)
from analytics.ingest.readers import ReadLimits
from analytics.store.db import login_name

LIMITS_PATH = ROOT / "data" / "limits.toml"
LIMITS_ENV = "COCKPIT_LIMITS"
UNKNOWN = "未知"  # how an absent optional value is shown: never 0, never blank


class AdminError(ValueError):
    """A refused request (undo out of order, a profile that misses a required field…); Chinese."""


class LimitsError(ConfigError):
    """The limits file is wrong; the message is Chinese and names the file and the setting."""


# ───────────────────────────── limits ─────────────────────────────

# section -> key -> (type, description for messages)
_LIMIT_KEYS: dict[str, dict[str, type]] = {
    "file": {"max_mb": float},
    "sheet": {"max_rows": int, "max_columns": int},
    "xlsx": {"max_unpacked_mb": float, "max_ratio": float, "ratio_check_above_mb": float},
    "wait": {"import_seconds": float},
    "memory": {"import_duckdb_mb": float},
}
# Settings a limits file may leave out (older files, the benchmarks' own): their defaults.
_LIMIT_DEFAULTS: dict[tuple[str, str], float] = {("memory", "import_duckdb_mb"): 512}
_MB = 1 << 20


@dataclass(frozen=True)
class Limits:
    read: ReadLimits
    max_rows: int
    import_wait_s: float
    source: str
    import_duckdb_mb: float = 512  # DuckDB's memory in an import's copy of the store; beyond it DuckDB spills to disk


def limits_path() -> Path:
    env = os.environ.get(LIMITS_ENV)
    return Path(env) if env else LIMITS_PATH


def parse_limits(raw: dict, source: str) -> Limits:
    def fail(msg: str):
        raise LimitsError(f"导入限制文件 {source} 有误：{msg}")

    values: dict[tuple[str, str], float] = {}
    for section, table in raw.items():
        if section not in _LIMIT_KEYS:
            fail(f"不认识的小节 [{section}]（可用：{'、'.join(f'[{s}]' for s in _LIMIT_KEYS)}）")
        if not isinstance(table, dict):
            fail(f"[{section}] 应是一个小节")
        for key, value in table.items():
            if key not in _LIMIT_KEYS[section]:
                fail(f"[{section}] 中不认识的设置 {key}（可用：{'、'.join(_LIMIT_KEYS[section])}）")
            typ = _LIMIT_KEYS[section][key]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(f"[{section}] {key} 应是数字，现在是“{value}”")
            if typ is int and not float(value).is_integer():
                fail(f"[{section}] {key} 应是整数，现在是 {value}")
            if value <= 0:
                fail(f"[{section}] {key} 应大于 0，现在是 {value}")
            values[(section, key)] = value
    for section, keys in _LIMIT_KEYS.items():
        for key in keys:
            if (section, key) not in values and (section, key) not in _LIMIT_DEFAULTS:
                fail(f"缺少 [{section}] {key}")
    values = {**_LIMIT_DEFAULTS, **values}
    v = values
    read = ReadLimits(
        max_file_bytes=int(v[("file", "max_mb")] * _MB),
        max_columns=int(v[("sheet", "max_columns")]),
        max_unpacked_bytes=int(v[("xlsx", "max_unpacked_mb")] * _MB),
        max_ratio=float(v[("xlsx", "max_ratio")]),
        ratio_min_bytes=int(v[("xlsx", "ratio_check_above_mb")] * _MB),
        source=source,
    )
    return Limits(read, int(v[("sheet", "max_rows")]), float(v[("wait", "import_seconds")]), source,
                  float(v[("memory", "import_duckdb_mb")]))


_LIMITS_CACHE: dict[tuple, Limits] = {}


def load_limits(path: str | os.PathLike | None = None) -> Limits:
    """The limits in force (read again when the file changes)."""
    p = Path(path) if path else limits_path()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise LimitsError(f"找不到导入限制文件 {p}") from None
    key = (str(p), st.st_mtime_ns, st.st_size)
    hit = _LIMITS_CACHE.get(key)
    if hit is None:
        raw = read_toml(p, "导入限制", LimitsError)
        source = p.name if p == LIMITS_PATH else str(p)
        hit = _LIMITS_CACHE[key] = parse_limits(raw, "data/limits.toml" if p == LIMITS_PATH else source)
    return hit


# ───────────────────────────── profiles ─────────────────────────────

def header_signature(headers: Iterable[object]) -> str:
    """The signature of a header row: its distinct non-empty header texts, normalised like the
    contract's (``norm_header``: no spaces, no bracketed notes), sorted — so column order, spacing
    and a "(必填)" note do not matter, but a column more or less does."""
    normed = sorted({norm_header(h) for h in headers if h is not None and norm_header(h)})
    return hashlib.sha256("\x1f".join(normed).encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Profile:
    name: str
    kind: str
    headers: tuple[str, ...]  # the header texts as the export shows them, in order
    mapping: dict[str, str]  # normalised header -> field name
    fixed: dict[str, str]  # field name -> stored value, for fields the export lacks
    created_by: str | None = None
    created_at: dt.datetime | None = None
    # date_order: "dmy" | "mdy" for dates with day and month before the year that nothing else
    # decides; values: {field: {value as exported: our value}} (已办理 → 已办结).
    options: dict = field(default_factory=dict)

    @property
    def date_order(self) -> str | None:
        return self.options.get("date_order")

    @property
    def value_map(self) -> dict[str, dict[str, str]]:
        return self.options.get("values") or {}

    @property
    def signature(self) -> str:
        return header_signature(self.headers)

    def field_for(self, header: object) -> str | None:
        return self.mapping.get(norm_header(header))


def _profile_from_row(row) -> Profile:
    name, kind, headers, mapping, fixed, by, at, options = row
    return Profile(name, kind, tuple(json.loads(headers)), json.loads(mapping), json.loads(fixed), by, at,
                   json.loads(options) if options else {})


_PROFILE_COLS = "name, kind, headers, mapping, fixed, created_by, created_at, options"


def load_profiles(con) -> list[Profile]:
    """Every saved profile, by name (an empty list on a store without the table)."""
    cur = con.cursor()
    try:
        rows = cur.execute(f"SELECT {_PROFILE_COLS} FROM profiles ORDER BY name").fetchall()
    except Exception:  # noqa: BLE001 - a store of an older schema (read-only, not migrated) has none
        return []
    finally:
        cur.close()
    return [_profile_from_row(r) for r in rows]


def get_profile(con, name: str) -> Profile:
    profiles = {p.name: p for p in load_profiles(con)}
    if name not in profiles:
        known = "、".join(profiles) or "（还没有保存任何映射方案）"
        raise AdminError(f"没有名为“{name}”的映射方案。已有：{known}")
    return profiles[name]


def check_fixed_value(fld, value: object, contract: Contract) -> str:
    """The stored form of a fixed value for a field, or AdminError saying why it is not accepted."""
    from analytics.core import dates

    text = str(value).strip() if value is not None else ""
    if not text:
        raise AdminError(f"“{fld.label}”的固定值是空的")
    if fld.type == "enum" or fld.type == "town":
        vocab = fld.vocab if fld.type == "enum" else "town"
        hit = contract.lookup(vocab, text)
        if hit is None:
            allowed = "、".join(contract.canon[vocab])
            raise AdminError(f"“{text}”不是可接受的{fld.label}（可接受：{allowed}）")
        return hit
    if fld.type == "int":
        try:
            return str(to_int(text))
        except ValueError as exc:
            raise AdminError(f"{fld.label}的固定值{exc}") from None
    if fld.type in ("date", "datetime"):
        try:
            d = dates.parse_value(text)
        except dates.DateError as exc:
            raise AdminError(f"{fld.label}的固定值：{exc}") from None
        return d.strftime("%Y-%m-%d") if fld.type == "date" else d.strftime("%Y-%m-%d %H:%M:%S")
    return text


def check_options(kind: str, options: dict | None, contract: Contract) -> dict:
    """A profile's reading options as stored, or AdminError (Chinese, naming the key): date_order
    is "dmy" or "mdy"; values maps, per enum or town field, a value as exported to one of ours."""
    from analytics.core.dates import ORDERS

    options = dict(options or {})
    out: dict = {}
    unknown = set(options) - {"date_order", "values"}
    if unknown:
        raise AdminError(f"映射方案的设置里有不认识的项：{'、'.join(sorted(unknown))}（可用：date_order、values）")
    order = options.get("date_order")
    if order not in (None, ""):
        if order not in ORDERS:
            raise AdminError(f"date_order 应为 \"dmy\"（日月年）或 \"mdy\"（月日年），而不是“{order}”")
        out["date_order"] = order
    k = contract.kinds[kind]
    values: dict[str, dict[str, str]] = {}
    for fname, pairs in (options.get("values") or {}).items():
        if fname not in k.columns:
            raise AdminError(f"values.{fname}：“{fname}”不是{k.label}的字段")
        fld = k.field(fname)
        if fld.type not in ("enum", "town"):
            raise AdminError(f"values.{fname}：“{fld.label}”不是词表字段，不能做取值对应")
        if not isinstance(pairs, dict):
            raise AdminError(f"values.{fname} 应为“导出里的值 = 我们的值”的表")
        vocab = fld.vocab if fld.type == "enum" else "town"
        got = {}
        for raw, ours in pairs.items():
            hit = contract.lookup(vocab, str(ours))
            if hit is None:
                allowed = "、".join(contract.canon[vocab])
                raise AdminError(f"values.{fname}.{raw}：“{ours}”不是可接受的{fld.label}（可接受：{allowed}）")
            got[str(raw).strip()] = hit
        if got:
            values[fname] = got
    if values:
        out["values"] = values
    return out


def make_profile(name: str, kind: str, headers: list[str], mapping: dict[str, str | None],
                 fixed: dict[str, object] | None = None, user: str | None = None,
                 contract: Contract | None = None, options: dict | None = None) -> Profile:
    """Check a mapping made on the page and build the profile; AdminError (Chinese) when it is not
    usable. ``mapping`` is header text -> field name (None or "" = not imported)."""
    contract = contract or load_contract()
    name = (name or "").strip()
    if not name:
        raise AdminError("请给映射方案起一个名字（例如“12345 热线工单”）")
    if len(name) > 40:
        raise AdminError("映射方案的名字请不超过 40 个字")
    if kind not in contract.kinds:
        raise AdminError(f"不认识的数据类别“{kind}”")
    k = contract.kinds[kind]
    known = {h: norm_header(h) for h in headers if h is not None and norm_header(h)}
    if len(known) < 2:
        raise AdminError("表头至少要有两列有文字的列")
    out: dict[str, str] = {}
    by_field: dict[str, str] = {}
    for header, fname in mapping.items():
        if not fname:
            continue
        if fname not in k.columns:
            raise AdminError(f"“{fname}”不是{k.label}的字段")
        h = norm_header(header)
        if h not in known.values():
            raise AdminError(f"表头里没有“{header}”这一列")
        if fname in by_field and by_field[fname] != h:
            raise AdminError(f"“{by_field[fname]}”和“{header}”两列都对应到了“{k.field(fname).label}”，"
                             "一个字段只能对应一列")
        by_field[fname] = header
        out[h] = fname
    fixed_out: dict[str, str] = {}
    for fname, value in (fixed or {}).items():
        if value is None or str(value).strip() == "":
            continue
        if fname not in k.columns:
            raise AdminError(f"“{fname}”不是{k.label}的字段")
        fld = k.field(fname)
        if fname == k.key:
            raise AdminError(f"“{fld.label}”是每行的编号，不能设为固定值，必须对应到一列")
        if fname in by_field:
            raise AdminError(f"“{fld.label}”已对应到“{by_field[fname]}”列，不能再设固定值")
        fixed_out[fname] = check_fixed_value(fld, value, contract)
    missing = [f.label for f in k.fields if f.required and f.name not in by_field and f.name not in fixed_out]
    if missing:
        raise AdminError(f"{k.label}的必填字段 {'、'.join(f'“{m}”' for m in missing)} 还没有对应的列，"
                         "也没有固定值：请选择一列对应到它，或填写固定值")
    return Profile(name, kind, tuple(h for h in headers if h is not None and norm_header(h)),
                   out, fixed_out, user, options=check_options(kind, options, contract))


def save_profile(con, profile: Profile, replace: bool = False) -> None:
    """Store a profile (``con`` inside the caller's write transaction). A name or a header
    signature already taken is refused unless ``replace``: the later export would not know which
    of two profiles to use."""
    existing = load_profiles(con)
    same_name = next((p for p in existing if p.name == profile.name), None)
    same_sig = [p for p in existing if p.signature == profile.signature and p.name != profile.name]
    if not replace:
        if same_name is not None:
            raise AdminError(f"已有名为“{profile.name}”的映射方案；要覆盖它请勾选“覆盖同名方案”")
        if same_sig:
            raise AdminError(f"映射方案“{same_sig[0].name}”已用于同样表头的文件；要以新方案代替它请勾选“覆盖”")
    cur = con.cursor()
    try:
        for p in ([same_name] if same_name else []) + same_sig:
            cur.execute("DELETE FROM profiles WHERE name = ?", [p.name])
        cur.execute(
            f"INSERT INTO profiles ({_PROFILE_COLS}, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [profile.name, profile.kind, json.dumps(list(profile.headers), ensure_ascii=False),
             json.dumps(profile.mapping, ensure_ascii=False), json.dumps(profile.fixed, ensure_ascii=False),
             profile.created_by, profile.created_at or dt.datetime.now().replace(microsecond=0),
             json.dumps(profile.options, ensure_ascii=False) if profile.options else None,
             profile.signature])
    finally:
        cur.close()


def delete_profile(con, name: str) -> None:
    get_profile(con, name)  # says so when there is none
    cur = con.cursor()
    try:
        cur.execute("DELETE FROM profiles WHERE name = ?", [name])
    finally:
        cur.close()


def profiles_frame(profiles: list[Profile], contract: Contract | None = None) -> pd.DataFrame:
    """The saved profiles as the page lists them (Chinese column names)."""
    contract = contract or load_contract()
    rows = []
    for p in profiles:
        k = contract.kinds[p.kind]
        by_norm = {norm_header(h): h for h in p.headers}
        pairs = [f"{by_norm.get(h, h)}→{k.field(f).label}" for h, f in p.mapping.items()]
        fixed = [f"{k.field(f).label}＝{v}" for f, v in p.fixed.items()]
        rows.append({"方案": p.name, "数据类别": k.label, "列对应": "；".join(pairs),
                     "固定值": "；".join(fixed) or "—", "创建人": p.created_by or UNKNOWN,
                     "创建时间": p.created_at})
    return pd.DataFrame(rows, columns=["方案", "数据类别", "列对应", "固定值", "创建人", "创建时间"])


# ───────────────────────────── mapping suggestions ─────────────────────────────

# Words in a header that hint at a field, beyond the contract's own spellings: generic words of
# other systems' exports (工单号, 来电时间, 诉求描述, 所属区域, 来电人). Each hint scores 0.6.
_HINTS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "单号", "号码", "流水号", "序号", "id", "编码"),
    "date": ("时间", "日期"),
    "town": ("镇街", "区域", "属地", "乡镇", "街道", "辖区"),
    "content": ("内容", "描述", "详情", "正文", "诉求", "问题"),
    "title": ("标题", "主题", "事由", "摘要"),
    "citizen": ("来电人", "来信人", "诉求人", "投诉人", "反映人", "留言人", "市民", "群众", "联系人"),
    "phone": ("电话", "手机", "联系方式"),
    "handler": ("单位", "部门", "承办", "处理"),
    "category": ("分类", "类别", "类型"),
}
_FIELD_HINTS: dict[tuple[str, str], tuple[str, ...]] = {
    ("opinions", "submitter"): _HINTS["citizen"],
    ("opinions", "phone"): _HINTS["phone"],
    ("opinions", "content"): _HINTS["content"],
    ("opinions", "title"): _HINTS["title"],
    ("opinions", "handler"): _HINTS["handler"],
    ("opinions", "category"): _HINTS["category"],
    ("suggestions", "content"): _HINTS["content"],
    ("suggestions", "title"): _HINTS["title"],
}
_NAME_RE = re.compile(r"^[\u4e00-\u9fff]{1,2}(?:[\u4e00-\u9fff]{1,2}|[*＊某]{1,3}|先生|女士)$")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{2,39}$")
_PHONE_RE = re.compile(r"^[+\d][\d\-\s()（）*]{6,19}$")
_ORG_RE = re.compile(r"(?:局|办|委|中心|公司|院|所|部|队|站|政府|单位|办公室|集团|社区|村委会)$")
MIN_SUGGEST_SCORE = 0.4
SAMPLE_ROWS = 200  # data rows read below the header to judge what the values look like


@dataclass
class ColumnGuess:
    index: int
    letter: str
    header: str
    field: str | None  # suggested field, or None
    score: float
    reasons: list[str]
    samples: list[str]  # a few values, for the page (personal data masked)
    ranked: list[tuple[str, float]] = field(default_factory=list)  # (field, score), best first


@dataclass
class MappingGuess:
    kind: str
    header_row: int  # 1-based
    columns: list[ColumnGuess]
    kind_scores: dict[str, float]

    @property
    def mapping(self) -> dict[str, str | None]:
        return {c.header: c.field for c in self.columns if c.header}


def likeness_parts(a: str, b: str) -> tuple[float, float, float]:
    """Three measures of how alike two texts are, each 0..1: difflib's ratio, the character-bigram
    overlap (Dice), and containment (one inside the other, by how much of the longer it covers)."""
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    ga = {a[i:i + 2] for i in range(len(a) - 1)} or {a}
    gb = {b[i:i + 2] for i in range(len(b) - 1)} or {b}
    dice = 2 * len(ga & gb) / (len(ga) + len(gb))
    contain = 0.0
    if len(a) >= 2 and len(b) >= 2 and (a in b or b in a):
        contain = 0.6 + 0.3 * min(len(a), len(b)) / max(len(a), len(b))
    return ratio, dice, contain


def similarity(a: str, b: str) -> float:
    """Header likeness 0..1: the best of ``likeness_parts``."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    return max(likeness_parts(a, b))


def _header_score(header: str, kind: str, fld) -> tuple[float, str | None]:
    h = norm_header(header)
    best, best_s = 0.0, None
    for s in (fld.label, *fld.aliases):
        sim = similarity(h, norm_header(s))
        if sim > best:
            best, best_s = sim, s
    reason = f"表头与“{best_s}”相近" if best >= 0.5 and best < 1 else (f"表头即“{best_s}”" if best == 1 else None)
    hints = _FIELD_HINTS.get((kind, fld.name), ())
    if fld.type == "id":
        hints += _HINTS["id"]
    elif fld.type in ("date", "datetime"):
        hints += _HINTS["date"]
    elif fld.type == "town":
        hints += _HINTS["town"]
    for w in hints:
        if w in h and best < 0.6:
            best, reason = 0.6, f"表头含“{w}”"
    return best, reason


@dataclass
class _Values:
    n: int = 0
    date: float = 0.0
    with_time: float = 0.0
    integer: float = 0.0
    town: float = 0.0
    vocab: dict = field(default_factory=dict)
    avg_len: float = 0.0
    unique: float = 0.0
    id_like: float = 0.0
    name_like: float = 0.0
    phone_like: float = 0.0
    org_like: float = 0.0
    station_like: float = 0.0


def _value_features(values: list, contract: Contract) -> _Values:
    from analytics.core import dates

    vals = [v for v in (clean_value(v) for v in values) if v is not None]
    out = _Values(n=len(vals))
    if not vals:
        return out
    texts = [as_text(v) for v in vals]
    n = len(vals)
    series, errors = dates.parse_column(vals)
    if errors:  # a date such as 03/04/2024 is a date whatever its order: it only needs a profile's date_order
        series_dmy, errors_dmy = dates.parse_column(vals, order="dmy")
        series = series.where(series.notna(), series_dmy)
        errors = {i: r for i, r in errors.items() if i in errors_dmy}
    ok = [i for i in range(n) if i not in errors]
    numeric = sum(1 for v in vals if isinstance(v, (int, float)) and not isinstance(v, bool))
    # A bare number parses as an Excel serial: a column of small integers is not dates.
    out.date = 0.0 if numeric == n and not any(isinstance(v, float) for v in vals) and \
        max(v for v in vals) < 20000 else len(ok) / n
    if ok:
        ts = series.iloc[ok]
        out.with_time = float(((ts.dt.hour + ts.dt.minute + ts.dt.second) > 0).mean())

    def frac(pred) -> float:
        return sum(1 for t in texts if pred(t)) / n

    def is_int(v) -> bool:
        try:
            to_int(v)
            return True
        except ValueError:
            return False

    out.integer = sum(1 for v in vals if is_int(v)) / n
    out.town = frac(lambda t: contract.lookup("town", t) is not None)
    out.vocab = {name: frac(lambda t, name=name: contract.lookup(name, t) is not None)
                 for name in contract.vocabs if name != "town"}
    out.avg_len = sum(len(t) for t in texts) / n
    out.unique = len(set(texts)) / n
    out.id_like = frac(lambda t: bool(_ID_RE.match(t)))
    out.name_like = frac(lambda t: bool(_NAME_RE.match(t)))
    out.phone_like = frac(lambda t: bool(_PHONE_RE.match(t)) and sum(ch.isdigit() for ch in t) >= 7)
    out.org_like = frac(lambda t: bool(_ORG_RE.search(t)))
    out.station_like = frac(lambda t: t.endswith("站"))
    return out


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _value_fit(kind: str, fld, v: _Values) -> tuple[float, str | None]:
    """How well the values suit the field, 0..1, and a reason; (0.5, None) when nothing is known."""
    if v.n == 0:
        return 0.5, None
    t, name = fld.type, fld.name
    if t in ("date", "datetime"):
        s = v.date * (0.85 + 0.15 * v.with_time if t == "datetime" else 1.0)
        return s, (f"值像日期（{_pct(v.date)}）" if v.date >= 0.5 else None)
    not_date = 1.0 if v.date < 0.8 else 0.2
    if t == "int":
        return v.integer * not_date, (f"值是整数（{_pct(v.integer)}）" if v.integer >= 0.5 else None)
    if t == "town":
        return v.town, (f"值是镇街名称（{_pct(v.town)}）" if v.town >= 0.5 else None)
    if t == "enum":
        f = v.vocab.get(fld.vocab, 0.0)
        return f, (f"值符合“{fld.label}”的取值（{_pct(f)}）" if f >= 0.5 else None)
    if t == "id":
        s = (0.5 * v.unique + 0.5 * v.id_like) * not_date * (1.0 if v.avg_len <= 40 else 0.3)
        return s, ("值互不相同、像编号" if s >= 0.6 else None)
    # text fields: by what they hold. A column of numbers (反对数, 点赞数) is a count, never a text
    # field's values, whatever else fits.
    if v.integer >= 0.8:
        return 0.0, None
    if name == "content":
        s = min(v.avg_len / 30, 1.0) * not_date
        return s, (f"长文本（平均 {v.avg_len:.0f} 字）" if s >= 0.6 else None)
    if name in ("title", "topic"):
        s = (1.0 if 5 <= v.avg_len <= 40 else 0.4) * not_date * (0.5 + 0.5 * v.unique)
        return s, None
    if name in ("submitter", "name", "lead_rep", "reception_rep", "co_reps", "participants"):
        return v.name_like, (f"值像人名（{_pct(v.name_like)}）" if v.name_like >= 0.5 else None)
    if name == "phone":
        return v.phone_like, (f"值像电话号码（{_pct(v.phone_like)}）" if v.phone_like >= 0.5 else None)
    if name == "station":
        return v.station_like, (f"值像联络站名（{_pct(v.station_like)}）" if v.station_like >= 0.5 else None)
    if name in ("handler", "main_handler", "co_handlers", "parent"):
        return v.org_like, (f"值像单位名称（{_pct(v.org_like)}）" if v.org_like >= 0.5 else None)
    if name in ("category", "sector", "session"):
        return (1.0 - v.unique) * not_date * (1.0 if v.avg_len <= 20 else 0.3), None
    return 0.5 * not_date, None


def guess_header_row(head: list[list]) -> int | None:
    """0-based index of the row that looks most like a header among the first rows: the most cells
    of short text (a header names columns; data rows hold numbers, dates and long text)."""
    best, best_n = None, 1
    for r, row in enumerate(head):
        n = sum(1 for v in row if isinstance(v, str) and 0 < len(v.strip()) <= 30)
        if n > best_n:
            best, best_n = r, n
    return best


def _score_kind(kind: str, headers: list[str], feats: list[_Values], contract: Contract
                ) -> tuple[float, list[ColumnGuess]]:
    k = contract.kinds[kind]
    scores: dict[tuple[int, str], tuple[float, list[str]]] = {}
    for i, (h, v) in enumerate(zip(headers, feats)):
        if not h:
            continue
        for fld in k.fields:
            hs, hr = _header_score(h, kind, fld)
            vs, vr = _value_fit(kind, fld, v)
            total = 0.55 * hs + 0.45 * vs
            if v.n and vs < 0.2 and not (hs >= 1.0 and fld.type in ("text", "enum")):
                # the values contradict the field, whatever the header says — unless the header is
                # the field's own name or a listed alias and the field takes any text (留言用户 with
                # anonymised ids is still the submitter) or words a value mapping can translate
                # (处理状态 with 已办理 / 待回复)
                total = min(total, 0.3)
            elif fld.type == "int" and hs < 0.5:
                # any column of numbers fits a count (序号, 回访次数): only the header can say which
                # count it is (点赞数 → 支持数, 参加人次 → 参与人次)
                total = min(total, 0.3)
            if fld.required:
                total += 0.02  # ties go to the field the import cannot do without
            scores[(i, fld.name)] = (round(total, 3), [r for r in (hr, vr) if r])
    # Greedy: the best (column, field) pair first; each column and field used once.
    taken_cols: dict[int, str] = {}
    taken_fields: set[str] = set()
    for (i, fname), (s, _) in sorted(scores.items(), key=lambda kv: (-kv[1][0], kv[0][0])):
        if s < MIN_SUGGEST_SCORE or i in taken_cols or fname in taken_fields:
            continue
        taken_cols[i] = fname
        taken_fields.add(fname)
    guesses = []
    for i, h in enumerate(headers):
        ranked = sorted(((f.name, scores[(i, f.name)][0]) for f in k.fields if (i, f.name) in scores),
                        key=lambda x: -x[1])[:3]
        fname = taken_cols.get(i)
        s, reasons = scores.get((i, fname), (0.0, [])) if fname else (0.0, [])
        guesses.append(ColumnGuess(i, column_letter(i), h, fname, s, reasons, [], ranked))
    required = [f.name for f in k.fields if f.required]
    covered = sum(1 for f in required if f in taken_fields)
    kind_score = sum(g.score for g in guesses if g.field) + 2.0 * covered / len(required)
    return kind_score, guesses


def suggest_mapping(headers: list[str], samples: list[list], kind: str | None = None,
                    contract: Contract | None = None, header_row: int = 1) -> MappingGuess:
    """Propose a field for each column: header likeness to the contract's labels and aliases (and
    a few generic words such as 时间, 描述, 区域) and what the values look like (dates, ids, long
    text, town names, names, phone numbers). ``samples[i]`` are column i's values. With no
    ``kind`` the kind whose required fields are best covered is chosen."""
    contract = contract or load_contract()
    feats = [_value_features(col, contract) for col in samples]
    feats += [_Values()] * (len(headers) - len(feats))
    results = {k: _score_kind(k, headers, feats, contract) for k in ([kind] if kind else KINDS)}
    best = max(results, key=lambda k: results[k][0])
    guesses = results[best][1]
    for g, col in zip(guesses, samples):
        g.samples = _shown_samples(best, g.field, col)
    return MappingGuess(best, header_row, guesses, {k: round(v[0], 2) for k, v in results.items()})


def _shown_samples(kind: str, fname: str | None, col: list, n: int = 3) -> list[str]:
    """A few distinct values of a column for the page; anything that may be personal is masked."""
    from analytics.core.privacy import mask_name, mask_text

    contract = load_contract()
    out: list[str] = []
    for v in col:
        v = clean_value(v)
        if v is None:
            continue
        t = as_text(v)
        t = mask_text(t) or t
        # A citizen's name is masked; so is anything that looks like a name in a column not (yet)
        # mapped, unless it is a town (瓜沥镇 looks like a name to the pattern).
        if (kind, fname) in NAME_FIELDS or (fname is None and _NAME_RE.match(t) and contract.lookup("town", t) is None):
            t = mask_name(t)
        t = t if len(t) <= 30 else t[:30] + "…"
        if t not in out:
            out.append(t)
        if len(out) >= n:
            break
    return out


@dataclass
class SheetSample:
    sheet: str | None
    index: int
    header_row: int | None  # 1-based
    headers: list[str]
    columns: list[list]  # values per column (up to SAMPLE_ROWS rows)


def sample_sheets(path: str | Path, limits: Limits | None = None, rows: int = SAMPLE_ROWS) -> list[SheetSample]:
    """The header row and the first data rows of each sheet, for the mapping editor (nothing stored)."""
    from analytics.ingest.readers import inspect_file, open_sheets

    contract = load_contract()
    limits = limits or load_limits()
    info = inspect_file(path, score_head=lambda r: header_score(r, contract), limits=limits.read)
    out: list[SheetSample] = []
    for raw in open_sheets(info):
        _, hrows, _, _, _ = detect_header(raw.head, contract)
        hr = hrows[-1] - 1 if hrows else guess_header_row(raw.head)
        if hr is None:
            out.append(SheetSample(raw.name, raw.index, None, [], []))
            continue
        headers = [shown_text(v) if v is not None else "" for v in raw.head[hr]]
        width = len(headers)
        data: list[list] = []
        for row_no, values in raw.rows:
            if row_no <= hr + 1:
                continue
            if first_text(values) is None:
                continue
            data.append(list(values[:width]) + [None] * (width - len(values)))
            if len(data) >= rows:
                break
        columns = [[r[i] for r in data] for i in range(width)]
        out.append(SheetSample(raw.name, raw.index, hr + 1, [h.strip(WS) for h in headers], columns))
    return out


# ───────────────────────────── batches, rejected rows, undo ─────────────────────────────

BATCH_COLUMNS = {
    "batch_id": "批次", "file_name": "文件", "sha256": "SHA-256", "imported_at": "导入时间",
    "imported_by": "操作人", "kinds": "数据类别", "rows_read": "读取", "imported": "新增",
    "updated": "更新", "unchanged": "不变", "rejected": "拒收", "warned": "有提醒", "skipped": "跳过",
    "profile": "映射方案", "status": "状态",
}


def list_batches(con, limit: int | None = None) -> pd.DataFrame:
    """Every import batch, newest first: file, sha256, time, who, counts, and whether it was undone."""
    cur = con.cursor()
    try:
        df = cur.execute(f"""
            SELECT batch_id, file_name, sha256, imported_at, imported_by, kinds, rows_read, imported,
                   updated, unchanged, rejected, coalesce(warned, 0) AS warned, skipped, profile, undone_at, undone_by
            FROM import_batches ORDER BY batch_id DESC {'LIMIT ' + str(int(limit)) if limit else ''}""").df()
    finally:
        cur.close()
    contract = load_contract()
    df["kinds"] = [("、".join(contract.kinds[k].label for k in str(v).split(",") if k in contract.kinds)
                    if v else UNKNOWN) for v in df["kinds"]]
    df["status"] = [f"已撤销（{by or UNKNOWN}，{at:%Y-%m-%d %H:%M}）" if pd.notna(at) else "有效"
                    for at, by in zip(df["undone_at"], df["undone_by"])]
    return df


def batches_for_display(df: pd.DataFrame) -> pd.DataFrame:
    out = df[list(BATCH_COLUMNS)].rename(columns=BATCH_COLUMNS)
    out["操作人"] = out["操作人"].fillna(UNKNOWN)
    out["映射方案"] = out["映射方案"].fillna("—")
    return out


REJECT_COLUMNS = ["处理", "文件", "工作表", "行号", "列", "原因", "原始内容"]
LEVEL_LABELS = {"reject": "拒收", "warning": "提醒（已入库）"}


def raw_text_values(raw: str | dict | None, masked_headers: set[str]) -> dict[str, str]:
    """A rejected row's cells {表头: 值} as they may be shown: citizens' names masked (``mask_name``)
    and phone, ID, bank card, e-mail and plate numbers in every cell masked (``mask_text``) — the
    row was rejected before the import masked it. Empty cells are left out."""
    from analytics.core.privacy import mask_name, mask_text

    if raw is None:
        return {}
    try:
        values = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    if not isinstance(values, dict):
        return {}
    out = {}
    for h, v in values.items():
        if v is None or v == "":
            continue
        text = str(v)
        out[str(h)] = mask_name(text) if h in masked_headers else mask_text(text)
    return out


def _raw_text(raw: str | dict | None, masked_headers: set[str]) -> str:
    """The rejected row's values as "表头=值；…", personal data masked (``raw_text_values``)."""
    return "；".join(f"{h}={v}" for h, v in raw_text_values(raw, masked_headers).items())


# Columns holding the names of private persons: shown masked wherever a rejected row is shown.
NAME_FIELDS = {("opinions", "submitter")}


def masked_headers_of(sheets: list[dict]) -> dict[str | None, set[str]]:
    out: dict[str | None, set[str]] = {}
    for s in sheets or []:
        out[s.get("sheet")] = {c["header"] for c in s.get("columns", [])
                               if (s.get("kind"), c.get("field")) in NAME_FIELDS}
    return out


def rejects_frame(reports) -> pd.DataFrame:
    """The rejected rows of fresh reports (``ingest.FileReport``): file, sheet, row, column, reason."""
    rows = []
    for r in reports:
        masked = masked_headers_of(r.sheets)
        name = Path(r.file).name
        for x in r.rejects:
            rows.append([LEVEL_LABELS.get(x.level, x.level), name, x.sheet or "—", x.row_no, x.column or "—", x.reason,
                         _raw_text(x.raw, masked.get(x.sheet, set()))])
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)


def batch_rejects(con, batch_ids: Iterable[int]) -> pd.DataFrame:
    """The rejected rows stored for some batches, in file order."""
    ids = [int(b) for b in batch_ids]
    if not ids:
        return pd.DataFrame(columns=REJECT_COLUMNS)
    cur = con.cursor()
    try:
        sheets = {b: json.loads(s or "[]") for b, s in cur.execute(
            "SELECT batch_id, sheets FROM import_batches WHERE list_contains(?, batch_id)", [ids]).fetchall()}
        rows = cur.execute("""
            SELECT batch_id, coalesce(level, 'reject'), file_name, sheet, row_no, column_name, reason, raw
            FROM rejected_rows WHERE list_contains(?, batch_id)
            ORDER BY batch_id, coalesce(level, 'reject'), sheet NULLS FIRST, row_no, rowid""", [ids]).fetchall()
    finally:
        cur.close()
    masked = {b: masked_headers_of(s) for b, s in sheets.items()}
    out = [[LEVEL_LABELS.get(lv, lv), f, s or "—", n, c or "—", reason, _raw_text(raw, masked.get(b, {}).get(s, set()))]
           for b, lv, f, s, n, c, reason, raw in rows]
    return pd.DataFrame(out, columns=REJECT_COLUMNS)


def rejects_xlsx(df: pd.DataFrame) -> bytes:
    """The rejected rows as an .xlsx; a cell starting with = + - @ cannot run as a formula."""
    from analytics.core.safe_export import to_xlsx

    return to_xlsx({"拒收与提醒": df})


@dataclass
class UndoReport:
    batch_id: int
    file_name: str
    removed: dict[str, int]  # kind -> rows the batch had added, now gone
    restored: dict[str, int]  # kind -> rows the batch had changed, now as before it
    resegmented: int = 0

    def summary(self, contract: Contract | None = None) -> str:
        contract = contract or load_contract()
        parts = [f"{contract.kinds[k].label}删除 {n} 行" for k, n in self.removed.items() if n]
        parts += [f"{contract.kinds[k].label}恢复 {n} 行" for k, n in self.restored.items() if n]
        return f"已撤销批次 {self.batch_id}（{self.file_name}）：" + ("、".join(parts) or "没有需要改动的行")


def _struct_type(cur, kind: str) -> str:
    """json_transform's structure for a table's rows: the column names and types, from the
    catalogue (identifiers from our own schema, never from input)."""
    cols = cur.execute("""SELECT column_name, data_type FROM information_schema.columns
                          WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position""",
                       [kind]).fetchall()
    return json.dumps({c: t for c, t in cols})


def later_conflicts(cur, batch_id: int) -> list[int]:
    """Later batches, not undone, that inserted or changed a row this batch inserted or changed
    (``cur``: a cursor, inside the caller's transaction when there is one)."""
    return [r[0] for r in cur.execute("""
        SELECT DISTINCT l.batch_id
        FROM row_history h
        JOIN row_history l ON l.kind = h.kind AND l.row_key = h.row_key AND l.batch_id > h.batch_id
        JOIN import_batches b ON b.batch_id = l.batch_id AND b.undone_at IS NULL
        WHERE h.batch_id = ? ORDER BY 1""", [batch_id]).fetchall()]


def undo_batch(con, batch_id: int, user: str | None = None, progress: Callable | None = None) -> UndoReport:
    """Undo one import batch in one transaction on ``con`` (which must not be inside one).

    The rows the batch added are deleted; the rows it changed get back the values they had before it
    (their before-images in ``row_history``, including the batch that had written them); the batch
    stays in the history, marked undone (time and who); its rejected rows stay too. Word counts
    follow: words of deleted opinions are dropped, restored opinions are segmented again.

    The order rule: a batch can be undone only while no later batch that is still in effect has
    added or changed any of the same rows (by kind and id); those must be undone first, newest first.
    Undoing batches from the newest backwards always works. Rows a later batch only found unchanged
    do not count: that batch changed nothing.
    """
    contract = load_contract()
    cur = con.cursor()
    cur.execute("BEGIN TRANSACTION")
    try:
        file_name = _check_undoable(cur, batch_id)
        removed, restored = _undo_rows(cur, contract, batch_id)
        cur.execute("UPDATE import_batches SET undone_at = ?, undone_by = ? WHERE batch_id = ?",
                    [dt.datetime.now().replace(microsecond=0), user or login_name(), batch_id])
        report = UndoReport(batch_id, file_name, removed, restored)
        if removed.get("opinions") or restored.get("opinions"):
            from analytics.domain.hotwords import segment_pending

            report.resegmented = segment_pending(cur, progress=progress)
        cur.execute("COMMIT")
        return report
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    finally:
        cur.close()


def _check_undoable(cur, batch_id: int) -> str:
    """The batch's file name; AdminError (Chinese) when it does not exist, is undone already, or a
    later batch still in effect touched its rows (the order rule of ``undo_batch``)."""
    row = cur.execute("SELECT file_name, undone_at, undone_by FROM import_batches WHERE batch_id = ?",
                      [batch_id]).fetchone()
    if row is None:
        raise AdminError(f"批次 {batch_id} 不存在")
    file_name, undone_at, undone_by = row
    if undone_at is not None:
        raise AdminError(f"批次 {batch_id}（{file_name}）已于 {undone_at:%Y-%m-%d %H:%M} 由"
                         f" {undone_by or UNKNOWN} 撤销过了")
    blockers = later_conflicts(cur, batch_id)
    if blockers:
        ids = "、".join(str(b) for b in blockers)
        raise AdminError(f"不能撤销批次 {batch_id}（{file_name}）：之后的批次 {ids} 又新增或改动了"
                         f"它导入的部分行。请先撤销这些较晚的批次（从最新的开始），再撤销批次 {batch_id}。")
    return file_name


def _undo_rows(cur, contract: Contract, batch_id: int) -> tuple[dict[str, int], dict[str, int]]:
    """Per kind, delete the rows the batch added and put back the before-images of the rows it
    changed (``row_history``): (removed per kind, restored per kind)."""
    removed: dict[str, int] = {}
    restored: dict[str, int] = {}
    for kind in KINDS:  # identifiers from the fixed list
        k = contract.kinds[kind]
        n_ins, n_upd = cur.execute("""
            SELECT count(*) FILTER (WHERE action = 'insert'), count(*) FILTER (WHERE action = 'update')
            FROM row_history WHERE batch_id = ? AND kind = ?""", [batch_id, kind]).fetchone()
        if n_upd:
            cur.execute(f"""DELETE FROM {kind} WHERE {k.key} IN (
                              SELECT row_key FROM row_history WHERE batch_id = ? AND kind = ? AND action = 'update')""",
                        [batch_id, kind])
            cur.execute(f"""INSERT INTO {kind}
                            SELECT unnest(json_transform(old_row, '{_struct_type(cur, kind)}'))
                            FROM row_history WHERE batch_id = ? AND kind = ? AND action = 'update'""",
                        [batch_id, kind])
            restored[kind] = n_upd
        if n_ins:
            gone = cur.execute(f"""DELETE FROM {kind} WHERE batch_id = ? AND {k.key} IN (
                              SELECT row_key FROM row_history WHERE batch_id = ? AND kind = ? AND action = 'insert')""",
                               [batch_id, batch_id, kind]).fetchone()[0]
            removed[kind] = gone
    return removed, restored


def undo_batch_at(db, batch_id: int, user: str | None = None, wait: float | None = None,
                  progress: Callable | None = None, role: str | None = None) -> UndoReport:
    """``undo_batch`` on a store others read: in a copy swapped in whole (``store.snapshot``), with
    its record in the audit log (action "undo") in the same copy."""
    from analytics.store import audit
    from analytics.store.db import snapshot

    if wait is None:
        wait = load_limits().import_wait_s
    with snapshot(db, wait=wait, what=f"撤销批次 {batch_id}", user=user) as snap:
        report = undo_batch(snap.con, batch_id, user, progress)
        audit.record(snap.con, "undo", user or login_name(), role=role, target=f"批次 {batch_id}（{report.file_name}）",
                     detail={"batch_id": batch_id, "removed": report.removed, "restored": report.restored})
        from analytics.domain import ahead

        warmed = ahead.build_quietly(snap.con)  # counted into the copy before it is swapped in
    if isinstance(warmed, str):
        print(warmed, file=sys.stderr)
    return report
