"""Cleaning and segmentation: personal data never becomes a word, dictionary words stay whole,
stopwords and boilerplate go, and the fast engine (rjieba) keeps jieba's words."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from analytics.text import segment as textseg
from analytics.core.privacy import MASK_MARKERS

DATA = Path(__file__).resolve().parents[1] / "data"


def sample_messages() -> list[str]:
    """The hand-written message-board corpus, one message per '=====' block."""
    text = (DATA / "messages_sample.txt").read_text(encoding="utf-8")
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    return [m.strip() for m in body.split("=====") if m.strip()]


@pytest.fixture(scope="module")
def seg() -> textseg.Segmenter:
    return textseg.get_segmenter()


# Each kind of personal data, as real messages write it: (kind, text around it, the data).
PERSONAL = [
    ("手机号", "我的手机{x}，请回电", "13812345678"),
    ("手机号换行", "联系电话：{x}，谢谢", "138 1234\n5678"),
    ("手机号带横线", "手机{x}随时联系", "186-5718-2233"),
    ("手机号全角", "电话{x}", "１３９０５７１９８７６"),
    ("固定电话", "请致电{x}咨询", "0571-82712345"),
    ("固定电话空格", "联系电话：{x}", "0571-8271 2345"),
    ("身份证号", "身份证号{x}，户籍在瓜沥镇", "330181198507152316"),
    ("身份证号X", "身份证{x}", "33018119850715231X"),
    ("邮箱", "邮箱{x}回复", "zhangsan1985@163.com"),
    ("银行卡号", "卡号{x}打款", "6222 0212 3456 7890 123"),
    ("车牌号", "车牌{x}长期占用消防通道", "浙A12345"),
]


@pytest.mark.parametrize("kind,template,value", PERSONAL, ids=[p[0] for p in PERSONAL])
def test_personal_data_is_masked_and_never_a_word(seg, kind, template, value):
    text = template.format(x=value)
    flat = re.sub(r"\s", "", textseg.clean(text))
    raw = re.sub(r"\s", "", value).translate(textseg._FULLWIDTH_MAP)
    # No piece of four characters of the data survives cleaning …
    for i in range(len(raw) - 3):
        assert raw[i:i + 4] not in flat, (kind, flat)
    # … and the words are exactly those of the same text without the data: neither the data nor
    # its masked form ([手机号] …) adds a word.
    assert seg.tokens(text) == seg.tokens(template.format(x=" ")), kind


def test_stored_markers_are_dropped_whole(seg):
    """Stored text is already masked: the markers add no word (the text's own words stay)."""
    template = "请联系{0}或{1}，邮箱{2}，身份证{3}，卡号{4}，车牌{5}。"
    assert seg.tokens(template.format(*MASK_MARKERS)) == seg.tokens(template.format(*[" "] * 6))
    assert "手机号" not in seg.tokens("号码是[手机号]")


def test_fast_path_masks_exactly_like_mask_text(monkeypatch):
    """clean() skips mask_text when no pattern can match; the result must be the same either way."""
    texts = sample_messages() + [t for _, t, _ in PERSONAL] + ["无数字的留言", "1234567", "浙B·12345"]
    fast = [textseg.clean(t) for t in texts]
    monkeypatch.setattr(textseg, "_MAYBE_PERSONAL", re.compile(""))  # always "maybe": always mask
    slow = [textseg.clean(t) for t in texts]
    assert fast == slow


def test_html_whitespace_and_urls_are_cleaned():
    text = "<p>您好：</p><p>小区&nbsp;加装\n  电梯</p> 详见 https://example.com/a?b=1 网址"
    cleaned = textseg.clean(text)
    assert "<" not in cleaned and "&nbsp;" not in cleaned and "http" not in cleaned
    assert "加装电梯" in cleaned  # whitespace inside Chinese text joins, it does not split a word


@pytest.mark.parametrize("word", ["加装电梯", "瓜沥镇", "千万工程", "老旧小区改造", "居家养老", "支小路",
                                  "湘湖", "亚运村", "回迁安置", "萧山经济技术开发区", "停车难"])
def test_dictionary_words_stay_whole(seg, word):
    text = f"关于{word}的问题，希望{word}尽快落实。"
    assert seg.tokens(text).count(word) == 2


def test_stopwords_and_boilerplate_are_gone(seg):
    text = ("尊敬的领导：您好！我想反映一个问题，希望相关部门尽快解决。感谢您对我们工作的关心和支持！"
            "谢谢！此致\n敬礼！")
    words = seg.tokens(text)
    for w in ["尊敬", "领导", "您好", "反映", "问题", "希望", "相关部门", "相关", "部门", "谢谢",
              "此致", "敬礼", "此致敬礼", "感谢", "关心", "支持"]:
        assert w not in words, w


def test_no_numbers_single_characters_or_latin(seg):
    text = "3号楼2单元502室，2024年5月，第三次反映，5个月了，一百二十户，WiFi信号差，PM2.5超标，电梯坏了。"
    words = seg.tokens(text)
    assert words  # 电梯, 信号 … remain
    for w in words:
        assert re.fullmatch(f"[{textseg.CJK_RANGE}]{{2,}}", w), w
        assert not textseg.is_numberish(w), w
    assert "电梯" in words


def test_single_characters_whitelisted_in_userdict():
    seg = textseg.Segmenter("水\n", "")
    assert "水" in seg.tokens("小区停水，没有水")


def test_userdict_errors_name_the_line():
    with pytest.raises(textseg.DictionaryError, match="第 3 行"):
        textseg.parse_userdict("# 注释\n加装电梯\n千万工程 很多\n")
    with pytest.raises(textseg.DictionaryError, match="第 1 行"):
        textseg.parse_userdict("[手机号]\n")
    assert textseg.parse_userdict("# c\n\n加装电梯 500\n湘湖\n") == {"加装电梯": 500, "湘湖": textseg.DEFAULT_FREQ}


def test_shipped_files_parse():
    words = textseg.parse_userdict(textseg.read_userdict_file())
    stops = textseg.parse_stopwords(textseg.read_stopwords_file())
    for w in ["加装电梯", "千万工程", "湘湖", "亚运村", "居家养老", "老旧小区改造", "回迁安置", "支小路", "瓜沥镇"]:
        assert w in words
    for w in ["您好", "尊敬的", "领导", "谢谢", "此致敬礼", "反映", "问题", "希望", "建议", "相关部门"]:
        assert w in stops
    assert not set(words) & stops  # a word cannot be both kept whole and thrown away


def demo_texts(tmp_dir: Path, years: int = 1, scale: float = 0.05) -> list[str]:
    """Opinion texts (title + content) of a small demo set, read by the importer's reader."""
    from analytics.demo.exports import write_demo
    from analytics.ingest.importer import read_table

    texts = []
    for path in write_demo(tmp_dir, years=years, scale=scale):
        for sheet in read_table(path):
            if sheet.kind == "opinions":
                texts += [textseg.opinion_text(t, c) for t, c in zip(sheet.frame["title"], sheet.frame["content"])]
    return texts


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[str]:
    return sample_messages() + demo_texts(tmp_path_factory.mktemp("demo_texts"))


def test_rjieba_keeps_jiebas_words(corpus):
    """Same dictionary, same cleaning: ≥ 98 % of rjieba's filtered tokens equal jieba's, on the
    sample messages and ~1,300 demo opinions."""
    fast = textseg.get_segmenter(engine="rjieba")
    ref = textseg.get_segmenter(engine="jieba")
    agree = total = 0
    assert len(corpus) > 1000
    for text in corpus:
        a, b = fast.tokens(text), ref.tokens(text)
        # Multiset agreement: tokens both engines produced, over the larger token count.
        common = sum((Counter(a) & Counter(b)).values())
        agree += common
        total += max(len(a), len(b))
    assert total > 20_000
    assert agree / total >= 0.98, agree / total


def test_segmenter_is_cached_per_dictionary():
    a = textseg.get_segmenter("加装电梯\n", "")
    assert textseg.get_segmenter("加装电梯\n", "") is a
    assert textseg.get_segmenter("加装电梯\n湘湖\n", "") is not a


def test_text_counter_in_processes_matches_inline(corpus):
    texts = corpus
    ud, sw = textseg.read_userdict_file(), textseg.read_stopwords_file()
    with textseg.TextCounter(ud, sw, processes=1) as tc:
        inline = tc.count(texts).per_doc()
    with textseg.TextCounter(ud, sw, processes=2) as tc:
        pooled = tc.count(texts).per_doc()
    assert len(inline) == len(texts) and [sorted(x) for x in inline] == [sorted(x) for x in pooled]


def test_count_many_equals_text_by_text(seg, corpus):
    texts = corpus + [
        "", None, "只有标点！！！", "a<b 小区", "加装电梯> 停车难", "全角１３８１２３４５６７８号码", "内含\x00空字符的加装电梯",
        "<p>您好", "</p>垃圾分类", "   ", "湘湖\n\n亚运村", "浙A12345", "12345", "３号楼ＷｉＦｉ信号差",
    ]
    expected = [list(seg.count(t if t is None else t.replace("\x00", " ")).items()) for t in texts]
    assert seg.count_many(texts) == expected
    assert seg.count_many(texts, group_chars=50) == expected  # many small groups
    # The array form holds the same counts, also when built from parts or cut down to some texts.
    def same(a, b):
        return [sorted(x) for x in a] == [sorted(x) for x in b]

    arrays = seg.count_arrays(texts)
    assert arrays.n_docs == len(texts) and same(arrays.per_doc(), expected)
    assert same(seg.count_arrays(texts, group_chars=50).per_doc(), expected)
    half = len(texts) // 2
    joined = textseg.Counts.concat([seg.count_arrays(texts[:half]), seg.count_arrays(texts[half:])])
    assert same(joined.per_doc(), expected)
    keep = [i for i in range(len(texts)) if i % 3 == 0]
    assert same(arrays.take(keep).per_doc(), [expected[i] for i in keep])
    assert seg.count_arrays([]).n_docs == 0 and seg.count_arrays(["", "谢谢"]).per_doc() == [[], []]
