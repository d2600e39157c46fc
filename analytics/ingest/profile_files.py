"""Mapping profiles as TOML files a clerk can read and edit: ``profiles suggest`` writes one for an
export, ``profiles add`` checks and saves it, ``profiles show`` prints a saved one the same way.

A profile file::

    name = "某市留言板"
    kind = "opinions"                 # 民情民意
    date_order = "mdy"                # optional: dmy 日月年 / mdy 月日年
    headers = ["留言编号", "留言时间", …]   # the export's header row, in order

    [columns]                         # header = field ("" = not imported)
    "留言编号" = "opinion_id"

    [fixed]                           # field = value for every row, for a field the export lacks
    [values.status]                   # value as exported = ours
    "已办理" = "已办结"

Every choice the suggestion makes is written with why beside it, as a comment.
"""
from __future__ import annotations

import json
from pathlib import Path

from analytics.core.config import read_toml
from analytics.core.contract import Contract, load_contract, norm_value
from analytics.ingest.cells import as_text, clean_value
from analytics.ingest.profiles import (
    AdminError,
    Profile,
    SheetSample,
    likeness_parts,
    make_profile,
    sample_sheets,
    suggest_mapping,
)

_KEYS = {"name", "kind", "headers", "columns", "fixed", "values", "date_order"}
MAX_VALUES = 30  # distinct values of one column a suggestion looks at for a value mapping


def _q(text: object) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(str(text), ensure_ascii=False)


def _sheet_for(samples: list[SheetSample], sheet: str | None) -> SheetSample:
    usable = [s for s in samples if s.header_row is not None]
    if sheet is not None:
        hit = next((s for s in samples if s.sheet == sheet), None)
        if hit is None:
            names = "、".join(str(s.sheet) for s in samples)
            raise AdminError(f"文件里没有名为“{sheet}”的工作表（有：{names}）")
        if hit.header_row is None:
            raise AdminError(f"工作表“{sheet}”的前 20 行里找不到表头")
        return hit
    if not usable:
        raise AdminError("文件的前 20 行里找不到像表头的一行（至少两列有文字）")
    return max(usable, key=lambda s: sum(1 for c in s.columns for v in c if v is not None))


def _value_likeness(a: str, b: str) -> float:
    """How alike two short vocabulary values are, 0..1.05: the mean of difflib's ratio and the
    character-bigram overlap (both must agree: 已办理 shares 已…理 with 已受理 but no bigram), or
    containment; the first character weighs a little more, as in status words it carries the aspect
    (已 done, 待 waiting, 未 not yet), so 已办理 is nearer 已办结 than 办理中."""
    if not a or not b:
        return 0.0
    if a == b:
        return 1.05
    ratio, dice, contain = likeness_parts(a, b)
    return max((ratio + dice) / 2, contain) + (0.05 if a[0] == b[0] else 0.0)


def value_suggestions(kind: str, fields: dict[int, str], sample: SheetSample, contract: Contract
                      ) -> dict[str, list[tuple[str, str | None, str]]]:
    """For each enum or town field mapped in ``fields`` (column index -> field): (value as exported,
    our value or None, why) for the distinct values of the sample the vocabulary does not already
    accept. The profile file and the page's mapping editor both offer these."""
    k = contract.kinds[kind]
    out: dict[str, list[tuple[str, str | None, str]]] = {}
    for index, fname in fields.items():
        if not fname or index >= len(sample.columns):
            continue
        fld = k.field(fname)
        if fld.type not in ("enum", "town"):
            continue
        vocab = fld.vocab if fld.type == "enum" else "town"
        seen: list[str] = []
        for v in sample.columns[index]:
            v = clean_value(v)
            if v is None:
                continue
            t = as_text(v).strip()
            if t and t not in seen and contract.lookup(vocab, t) is None:
                seen.append(t)
            if len(seen) >= MAX_VALUES:
                break
        rows = []
        for t in seen:
            best, best_s, via = None, 0.0, None
            for canon in contract.canon[vocab]:
                for spelling in (canon, *[a for a, c in contract.vocabs[vocab].items() if c == canon]):
                    s = _value_likeness(norm_value(t), norm_value(spelling))
                    if s > best_s:
                        best, best_s, via = canon, s, spelling
            if best is not None and best_s >= 0.55:
                rows.append((t, best, f"与“{via}”相近（{best_s:.2f}）"))
            else:
                rows.append((t, None, "认不出"))
        if rows:
            out[fname] = rows
    return out


def date_orders(kind: str, fields: dict[int, str], sample: SheetSample, contract: Contract) -> set[str]:
    """The day/month orders the sample's date texts decide by themselves (a day over 12): one order
    means the export is read without a setting; none or both mean the profile should say."""
    from analytics.core.dates import day_month_order

    k = contract.kinds[kind]
    orders = set()
    for index, fname in fields.items():
        if fname and k.field(fname).type in ("date", "datetime") and index < len(sample.columns):
            orders |= {day_month_order(v) for v in sample.columns[index] if isinstance(v, str)}
    orders.discard(None)
    return orders


def suggest_file(path: str | Path, kind: str | None = None, name: str | None = None, sheet: str | None = None,
                 contract: Contract | None = None) -> str:
    """A commented profile file for the export at ``path``: the suggested kind, column mapping and
    value mapping, each with why; AdminError (Chinese) when the file has no header to go by."""
    contract = contract or load_contract()
    if kind is not None and kind not in contract.kinds:
        raise AdminError(f"不认识的数据类别“{kind}”（可用：{'、'.join(contract.kinds)}）")
    sample = _sheet_for(sample_sheets(path), sheet)
    guess = suggest_mapping(sample.headers, sample.columns, kind=kind, contract=contract,
                            header_row=sample.header_row)
    k = contract.kinds[guess.kind]
    name = name or Path(path).stem
    scores = "、".join(f"{contract.kinds[x].label} {s:.2f}" for x, s in
                       sorted(guess.kind_scores.items(), key=lambda kv: -kv[1]))
    lines = [f"# 映射方案：由 python -m analytics profiles suggest 为“{Path(path).name}”"
             + (f"的工作表“{sample.sheet}”" if sample.sheet else "") + f"（表头在第 {sample.header_row} 行）生成。",
             "# 检查每一行（# 后面是建议的理由），改好后用 python -m analytics profiles add 本文件 保存；",
             "# 以后表头相同的文件（列的顺序不同、多一列或少一列也可以）会自动按它导入。",
             f"name = {_q(name)}",
             f"kind = {_q(guess.kind)}  # {k.label}。各类别的得分：{scores}"]
    fields = {g.index: g.field for g in guess.columns if g.field}
    orders = date_orders(guess.kind, fields, sample, contract)
    if len(orders) == 1:
        lines.append(f"# date_order = {_q(orders.pop())}  # 样例里的日期已能判断日月顺序，一般不必设置")
    else:
        lines.append('# date_order = "dmy"  # 日期写成 03/04/2024 这类、又没有日大于 12 的日期时：'
                     '"dmy" 日月年，"mdy" 月日年')
    lines.append("headers = [" + ", ".join(_q(h) for h in sample.headers if h) + "]  # 导出文件的表头，按顺序")
    lines += ["", "[columns]",
              "# 表头 = 字段（\"\" 表示这一列不导入）。可用的字段："
              + "、".join(f"{f.name} {f.label}{'（必填）' if f.required else ''}" for f in k.fields)]
    for g in guess.columns:
        if not g.header:
            continue
        why = "；".join(g.reasons) if g.reasons else ""
        shown = "、".join(g.samples)
        note = (f"{k.field(g.field).label}：{why}" if g.field else "不导入：没有相近的字段") + (f"；样例：{shown}" if shown else "")
        lines.append(f"{_q(g.header)} = {_q(g.field or '')}  # {note}")
    mapped = {g.field for g in guess.columns if g.field}
    lines += ["", "[fixed]", "# 字段 = 固定值：导出里没有这一列时，每行都记这个值（例如 channel = \"民声e\"）。"]
    for f in k.fields:
        if f.required and f.name not in mapped:
            lines.append(f"# {f.name} = \"\"  # 必填的“{f.label}”没有对应的列：请对应一列，或在这里填固定值")
    values = value_suggestions(guess.kind, fields, sample, contract)
    for fname, rows in values.items():
        fld = k.field(fname)
        vocab = fld.vocab if fld.type == "enum" else "town"
        lines += ["", f"[values.{fname}]",
                  f"# 导出里的“{fld.label}” = 我们的值（可接受：{'、'.join(contract.canon[vocab])}）"]
        for raw, ours, why in rows:
            why += "；不对请改或删掉这一行" if ours else "：填写我们的值；留空则按原样保存，统计时计入“其他/未知”"
            lines.append(f"{'' if ours else '# '}{_q(raw)} = {_q(ours or '')}  # {why}")
    return "\n".join(lines) + "\n"


def profile_from_file(path: str | Path, user: str | None = None, contract: Contract | None = None) -> Profile:
    """The profile a file describes, checked like one made on the page; AdminError (Chinese, naming
    the file and the key) when something is wrong."""
    contract = contract or load_contract()
    p = Path(path)
    raw = read_toml(p, "映射方案", AdminError)

    def fail(key: str, msg: str):
        raise AdminError(f"映射方案文件 {p.name} 的 {key}：{msg}")

    unknown = set(raw) - _KEYS
    if unknown:
        fail("、".join(sorted(unknown)), f"不认识的项（可用：{'、'.join(sorted(_KEYS))}）")
    for key in ("name", "kind", "headers", "columns"):
        if key not in raw:
            fail(key, "缺少这一项")
    if not isinstance(raw["headers"], list) or not all(isinstance(h, str) for h in raw["headers"]):
        fail("headers", "应是表头文字的列表，如 [\"留言编号\", \"留言时间\"]")
    for key in ("columns", "fixed", "values"):
        if key in raw and not isinstance(raw[key], dict):
            fail(key, "应是一个表（[columns] 这样的段落）")
    columns = {str(h): (str(f) or None) for h, f in raw["columns"].items()}
    try:
        return make_profile(str(raw["name"]), str(raw["kind"]), raw["headers"], columns,
                            {str(f): v for f, v in (raw.get("fixed") or {}).items()}, user=user, contract=contract,
                            options={"date_order": raw.get("date_order"), "values": raw.get("values") or {}})
    except AdminError as exc:
        raise AdminError(f"映射方案文件 {p.name}：{exc}") from None


def profile_text(profile: Profile, contract: Contract | None = None) -> str:
    """A saved profile written as a profile file (``profiles show``); ``profiles add`` reads it back."""
    contract = contract or load_contract()
    k = contract.kinds[profile.kind]
    by_norm = {}
    from analytics.core.contract import norm_header

    for h in profile.headers:
        by_norm.setdefault(norm_header(h), h)
    lines = [f"# 映射方案“{profile.name}”" + (f"，{profile.created_by} 建于 {profile.created_at:%Y-%m-%d %H:%M}"
                                              if profile.created_by and profile.created_at else ""),
             f"name = {_q(profile.name)}", f"kind = {_q(profile.kind)}  # {k.label}"]
    if profile.date_order:
        lines.append(f"date_order = {_q(profile.date_order)}")
    lines.append("headers = [" + ", ".join(_q(h) for h in profile.headers) + "]")
    lines += ["", "[columns]"]
    for h in profile.headers:
        f = profile.mapping.get(norm_header(h))
        lines.append(f"{_q(h)} = {_q(f or '')}" + (f"  # {k.field(f).label}" if f else ""))
    lines += ["", "[fixed]"]
    lines += [f"{f} = {_q(v)}  # {k.field(f).label}" for f, v in profile.fixed.items()]
    for f, pairs in profile.value_map.items():
        lines += ["", f"[values.{f}]"] + [f"{_q(a)} = {_q(b)}" for a, b in pairs.items()]
    return "\n".join(lines) + "\n"
