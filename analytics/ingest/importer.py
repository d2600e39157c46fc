"""Import of the platforms' exports: ``python -m analytics ingest FILE... [--db PATH] [--json]``.

Three steps, kept apart so the data-management page can preview a file without storing it:

1. ``read_table(path)`` — read and validate: per sheet the detected kind, header rows, the mapping
   header -> field, the valid rows (a DataFrame) and every rejected row with its Chinese reason.
2. ``plan_file(con, path)`` — the same, plus how the store would change (imported / updated /
   unchanged / rejected), computed in a transaction that is rolled back.
3. ``ingest_files(con, paths)`` — plan and write, one transaction per file, on a connection;
   ``import_files(db, paths)`` — the same on a store others may be reading: each file is imported
   into a copy of the store that replaces the live file whole (``store.snapshot``), so readers never
   wait and never see half a file, and a killed import leaves the store as it was.

Opinions are segmented (hot-word counts, ``analytics.domain.hotwords.segment_pending``) in the same
transaction as their import: a store is never imported-but-unsegmented.

Columns of other systems' exports are mapped by a saved profile (``analytics.ingest.profiles``): one named
explicitly (``--profile``), or one whose header signature matches a header row of the sheet; a
profile found wins over the contract's own header spellings. Limits (file size, rows, columns,
zip bombs) come from ``data/limits.toml``.

Accounting, per file and per sheet: rows_read = imported + updated + unchanged + rejected.
Blank rows, 合计/总计/小计 rows, note rows (注：… / 制表人…) and repeated header rows are
*skipped* — not data, counted apart. Title rows above the header are not rows of data at all.

What the importer knows about the exports (fields, header spellings, value vocabularies) comes
from ``data/contract.toml`` via ``analytics.core.contract``; ``docs/data-contract.md`` describes it.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import gc
import getpass
import json
import logging
import re
import uuid
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.domain import ahead
from analytics.ingest import profiles as admin
from analytics.core import dates
from analytics.ingest.profiles import Limits, Profile, header_signature
from analytics.core.contract import Contract, CONTRACT_PATH, Kind, load_contract, norm_header
from analytics.core.privacy import mask_phone, mask_text
from analytics.ingest.cells import (SPACES, WS, Column, as_text, clean_value, column_letter, detect_header,
                                   first_text, header_score, shown_text, to_int)
from analytics.ingest.readers import (HEADER_SCAN_ROWS, FileInfo, RawSheet, ReadError, Unevaluated, estimate_rows,
                               inspect_file, open_sheets)
from analytics.store.db import StoreError, test_hook

VARIANT_OVERLAP = 0.75  # share of headers (Jaccard) a variant of a profile's export must share with it
log = logging.getLogger("cockpit.import")
CHUNK_ROWS = 50_000  # rows validated and staged at a time: bounds memory for million-row files
SHOWN_REJECTS = 20  # rejected rows the command line lists; the rest are in rejected_rows

Progress = Callable[[int, "int | None", str], None]

_TOTAL_RE = re.compile(r"^(?:合计|总计|小计|共计|总合计)(?:[:：(（\d].*)?$")
_NOTE_RE = re.compile(r"^(?:注[:：]|备注[:：]|说明[:：]|制表|填报人|审核人|导出时间|导出人|数据来源|统计时间|统计截止)")

# Every pattern mask_text replaces contains a digit, '@' or a capital letter (plates), half- or
# full-width: text without any of them is returned unchanged, so it skips the regex passes.
_PII_HINT = re.compile(r"[\d@A-Z＠Ａ-Ｚ]")


def _mask_free_text(text: str) -> str:
    return mask_text(text) if _PII_HINT.search(text) else text


# Free text that may carry personal data is masked before it is stored (analytics.core.privacy).
MASKED = {
    "opinions": {"title": _mask_free_text, "content": _mask_free_text, "phone": mask_phone},
    "suggestions": {"title": _mask_free_text, "content": _mask_free_text},
}
# (kind, later field, earlier field): the later one may not precede the earlier one.
ORDER_CHECKS = (("opinions", "closed_at", "submitted_at"),)

_ARROW_TYPES = {"int": pa.int64(), "date": pa.date32(), "datetime": pa.timestamp("us")}


REJECT, WARNING = "reject", "warning"  # rejected_rows.level
LEVEL_LABELS = {REJECT: "拒收", WARNING: "提醒"}


class Reject(NamedTuple):
    """One problem with one row; a row with several problems has several of these. ``level`` is
    REJECT (the row is not stored) or WARNING (the row is stored; an optional value was not
    understood and is kept as given, or left empty when its type cannot hold it)."""
    sheet: str | None
    row_no: int
    column: str | None
    reason: str  # personal data masked (``mask_reason``)
    raw: str  # JSON {header: original value}
    level: str = REJECT

    def to_json(self) -> dict:
        return {"sheet": self.sheet, "row": self.row_no, "column": self.column, "reason": self.reason,
                "level": self.level}


def mask_reason(text: str) -> str:
    """A rejection reason or warning as shown and stored: it may quote the value, which may be a
    phone, ID, bank card number or e-mail in the wrong column — masked like every other cell."""
    return _mask_free_text(text)


@dataclass
class SheetTable:
    """One sheet as read and validated, nothing stored. ``frame`` holds the valid rows."""
    file: str
    sheet: str | None  # worksheet title; None for a CSV file
    index: int
    kind: str | None = None
    kind_label: str | None = None
    header_rows: list[int] = field(default_factory=list)  # 1-based; usually one, two for two-level headers
    columns: list[Column] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # header texts not in the contract (ignored)
    missing: list[str] = field(default_factory=list)  # labels of required fields the sheet lacks
    error: str | None = None  # the sheet cannot be imported, and why
    note: str | None = None  # e.g. 空工作表
    profile: str | None = None  # the mapping profile the sheet was read with
    fixed: dict[str, str] = field(default_factory=dict)  # field -> value for every row (from the profile)
    options: dict = field(default_factory=dict)  # the profile's reading options (date_order, values)
    date_rules: dict[str, str] = field(default_factory=dict)  # header -> how its day/month order was read
    unlocated: int = 0  # stored opinions without a town (未定位)
    not_imported: int = 0  # non-blank rows of a sheet that cannot be imported (``error`` says why)
    rows_read: int = 0
    skipped: int = 0
    rejected: int = 0  # rows, not problems
    warned: int = 0  # stored rows with at least one warning
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list, repr=False)
    frame: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def header_row(self) -> int | None:
        """The last header row: data starts below it."""
        return self.header_rows[-1] if self.header_rows else None

    @property
    def mapping(self) -> dict[str, str]:
        """Column letter -> field name, for the mapped columns."""
        return {c.letter: c.field for c in self.columns if c.field}

    @property
    def importable(self) -> bool:
        return self.kind is not None and self.error is None

    def info(self) -> dict:
        return {
            "sheet": self.sheet, "kind": self.kind, "kind_label": self.kind_label,
            "header_row": self.header_row, "header_rows": self.header_rows,
            "columns": [{"column": c.letter, "header": c.header, "field": c.field} for c in self.columns if c.header],
            "unmapped": self.unmapped, "missing": self.missing, "error": self.error, "note": self.note,
            "profile": self.profile, "fixed": self.fixed, "rows_read": self.rows_read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected, "skipped": self.skipped,
            "warned": self.warned, "unlocated": self.unlocated, "date_rules": self.date_rules,
            "not_imported": self.not_imported,
        }


@dataclass
class FileReport:
    file: str
    kind: str | None = None  # detected kind; comma-joined when sheets differ
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    warned: int = 0  # stored rows with at least one warning (an optional value not understood)
    unlocated: int = 0  # opinions stored without a town (未定位)
    not_imported: int = 0  # rows of sheets that could not be imported (each sheet's error says why)
    skipped: int = 0  # blank / 合计 / note / repeated-header rows: not data
    error: str | None = None  # the file could not be read: nothing was stored
    batch_id: int | None = None
    sheets: list[dict] = field(default_factory=list)
    encoding: str | None = None
    sha256: str | None = None
    rejects: list[Reject] = field(default_factory=list, repr=False)
    segmented: int = 0  # opinions segmented (hot words) in the file's transaction

    @property
    def profiles(self) -> list[str]:
        return list(dict.fromkeys(s["profile"] for s in self.sheets if s.get("profile")))

    def to_json(self) -> dict:
        return {
            "file": self.file, "kind": self.kind, "rows_read": self.rows_read, "imported": self.imported,
            "updated": self.updated, "unchanged": self.unchanged, "rejected": self.rejected,
            "error": self.error, "skipped": self.skipped, "batch_id": self.batch_id,
            "encoding": self.encoding, "sha256": self.sha256, "profile": ",".join(self.profiles) or None,
            "segmented": self.segmented, "warned": self.warned, "unlocated": self.unlocated,
            "not_imported": self.not_imported, "sheets": self.sheets,
        }

    def check(self) -> None:
        total = self.imported + self.updated + self.unchanged + self.rejected
        assert total == self.rows_read, f"{self.file}: {total} accounted != {self.rows_read} read"


# ── header and kind detection ─────────────────────────────────────────────────

def _where(sheet: RawSheet | SheetTable) -> str:
    name = sheet.sheet if isinstance(sheet, SheetTable) else sheet.name
    return f"工作表“{name}”" if name is not None else "文件"


def _inspect(path: str | Path, contract: Contract, limits: Limits | None = None) -> FileInfo:
    limits = limits or admin.load_limits()
    return inspect_file(path, score_head=lambda rows: header_score(rows, contract), limits=limits.read)


# ── mapping profiles ──────────────────────────────────────────────────────────

def _head_texts(row: list) -> tuple[list[str], list[str]]:
    shown = [shown_text(v) if isinstance(v, str) else "" for v in row]
    return shown, [norm_header(x) if x else "" for x in shown]


def match_profile(head: list[list], profiles: Iterable[Profile], explicit: Profile | None = None
                  ) -> tuple[Profile, int] | None:
    """(profile, 0-based header row) for a sheet's first rows: the explicit profile at the first row
    holding all of its mapped headers; else a saved profile whose header signature equals a row's."""
    if explicit is not None:
        wanted = set(explicit.mapping)
        for r, row in enumerate(head):
            _, normed = _head_texts(row)
            if wanted <= set(normed):
                return explicit, r
        return None
    profiles = list(profiles)
    by_sig = {p.signature: p for p in profiles}
    if not by_sig:
        return None
    for r, row in enumerate(head):
        shown, _ = _head_texts(row)
        if sum(1 for x in shown if x) < 2:
            continue
        hit = by_sig.get(header_signature(shown))
        if hit is not None:
            return hit, r
    # A variant of a profile's export (a column more or less, another order): every header the
    # profile maps is there and most of the row's headers are the profile's (VARIANT_OVERLAP).
    best: tuple[float, Profile, int] | None = None
    for r, row in enumerate(head):
        _, normed = _head_texts(row)
        have = {x for x in normed if x}
        if len(have) < 2:
            continue
        for p in profiles:
            theirs = {norm_header(h) for h in p.headers}
            if not set(p.mapping) <= have:
                continue
            overlap = len(have & theirs) / len(have | theirs)
            if overlap >= VARIANT_OVERLAP and (best is None or overlap > best[0]):
                best = (overlap, p, r)
    return (best[1], best[2]) if best else None


def apply_profile(head: list[list], profile: Profile, r: int, contract: Contract
                  ) -> tuple[str, list[int], list[Column], list[str], str | None]:
    """Like ``detect_header``, for a sheet read with a profile: (kind, header rows, columns,
    missing required labels, error)."""
    kind = contract.kinds[profile.kind]
    shown, normed = _head_texts(head[r])
    used: set[str] = set()
    columns = []
    for i, (h, n) in enumerate(zip(shown, normed)):
        f = profile.mapping.get(n) if n else None
        if f in used or (f is not None and f not in kind.columns):
            f = None
        if f:
            used.add(f)
        columns.append(Column(i, column_letter(i), h, f))
    missing = [f.label for f in kind.fields if f.required and f.name not in used and f.name not in profile.fixed]
    error = None
    if missing:
        error = (f"按映射方案“{profile.name}”读取时缺少必填字段：{'、'.join(missing)}"
                 "（请在“数据管理”页修改该方案，把某一列对应到它或填写固定值）")
    elif kind.key not in used:
        error = f"按映射方案“{profile.name}”读取时，编号字段“{kind.field(kind.key).label}”没有对应的列"
    return profile.kind, [r + 1], columns, missing, error


class _Validator:
    """Validates chunks of one kind's rows; remembers keys across chunks and sheets of one file."""

    def __init__(self, contract: Contract, kind: str):
        self.contract = contract
        self.kind: Kind = contract.kinds[kind]
        # key -> sheet index << 32 | row number of its first row (an int: a million keys stay small)
        self.seen: dict[str, int] = {}
        self.sheet_names: dict[int, str | None] = {}
        self._caches: dict[str, dict] = {}
        allowed = {v: "、".join(contract.canon[v]) for v in contract.canon}
        self._allowed = allowed

    def _lookup(self, fld, values: list, value_map: dict[str, str] | None = None) -> tuple[list, dict[int, str]]:
        vocab = fld.vocab if fld.type == "enum" else "town"
        value_map = value_map or {}
        cache = self._caches.setdefault(f"{vocab}\x00{fld.name}" if value_map else vocab, {})
        out, errors = [], {}
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            key = v if isinstance(v, str) else as_text(v)
            hit = cache.get(key, False)
            if hit is False:
                hit = value_map.get(key) or self.contract.lookup(vocab, key)
                cache[key] = hit
            if hit is None:
                if vocab == "town":
                    errors[i] = (f"“{key}”不是萧山区的镇街（可写全称如“瓜沥镇”“城厢街道”、简称如“瓜沥”，"
                                 f"或“萧山经济技术开发区/开发区”）")
                else:
                    errors[i] = f"“{key}”不是可接受的{fld.label}（可接受：{self._allowed[vocab]}）"
            out.append(hit)
        return out, errors

    def validate(self, sheet: SheetTable, chunk: list[tuple[int, list]], all_str: bool
                 ) -> tuple[pa.Table, list[Reject], int]:
        """(valid rows as Arrow, rejects, number of rejected rows) for one chunk."""
        n = len(chunk)
        col_of = {c.field: c for c in sheet.columns if c.field}
        problems: dict[int, list[tuple[str | None, str]]] = {}
        notes: dict[int, list[tuple[str | None, str]]] = {}

        def flag(i: int, column: str | None, reason: str) -> None:
            problems.setdefault(i, []).append((column, reason))

        def warn(i: int, column: str | None, reason: str) -> None:
            notes.setdefault(i, []).append((column, reason))

        arrays: dict[str, object] = {}
        parsed: dict[str, object] = {}  # field -> its parsed dates (a Series), for the order checks
        for fld in self.kind.fields:
            col = col_of.get(fld.name)
            if col is None and fld.name not in sheet.fixed:  # absent optional field: unknown (NULL), never zero
                arrays[fld.name] = pa.nulls(n, _ARROW_TYPES.get(fld.type, pa.string()))
                continue
            values, header = self._values(sheet, fld, col, chunk, all_str)
            formulas: set[int] = set()
            if not all_str:
                for i, v in enumerate(values):
                    if type(v) is Unevaluated:
                        formulas.add(i)
                        values[i] = None  # not a value: reported as a formula, never as an empty cell
                        reason = (f"公式“{str(v)[:40]}”没有保存计算结果（文件由程序生成、未在 Excel 中保存过）："
                                  "请在 Excel 中打开并保存，或把公式转为数值后重新导入")
                        (flag if fld.required else warn)(i, header, reason)
            arr, errors = self._convert(fld, values, all_str, parsed, keep_unknown=not fld.required,
                                        sheet=sheet, header=header)
            for i, reason in errors.items():
                # Only a missing or unreadable required field (or a repeated id) rejects a row; an
                # optional value that is not understood is stored as given or left empty, and noted.
                (flag if fld.required or fld.name == self.kind.key else warn)(i, header, reason)
            if fld.required:
                for i, v in enumerate(values):
                    if v is None and i not in formulas:
                        flag(i, header, f"必填项“{fld.label}”为空")
            if fld.name == self.kind.key:
                key_values = arr.to_pylist()
            arrays[fld.name] = arr

        self._check_order(col_of, parsed, flag)
        self._check_keys(sheet, chunk, key_values, col_of[self.kind.key], flag)
        if self.kind.name == "opinions" and "town" in arrays:
            town_null = np.asarray(arrays["town"].is_null().to_numpy(zero_copy_only=False))
            sheet.unlocated += int(sum(1 for i in np.flatnonzero(town_null) if i not in problems))
        for i, ns in notes.items():  # a rejected row lists all its problems
            if i in problems:
                problems[i].extend(ns)
        rejects, keep = self._rejects(sheet, chunk, problems)
        rejects += self._warnings(sheet, chunk, {i: v for i, v in notes.items() if keep[i]})
        arrays["_row_no"] = pa.array([r for r, _ in chunk], pa.int64())
        arrays["_sheet"] = pa.array(np.full(n, sheet.index, dtype=np.int32))
        table = pa.table(arrays)
        if problems:
            table = table.filter(pa.array(keep))
        return table, rejects, n - int(keep.sum())

    @staticmethod
    def _values(sheet: SheetTable, fld, col: Column | None, chunk: list[tuple[int, list]], all_str: bool
                ) -> tuple[list, str]:
        """A field's trimmed values in a chunk (its column's, or the profile's fixed value for every
        row when ``col`` is None) and the header its problems are reported under."""
        if col is None:
            return [sheet.fixed[fld.name]] * len(chunk), f"{fld.label}（固定值）"
        j = col.index
        if all_str:
            values = [(r[j].strip(WS) or None) if j < len(r) else None for _, r in chunk]
        else:
            values = [clean_value(r[j]) if j < len(r) else None for _, r in chunk]
        return values, col.header or col.letter

    def _convert(self, fld, values: list, all_str: bool, parsed: dict[str, object], keep_unknown: bool = False,
                 sheet: SheetTable | None = None, header: str | None = None) -> tuple[pa.Array, dict[int, str]]:
        """A field's values as an Arrow array of its type, and the reason for each value that is not
        one (by position). Parsed dates are also left in ``parsed`` for the order checks. With
        ``keep_unknown`` (an optional field) a value a vocabulary does not know is stored as given."""
        if fld.type in ("id", "text"):
            out = values if all_str else [None if v is None else as_text(v) for v in values]
            masker = MASKED.get(self.kind.name, {}).get(fld.name)
            if masker is not None:
                out = [None if v is None else masker(v) for v in out]
            return pa.array(out, pa.string()), {}
        if fld.type == "int":
            return self._ints(values)
        if fld.type in ("date", "datetime"):
            rules: dict[str, str] = {}
            series, errors = dates.parse_column(values, date_only=fld.type == "date",
                                                order=sheet.options.get("date_order") if sheet else None, rules=rules)
            if sheet is not None:
                for order, how in rules.items():
                    sheet.date_rules[header or fld.label] = f"按{dates.ORDERS[order]}读取（依据：{how}）"
            parsed[fld.name] = series
            arr = pa.Array.from_pandas(series)
            if fld.type == "date":
                arr = arr.cast(pa.date32())
            return arr, errors
        value_map = (sheet.options.get("values") or {}).get(fld.name) if sheet else None
        out, errors = self._lookup(fld, values, value_map)  # enum, town
        if keep_unknown and fld.type == "enum":
            for i in errors:
                v = values[i]
                out[i] = v if isinstance(v, str) else as_text(v)
                errors[i] += "；已按原样保存，统计时计入“其他/未知”"
        elif keep_unknown and fld.type == "town":
            for i in errors:
                errors[i] += "；该行按“未定位”保存（计入全区，不计入任何镇街）"
        return pa.array(out, pa.string()), errors

    def _ints(self, values: list) -> tuple[pa.Array, dict[int, str]]:
        """Counts as int64, and why each value that is not a count is not (results cached by value)."""
        cache = self._caches.setdefault("int", {})
        errors: dict[int, str] = {}
        out = []
        for i, v in enumerate(values):
            if v is None:
                out.append(None)
                continue
            hit = cache.get(v) if not isinstance(v, float) else None
            if hit is None:
                try:
                    hit = to_int(v)
                except ValueError as exc:
                    hit = str(exc)
                if not isinstance(v, float):
                    cache[v] = hit
            if isinstance(hit, str):
                errors[i] = hit
                out.append(None)
            else:
                out.append(hit)
        return pa.array(out, pa.int64()), errors

    def _check_order(self, col_of: dict[str, Column], parsed: dict[str, object],
                     flag: Callable[[int, str | None, str], None]) -> None:
        """Flag rows whose later date precedes the earlier one (``ORDER_CHECKS``); the same day with
        no time of day is not early."""
        for kname, later, earlier in ORDER_CHECKS:
            if kname == self.kind.name and later in parsed and earlier in parsed:
                a, b = parsed[later], parsed[earlier]
                bad = (a < b) & ~((a == a.dt.floor("D")) & (a.dt.floor("D") == b.dt.floor("D")))
                lcol = col_of.get(later)
                lheader = (lcol.header or lcol.letter) if lcol else f"{self.kind.field(later).label}（固定值）"
                for i in np.flatnonzero(bad.to_numpy(dtype=bool, na_value=False)):
                    flag(int(i), lheader,
                         f"{self.kind.field(later).label}（{a.iloc[i]}）早于{self.kind.field(earlier).label}（{b.iloc[i]}）")

    def _check_keys(self, sheet: SheetTable, chunk: list[tuple[int, list]], key_values: list, key_col: Column,
                    flag: Callable[[int, str | None, str], None]) -> None:
        """Flag rows whose 编号 an earlier row of the file (this sheet or another) already had."""
        key_header = key_col.header or key_col.letter
        self.sheet_names[sheet.index] = sheet.sheet
        for i, key in enumerate(key_values):
            if key is None:
                continue
            row_no = chunk[i][0]
            first = self.seen.get(key)
            if first is None:
                self.seen[key] = sheet.index << 32 | row_no
                continue
            first_sheet, first_row = first >> 32, first & 0xFFFFFFFF
            if first_sheet == sheet.index:
                flag(i, key_header, f"与第{first_row}行编号重复")
            else:
                flag(i, key_header, f"与工作表“{self.sheet_names[first_sheet]}”第{first_row}行编号重复")

    def _rejects(self, sheet: SheetTable, chunk: list[tuple[int, list]],
                 problems: dict[int, list[tuple[str | None, str]]]) -> tuple[list[Reject], np.ndarray]:
        """One Reject per problem, each with its row as typed (personal data masked), and which rows
        of the chunk are kept."""
        rejects: list[Reject] = []
        keep = np.ones(len(chunk), dtype=bool)
        if problems:
            headers = _raw_headers(sheet)
            maskers = {c.index: MASKED[self.kind.name][c.field] for c in sheet.columns
                       if c.field in MASKED.get(self.kind.name, {})}
            for i in sorted(problems):
                keep[i] = False
                row_no, values = chunk[i]
                raw = json.dumps({h: _raw_value(values[j] if j < len(values) else None, maskers.get(j))
                                  for j, h in headers}, ensure_ascii=False)
                for column, reason in problems[i]:
                    rejects.append(Reject(sheet.sheet, row_no, column, mask_reason(reason), raw))
        return rejects, keep

    def _warnings(self, sheet: SheetTable, chunk: list[tuple[int, list]],
                  notes: dict[int, list[tuple[str | None, str]]]) -> list[Reject]:
        """One WARNING per value of a stored row that was not understood (the row's raw JSON is not
        kept: the row itself is in the store)."""
        return [Reject(sheet.sheet, chunk[i][0], column, mask_reason(reason), "{}", WARNING)
                for i in sorted(notes) for column, reason in notes[i]]


def _raw_headers(sheet: SheetTable) -> list[tuple[int, str]]:
    """(position, unique header text) for every column that has a header, for the raw-row JSON."""
    out, seen = [], set()
    for c in sheet.columns:
        if not c.header:
            continue
        name = c.header if c.header not in seen else f"{c.header}（{c.letter}列）"
        seen.add(name)
        out.append((c.index, name))
    return out


def _raw_value(v: object, masker=None) -> object:
    """A cell as the user typed it, for the rejected-row record; personal data masked as when stored."""
    if masker is not None and v is not None:
        return masker(as_text(v))
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return as_text(v)


# ── reading a whole file ──────────────────────────────────────────────────────

Sink = Callable[[str, SheetTable, pa.Table], None]


def _is_filler_row(first: object, values) -> bool:
    """合计/总计/小计 rows and one-cell notes (注：…, 制表人…) are not data."""
    if type(first) is not str:
        return False
    if first[0] in "合总小共":
        return bool(_TOTAL_RE.match(SPACES.sub("", first)))
    if _NOTE_RE.match(first):
        return sum(1 for v in values if first_text((v,)) is not None) == 1
    return False


@contextlib.contextmanager
def _no_gc():
    """Pause the cyclic garbage collector while reading: the rows are millions of small lists
    without cycles, and repeated full collections over them cost a quarter of the import time."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@dataclass
class _Options:
    """What else a file is read with: saved profiles, an explicit profile, the row limit."""
    profiles: list[Profile] = field(default_factory=list)
    explicit: Profile | None = None
    max_rows: int | None = None
    limits_source: str = "data/limits.toml"


def _parse(info: FileInfo, contract: Contract, sink: Sink, limit: int | None = None,
           progress: Progress | None = None, done: int = 0, total: int | None = None,
           options: _Options | None = None) -> list[SheetTable]:
    """Read, detect and validate every sheet; hand the valid rows to ``sink`` chunk by chunk."""
    with _no_gc():
        return _parse_sheets(info, contract, sink, limit, progress, done, total, options or _Options())


def _parse_sheets(info: FileInfo, contract: Contract, sink: Sink, limit: int | None,
                  progress: Progress | None, done: int, total: int | None, options: _Options) -> list[SheetTable]:
    """Every sheet of a file: its header rows and kind found (``_read_header``), then its rows read,
    validated and handed to ``sink`` (``_read_rows``); one validator per kind across the sheets."""
    sheets: list[SheetTable] = []
    validators: dict[str, _Validator] = {}
    all_str = info.format == "csv"
    for raw in open_sheets(info):
        st = SheetTable(info.path.name, raw.name, raw.index, note="隐藏工作表" if raw.hidden else None)
        sheets.append(st)
        if not _read_header(raw, st, contract, options):
            if st.error:  # counted, so that every row of the file is accounted for
                st.not_imported = _count_rows(raw, st.header_row or 0, options.max_rows)
            continue
        validator = validators.setdefault(st.kind, _Validator(contract, st.kind))
        done = _read_rows(raw, st, validator, all_str, sink, limit, progress, done, total, options)
    return sheets


def _count_rows(raw: RawSheet, below: int, cap: int | None) -> int:
    """Non-blank rows of a sheet below row ``below`` (0: every row), for a sheet that is not imported;
    counting stops past ``cap`` (the row limit)."""
    n = 0
    for row_no, values in raw.rows:
        if row_no > below and first_text(values) is not None:
            n += 1
            if cap is not None and n > cap:
                break
    return n


def _read_header(raw: RawSheet, st: SheetTable, contract: Contract, options: _Options) -> bool:
    """Find a sheet's header rows, columns and kind (by a mapping profile, else by the contract's
    header spellings) and note them in ``st``. False when the sheet is empty or cannot be imported;
    ``st.note`` / ``st.error`` then say why."""
    if not any(first_text(r) is not None for r in raw.head):
        st.note = "空工作表" if raw.name is not None else "空文件"
        if raw.name is None:
            st.error = "文件里没有任何内容"
        return False
    found = match_profile(raw.head, options.profiles, options.explicit)
    if found is not None:
        profile, r = found
        kind, header_rows, columns, missing, error = apply_profile(raw.head, profile, r, contract)
        st.profile, st.fixed, st.options = profile.name, dict(profile.fixed), dict(profile.options)
    elif options.explicit is not None:
        wanted = "、".join(h for h in options.explicit.headers
                          if norm_header(h) in options.explicit.mapping)
        kind, header_rows, columns, missing = None, [], [], []
        error = (f"表头与映射方案“{options.explicit.name}”不符：前 {HEADER_SCAN_ROWS} 行中没有一行同时含有 "
                 f"{wanted}")
    else:
        kind, header_rows, columns, missing, error = detect_header(raw.head, contract)
    st.kind, st.header_rows, st.columns, st.missing = kind, header_rows, columns, missing
    st.unmapped = [c.header for c in columns if c.header and not c.field]
    if kind:
        st.kind_label = contract.kinds[kind].label
    if error:
        st.error = f"{_where(raw)}{error}"
        return False
    return True


def _read_rows(raw: RawSheet, st: SheetTable, validator: _Validator, all_str: bool, sink: Sink, limit: int | None,
               progress: Progress | None, done: int, total: int | None, options: _Options) -> int:
    """Read a sheet's rows below its header rows, count apart what is not data (blank, 合计, note and
    repeated header rows), validate the rest chunk by chunk and hand each chunk's valid rows to
    ``sink``. Returns ``done`` advanced by the rows read."""
    name = st.file
    key_col = next(c for c in st.columns if c.field == validator.kind.key)
    key_header = norm_header(key_col.header)
    key_first = key_col.header[:1]
    last_header = st.header_rows[-1]
    pending_blank = 0
    chunk: list[tuple[int, list]] = []

    def flush() -> None:
        nonlocal done
        table, rejects, n_bad = validator.validate(st, chunk, all_str)
        st.rejects.extend(rejects)
        st.rejected += n_bad
        st.warned += len({r.row_no for r in rejects if r.level == WARNING})
        sink(st.kind, st, table)
        done += len(chunk)
        chunk.clear()
        if progress:
            progress(done, total, f"正在读取 {name}{'（' + raw.name + '）' if raw.name else ''}：已读 {st.rows_read} 行")

    prev_row = last_header
    for row_no, values in raw.rows:
        if row_no <= last_header:
            continue
        if row_no > prev_row + 1:  # empty rows the reader left out
            pending_blank += row_no - prev_row - 1
        prev_row = row_no
        first = first_text(values)
        if first is None:
            pending_blank += 1  # counted only if data follows: trailing blank rows are not rows
            continue
        st.skipped += pending_blank
        pending_blank = 0
        if _is_filler_row(first, values):
            st.skipped += 1
            continue
        kv = values[key_col.index] if key_col.index < len(values) else None
        if type(kv) is str and kv.strip(WS)[:1] == key_first and norm_header(kv) == key_header:  # repeated header
            st.skipped += 1
            continue
        chunk.append((row_no, values))
        st.rows_read += 1
        if options.max_rows is not None and st.rows_read > options.max_rows:
            raise ReadError(f"无法导入“{name}”：{_where(raw)}的数据超过 {options.max_rows:,} 行的上限"
                            f"（{options.limits_source} 的 [sheet] max_rows），整个文件没有导入；"
                            "请按时间段拆成几个文件再导入")
        if len(chunk) >= CHUNK_ROWS:
            flush()
        if limit is not None and st.rows_read >= limit:
            break
    if chunk or st.rows_read == 0:
        flush()
    return done


def _file_error(name: str, sheets: list[SheetTable]) -> str | None:
    """The message when no sheet of the file can be imported; None when at least one can."""
    if any(s.importable for s in sheets):
        return None
    errors = [s.error for s in sheets if s.error]
    if not errors:
        return f"无法导入“{name}”：文件中没有数据（所有工作表都是空的）"
    return f"无法导入“{name}”：" + "；".join(errors)


def read_table(path: str | Path, limit: int | None = None, contract: Contract | None = None,
               profiles: list[Profile] | None = None, profile: Profile | None = None) -> list[SheetTable]:
    """Read and validate a file without storing anything: per sheet the kind, headers and rows.

    ``frame`` of each importable sheet holds its valid rows (contract field names, stored values,
    plus ``row_no``); ``rejects`` its problems. ``limit`` stops each sheet after that many data
    rows (a preview). ``profiles`` are matched by header signature, ``profile`` is applied to every
    sheet. Raises ReadError when the file cannot be read or no sheet is importable.
    """
    contract = contract or load_contract()
    limits = admin.load_limits()
    info = _inspect(path, contract, limits)
    options = _Options(profiles or [], profile, limits.max_rows, limits.source)
    parts: dict[int, list[pa.Table]] = {}

    def sink(kind: str, st: SheetTable, table: pa.Table) -> None:
        parts.setdefault(st.index, []).append(table)

    sheets = _parse(info, contract, sink, limit=limit, options=options)
    error = _file_error(info.path.name, sheets)
    if error:
        raise ReadError(error)
    for st in sheets:
        if st.importable:
            table = pa.concat_tables(parts[st.index]).drop_columns(["_sheet"])
            st.frame = table.to_pandas(date_as_object=False).rename(columns={"_row_no": "row_no"})
    return sheets


# ── the store ─────────────────────────────────────────────────────────────────

# Fields a kind gained after stores already held its rows (schema migration 7: the opinions'
# support and oppose counts). They enter the row hash only when they have a value, under their name,
# so a row stored before they existed, and the same row from an export without them, hash as before.
LATER_FIELDS: dict[str, tuple[str, ...]] = {"opinions": ("support", "oppose")}


def row_hash_sql(kind: Kind, alias: str) -> str:
    """row_hash: md5 of the stored values in contract order, NULL distinct from any text.

    Computed by DuckDB (vectorised) from its text form of each value; should a DuckDB upgrade ever
    change how it prints a timestamp, the next import reports those rows as updated once, no worse.
    A field of ``LATER_FIELDS`` adds ``name=value`` when it has a value and nothing when it is NULL
    (concat_ws skips a NULL).
    """
    later = LATER_FIELDS.get(kind.name, ())
    parts = [f"CASE WHEN {alias}.{c} IS NULL THEN NULL ELSE '{c}=' || CAST({alias}.{c} AS VARCHAR) END"
             if c in later else
             f"CASE WHEN {alias}.{c} IS NULL THEN 'N' ELSE 'V' || CAST({alias}.{c} AS VARCHAR) END"
             for c in kind.columns]
    return f"md5(concat_ws(chr(31), {', '.join(parts)}))"


class _Stager:
    """Sink that appends validated chunks to a temporary table per kind on one cursor."""

    def __init__(self, cur, contract: Contract):
        self.cur, self.contract = cur, contract
        self.kinds: list[str] = []

    def __call__(self, kind: str, st: SheetTable, table: pa.Table) -> None:
        cols = ", ".join(self.contract.kinds[kind].columns)
        if kind not in self.kinds:
            self.kinds.append(kind)
            self.cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_{kind} AS "
                             f"SELECT {cols}, 0::BIGINT AS _row_no, 0::INTEGER AS _sheet FROM {kind} LIMIT 0")
        if table.num_rows:
            self.cur.register("ingest_chunk", table)
            try:
                self.cur.execute(f"INSERT INTO stage_{kind} SELECT {cols}, _row_no, _sheet FROM ingest_chunk")
            finally:
                self.cur.unregister("ingest_chunk")

    def classify(self, sheets: list[SheetTable]) -> None:
        """Compare staged rows with the store: action insert / update / unchanged, counted per sheet."""
        by_index = {s.index: s for s in sheets}
        for kind in self.kinds:
            k = self.contract.kinds[kind]
            self.cur.execute(f"""
                CREATE OR REPLACE TEMP TABLE plan_{kind} AS
                WITH h AS (SELECT s.*, {row_hash_sql(k, 's')} AS row_hash FROM stage_{kind} s)
                SELECT h.*,
                       CASE WHEN t.{k.key} IS NULL THEN 'insert'
                            WHEN t.row_hash = h.row_hash THEN 'unchanged'
                            ELSE 'update' END AS action
                FROM h LEFT JOIN {kind} t ON t.{k.key} = h.{k.key}""")
            self.cur.execute(f"DROP TABLE stage_{kind}")  # the plan holds the rows now: halve the memory
            counts = self.cur.execute(
                f"SELECT _sheet, action, count(*) FROM plan_{kind} GROUP BY ALL").fetchall()
            for sheet_index, action, n in counts:
                st = by_index[sheet_index]
                attr = {"insert": "imported", "update": "updated", "unchanged": "unchanged"}[action]
                setattr(st, attr, getattr(st, attr) + n)

    def write(self, batch_id: int) -> None:
        cur = self.cur
        for kind in self.kinds:
            k = self.contract.kinds[kind]
            cols = ", ".join(k.columns)
            key = k.key
            cur.execute(f"""
                INSERT INTO row_history (batch_id, kind, row_key, action, old_row)
                SELECT ?, ?, t.{key}, 'update', to_json(t) FROM {kind} t
                WHERE t.{key} IN (SELECT {key} FROM plan_{kind} WHERE action = 'update')""", [batch_id, kind])
            cur.execute(f"""
                INSERT INTO row_history (batch_id, kind, row_key, action, old_row)
                SELECT ?, ?, {key}, 'insert', NULL FROM plan_{kind} WHERE action = 'insert'
                ORDER BY _sheet, _row_no""", [batch_id, kind])
            test_hook("mid_write")
            sets = ", ".join(f"{c} = p.{c}" for c in k.columns if c != key)
            cur.execute(f"""
                UPDATE {kind} SET {sets}, batch_id = ?, row_hash = p.row_hash
                FROM plan_{kind} p WHERE {kind}.{key} = p.{key} AND p.action = 'update'""", [batch_id])
            cur.execute(f"""
                INSERT INTO {kind} ({cols}, batch_id, row_hash)
                SELECT {cols}, ?, row_hash FROM plan_{kind} WHERE action = 'insert'
                ORDER BY _sheet, _row_no""", [batch_id])

    def drop(self) -> None:
        for kind in self.kinds:
            self.cur.execute(f"DROP TABLE IF EXISTS stage_{kind}")
            self.cur.execute(f"DROP TABLE IF EXISTS plan_{kind}")


def _write_rejects(cur, batch_id: int, file_name: str, rejects: list[Reject]) -> None:
    if not rejects:
        return
    table = pa.table({
        "batch_id": pa.array(np.full(len(rejects), batch_id, dtype=np.int64)),
        "file_name": pa.array([file_name] * len(rejects), pa.string()),
        "sheet": pa.array([r.sheet for r in rejects], pa.string()),
        "row_no": pa.array([r.row_no for r in rejects], pa.int32()),
        "column_name": pa.array([r.column for r in rejects], pa.string()),
        "reason": pa.array([r.reason for r in rejects], pa.string()),
        "raw": pa.array([r.raw for r in rejects], pa.string()),
        "level": pa.array([r.level for r in rejects], pa.string()),
    })
    cur.register("ingest_rejects", table)
    try:
        cur.execute("INSERT INTO rejected_rows (batch_id, file_name, sheet, row_no, column_name, reason, raw, level) "
                    "SELECT batch_id, file_name, sheet, row_no, column_name, reason, raw, level FROM ingest_rejects")
    finally:
        cur.unregister("ingest_rejects")


def _summarise(report: FileReport, sheets: list[SheetTable]) -> None:
    good = [s for s in sheets if s.importable]
    kinds = list(dict.fromkeys(s.kind for s in good))
    report.kind = ",".join(kinds) or None
    for attr in ("rows_read", "imported", "updated", "unchanged", "rejected", "skipped", "warned", "unlocated"):
        setattr(report, attr, sum(getattr(s, attr) for s in good))
    report.sheets = [s.info() for s in sheets]
    report.not_imported = sum(s.not_imported for s in sheets)
    report.rejects = [r for s in sheets for r in s.rejects]
    for s in good:
        assert s.imported + s.updated + s.unchanged + s.rejected == s.rows_read, s.info()
    report.check()


def _run_file(con, path: str | Path, write: bool, user: str | None, contract: Contract,
              progress: Progress | None, done: int, total: int | None,
              profile: str | Profile | None = None, limits: Limits | None = None) -> FileReport:
    """Plan (``write`` False) or import one file in a transaction of its own on ``con``; a file that
    cannot be read is a report with an error, and nothing of it is kept."""
    report = FileReport(str(path))
    try:
        limits = limits or admin.load_limits()
        info = _inspect(path, contract, limits)
    except (ReadError, admin.LimitsError) as exc:
        report.error = str(exc)
        return report
    report.encoding, report.sha256 = info.encoding_label, info.sha256
    cur = con.cursor()
    try:
        cur.execute("BEGIN TRANSACTION")
        try:
            report = _file_transaction(cur, info, report, write, user, contract, progress, done, total,
                                       profile, limits)
        except ReadError as exc:
            cur.execute("ROLLBACK")
            report = FileReport(str(path), error=str(exc), encoding=info.encoding_label, sha256=info.sha256)
        except BaseException:
            cur.execute("ROLLBACK")
            raise
    finally:
        cur.close()
    return report


def _file_transaction(cur, info: FileInfo, report: FileReport, write: bool, user: str | None, contract: Contract,
                      progress: Progress | None, done: int, total: int | None, profile: str | Profile | None,
                      limits: Limits) -> FileReport:
    """The body of a file's transaction (begun on ``cur``): committed when the file is written,
    rolled back when it is only planned; ReadError when no sheet of it can be imported."""
    profiles = admin.load_profiles(cur)
    explicit = _explicit_profile(profiles, profile, info.path.name)
    options = _Options(profiles, explicit, limits.max_rows, limits.source)
    if write:
        earlier = _same_file_in_effect(cur, info, contract, explicit, profiles, limits.max_rows)
        if earlier is not None:  # these very bytes are in the store as they were read: skip reading
            report = _record_unchanged(cur, info, earlier, user, report)
            if "opinions" in report.kind.split(","):  # as a full import would: any opinion still unsegmented
                report.segmented = _segment(cur, progress, done + report.rows_read, total, info.path.name)
            _commit(cur)
            return report
    stager = _Stager(cur, contract)
    sheets = _parse(info, contract, stager, progress=progress, done=done, total=total, options=options)
    error = _file_error(info.path.name, sheets)
    if error:
        raise ReadError(error)
    stager.classify(sheets)
    _summarise(report, sheets)
    test_hook("after_parse")
    if not write:
        cur.execute("ROLLBACK")
        return report
    if progress:
        progress(done + report.rows_read, total, f"正在写入 {info.path.name}")
    _write_batch(cur, info, report, stager, user)
    if "opinions" in stager.kinds:
        report.segmented = _segment(cur, progress, done + report.rows_read, total, info.path.name)
    _commit(cur)
    return report


def _explicit_profile(profiles: list[Profile], profile: str | Profile | None, file_name: str) -> Profile | None:
    """The profile a file is to be read with, when one is asked for (by name or given); ReadError
    (Chinese, listing the saved ones) for a name that is not saved."""
    if not isinstance(profile, str):
        return profile
    explicit = next((p for p in profiles if p.name == profile), None)
    if explicit is None:
        known = "、".join(p.name for p in profiles) or "（还没有保存任何映射方案）"
        raise ReadError(f"无法导入“{file_name}”：没有名为“{profile}”的映射方案。已有：{known}")
    return explicit


def _write_batch(cur, info: FileInfo, report: FileReport, stager: _Stager, user: str | None) -> None:
    """Write a parsed file's staged rows, its rejected rows and its import_batches row under a new batch id."""
    report.batch_id = cur.execute("SELECT nextval('batch_seq')").fetchone()[0]
    stager.write(report.batch_id)
    _write_rejects(cur, report.batch_id, info.path.name, report.rejects)
    cur.execute(
        """INSERT INTO import_batches (batch_id, file_name, sha256, kinds, imported_at, imported_by,
               rows_read, imported, updated, unchanged, rejected, skipped, sheets, profile, warned)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [report.batch_id, info.path.name, info.sha256, report.kind,
         dt.datetime.now().replace(microsecond=0), user or _current_user(), report.rows_read,
         report.imported, report.updated, report.unchanged, report.rejected, report.skipped,
         json.dumps(report.sheets, ensure_ascii=False), ",".join(report.profiles) or None, report.warned])
    stager.drop()


def _commit(cur) -> None:
    """COMMIT the file's transaction, between the test hooks that let tests fail an import around it."""
    test_hook("before_commit")
    cur.execute("COMMIT")
    test_hook("after_commit")


def _same_file_in_effect(cur, info: FileInfo, contract: Contract, explicit: Profile | None,
                         profiles: list[Profile], max_rows: int) -> dict | None:
    """The latest batch of a file with exactly these bytes (same sha256) when every row the file
    holds is in the store as those bytes say — then reading the file again would find every row
    unchanged, so it need not be read. Every row carries the batch that last wrote it, and batches
    of the same bytes write the same rows; so that is the case when the rows carried by (not undone)
    batches of these bytes are as many as the rows the file keeps (read − rejected). None when it
    cannot be known for certain: no such batch; a later batch (another file) changed one of the rows;
    or the file would be read differently now — the data contract file changed, a mapping profile
    was saved (or another profile is asked for), or the row limit is lower than the file.
    A re-import of a week's unchanged exports then costs a checksum per file."""
    batches = cur.execute("""
        SELECT batch_id, imported_at, kinds, rows_read, imported, updated, unchanged, rejected, skipped, sheets, profile, warned
        FROM import_batches
        WHERE sha256 = ? AND undone_at IS NULL AND kinds IS NOT NULL
        ORDER BY batch_id""", [info.sha256]).fetchall()
    if not batches:
        return None
    keys = ["batch_id", "imported_at", "kinds", "rows_read", "imported", "updated", "unchanged", "rejected",
            "skipped", "sheets", "profile", "warned"]
    b = dict(zip(keys, batches[-1]))
    since = min(row[1] for row in batches)  # the oldest reading whose rows may still be in the store
    kinds = [k for k in (b["kinds"] or "").split(",") if k]
    if not kinds or any(k not in contract.kinds for k in kinds):
        return None
    if explicit is not None and (b["profile"] or None) != explicit.name:
        return None
    if any(p.created_at is not None and p.created_at >= since for p in profiles):
        return None
    try:
        changed = dt.datetime.fromtimestamp(CONTRACT_PATH.stat().st_mtime)
    except OSError:
        return None
    if changed >= since or b["rows_read"] + b["skipped"] > max_rows:
        return None
    ids = [row[0] for row in batches]
    # kinds come from the contract (a fixed list), never from the file
    held = sum(cur.execute(f"SELECT count(*) FROM {k} WHERE list_contains(?, batch_id)", [ids]).fetchone()[0]
               for k in kinds)
    if held != b["rows_read"] - b["rejected"]:
        return None
    b["sheets"] = json.loads(b["sheets"]) if isinstance(b["sheets"], str) else (b["sheets"] or [])
    return b


def _unchanged_in_store(db, info: FileInfo, contract: Contract, profile: str | Profile | None,
                        limits: Limits) -> bool:
    """``_same_file_in_effect`` on the live store, through a short read-only look. False whenever
    that look is not possible (no store yet, an older schema, busy): the file is imported as usual."""
    from analytics.store.db import StoreError, default_db_path, reading

    if not default_db_path(db).is_file():
        return False
    try:
        with reading(db, wait=5) as con:
            cur = con.cursor()
            profiles = admin.load_profiles(cur)
            explicit = profile
            if isinstance(profile, str):
                explicit = next((p for p in profiles if p.name == profile), None)
                if explicit is None:
                    return False  # the full path says so, in Chinese
            return _same_file_in_effect(cur, info, contract, explicit, profiles, limits.max_rows) is not None
    except StoreError:
        return False


def _record_unchanged(cur, info: FileInfo, b: dict, user: str | None, report: FileReport) -> FileReport:
    """A batch for a file found unchanged by ``_same_file_in_effect``: every row it keeps is
    unchanged, its rejected rows are rejected again (copied from the batch before, with their reasons)."""
    sheets = []
    for sh in b["sheets"]:
        sh = dict(sh)
        if sh.get("kind") and not sh.get("error"):
            sh["unchanged"] = sh.get("unchanged", 0) + sh.get("imported", 0) + sh.get("updated", 0)
            sh["imported"] = sh["updated"] = 0
        sheets.append(sh)
    report.kind, report.sheets = b["kinds"], sheets
    report.rows_read, report.rejected, report.skipped = b["rows_read"], b["rejected"], b["skipped"]
    report.unchanged = b["rows_read"] - b["rejected"]
    report.batch_id = cur.execute("SELECT nextval('batch_seq')").fetchone()[0]
    rows = cur.execute("""SELECT sheet, row_no, column_name, reason, raw, coalesce(level, 'reject') FROM rejected_rows
                          WHERE batch_id = ? ORDER BY rowid""", [b["batch_id"]]).fetchall()
    report.rejects = [Reject(*row) for row in rows]
    report.warned = b.get("warned") or 0
    _write_rejects(cur, report.batch_id, info.path.name, report.rejects)
    report.check()
    cur.execute(
        """INSERT INTO import_batches (batch_id, file_name, sha256, kinds, imported_at, imported_by,
               rows_read, imported, updated, unchanged, rejected, skipped, sheets, profile, warned)
           VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?)""",
        [report.batch_id, info.path.name, info.sha256, report.kind, dt.datetime.now().replace(microsecond=0),
         user or _current_user(), report.rows_read, report.unchanged, report.rejected, report.skipped,
         json.dumps(sheets, ensure_ascii=False), b["profile"], report.warned])
    return report


def _segment(cur, progress: Progress | None, done: int, total: int | None, name: str) -> int:
    """Hot-word counts of the opinions just written, in the file's transaction: an unchanged opinion
    keeps its words, a changed one is segmented again (``hotwords.segment_pending``)."""
    from analytics.domain.hotwords import segment_pending

    seg_progress = None
    if progress:
        def seg_progress(message: str, fraction: float) -> None:
            progress(done, total, f"{name}：{message}")
        progress(done, total, f"正在为 {name} 的意见分词（热词统计）")
    return segment_pending(cur, progress=seg_progress)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def plan_file(con, path: str | Path, contract: Contract | None = None,
              profile: str | Profile | None = None) -> FileReport:
    """What importing ``path`` would do (counts per file and sheet, rejects), without changing the
    store: computed in a transaction that is rolled back (a read-only connection will do)."""
    return _run_file(con, path, False, None, contract or load_contract(), None, 0, None, profile)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files as given; a folder stands for the .xlsx/.csv files directly in it, by name."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in (".xlsx", ".xlsm", ".csv"))
        else:
            out.append(p)
    return out


def ingest_files(con, paths: Iterable[str | Path], user: str | None = None,
                 progress: Progress | None = None, profile: str | Profile | None = None) -> list[FileReport]:
    """Import each file in its own transaction; one FileReport per file, in order.

    ``con`` is a read-write connection from ``analytics.store.db.connect`` that nobody else uses (a
    test store, the first-start build); for the live store use ``import_files``. A file that cannot
    be read changes nothing and gets ``error``; any other exception rolls its file back and
    propagates. ``progress(done_rows, total_rows or None, message)`` is called as rows are read.
    ``profile`` (a name or a Profile) maps the columns of every sheet.
    """
    contract = load_contract()
    files = list(paths)
    total = _estimate(files)
    reports: list[FileReport] = []
    done = 0
    for n, path in enumerate(files, start=1):
        if progress:
            progress(done, total, f"正在导入第 {n}/{len(files)} 个文件：{Path(path).name}")
        report = _run_file(con, path, True, user, contract, progress, done, total, profile)
        reports.append(report)
        done += report.rows_read + report.skipped
    if progress:
        progress(done, done, "导入完成")  # the estimate was rough; the end is the end
    return reports


def import_files(db, paths: Iterable[str | Path], user: str | None = None, progress: Progress | None = None,
                 profile: str | None = None, wait: float | None = None, role: str | None = None) -> list[FileReport]:
    """Import files into a store that the app (or anyone) may be reading at the same time.

    Under the store's writer lock (a second import waits up to ``wait`` seconds, default
    ``[wait] import_seconds`` of data/limits.toml, then raises ``store.StoreBusy`` with a Chinese
    message saying who is importing), each readable file is imported into a fresh copy of the
    store, which then replaces the live file whole (``store.snapshot``). Readers keep reading
    the previous file meanwhile and see each file's rows, with their hot-word counts, at once. A kill
    at any moment leaves the store as it was before the file being imported; importing again
    completes it (rows are keyed by the export's own ids: nothing is duplicated).

    Each imported file is recorded in the audit log (``analytics.store.audit``, action "import", by
    ``user`` with ``role``) in the same copy, so the record and the rows appear together; a file
    that could not be read is recorded as failed once the store is free again.
    """
    contract = load_contract()
    limits = admin.load_limits()
    files = list(paths)
    wait = limits.import_wait_s if wait is None else wait
    names = "、".join(Path(f).name for f in files[:3]) + ("等" if len(files) > 3 else "")
    run = _Importing(db, contract, limits, profile, wait, user, role, progress, _estimate(files))
    reports: list[FileReport] = []
    done = 0
    warmed = None  # what counting ahead did (analytics/domain/ahead.py), once it ran
    with snapshot_lock(db, wait, f"导入 {len(files)} 个文件（{names}）", user, progress):
        for n, path in enumerate(files, start=1):
            if progress:
                progress(done, run.total, f"正在导入第 {n}/{len(files)} 个文件：{Path(path).name}")
            try:  # a file that cannot be read at all costs no copy of the store
                info = _inspect(path, contract, limits)
            except ReadError as exc:
                reports.append(FileReport(str(path), error=str(exc)))
                continue
            try:
                report, warmed = run.one_file(path, info, done, warm=n == len(files))
            except StoreError:
                raise  # the store is busy or unusable: no file can be imported, say so once
            except Exception:  # a fault in one file: reported and audited, the others still import
                error_id = uuid.uuid4().hex[:8]
                log.exception("导入 %s 出错，错误编号 %s", Path(path).name, error_id)
                report = FileReport(str(path), error=(
                    f"导入“{Path(path).name}”时出错（错误编号 {error_id}，详细信息已记入日志）：这个文件没有导入，"
                    "数据库保持它导入前的样子；其余文件照常导入。请把错误编号告诉系统管理员"))
            reports.append(report)
            done += report.rows_read + report.skipped
    run.finish(reports, warmed, done)
    return reports


def bound_memory(con, limits: Limits) -> None:
    """An import's copy of the store is its alone: bound DuckDB's memory there (the staged rows and
    the plan spill to disk beyond it), so a million-row import stays within ``[memory]
    import_duckdb_mb`` of data/limits.toml (docs/scaling.md has the measured peaks)."""
    con.execute("SET memory_limit = ?", [f"{int(limits.import_duckdb_mb)}MB"])


@dataclass
class _Importing:
    """What every file of one ``import_files`` run is imported with, and its steps per file."""
    db: object
    contract: Contract
    limits: Limits
    profile: str | None
    wait: float
    user: str | None
    role: str | None
    progress: Progress | None
    total: int | None

    def one_file(self, path: str | Path, info: FileInfo, done: int, warm: bool) -> tuple[FileReport, object]:
        """Import one readable file: (its report, what counting ahead did — only when ``warm``, for
        the last file, and the file changed the store; else None)."""
        from analytics.store.db import snapshot, writing

        name = Path(path).name
        if _unchanged_in_store(self.db, info, self.contract, self.profile, self.limits):
            # Its bytes are in the store as they were read (``_same_file_in_effect``): the batch
            # that says so is two small rows, written in place — no copy of the whole store.
            with writing(self.db, wait=self.wait, what=f"导入 {name}（未变）", user=self.user) as con:
                report = self._run(con, path, done)
                if report.batch_id is not None:
                    self.record(con, path, report)
            return report, None
        warmed = None
        with snapshot(self.db, wait=self.wait, what=f"导入 {name}", user=self.user) as snap:
            bound_memory(snap.con, self.limits)
            report = self._run(snap.con, path, done)
            snap.keep = report.batch_id is not None
            if snap.keep:
                self.record(snap.con, path, report)
                if warm:
                    # What later processes would count first, counted into the copy before it is
                    # swapped in: readers never wait for a write of it (analytics/domain/ahead.py).
                    if self.progress:
                        self.progress(done, self.total, ahead.WARM_MESSAGE)
                    warmed = ahead.build_quietly(snap.con)
        return report, warmed

    def _run(self, con, path: str | Path, done: int) -> FileReport:
        return _run_file(con, path, True, self.user, self.contract, self.progress, done, self.total,
                         self.profile, self.limits)

    def record(self, con, path: str | Path, report: FileReport) -> None:
        """The audit record of an imported file, in the same transaction as its rows."""
        from analytics.store import audit

        audit.record(con, "import", self.user or _current_user(), role=self.role, target=Path(path).name,
                     detail={"batch_id": report.batch_id, "sha256": report.sha256,
                             **{k: getattr(report, k) for k in ("rows_read", "imported", "updated",
                                                                "unchanged", "rejected")},
                             "profile": ",".join(report.profiles) or None})

    def finish(self, reports: list[FileReport], warmed: object, done: int) -> None:
        """Once the store is free: the failed files audited, counting ahead done if the last file
        did not, the end reported."""
        from analytics.store import audit

        for r in reports:
            if r.error:
                audit.record_at(self.db, "import", self.user or _current_user(), role=self.role,
                                target=Path(r.file).name, ok=False, detail={"error": r.error})
        if warmed is None and any(r.batch_id is not None for r in reports):
            # The last file changed nothing (or could not be read) while an earlier one did: counted
            # now, in a short write of its own (nothing is written when the counts are still valid).
            if self.progress:
                self.progress(done, done, ahead.WARM_MESSAGE)
            warmed = ahead.warm_quietly(self.db)
        if isinstance(warmed, str):
            print(warmed, file=sys.stderr)
        if self.progress:
            self.progress(done, done, "导入完成")


@contextlib.contextmanager
def snapshot_lock(db, wait: float, what: str, user: str | None, progress: Progress | None = None):
    """The store's writer lock for a whole run of files (``store.writer_lock``). When another writer
    holds it, ``progress`` is told so (who, since when, how long this run will wait) before waiting."""
    from analytics.store.db import StoreBusy, writer_holder, writer_lock

    stack = contextlib.ExitStack()
    try:
        stack.enter_context(writer_lock(db, timeout=0, what=what, user=user))
    except StoreBusy:
        if progress:
            progress(0, None, f"正在等待另一个写入结束：{writer_holder(db)}（最多等待 {wait:.0f} 秒，其间没有改动任何数据）")
        stack.enter_context(writer_lock(db, timeout=wait, what=what, user=user))
    with stack:
        yield


def _estimate(files: list) -> int | None:
    total = 0
    for f in files:
        est = estimate_rows(Path(f))
        if est is None:
            return None
        total += est
    return total
