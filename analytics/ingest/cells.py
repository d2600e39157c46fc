"""Cells and header rows as the importer and the mapping editor both read them.

The helpers the importer (``analytics.ingest.importer``) and the mapping editor
(``analytics.ingest.profiles``) share: how a cell's value is trimmed, shown and read as an integer,
an Excel column letter, and how the header rows and the kind of a sheet are found among its first
rows. Nothing here imports the importer or the profiles: readers/cells -> profiles -> importer.
"""
from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

from analytics.core.contract import KINDS, Contract, Kind, norm_header
from analytics.ingest.readers import HEADER_SCAN_ROWS

# Characters trimmed around every value: ASCII whitespace, full-width space, NBSP, zero-width
# space, BOM and the Unicode spaces office software inserts.
WS = " \t\r\n\x0b\x0c\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" \
     "\u200b\u2028\u2029\u202f\u205f\u3000\ufeff"
SPACES = re.compile(r"\s+")  # a run of whitespace, collapsed to one space in shown text
_INT_RE = re.compile(r"^[+-]?\d+(?:\.0*)?$")
_INT_UNITS = ("人次", "人", "条", "次", "个", "件")


@dataclass
class Column:
    """One column of a sheet as its header rows were read."""
    index: int  # 0-based position in the sheet
    letter: str  # Excel column letter, for messages
    header: str  # the header text as the user sees it ("" when blank)
    field: str | None  # contract field name, or None when the column is ignored


# ── values ────────────────────────────────────────────────────────────────────

def clean_value(v: object) -> object:
    """Trim text (full-width spaces, tabs, newlines, NBSP); '' -> None; 12.0 -> 12; NaN -> None."""
    if v is None:
        return None
    t = type(v)
    if t is str:
        return v.strip(WS) or None
    if t is float:
        if v != v:
            return None
        return int(v) if v.is_integer() and abs(v) < 1e16 else v
    return v


def as_text(v: object) -> str:
    """A value as text: dates as 2024-01-31 (with the time when it is not midnight), floats by repr."""
    if type(v) is str:
        return v
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") if (v.hour, v.minute, v.second) != (0, 0, 0) else v.strftime("%Y-%m-%d")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


MAX_INT = 2**63 - 1  # the store's BIGINT


def to_int(v: object) -> int:
    """A count as int: 12, 12.0, "1,234", "12人次" and full-width digits are read; ValueError (Chinese)
    for anything else, for a fraction and for a negative number."""
    if isinstance(v, bool):
        raise ValueError(f"“{v}”不是整数")
    if isinstance(v, int):
        n = v
    elif isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"“{v:g}”不是整数")
        n = int(v)
    else:
        s = unicodedata.normalize("NFKC", str(v)).replace(",", "").replace(" ", "")
        for unit in _INT_UNITS:
            if s.endswith(unit) and len(s) > len(unit):
                s = s[: -len(unit)]
                break
        if not _INT_RE.match(s):
            raise ValueError(f"“{v}”不是整数")
        n = int(s.split(".")[0])
    if n < 0:
        raise ValueError(f"“{v}”是负数，应为不小于 0 的整数")
    if n > MAX_INT:
        raise ValueError(f"“{v}”太大，不像是一个计数（最大 {MAX_INT:,}）")
    return n


def first_text(values) -> object:
    """The first non-empty cell of a row (trimmed when text), or None for a blank row."""
    for v in values:
        if v is None:
            continue
        if type(v) is str:
            s = v.strip(WS)
            if s:
                return s
            continue
        if type(v) is float and v != v:
            continue
        return v
    return None


def shown_text(value: object) -> str:
    """A cell as the user sees it: 12.0 shown as 12, runs of whitespace as one space, trimmed; None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return SPACES.sub(" ", str(value)).strip(WS)


def column_letter(index: int) -> str:
    """0 -> "A", 27 -> "AB": the column letter Excel shows."""
    out = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out


# ── header rows and kind ──────────────────────────────────────────────────────

def _required_threshold(n_required: int) -> int:
    """Required columns a sheet must show to be recognised as a kind (and then told what it lacks)."""
    return max(2, math.ceil(n_required / 2))


def _cell(grid: list[list[str]], r: int, c: int) -> str:
    """grid[r][c], or "" past the end of a short row."""
    row = grid[r]
    return row[c] if c < len(row) else ""


def _map_block(normed: list[list[str]], shown: list[list[str]], block: tuple[int, ...],
               hmap: dict[str, str], width: int) -> list[tuple[str, str | None]]:
    """(header text, field) per column for a one- or two-row header block; first column wins a field."""
    out: list[tuple[str, str | None]] = []
    used: set[str] = set()
    for c in range(width):
        texts = []  # (normalised, shown) candidates, most specific first
        if len(block) == 1:
            texts.append((_cell(normed, block[0], c), _cell(shown, block[0], c)))
        else:
            up_n, lo_n = _cell(normed, block[0], c), _cell(normed, block[1], c)
            up_s, lo_s = _cell(shown, block[0], c), _cell(shown, block[1], c)
            if up_n and lo_n and up_n != lo_n:  # group + sub-header: 答复 + 类别 = 答复类别
                texts.append((up_n + lo_n, f"{up_s}{lo_s}"))
            texts += [(lo_n, lo_s), (up_n, up_s)]
        header = next((s for n, s in texts if n), "")
        fld = None
        for n, s in texts:
            f = hmap.get(n) if n else None
            if f:
                if f not in used:
                    fld, header = f, s
                    used.add(f)
                else:
                    header = s
                break
        out.append((header, fld))
    return out


def _aliases(kind: Kind, label: str) -> list[str]:
    """The other header spellings of the field labelled ``label``."""
    for f in kind.fields:
        if f.label == label:
            return list(f.aliases)
    return []


def detect_header(head: list[list], contract: Contract) -> tuple[str | None, list[int], list[Column], list[str], str | None]:
    """Find the header rows among the leading rows and the kind they describe.

    Returns (kind, header rows 1-based, columns, missing required labels, error). The candidate
    blocks are every single row and every pair of adjacent rows (a two-level header: a group
    header above sub-headers) among the first rows; each is mapped with every kind's header
    spellings. The best has all required columns, then the largest share of them, then the most
    fields, then fewer rows, then comes first. A sheet is recognised as a kind when at least
    ``_required_threshold`` of its required columns are there; otherwise it matches nothing.
    """
    shown = [[shown_text(v) if isinstance(v, str) else "" for v in row] for row in head]
    normed = [[norm_header(s) if s else "" for s in row] for row in shown]
    width = max((len(r) for r in head), default=0)
    maps = {k: contract.header_map(k) for k in KINDS}
    best = None
    for r in range(len(head)):
        if not any(normed[r]):
            continue
        blocks = [(r,)]
        if r + 1 < len(head) and any(normed[r + 1]):
            blocks.append((r, r + 1))
        for block in blocks:
            for k in KINDS:
                cols = _map_block(normed, shown, block, maps[k], width)
                fields = {f for _, f in cols if f}
                required = [f.name for f in contract.kinds[k].fields if f.required]
                hit = sum(f in fields for f in required)
                key = (hit >= _required_threshold(len(required)), hit == len(required),
                       hit / len(required), len(fields), -len(block), -r)
                if best is None or key > best[0]:
                    best = (key, k, block, cols, required, fields)
    if best is None:
        return None, [], [], [], "没有内容"
    key, k, block, cols, required, fields = best
    kind = contract.kinds[k]
    missing = [kind.field(f).label for f in required if f not in fields]
    columns = [Column(i, column_letter(i), h, f) for i, (h, f) in enumerate(cols)]
    rows = [r + 1 for r in block]
    r = block[0]
    if len(block) == 1 and r > 0:
        # Headers merged down from the row above (filled into both rows): report both header rows.
        hmap = maps[k]
        same = sum(1 for c in range(width) if _cell(normed, r - 1, c) and
                   _cell(normed, r - 1, c) == _cell(normed, r, c) and _cell(normed, r, c) in hmap)
        if same >= 2:
            rows = [r, r + 1]
    if not key[0]:
        if len(fields) < 2:
            return None, [], [], [], (f"前 {HEADER_SCAN_ROWS} 行中找不到可识别的表头；各类导出需要的表头见 "
                                      "docs/data-contract.md（例如民情民意需要 编号、提交时间、镇街、内容）")
        return None, rows, columns, missing, (f"无法识别为任何一类导出：最接近的是“{kind.label}”，"
                                              f"但缺少必填列 {'、'.join(missing)}")
    if missing:
        hints = "；".join(f"{lab}（也可写作 {'、'.join(_aliases(kind, lab)) or '—'}）" for lab in missing)
        return k, rows, columns, missing, f"是“{kind.label}”导出，但缺少必填列：{hints}"
    return k, rows, columns, [], None


def header_score(rows: list[list], contract: Contract) -> int:
    """How many known headers (of the best-matching kind) one of the first rows holds."""
    maps = [contract.header_map(k) for k in KINDS]
    best = 0
    for row in rows[:HEADER_SCAN_ROWS]:
        normed = {norm_header(v) for v in row if isinstance(v, str) and v.strip()}
        best = max(best, *(len({m[h] for h in normed if h in m}) for m in maps))
    return best
