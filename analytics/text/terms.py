"""What a stored word is: a term that can name a concern, a place, an organisation, a person, or a
function word — and how common it is in general Chinese. Used to rank hot-word terms
(``analytics.domain.hotissues``) by evidence instead of by a stopword list (docs/hotwords.md §4a).

Two facts come from jieba's own dictionary (``dict.txt``: ~350,000 words with their frequency in a
~60-million-word corpus of general Chinese and their part of speech), read once per process:

- ``background(word)``: the word's frequency there. A word jieba does not know (a name put together
  by the segmenter, a new word found by its HMM) gets the frequency its characters would have if they
  met by chance (product of the characters' probabilities × the corpus size): 这是 is common, 星沙 rare.
- ``pos(word)``: jieba's part-of-speech tag ("" for an unknown word).

``kind(word)`` classifies by part of speech and by the shape of the word (its last characters), never
by a list of words:

| kind | when |
|---|---|
| 地点 place | ends with a place word or character (``segment.PLACE_WORDS``/``PLACE_CHARS``: 小区, 街道, 镇, 路 …), is at least 3 characters and is not a dictionary word of another part of speech than a place or proper name (ns, nz); or is tagged ns (a place name) and not a common word (background < 20,000: 城市 is ns) |
| 机构 org | ends with 局, 政府, 委员会, 公司, 法院, 派出所 … (an organisation: who handles a matter, not the matter); a two-character dictionary word ending with 局 or 委 (村委) |
| 人物 person | an unknown word made of one character and a dictionary noun of two or more (陈书记, 王局长: a person's name or title); a dictionary word + 人 (举报人, 受害人: a role); the head of an organisation or place (局长, 副局长, 镇长, 校长) |
| 虚词 function | tagged as an adverb, pronoun, conjunction, preposition, particle, numeral, measure word, direction, time word, distinguishing word or idiom phrase (jieba: d ad r c p u m q f t b l …); an unknown word starting with a preposition, adverb or pronoun (依规) or ending with a particle (空着, 交了) |
| 术语 term | everything else |
"""
from __future__ import annotations

import math
import re
import threading
from functools import lru_cache
from pathlib import Path

from analytics.text.segment import PLACE_CHARS, PLACE_WORDS, is_code

PLACE, ORG, PERSON, FUNCTION, TERM = "地点", "机构", "人物", "虚词", "术语"
KINDS = (TERM, PLACE, ORG, PERSON, FUNCTION)

FUNCTION_START = frozenset("p d ad dg r c".split())
FUNCTION_POS = frozenset("d ad dg r rr rz rg c p u uj ul ud ug uv uz m mq q f t tg b l y e o z zg ag".split())
ORG_ENDS = ("政府", "局", "委员会", "委", "公司", "集团", "法院", "检察院", "派出所", "居委会", "村委会", "办公室",
            "管委会", "银行", "部门", "单位")
HEAD_OF = "局县镇乡村校院所市区省科处部厅站队组"  # X长: the head of a 局, 县, 镇 … (局长, 镇长, 校长)
COMMON_PLACE = 20_000  # an ns word more common than this in jieba's corpus is a common noun (城市, 地方)

_lock = threading.Lock()
_lex: dict = {}


def _dict_path() -> Path:
    import jieba

    return Path(jieba.__file__).parent / "dict.txt"


def lexicon() -> tuple[dict[str, int], dict[str, str], int]:
    """(frequency, part of speech, total) of jieba's dictionary, read once (~1 s)."""
    if _lex:
        return _lex["freq"], _lex["tags"], _lex["total"]
    with _lock:
        if not _lex:
            freq: dict[str, int] = {}
            tags: dict[str, str] = {}
            total = 0
            with open(_dict_path(), encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 2:
                        continue
                    n = int(parts[1])
                    freq[parts[0]] = n
                    total += n
                    if len(parts) > 2:
                        tags[parts[0]] = parts[2]
            _lex.update(freq=freq, tags=tags, total=total)
    return _lex["freq"], _lex["tags"], _lex["total"]


@lru_cache(maxsize=500_000)
def background(word: str) -> float:
    """Frequency of the word in jieba's corpus of general Chinese (see the module docstring)."""
    freq, _, total = lexicon()
    f = freq.get(word)
    if f:
        return float(f)
    p = 1.0
    for ch in word:
        p *= (freq.get(ch, 0) + 1) / total
    return p * total


def pos(word: str) -> str:
    return lexicon()[1].get(word, "")


_PLACE_END = re.compile("(?:" + "|".join(sorted(PLACE_WORDS, key=len, reverse=True)) + f"|[{PLACE_CHARS}])$")


def _ends_with_place(word: str) -> bool:
    return bool(_PLACE_END.search(word))


@lru_cache(maxsize=500_000)
def kind(word: str) -> str:
    if is_code(word):
        return PLACE
    freq, tags, _ = lexicon()
    tag = tags.get(word, "")
    known = word in freq
    if (len(word) >= 3 and word.endswith(ORG_ENDS)) or (len(word) == 2 and word[-1] in "局委" and known):
        return ORG
    if tag == "nt":
        return ORG
    if len(word) >= 3 and _ends_with_place(word) and (not known or tag.startswith("ns") or tag == "nz"):
        return PLACE  # nz: a proper name jieba knows (新港路, 大桥路)
    if tag.startswith("ns") and freq.get(word, 0) < COMMON_PLACE:
        return PLACE
    if len(word) == 2 and not known and word[-1] in PLACE_CHARS:
        return PLACE  # a place name's fragment the segmenter could not join (美苑 of 和美苑)
    if (not known or tag.startswith("nr")) and len(word) == 3 and word[1:] in freq and tags.get(word[1:], "").startswith("n") \
            and word[:1] not in PLACE_CHARS:
        return PERSON
    if len(word) >= 2 and word[-1] == "长" and word[-2] in HEAD_OF:
        return PERSON  # 局长, 副局长, 镇长, 校长: the head of an organisation or place
    if len(word) >= 3 and word.endswith("人") and word[:-1] in freq:
        return PERSON  # 举报人, 受害人, 负责人: who is in the message, not what it is about
    if tag in FUNCTION_POS:
        return FUNCTION
    if not known and (tags.get(word[0], "") in FUNCTION_START or tags.get(word[-1], "").startswith("u")):
        return FUNCTION  # an unknown word that starts with a preposition or adverb (依规) or ends with a particle (空着, 交了)
    return TERM


def keyness(count: int, tokens: int, word: str) -> float:
    """log2 of (the word's frequency among the filter's tokens ÷ its frequency in general Chinese)."""
    _, _, total = lexicon()
    if tokens <= 0 or count <= 0:
        return 0.0
    return math.log2((count / tokens) / ((background(word) + 1) / total))


COMMON_NAME = 3_000  # a place whose name part is more common than this in general Chinese is generic (人民医院, 文明城市)


def place_name(word: str) -> str:
    """The name part of a place: the word without its ending — the longest place word, or dictionary
    word ending with a place character, it ends with (星沙镇 -> 星沙, 文明城市 -> 文明)."""
    freq = lexicon()[0]
    for i in range(1, len(word) - 1):
        end = word[i:]
        if end in PLACE_WORDS or (end[-1] in PLACE_CHARS and len(end) >= 2 and end in freq):
            return word[:i]
    return word[:-1] if word[-1] in PLACE_CHARS else word


@lru_cache(maxsize=200_000)
def specific_place(word: str) -> bool:
    """A place with a proper name: an anonymised code (A2区), or a word ending with a place word whose
    name part has two or more characters and is not a common word (星沙镇, 丽发新城小区, 望仙路 —
    not 本小区, 山区, 人民医院, 文明城市)."""
    if is_code(word):
        return True
    if not _ends_with_place(word) or len(word) < 3 or word.endswith(("省", "国")):
        return False  # a province or a country is the whole export's region, not where a matter is
    name = place_name(word)
    return len(name) >= 2 and background(name) < COMMON_NAME


def place_rank(word: str) -> tuple:
    """Sort key, most specific first: a named place, then a code of a district/county, city, province."""
    if is_code(word):
        return (1, "区县市省".index(word[-1]) // 2 if word[-1] in "区县市省" else 3)
    return (0, 0)
