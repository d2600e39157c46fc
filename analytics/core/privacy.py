"""Masking of personal data: applied to free text at import, to names and phone columns in every view.

Masked text keeps its meaning for a reader ("请联系[手机号]") and the markers are bracketed so the
segmenter can drop them whole: a masked number never becomes a hot word.
"""
from __future__ import annotations

import re

# Digits may be split by spaces, dashes or a line break ("138 1234\n5678"): real messages do that.
_SEP = r"[\s\-－—]?"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[邮箱]", re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")),
    # ID card: 17 digits + digit/X, not inside a longer run of digits.
    ("[身份证号]", re.compile(r"(?<!\d)[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?!\d)")),
    ("[银行卡号]", re.compile(r"(?<!\d)(?:\d{4}[ \-]?){3}\d{4}(?:[ \-]?\d{1,3})?(?!\d)")),
    ("[手机号]", re.compile(r"(?<!\d)(?:\+?86" + _SEP + r")?1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4}(?!\d)")),
    # Landline: area code, then 7-8 digits that may be split once ("0571-8271 2345").
    ("[电话]", re.compile(r"(?<!\d)(?:[(（]?0\d{2,3}[)）]?" + _SEP + r")\d{3,4}" + _SEP + r"\d{4}(?!\d)")),
    ("[车牌号]", re.compile(r"[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-HJ-NP-Z][·•\s]?[A-HJ-NP-Z0-9]{4,5}[A-HJ-NP-Z0-9挂学警港澳]")),
]
MASK_MARKERS = tuple(marker for marker, _ in _PATTERNS)
MARKER_RE = re.compile("|".join(re.escape(m) for m in MASK_MARKERS))


# Full-width ASCII (ＦＦ01–ＦＦ5E: "１３８…", "＠", "＋８６") -> ASCII, one character for one, so that
# numbers typed in a Chinese IME's full-width mode are found too, at the same positions.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}


def mask_text(text: str | None) -> str | None:
    """Replace phone, ID card, bank card, e-mail and plate numbers in free text with markers.

    Numbers written with full-width digits are masked as well; the rest of the text is kept as written.
    """
    if not text:
        return text
    probe = text.translate(_FULLWIDTH)
    if probe == text:
        for marker, pattern in _PATTERNS:
            text = pattern.sub(marker, text)
        return text
    # Match on the half-width copy, replace the same spans in both (they stay aligned).
    for marker, pattern in _PATTERNS:
        spans = [m.span() for m in pattern.finditer(probe)]
        for start, end in reversed(spans):
            text = text[:start] + marker + text[end:]
            probe = probe[:start] + marker + probe[end:]
    return text


def mask_name(name: str | None) -> str | None:
    """张三 -> 张*, 欧阳娜娜 -> 欧***: the family name's first character stays, for a human reader."""
    if name is None:
        return None
    name = str(name).strip()
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str | None) -> str | None:
    """13812345678 -> 138****5678; anything that is not a recognisable number is masked whole."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", str(phone))
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "****" if str(phone).strip() else str(phone)


def raw_submitter(con, opinion_id: str) -> str | None:
    """The submitter's name as imported, for the one opinion ``opinion_id`` — the only place a raw
    name is read for display. Only an admin may call for it, only when ``[privacy] admin_raw_names``
    is on (data/security.toml), and the caller records each call in the audit log."""
    row = con.cursor().execute("SELECT submitter FROM opinions WHERE opinion_id = ?", [str(opinion_id)]).fetchone()
    return row[0] if row else None
