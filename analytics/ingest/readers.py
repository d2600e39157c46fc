"""Spreadsheet files to rows: what the file is, its encoding, its sheets, merged cells filled in.

Knows nothing about the data contract. ``inspect_file`` decides what a file is (or raises
``ReadError`` with one Chinese sentence saying why it cannot be read); ``open_sheets`` yields each
sheet as raw rows numbered as the user sees them in Excel (CSV: the record number, which is the
row Excel shows when it opens the file).

Merged cells: ``RawSheet.head`` (the first rows, where headers live) has every merged range's value
copied into all its cells — a group header over its sub-headers, a header merged down two rows.
In the data rows below, only the vertical part is filled (a 镇街 cell merged down over several rows
applies to each of them); a value merged sideways across data columns is not copied into the
neighbouring fields, which mean something else.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import itertools
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

HEADER_SCAN_ROWS = 20  # headers are looked for in this many leading rows
_BLOCK = 1 << 20

_MAGIC = (
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"%PDF", "PDF 文档"),
    (b"BM", None),  # too short to be sure; ignored below
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"),
)
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
_XLSX_EXT = {".xlsx", ".xlsm"}
_CSV_EXT = {".csv", ".txt", ".tsv"}
_DELIMITERS = (",", "\t", ";", "|")


class ReadError(Exception):
    """The file cannot be read at all; str(exc) is one Chinese sentence naming the file."""


EXCEL_MAX_ROWS = 1_048_576  # no worksheet has a row beyond this; a larger row number is a forged file
EXCEL_MAX_COLUMNS = 16_384
MAX_ZIP_ENTRIES = 10_000  # an .xlsx holds tens of parts; millions of entries would fill memory
_ESTIMATE_MAX_RATIO = 200  # estimate_rows (progress bars) does not unpack a workbook more compressed than this


@dataclass(frozen=True)
class ReadLimits:
    """Limits checked before and while reading (``data/limits.toml``, loaded by ``analytics.ingest.profiles``).

    Each is checked before the work it bounds: the file size from ``stat`` before a byte is read, an
    .xlsx's unpacked sizes and compression ratios from the zip directory before anything is inflated
    (``zipfile`` never inflates a member beyond its declared size), columns as cells are read.
    ``source`` names the file the limits came from, for messages.
    """
    max_file_bytes: int | None = None
    max_columns: int = EXCEL_MAX_COLUMNS
    max_unpacked_bytes: int | None = None
    max_ratio: float | None = None
    ratio_min_bytes: int = 1 << 20
    source: str = "data/limits.toml"


NO_LIMITS = ReadLimits()


def _mb(n: int) -> str:
    return f"{n / (1 << 20):,.1f} MB" if n < (1 << 30) else f"{n / (1 << 30):,.2f} GB"


@dataclass
class FileInfo:
    path: Path
    format: str  # "xlsx" | "csv"
    sha256: str
    size: int
    encoding: str | None = None  # CSV only: utf-8, utf-8-sig, utf-16, gb18030
    delimiter: str | None = None
    estimate: int | None = None  # rows in the file, roughly (progress bars)
    limits: ReadLimits = field(default_factory=ReadLimits, repr=False)

    @property
    def encoding_label(self) -> str | None:
        return {"utf-8": "UTF-8", "utf-8-sig": "UTF-8（带 BOM）", "gb18030": "GBK/GB18030",
                "utf-16": "UTF-16"}.get(self.encoding or "", self.encoding)


@dataclass
class RawSheet:
    name: str | None  # worksheet title; None for a CSV file
    index: int
    hidden: bool
    head: list[list]  # the first HEADER_SCAN_ROWS rows, merged ranges filled in full
    # (row number, values) from row 1. Every row among the first HEADER_SCAN_ROWS; further down a
    # workbook's empty rows may be left out (the row numbers then jump: count the gap as blank rows).
    rows: Iterator[tuple[int, list]] = field(repr=False)


def _fail(path: Path, why: str) -> ReadError:
    return ReadError(f"无法导入“{path.name}”：{why}")


def _looks_html(head: bytes) -> bool:
    probe = head[:2048].lstrip().lower()
    return probe.startswith((b"<!doctype html", b"<html", b"<table", b"<?xml")) or b"<html" in probe[:512]


def inspect_file(path: str | Path, score_head=None, limits: ReadLimits = NO_LIMITS) -> FileInfo:
    """What the file is, its sha256 and (for CSV) its encoding and delimiter; ReadError if unreadable.

    ``score_head(rows) -> number`` helps choose a CSV's delimiter (see ``_sniff_delimiter``).
    ``limits`` are checked first: a file over the size limit is refused without reading it.
    """
    path = Path(path)
    if not path.exists():
        raise _fail(path, "文件不存在")
    if path.is_dir():
        raise _fail(path, "这是一个文件夹，不是文件")
    size = path.stat().st_size
    if limits.max_file_bytes is not None and size > limits.max_file_bytes:
        raise _fail(path, f"文件有 {_mb(size)}，超过了单个文件 {_mb(limits.max_file_bytes)} 的上限"
                          f"（{limits.source} 的 [file] max_mb）；请按时间段拆成几个较小的文件再导入")
    try:
        with path.open("rb") as fh:
            head = fh.read(8192)
    except OSError as exc:
        raise _fail(path, f"文件打不开（{exc.strerror or exc}）") from exc
    ext = path.suffix.lower()
    if not head:
        raise _fail(path, "文件是空的（0 字节）")
    if head.startswith(_ZIP):
        return _inspect_xlsx(path, limits)
    if head.startswith(_OLE):
        raise _fail(path, "这是旧版 Excel 97-2003（.xls）文件或加了密码的工作簿，"
                          "请在 Excel 中“另存为”不加密的 .xlsx 后再导入")
    if _looks_html(head):
        raise _fail(path, "这是网页（HTML/XML）格式的导出，不是真正的 Excel 或 CSV 文件；"
                          "请用 Excel 打开后“另存为” .xlsx 再导入")
    for magic, what in _MAGIC:
        if what and head.startswith(magic):
            raise _fail(path, f"这不是表格文件（内容是{what}），请导入 .xlsx 或 .csv 导出文件")
    if ext in _XLSX_EXT or ext == ".xls":
        raise _fail(path, f"扩展名是 {ext}，但内容不是 Excel 工作簿（文件可能已损坏，或扩展名被改过）")
    if ext not in _CSV_EXT:
        raise _fail(path, f"不支持的文件类型“{ext or '无扩展名'}”，请导入 .xlsx 或 .csv 文件")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise _fail(path, "这不是文本表格（内容含二进制数据），请导入 .xlsx 或 .csv 导出文件")
    info = _inspect_csv(path, head, score_head)
    info.limits = limits
    return info


def _zip_entries(path: Path) -> int | None:
    """The number of entries the zip's end record declares (read from the last 64 KB), before
    ``zipfile`` builds an object for each of them; None when the record is not found."""
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 16) - 22))
        tail = fh.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    return int.from_bytes(tail[at + 10: at + 12], "little")


def check_zip(path: Path, zf: zipfile.ZipFile, limits: ReadLimits) -> None:
    """Refuse a zip bomb from its directory, before anything is inflated: total unpacked size and
    the compression ratio of each large member. ``zipfile`` never yields more than a member's
    declared size, so the declared sizes bound the work even when they lie."""
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if limits.max_unpacked_bytes is not None and total > limits.max_unpacked_bytes:
        raise _fail(path, f"解压后有 {_mb(total)}，超过了 {_mb(limits.max_unpacked_bytes)} 的上限"
                          f"（{limits.source} 的 [xlsx] max_unpacked_mb）；文件可能是“压缩炸弹”，"
                          "或数据太多，请拆分后再导入")
    if limits.max_ratio is not None:
        for i in infos:
            if i.file_size >= limits.ratio_min_bytes and i.file_size > limits.max_ratio * max(i.compress_size, 1):
                ratio = i.file_size / max(i.compress_size, 1)
                raise _fail(path, f"其中的“{i.filename}”压缩比高达 {ratio:,.0f} 倍（{_mb(i.compress_size)} 解压成 "
                                  f"{_mb(i.file_size)}），超过了 {limits.max_ratio:g} 倍的上限（{limits.source} 的 "
                                  "[xlsx] max_ratio），不像正常的导出文件（可能是“压缩炸弹”），未读取")


def _inspect_xlsx(path: Path, limits: ReadLimits = NO_LIMITS) -> FileInfo:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
            size += len(block)
    entries = _zip_entries(path)
    if entries is not None and entries > MAX_ZIP_ENTRIES:
        raise _fail(path, f"压缩包里有 {entries:,} 个文件，不像 Excel 工作簿（正常只有几十个），未读取")
    try:
        with zipfile.ZipFile(path) as zf:
            check_zip(path, zf, limits)
            if _workbook_part(zf) is None:
                raise _fail(path, "这是压缩包（可能是 Word 文档或其它文件），不是 Excel 工作簿")
            estimate = _dimension_rows(zf)
    except zipfile.BadZipFile as exc:
        raise _fail(path, "Excel 文件已损坏，无法打开（压缩结构不完整）") from exc
    return FileInfo(path, "xlsx", digest.hexdigest(), size, estimate=estimate or None, limits=limits)


def _dimension_rows(zf: zipfile.ZipFile) -> int | None:
    """Rows in the sheets, roughly: their <dimension> element, or else a count of row ends."""
    total = 0
    for name in zf.namelist():
        if name.startswith("xl/worksheets/") and name.endswith(".xml"):
            with zf.open(name) as fh:
                first = fh.read(4096)
                m = re.search(rb'<(?:\w+:)?dimension\s+ref="[A-Z]+\d+:?[A-Z]*(\d*)"', first)
                if m and m.group(1):
                    total += int(m.group(1))
                    continue
                tail = first
                count = first.count(b"</row>")
                for block in iter(lambda: fh.read(_BLOCK), b""):
                    count += (tail[-5:] + block).count(b"</row>")  # an end tag split across blocks
                    tail = block
                total += count
    return total or None


def estimate_rows(path: str | Path) -> int | None:
    """Rows in a file, roughly and cheaply (progress bars): a workbook's dimensions, a text file's lines."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            magic = fh.read(4)
        if magic == _ZIP:
            entries = _zip_entries(path)
            if entries is not None and entries > MAX_ZIP_ENTRIES:
                return 0
            with zipfile.ZipFile(path) as zf:
                if sum(i.file_size for i in zf.infolist()) > _ESTIMATE_MAX_RATIO * max(path.stat().st_size, 1 << 20):
                    return 0  # a suspicious ratio: the importer refuses it; do not unpack it to count rows
                return _dimension_rows(zf)
        lines = 0
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                lines += block.count(b"\n")
        return lines + 1
    except (OSError, zipfile.BadZipFile):
        return 0


def _decodes(path: Path, encoding: str, skip: int) -> tuple[bool, int]:
    """Whether the whole file decodes strictly; and the byte offset where it failed."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    offset = 0
    with path.open("rb") as fh:
        fh.seek(skip)
        for block in iter(lambda: fh.read(_BLOCK), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as exc:
                return False, offset + exc.start
            offset += len(block)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return False, offset
    return True, -1


def _inspect_csv(path: Path, head: bytes, score_head=None) -> FileInfo:
    digest = hashlib.sha256()
    size = lines = 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
            size += len(block)
            lines += block.count(b"\n")
    if head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "gb18030"]
    encoding = None
    failed_at = -1
    for enc in candidates:
        ok, at = _decodes(path, enc, 0)
        if ok:
            encoding = enc
            break
        failed_at = max(failed_at, at)
    if encoding is None:
        tried = "、".join({"utf-8-sig": "UTF-8（带 BOM）", "utf-16": "UTF-16", "utf-8": "UTF-8",
                          "gb18030": "GBK/GB18030"}[c] for c in candidates)
        raise _fail(path, f"无法识别文件编码（按 {tried} 都读不通，约第 {failed_at + 1} 字节处），"
                          "请在 Excel 中另存为“CSV UTF-8”后再导入")
    with path.open("r", encoding=encoding, newline="") as fh:
        sample = list(itertools.islice(fh, HEADER_SCAN_ROWS * 2))
    delimiter = _sniff_delimiter(sample, score_head)
    return FileInfo(path, "csv", digest.hexdigest(), size, encoding, delimiter, estimate=lines + 1)


def _sniff_delimiter(lines: list[str], score_head=None) -> str:
    """The delimiter among , TAB ; | that splits the first lines best.

    ``score_head(rows)`` (from the importer: how many known headers the rows hold) decides first;
    then consistency: the most rows sharing one field count above 1 (a title row is one field
    wide, and a 参与代表 list "甲;乙;丙" makes semicolon counts vary from row to row).
    """
    best, best_key = ",", None
    for delim in _DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        if lines and not lines[-1].endswith(("\n", "\r")) and rows:
            rows = rows[:-1] or rows  # the sample may cut the last record short
        widths = [len(r) for r in rows if len(r) > 1]
        mode = max(set(widths), key=lambda w: (widths.count(w), w)) if widths else 1
        key = (score_head(rows) if score_head else 0, widths.count(mode) if mode > 1 else 0, mode)
        if best_key is None or key > best_key:
            best, best_key = delim, key
    return best


def open_sheets(info: FileInfo) -> Iterator[RawSheet]:
    """Each sheet of the file, in workbook order. Raises ReadError if the workbook cannot be opened."""
    if info.format == "csv":
        yield _csv_sheet(info)
    else:
        yield from _xlsx_sheets(info)


def _csv_sheet(info: FileInfo) -> RawSheet:
    path = info.path
    csv.field_size_limit(1 << 30)  # a long 内容 must not abort the file

    max_cols = info.limits.max_columns

    def records() -> Iterator[tuple[int, list]]:
        with path.open("r", encoding=info.encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=info.delimiter or ",")
            n = 0
            try:
                for n, row in enumerate(reader, start=1):
                    if len(row) > max_cols and any(v.strip() for v in row[max_cols:]):
                        raise _too_wide(path, None, n, max_cols, info.limits)
                    yield n, row
            except csv.Error as exc:
                raise _fail(path, f"第 {n + 1} 行附近的 CSV 格式有误（{exc}），可能是引号不成对") from exc

    it = records()
    buffered = list(itertools.islice(it, HEADER_SCAN_ROWS))
    head = [list(r) for _, r in buffered]
    return RawSheet(None, 0, False, head, itertools.chain(buffered, it))


# ── xlsx ──────────────────────────────────────────────────────────────────────
_MERGE_RE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def merged_ranges(path: Path, member: str) -> list[tuple[int, int, int, int]]:
    """(min_col, min_row, max_col, max_row) of every <mergeCell> in a sheet's XML.

    Read-only openpyxl worksheets do not expose merged cells, so the XML is scanned as bytes
    (the list sits after the sheet data; a regex over the stream is much faster than a parser).
    """
    found: set[bytes] = set()
    tail = b""
    with zipfile.ZipFile(path) as zf:
        with zf.open(member.lstrip("/")) as fh:
            for block in iter(lambda: fh.read(_BLOCK), b""):
                chunk = tail + block
                if b"mergeCell" in chunk:
                    found.update(_MERGE_RE.findall(chunk))
                tail = chunk[-256:]
    out = []
    for ref in sorted(found):
        first, _, last = ref.decode("ascii").partition(":")
        (r1, c1), (r2, c2) = _cell_ref(first), _cell_ref(last or first)
        out.append((c1, r1, c2, r2))
    return out


def _cell_ref(ref: str) -> tuple[int, int]:
    """"B3" -> (row 3, column 2), both 1-based."""
    return int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")), _col_index(ref) + 1


def _too_wide(path: Path, sheet: str | None, row_no: int, max_cols: int, limits: ReadLimits) -> ReadError:
    where = f"工作表“{sheet}”" if sheet is not None else ""
    return _fail(path, f"{where}第 {row_no} 行在第 {max_cols} 列之后还有内容，超过了 {max_cols} 列的上限"
                       f"（{limits.source} 的 [sheet] max_columns）")


def _fill_head(head: list[list], merges: list[tuple[int, int, int, int]], max_cols: int = EXCEL_MAX_COLUMNS) -> None:
    """Copy each merged range's top-left value into all its cells, within the head rows."""
    n = len(head)
    for c1, r1, c2, r2 in merges:
        if r1 > n or c1 > max_cols:
            continue
        c2 = min(c2, max_cols)
        row = head[r1 - 1]
        value = row[c1 - 1] if c1 - 1 < len(row) else None
        for r in range(r1, min(r2, n) + 1):
            target = head[r - 1]
            if len(target) < c2:
                target.extend([None] * (c2 - len(target)))
            for c in range(c1, c2 + 1):
                target[c - 1] = value


def _vertical_filler(merges: list[tuple[int, int, int, int]], max_cols: int = EXCEL_MAX_COLUMNS):
    """A function (row_no, values) -> values with vertically merged cells filled down.

    Rows arrive in increasing order, so the merges are swept by their first row: memory grows with
    the number of merges, never with the rows they span (a merge down a whole column is one entry).
    """
    tall = sorted((r1, r2, c1) for c1, r1, c2, r2 in merges if r2 > r1 and c1 <= max_cols)
    if not tall:
        return None
    state = {"next": 0}
    active: list[list] = []  # [last row, column, anchor value]

    def apply(row_no: int, values):
        i = state["next"]
        if active:
            active[:] = [a for a in active if a[0] >= row_no]
        todo = [a for a in active]
        while i < len(tall) and tall[i][0] <= row_no:
            r1, r2, c = tall[i]
            i += 1
            if r1 == row_no:
                active.append([r2, c, values[c - 1] if c - 1 < len(values) else None])
        state["next"] = i
        if todo:
            values = list(values)
            for _, c, anchor in todo:
                if len(values) < c:
                    values.extend([None] * (c - len(values)))
                if values[c - 1] in (None, ""):
                    values[c - 1] = anchor
        return values

    return apply


# The workbook is read with a small streaming reader of its XML (SpreadsheetML), not with openpyxl:
# openpyxl's read-only mode builds an object per shared string and per cell and, when a sheet has
# no <dimension>, parses the whole sheet once more just to size it — 3-4x slower on real exports.
_DATE_BUILTIN_IDS = frozenset([*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)])  # incl. zh-CN
_REL_OFFICE = "/officeDocument"


def _local(tag: str) -> str:
    return tag.rpartition("}")[2]


def _attr(el, name: str):
    """An attribute by local name (r:id is namespaced, and the namespace differs in Strict OOXML)."""
    for key, value in el.attrib.items():
        if _local(key) == name:
            return value
    return None


def _unescape(text: str) -> str:
    """OOXML escapes control characters as _xHHHH_ (e.g. _x000D_ for a carriage return)."""
    return _XESC.sub(lambda m: chr(int(m.group(1), 16)), text) if "_x" in text else text


_XESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type, target path inside the zip) for a part."""
    folder, _, name = part.rpartition("/")
    rels_path = f"{folder}/_rels/{name}.rels" if folder else f"_rels/{name}.rels"
    out: dict[str, tuple[str, str]] = {}
    try:
        root = ET.fromstring(zf.read(rels_path))
    except KeyError:
        return out
    for rel in root:
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))
        out[rel.get("Id", "")] = (rel.get("Type", ""), path)
    return out


def _workbook_part(zf: zipfile.ZipFile) -> str | None:
    """The path of the workbook part (normally xl/workbook.xml), or None when the zip holds none."""
    try:
        part = next((t for typ, t in _rels(zf, "").values() if typ.endswith(_REL_OFFICE)), "xl/workbook.xml")
    except ET.ParseError:
        part = "xl/workbook.xml"
    if part not in zf.NameToInfo:
        return None
    with zf.open(part) as fh:
        head = fh.read(2048)
    return part if re.search(rb"<(?:\w+:)?workbook[\s>]", head) else None


class _Workbook:
    """The parts of an .xlsx the importer needs: sheets, shared strings, date styles, date system."""

    def __init__(self, zf: zipfile.ZipFile):
        self.zf = zf
        part = _workbook_part(zf)
        if part is None:
            raise ValueError("no workbook part")
        rels = _rels(zf, part)
        root = ET.fromstring(zf.read(part))
        self.date1904 = any(_local(el.tag) == "workbookPr" and el.get("date1904") in ("1", "true")
                            for el in root)
        self.sheets: list[tuple[str, bool, str]] = []  # (name, hidden, xml path)
        for el in root.iter():
            if _local(el.tag) == "sheet":
                typ, path = rels.get(_attr(el, "id") or "", ("", ""))
                if typ.endswith("/worksheet") and path in zf.NameToInfo:
                    self.sheets.append((el.get("name", ""), el.get("state", "visible") != "visible", path))
        by_type = {typ.rpartition("/")[2]: path for typ, path in rels.values()}
        self.strings = self._shared_strings(by_type.get("sharedStrings"))
        self.date_styles = self._date_styles(by_type.get("styles"))

    def _shared_strings(self, path: str | None) -> list[str]:
        if not path or path not in self.zf.NameToInfo:
            return []
        out: list[str] = []
        with self.zf.open(path) as fh:
            events = ET.iterparse(fh, events=("start", "end"))
            _, root = next(events)
            for event, el in events:
                if event == "end" and _local(el.tag) == "si":
                    out.append(_unescape(_si_text(el)))
                    root.clear()
        return out

    def _date_styles(self, path: str | None) -> frozenset[int]:
        """Indexes of cell formats (the s attribute) whose number format shows a date or time."""
        if not path or path not in self.zf.NameToInfo:
            return frozenset()
        from openpyxl.styles.numbers import is_date_format

        root = ET.fromstring(self.zf.read(path))
        custom = {}
        xfs: list[int] = []
        for el in root:
            tag = _local(el.tag)
            if tag == "numFmts":
                custom = {int(f.get("numFmtId", -1)): f.get("formatCode", "") for f in el}
            elif tag == "cellXfs":
                xfs = [int(xf.get("numFmtId", 0)) for xf in el]
        return frozenset(i for i, fid in enumerate(xfs)
                         if (fid in custom and is_date_format(custom[fid])) or (fid not in custom and fid in _DATE_BUILTIN_IDS))

    def rows(self, path: str, max_cols: int = EXCEL_MAX_COLUMNS, limits_source: str = "") -> Iterator[tuple[int, list]]:
        """(row number, values) for every row from 1 to the last, gaps as empty rows.

        An empty cell far to the right (formatting only) does not widen the row; a cell with a value
        beyond ``max_cols`` raises ``_TooWide``; a row number beyond Excel's last row is refused.
        """
        strings, date_styles = self.strings, self.date_styles
        epoch = _EPOCH_1904 if self.date1904 else _EPOCH_1900
        expected = 1
        with self.zf.open(path) as fh:
            events = ET.iterparse(fh, events=("start", "end"))
            container = None
            for event, el in events:
                tag = el.tag
                if event == "start":
                    if container is None and tag.endswith("sheetData"):
                        container = el
                    continue
                if not tag.endswith("}row") and tag != "row":
                    continue
                r = el.get("r")
                row_no = int(r) if r else expected
                if row_no > EXCEL_MAX_ROWS:
                    raise _BadRow(row_no)
                # Empty rows are yielded only among the first rows (the header scan counts on them);
                # further down a gap is left to the reader of the row numbers, so a row claimed a
                # million rows below costs nothing per row in between.
                while expected < row_no and expected <= HEADER_SCAN_ROWS:
                    yield expected, []
                    expected += 1
                values: list = []
                for c in el:
                    ref = c.get("r")
                    value = _cell_value(c, strings, date_styles, epoch)
                    if ref:
                        col = _col_index(ref)
                        if value is None and col >= len(values):
                            continue  # a styled empty cell: it must not widen the row
                        if col >= max_cols:
                            raise _TooWide(row_no)
                        if col > len(values):
                            values.extend([None] * (col - len(values)))
                        elif col < len(values):  # out of order: put it where it belongs
                            values[col] = value
                            continue
                    values.append(value)
                yield row_no, values
                expected = row_no + 1
                if container is not None:
                    container.clear()
                else:
                    el.clear()


class _TooWide(Exception):
    def __init__(self, row_no: int):
        self.row_no = row_no


class _BadRow(Exception):
    def __init__(self, row_no: int):
        self.row_no = row_no


_EPOCH_1900 = dt.datetime(1899, 12, 30)
_EPOCH_1904 = dt.datetime(1904, 1, 1)


def _si_text(el) -> str:
    """The text of a shared or inline string: its <t>, or its rich-text runs, never phonetic <rPh>."""
    parts = []
    for child in el:
        tag = _local(child.tag)
        if tag == "t":
            parts.append(child.text or "")
        elif tag == "r":
            parts.extend(t.text or "" for t in child if _local(t.tag) == "t")
    return "".join(parts)


def _col_index(ref: str) -> int:
    """0-based column of a cell reference: "A1" -> 0, "AB12" -> 27."""
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


class Unevaluated:
    """A formula cell whose workbook holds no computed value (written by a program, never opened
    and saved in Excel): not an empty cell, and reported as what it is."""

    __slots__ = ("formula",)

    def __init__(self, formula: str):
        self.formula = formula

    def __str__(self) -> str:
        return f"={self.formula}"

    def __repr__(self) -> str:
        return f"Unevaluated({self.formula!r})"


def _cell_value(c, strings: list[str], date_styles: frozenset[int], epoch: dt.datetime):
    t = c.get("t")
    v = None
    formula = None
    for child in c:
        tag = child.tag
        if tag.endswith("}v") or tag == "v":
            v = child.text
        elif tag.endswith("}f") or tag == "f":
            formula = child.text or ""
        elif t == "inlineStr" and (tag.endswith("}is") or tag == "is"):
            return _unescape(_si_text(child))
    if v is None:
        return Unevaluated(formula) if formula is not None else None
    if t == "s":
        return strings[int(v)]
    if t in ("str", "e"):  # a formula's text result; an error such as #N/A
        return _unescape(v)
    if t == "b":
        return v == "1"
    if t == "d":
        try:
            return dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    try:
        number = int(v) if v.lstrip("-").isdigit() else float(v)
    except ValueError:
        return v
    s = c.get("s")
    if s is not None and date_styles and int(s) in date_styles:
        try:
            if 0 <= number < 1:
                seconds = round(number * 86400)
                return dt.time(seconds // 3600 % 24, seconds // 60 % 60, seconds % 60)
            return epoch + dt.timedelta(seconds=round(number * 86400))
        except (OverflowError, ValueError):
            return number
    return number


def _xlsx_sheets(info: FileInfo) -> Iterator[RawSheet]:
    path = info.path
    limits = info.limits
    max_cols = limits.max_columns
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, "Excel 文件已损坏，无法打开（压缩结构不完整）") from exc
    with zf:
        check_zip(path, zf, limits)  # again: the file may have changed since it was inspected
        try:
            book = _Workbook(zf)
        except Exception as exc:  # a broken part of the package: unreadable, whatever the cause
            raise _fail(path, f"Excel 文件已损坏或格式不对，无法打开（{type(exc).__name__}）") from exc
        if not book.sheets:
            raise _fail(path, "Excel 文件里没有工作表")
        for index, (name, hidden, member) in enumerate(book.sheets):
            try:
                merges = merged_ranges(path, member)
                stream = book.rows(member, max_cols)
                buffered = list(itertools.islice(stream, HEADER_SCAN_ROWS))
            except _TooWide as exc:
                raise _too_wide(path, name, exc.row_no, max_cols, limits) from None
            except _BadRow as exc:
                raise _fail(path, f"工作表“{name}”的行号 {exc.row_no:,} 超出了 Excel 的最大行数，文件已损坏或被改动过") from None
            except Exception as exc:
                raise _fail(path, f"工作表“{name}”已损坏，无法读取（{type(exc).__name__}）") from exc
            head = [list(v) for _, v in buffered]
            _fill_head(head, merges, max_cols)
            filler = _vertical_filler(merges, max_cols)

            def rows(name=name, buffered=buffered, stream=stream, filler=filler) -> Iterator[tuple[int, list]]:
                n = 0
                try:
                    for n, values in itertools.chain(buffered, stream):
                        yield n, (filler(n, values) if filler else values)
                except _TooWide as exc:
                    raise _too_wide(path, name, exc.row_no, max_cols, limits) from None
                except _BadRow as exc:
                    raise _fail(path, f"工作表“{name}”的行号 {exc.row_no:,} 超出了 Excel 的最大行数，"
                                      "文件已损坏或被改动过") from None
                except Exception as exc:
                    raise _fail(path, f"工作表“{name}”第 {n + 1} 行附近已损坏，无法读取"
                                      f"（{type(exc).__name__}）") from exc

            yield RawSheet(name, index, hidden, head, rows())
