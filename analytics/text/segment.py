"""Text cleaning and word segmentation for hot words: from a citizen's message to the words it counts.

One pipeline, used at import and when the dictionary changes (no page ever segments text):

1. ``clean``: full-width letters and digits made ASCII, personal data
   masked again with ``privacy.mask_text`` (defence in depth: stored text is already masked), the
   markers (``[手机号]`` …) and every remaining run of digits dropped (leaving a boundary), HTML tags/entities and URLs dropped, whitespace inside Chinese
   text removed (padding and line breaks split no word) and elsewhere reduced to one space.
2. Boilerplate phrases — stopword entries that are more than one word, such as 此致敬礼 or
   感谢您对我们工作的关心和支持 — are cut out of the text whole, before segmentation.
3. Segmentation with jieba's dictionary plus the domain dictionary ``data/userdict.txt``. Bulk cutting
   uses rjieba (jieba-rs: the same dictionary and algorithm compiled to native code, ~15x faster);
   ``engine="jieba"`` gives the reference Python implementation (a test checks they agree).
4. Token filter (``keep_token``): a token is a word when it is not a stopword and either is a
   dictionary word or is at least two Chinese characters that are not a number (一百二十, 第三) or
   only numerals and units (号楼, 个月, 万元), nor an anonymised placeholder (某村, 某某). So digits, pieces of phone numbers, single characters,
   Latin letters and punctuation never become words. Single characters listed in the user
   dictionary are the one exception (a whitelist).

The dictionary and stopword files are plain commented text an analyst can edit (format in their
headers); ``parse_userdict`` / ``parse_stopwords`` validate them with Chinese messages.
"""
from __future__ import annotations

import hashlib
import html
import os
import re
import threading
import unicodedata
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Iterable

import numpy as np

from analytics.core.paths import DATA_DIR
from analytics.core.privacy import MARKER_RE, mask_text

USERDICT_PATH = DATA_DIR / "userdict.txt"
STOPWORDS_PATH = DATA_DIR / "stopwords.txt"

# A user-dictionary word without a frequency gets this one: about a common word's frequency in
# jieba's dictionary (total ~60 M), enough for the word to come out whole in any context.
DEFAULT_FREQ = 1000
MAX_WORD_LEN = 20
# A multi-word stopword shorter than this is not cut out of the text as a phrase (its pieces are
# single characters, dropped anyway): cutting two characters out could split a real word.
MIN_PHRASE_LEN = 3  # a longer "word" in the dictionary file is almost certainly a pasted sentence

ENGINES = ("rjieba", "jieba")
SEP = "\x00"  # joins texts cut in one call (count_many)
GROUP_CHARS = 200_000

_CJK = "\u3400-\u4dbf\u4e00-\u9fff"
CJK_RANGE = _CJK  # for a character class: f"[{CJK_RANGE}]"
_CJK_WORD = re.compile(f"[{_CJK}]{{2,}}")
# Numbers written in Chinese, optionally ordinal, optionally followed by units: 一百二十, 第三, 三年.
_NUMERALS = "零〇一二两三四五六七八九十百千万亿几半多余之"
# Tokens made only of units and numerals are pieces of quantities (3号楼 -> 号楼, 5个月 -> 个月,
# 十多天, 三分之一, 两百多位); a deictic or ordinal first character keeps them quantities
# (第三, 好几年, 上个月, 这次, 每户, 近年).
_UNITS = "号线栋幢层楼室年月日天周个元角米岁户人次期点分秒钟组弄届批份条件项座间台辆倍成名位家所处圈遍趟封张盏棵"
_NUMBERISH = re.compile(f"[第好上下前后这那每近头末各整同当该本]?[{_NUMERALS}{_UNITS}]+")
# 某村, 某小区, 某某: an anonymised place or person, never a topic.
PLACEHOLDER = "某"
# Any run of digits (with single separators) left after masking: never a word, and a number that
# the privacy patterns did not recognise (e.g. "0571-8271 2345") must not leave pieces either.
_DIGITS = re.compile(r"\d(?:[\s\-－—()（）.]?\d)*")
# An anonymised administrative code (A市, A7县, K9区, B2省): letters, optionally digits, glued to the
# name of a level. It is a place of its own (A市 and B市 are different cities), and glued to the next
# name it would cut it into fragments (A7县星沙镇 -> 县星 + 沙镇). So before the digits are dropped it
# is written as one ASCII token between boundaries (A7县 -> ，ZZAhX，: digits as letters a–j, the
# level as S/C/Q/X), which the engine keeps whole, and ``Segmenter.cut`` writes it back as A7县.
ANON_CODE = re.compile(r"(?<![A-Za-z0-9])([A-Z]{1,2})(\d{0,4})(省|市|区|县)")
_LEVEL_CODE = {"省": "S", "市": "C", "区": "Q", "县": "X"}
_CODE_LEVEL = {v: k for k, v in _LEVEL_CODE.items()}
_CODE_TOKEN = re.compile("(?:(?<=\x01)|^)ZZ([A-Z]{1,2})([a-j]{0,4})([SCQX])(?=\x01|$)")


def _encode_code(m: re.Match) -> str:
    return "，ZZ" + m.group(1) + "".join(chr(ord("a") + int(d)) for d in m.group(2)) + _LEVEL_CODE[m.group(3)] + "，"


def _decode_code(m: re.Match) -> str:
    return m.group(1) + "".join(str(ord(c) - ord("a")) for c in m.group(2)) + _CODE_LEVEL[m.group(3)]


def is_code(token: str) -> bool:
    """An anonymised administrative code such as A7县 (see ANON_CODE)."""
    return bool(ANON_CODE.fullmatch(token))
_HAS_CAPITAL = re.compile("[A-Z](?:\\d{0,4})[省市区县]")
_TAG = re.compile(r"<[^<>\x00]{0,200}>")  # \x00 separates texts cut together (count_many)
_URL = re.compile(r"(?:https?://|www\.)[\x21-\x7e]+", re.IGNORECASE)
# Whitespace between two Chinese characters: padding or a line break inside a sentence.
_CJK_GAP = re.compile(f"(?<=[{_CJK}])\\s+(?=[{_CJK}])")
_SPACE = re.compile(r"\s+")
# Full-width letters, digits and the characters of e-mail addresses and numbers: made ASCII so that
# masking and the token filter see them. (Full NFKC would also do it but costs more than cutting.)
_FULLWIDTH = re.compile("[\uff0b\uff0d\uff0e\uff10-\uff19\uff20-\uff3a\uff41-\uff5a]")
_FULLWIDTH_MAP = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F)}


def _ascii(m: re.Match) -> str:
    return chr(ord(m.group()) - 0xFEE0)
# A necessary condition for any privacy pattern to match (an '@', seven digits with single
# separators between them, or a province character followed by a capital letter): text without
# it is left as it is, which saves most of the masking time. A test checks the equivalence.
_MAYBE_PERSONAL = re.compile(
    "@|\\d(?:[\\s\\-－—()（）]?\\d){6}|[京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][A-Z]"
)


# ── Place names kept whole ──
# jieba cuts an unknown name before a place word into pieces (丽发 新城 小区, 桂花 坪 街道, 盖 山镇): the
# pieces would each count as a word, and none of them says where. After cutting, a place word (or a
# single place character standing alone, or an unknown two-character token ending in one) takes up
# to three name pieces just before it — nearest first, each Chinese, not a stopword, not a number
# piece, at most six characters in all — and the result is one token, a place
# (``analytics.text.terms`` tells places from terms).
PLACE_CHARS = "省市区县镇乡村苑园城府湾路街巷站桥庄里局"  # 局: an agency's name (住建局) is kept whole the same way
PLACE_WORDS = frozenset((
    "小区 社区 街道 花园 家园 新村 新城 公寓 大厦 广场 大道 南路 北路 东路 西路 中路 大街 小学 中学 "
    "学校 幼儿园 大学 学院 医院 公园 地铁站 片区 商城 山庄 水岸 名苑 雅苑 华府 中心小学").split())
MAX_PLACE_NAME = 6
_JOIN = "\x01"
_PIECE = f"[{_CJK}]{{1,4}}"
_PLACE_END = "|".join(sorted(PLACE_WORDS, key=len, reverse=True)) + f"|[{_CJK}]?[{PLACE_CHARS}]"
_PLACE_END_RE = re.compile(f"(?<=\x01)(?:{_PLACE_END})(?=\x01|$)")
_CJK_PIECE = re.compile(_PIECE)
MAX_PLACE_LEN = 12
# Parts of speech (jieba's tags) of dictionary words that never name a place: verbs, pronouns,
# directions, adverbs, prepositions, conjunctions, particles, numerals, measure words, times.
FUNCTION_START = frozenset("p r rr rz c u uj ul ud ug uv uz d dg".split())
NOT_A_NAME = frozenset("v vd vg vi vn f r rr rz p c u uj ul ud ug uv uz d dg m mq q t tg zg y e o".split())


class DictionaryError(ValueError):
    """A dictionary or stopword file is wrong; the message is Chinese and names the line."""


def read_userdict_file(path: str | Path | None = None) -> str:
    return Path(path or USERDICT_PATH).read_text(encoding="utf-8")


def read_stopwords_file(path: str | Path | None = None) -> str:
    return Path(path or STOPWORDS_PATH).read_text(encoding="utf-8")


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lines(text: str):
    for no, raw in enumerate(text.splitlines(), start=1):
        line = unicodedata.normalize("NFKC", raw).strip()
        if line and not line.startswith("#"):
            yield no, line


def parse_userdict(text: str) -> dict[str, int]:
    """``词 [词频]`` per line -> {word: frequency}; '#' comments and blank lines ignored."""
    words: dict[str, int] = {}
    for no, line in _lines(text):
        parts = line.split()
        if len(parts) > 3:
            raise DictionaryError(f"词典第 {no} 行“{line}”：一行只能写一个词和可选的词频（词中不能有空格）。")
        word = parts[0]
        if len(word) > MAX_WORD_LEN:
            raise DictionaryError(f"词典第 {no} 行“{word}”：词长超过 {MAX_WORD_LEN} 个字，不像一个词。")
        if MARKER_RE.search(word) or "[" in word or "]" in word:
            raise DictionaryError(f"词典第 {no} 行“{word}”：不能包含方括号或脱敏标记。")
        freq = DEFAULT_FREQ
        if len(parts) >= 2:
            if not parts[1].isdigit() or int(parts[1]) < 1:
                raise DictionaryError(f"词典第 {no} 行“{line}”：词频“{parts[1]}”应是正整数。")
            freq = int(parts[1])
        words[word] = freq
    return words


def parse_stopwords(text: str) -> set[str]:
    """One stopword or boilerplate phrase per line; '#' comments and blank lines ignored."""
    out: set[str] = set()
    for no, line in _lines(text):
        if len(line) > 60:
            raise DictionaryError(f"停用词表第 {no} 行过长（{len(line)} 字）：每行写一个词或一句套话。")
        out.add(_SPACE.sub("", line))
    return out


def clean(text: str | None) -> str:
    """Normalise, mask, drop markers/HTML/URLs, fix whitespace. Safe on already-masked text."""
    if not text:
        return ""
    text = str(text)
    if _FULLWIDTH.search(text):
        text = _FULLWIDTH.sub(_ascii, text)
    if "&" in text:
        text = html.unescape(text)
    if "<" in text:
        text = _TAG.sub(" ", text)
    if _MAYBE_PERSONAL.search(text):
        text = mask_text(text)
    if "[" in text:
        text = MARKER_RE.sub(" ", text)
    if _HAS_CAPITAL.search(text):
        text = ANON_CODE.sub(_encode_code, text)
    text = _DIGITS.sub("，", text)  # a boundary: 交100元 must not become 交元
    if "://" in text or "www." in text.lower():
        text = _URL.sub(" ", text)
    text = _CJK_GAP.sub("", text)
    return _SPACE.sub(" ", text).strip()


def is_numberish(token: str) -> bool:
    return bool(_NUMBERISH.fullmatch(token))


class Segmenter:
    """Cuts cleaned text into hot-word tokens with one dictionary; build with ``get_segmenter``."""

    def __init__(self, userdict_text: str, stopwords_text: str, engine: str = "rjieba"):
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}")
        self.engine = engine
        self.userdict = parse_userdict(userdict_text)
        self.stopwords = parse_stopwords(stopwords_text)
        import rjieba

        # The rjieba instance is built for either engine: it decides which stopwords are phrases,
        # so that both engines cut the same text after boilerplate removal.
        self._rjieba = rjieba.Jieba()
        for word, freq in self.userdict.items():
            self._rjieba.add_word(word, freq, None)
        if engine == "rjieba":
            self._cut = self._rjieba.cut
        else:
            import logging

            import jieba

            jieba.setLogLevel(logging.WARNING)
            self._jieba = jieba.Tokenizer()
            self._jieba.initialize()
            for word, freq in self.userdict.items():
                self._jieba.add_word(word, freq)
            self._cut = self._jieba.lcut
        phrases = sorted(
            (s for s in self.stopwords if len(s) >= MIN_PHRASE_LEN and len(self._rjieba.cut(s)) > 1),
            key=lambda s: (-len(s), s),
        )
        self.phrases = tuple(phrases)
        self._phrase_re = re.compile("|".join(map(re.escape, phrases))) if phrases else None
        self._keep = _KeepMap(self._decide)
        self._piece_ok: dict[str, bool] = {}
        self._keep[SEP] = True  # the text separator passes the filter (count_arrays splits on it)

    def has_word(self, word: str) -> bool:
        """In jieba's dictionary or the user dictionary (new-word proposals skip these)."""
        if word in self.userdict:
            return True
        return bool(self._rjieba.has_word(word))

    def _is_place_end(self, token: str) -> bool:
        if token in PLACE_WORDS or (len(token) == 1 and token in PLACE_CHARS):
            return True
        return (len(token) == 2 and token[-1] in PLACE_CHARS and not self.has_word(token)
                and not self._function_start(token))

    def _function_start(self, token: str) -> bool:
        """An unknown token that starts with a preposition, pronoun, conjunction, particle or adverb
        (对村, 这村) is a piece of grammar glued to a word, not a name."""
        return self._rjieba.tag(token[0])[0][1] in FUNCTION_START

    def _name_piece(self, token: str, nearest: bool, fragment: bool = False) -> bool:
        """Can this token be part of a place's name? Not a stopword or number piece; a dictionary
        word only when its part of speech can name (a verb, pronoun, direction, preposition… cannot:
        去区医院, 村民对村); a single character only right before the place word — whatever its part
        of speech when the place word is itself a fragment (盖 + 山镇)."""
        if fragment and nearest and len(token) == 1:
            return token not in self.stopwords
        if token in self.stopwords or is_numberish(token) or token.startswith(PLACEHOLDER):
            return False
        if len(token) == 1 and not nearest:
            return False
        ok = self._piece_ok.get(token)
        if ok is None:
            if len(self._piece_ok) > 200_000:
                self._piece_ok.clear()
            if self.has_word(token):
                ok = self._rjieba.tag(token)[0][1] not in NOT_A_NAME
            else:
                ok = not self._function_start(token)
            self._piece_ok[token] = ok
        return ok

    def cut(self, prepared: str) -> list[str]:
        """The engine's tokens of prepared text, with place names put back together (see
        PLACE_WORDS). The tokens are joined and scanned by one regular expression for place words,
        so only the few tokens around a place word are handled in Python."""
        tokens = self._cut(prepared)
        if len(tokens) < 2:
            return tokens
        joined = _JOIN.join(tokens)
        out: list[str] = []
        pos = 0  # joined[:pos] is decided (in out)
        last = None  # the place just put together, if it ends at pos
        for m in _PLACE_END_RE.finditer(joined):
            end, s0 = m.group(), m.start()
            known_pair = len(end) == 2 and end not in PLACE_WORDS and self.has_word(end)
            if not known_pair and not self._is_place_end(end):
                continue
            if last is not None and s0 - 1 == pos and len(last) + len(end) <= MAX_PLACE_LEN:
                out[-1] = last = last + end  # 丽发新城 + 小区
                pos = m.end()
                continue
            last = None
            lo = max(pos, s0 - 1 - 4 * 3 - 3)
            pieces = joined[lo:s0 - 1].split(_JOIN)
            if lo > 0 and joined[lo - 1] != _JOIN:
                pieces = pieces[1:]  # the first piece is cut: not a whole token
            taken = size = 0
            if known_pair and len(pieces[-1]) != 1:
                continue  # 城市, 地区: a word of its own unless a lone character precedes it (盖 山镇)
            for piece in reversed(pieces[-3:]):
                if (size + len(piece) > MAX_PLACE_NAME or not _CJK_PIECE.fullmatch(piece)
                        or not self._name_piece(piece, nearest=not taken, fragment=known_pair)):
                    break
                taken += 1
                size += len(piece)
            if not taken:
                continue
            start = s0 - 1 - size - (taken - 1)
            out.append(joined[pos:start])
            last = joined[start:s0 - 1].replace(_JOIN, "") + end
            out.append(last)
            pos = m.end()
        if out:
            out.append(joined[pos:])
            joined = "".join(out)
        if "ZZ" in joined:
            joined = _CODE_TOKEN.sub(_decode_code, joined)
        elif not out:
            return tokens
        return joined.split(_JOIN)

    def _decide(self, token: str) -> bool:
        if token in self.stopwords:
            return False
        if is_code(token):
            return True
        if token in self.userdict:
            return not token.isdigit()
        return (bool(_CJK_WORD.fullmatch(token)) and not is_numberish(token)
                and not token.startswith(PLACEHOLDER))

    def keep_token(self, token: str) -> bool:
        """The token filter described in the module docstring (memoised: the vocabulary is small)."""
        return token != SEP and self._keep[token]

    def prepare(self, text: str | None) -> str:
        """Cleaned text with boilerplate phrases removed: what the engine cuts."""
        text = clean(text)
        if self._phrase_re is not None and text:
            text = self._phrase_re.sub(" ", text)
        return text

    def raw_tokens(self, text: str | None) -> list[str]:
        """Every token of the prepared text, unfiltered, for adjacency statistics (whitespace
        tokens stay: they mark where a marker or phrase was removed, a boundary)."""
        prepared = self.prepare(_no_sep(text))
        return self._cut(prepared) if prepared else []

    def tokens(self, text: str | None) -> list[str]:
        """The words of a text in order, after the filter."""
        prepared = self.prepare(_no_sep(text))
        if not prepared:
            return []
        keep = self._keep
        return [t for t in self.cut(prepared) if keep[t]]

    def count(self, text: str | None) -> Counter:
        return Counter(self.tokens(text))

    def count_many(self, texts: Iterable[str | None], group_chars: int = GROUP_CHARS) -> list[list[tuple[str, int]]]:
        """``[list(count(t).items()) for t in texts]``, several times faster on short texts.

        Texts are joined with NUL (never in real text, and a boundary for every cleaning pattern and
        for jieba, which cuts each run of Chinese/alphanumeric characters on its own), cleaned and cut
        in one call per ~``group_chars`` characters, and split again at the NUL tokens. A test checks
        the result equals cutting text by text.
        """
        return [list(Counter(doc).items()) for doc in self._docs(texts, group_chars)]

    def count_arrays(self, texts: Iterable[str | None], group_chars: int = GROUP_CHARS) -> "Counts":
        """The same counts as ``count_many``, as arrays (cheap to send between processes and to
        turn into table rows): see ``Counts``. Tokens are mapped to ids in one pass and the
        (text, word) pairs counted with numpy, ~20 % less CPU than a Counter per text."""
        index = _Ids()
        keep = self._keep
        docs, words = [], []
        offset = 0
        for group in self._groups(texts, group_chars):
            prepared = self.prepare(SEP.join(group))
            # filter/map with bound dict lookups run in C: no Python code per token.
            kept = list(filter(keep.__getitem__, self.cut(prepared))) if prepared else []
            ids = np.fromiter(map(index.__getitem__, kept), dtype=np.int64, count=len(kept))
            sep = ids == -1
            if int(sep.sum()) != len(group) - 1:  # cannot happen with jieba's block rule
                raise RuntimeError(f"count_arrays: {len(group)} texts but {int(sep.sum()) + 1} token groups")
            docs.append(np.cumsum(sep)[~sep] + offset)
            words.append(ids[~sep])
            offset += len(group)
        vocab = list(index)[1:]  # ids 0, 1, … in order; the first key is SEP (-1)
        if not docs or not sum(len(d) for d in docs):
            empty = np.zeros(0, dtype=np.int32)
            return Counts(vocab, empty, empty, empty, offset)
        doc, word = np.concatenate(docs), np.concatenate(words)
        width = max(len(vocab), 1)
        pairs, cnt = np.unique(doc * width + word, return_counts=True)
        return Counts(vocab, (pairs // width).astype(np.int32), (pairs % width).astype(np.int32),
                      cnt.astype(np.int32), offset)

    def _groups(self, texts: Iterable[str | None], group_chars: int):
        """Texts in groups of about ``group_chars`` characters, NUL removed from them."""
        group: list[str] = []
        size = 0
        for t in texts:
            t = "" if t is None else str(t)
            if SEP in t:
                t = t.replace(SEP, " ")
            group.append(t)
            size += len(t)
            if size >= group_chars:
                yield group
                group, size = [], 0
        if group:
            yield group

    def _docs(self, texts: Iterable[str | None], group_chars: int):
        """Each text's filtered tokens, in order (see ``count_many``)."""
        for group in self._groups(texts, group_chars):
            yield from self._group_tokens(group)

    def _group_tokens(self, texts: list[str]) -> list[list[str]]:
        prepared = self.prepare(SEP.join(texts))
        keep = self._keep
        docs: list[list[str]] = []
        cur: list[str] = []
        for tok in self.cut(prepared) if prepared else ():
            if tok == SEP:
                docs.append(cur)
                cur = []
            elif keep[tok]:
                cur.append(tok)
        docs.append(cur)
        if len(docs) != len(texts):  # cannot happen with jieba's block rule; never miscount silently
            raise RuntimeError(f"count_many: {len(texts)} texts but {len(docs)} token groups")
        return docs


class _Ids(dict):
    """word -> id (0, 1, … in order of first sight); NUL, the text separator, is -1."""

    def __init__(self):
        super().__init__({SEP: -1})

    def __missing__(self, word: str) -> int:
        i = self[word] = len(self) - 1
        return i


@dataclass
class Counts:
    """Word counts of a batch of texts: row k says text ``doc[k]`` holds ``words[word[k]]``
    ``cnt[k]`` times (texts numbered from 0 in batch order; ``n_docs`` texts, some without words)."""

    words: list[str]
    doc: "np.ndarray"
    word: "np.ndarray"
    cnt: "np.ndarray"
    n_docs: int

    @staticmethod
    def concat(parts: list["Counts"]) -> "Counts":
        """One batch from consecutive parts (the parts' texts follow each other)."""
        index: dict[str, int] = {}
        docs, words, cnts, offset = [], [], [], 0
        for p in parts:
            remap = np.fromiter((index.setdefault(w, len(index)) for w in p.words), dtype=np.int32,
                                count=len(p.words))
            docs.append(p.doc + offset)
            words.append(remap[p.word] if len(p.word) else p.word)
            cnts.append(p.cnt)
            offset += p.n_docs
        cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0, dtype=np.int32))
        return Counts(list(index), cat(docs).astype(np.int32), cat(words).astype(np.int32), cat(cnts), offset)

    def take(self, keep: list[int]) -> "Counts":
        """Only the texts ``keep`` (batch indices, increasing), renumbered from 0."""
        new = np.full(self.n_docs, -1, dtype=np.int32)
        new[np.asarray(keep, dtype=np.int64)] = np.arange(len(keep), dtype=np.int32)
        mask = new[self.doc] >= 0 if len(self.doc) else np.zeros(0, dtype=bool)
        return Counts(self.words, new[self.doc[mask]], self.word[mask], self.cnt[mask], len(keep))

    def per_doc(self) -> list[list[tuple[str, int]]]:
        """Per text, (word, count) pairs (the words as ``count_many`` finds them; order may differ)."""
        out: list[list[tuple[str, int]]] = [[] for _ in range(self.n_docs)]
        for d, w, c in zip(self.doc.tolist(), self.word.tolist(), self.cnt.tolist()):
            out[d].append((self.words[w], c))
        return out


def _no_sep(text: str | None) -> str | None:
    return text.replace(SEP, " ") if text and SEP in text else text


class _KeepMap(dict):
    """token -> keep?, computed on first sight; lookups stay in C for the hot loop."""

    def __init__(self, decide):
        super().__init__()
        self._decide = decide

    def __missing__(self, token: str) -> bool:
        if len(self) > 2_000_000:  # bounded: garbage text cannot grow it without limit
            self.clear()
            self[SEP] = True
        ok = self[token] = self._decide(token)
        return ok


_cache: dict[tuple, Segmenter] = {}
_cache_lock = threading.Lock()


def get_segmenter(userdict_text: str | None = None, stopwords_text: str | None = None,
                  engine: str = "rjieba") -> Segmenter:
    """A segmenter for these dictionary texts (the files in ``data/`` when omitted), built once."""
    if userdict_text is None:
        userdict_text = read_userdict_file()
    if stopwords_text is None:
        stopwords_text = read_stopwords_file()
    key = (text_sha(userdict_text), text_sha(stopwords_text), engine)
    with _cache_lock:
        seg = _cache.get(key)
        if seg is None:
            seg = Segmenter(userdict_text, stopwords_text, engine)
            if len(_cache) > 8:
                _cache.clear()
            _cache[key] = seg
    return seg


def clean_for_display(text: str | None) -> str:
    """Text for a reader (excerpts): masked again, whitespace runs reduced to one space."""
    return _SPACE.sub(" ", mask_text(str(text or ""))).strip()


# ───────────────────────────── bulk counting ─────────────────────────────

# Below this many characters a batch is cut in this process: starting worker processes (~1 s with
# "spawn") costs more than it saves.
POOL_MIN_CHARS = 8_000_000
POOL_CHUNK = 2_000  # texts per task sent to a worker

_worker: Segmenter | None = None


def _worker_init(userdict_text: str, stopwords_text: str) -> None:
    global _worker
    _worker = Segmenter(userdict_text, stopwords_text)


def _worker_count(texts: list[str]) -> Counts:
    return _worker.count_arrays(texts)


def _spawn_possible() -> bool:
    """"spawn" re-imports the main module by its path: impossible for ``python -`` or ``-c``."""
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return path is None or os.path.exists(path)


class TextCounter:
    """Word counts for many texts with one dictionary, in worker processes when that pays off.

    ``with TextCounter(userdict, stopwords, expected_chars=n) as tc: tc.count(texts)`` returns the
    ``Counts`` of the texts. ``processes``: None = all cores when ``expected_chars`` exceeds
    ``POOL_MIN_CHARS``, else 1. Workers are started with "spawn" (safe beside the app's threads).
    """

    def __init__(self, userdict_text: str, stopwords_text: str, processes: int | None = None,
                 expected_chars: int = 0):
        self.userdict_text, self.stopwords_text = userdict_text, stopwords_text
        if processes is None:
            processes = (os.cpu_count() or 1) if expected_chars > POOL_MIN_CHARS else 1
        if not _spawn_possible():
            processes = 1
        self.processes = max(1, int(processes))
        self._pool: ProcessPoolExecutor | ThreadPoolExecutor | None = None
        self._thread_mode = False

    def __enter__(self) -> "TextCounter":
        if self.processes > 1:
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=get_context("spawn"), initializer=_worker_init,
                initargs=(self.userdict_text, self.stopwords_text))
        else:
            # One background thread: rjieba's cutting and DuckDB's inserts release the GIL, so the
            # next batch is cut while the caller stores the previous one.
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="textseg")
            self._thread_mode = True
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def count(self, texts: list[str]) -> Counts:
        return self.submit(texts).result()

    def submit(self, texts: list[str]) -> "Counted":
        """Start counting (in the workers, if any) and return at once; ``.result()`` waits. With
        workers, the caller can store one batch while the next is being cut."""
        seg_texts = (self.userdict_text, self.stopwords_text)
        if self._pool is None:
            return Counted(done=get_segmenter(*seg_texts).count_arrays(texts))
        if self._thread_mode:
            return Counted(futures=[self._pool.submit(lambda: get_segmenter(*seg_texts).count_arrays(texts))])
        chunks = [texts[i:i + POOL_CHUNK] for i in range(0, len(texts), POOL_CHUNK)]
        return Counted(futures=[self._pool.submit(_worker_count, c) for c in chunks])


class Counted:
    def __init__(self, done=None, futures=None):
        self._done, self._futures = done, futures

    def result(self) -> Counts:
        if self._done is None:
            self._done = Counts.concat([f.result() for f in self._futures])
        return self._done


def opinion_text(title: str | None, content: str | None) -> str:
    """What is segmented for an opinion: its title and content, separated so no word spans both."""
    return f"{title or ''}\n{content or ''}"
