"""Place names kept whole, anonymised codes as places, and what a word is (analytics/text/terms.py)."""
from __future__ import annotations

import math

import pytest

from analytics.text import segment as textseg
from analytics.text import terms as tx


@pytest.fixture(scope="module", params=["rjieba", "jieba"])
def seg(request):
    return textseg.get_segmenter(engine=request.param)


def test_a_code_glued_to_a_name_leaves_no_fragment(seg):
    # Without the rule jieba cuts A7县星沙镇 into A7 / 县星 / 沙镇.
    assert seg.tokens("A7县星沙镇的搅拌站") == ["A7县", "星沙镇", "搅拌站"]
    assert seg.tokens("A市A2区景蓉华苑物业管理有问题") == ["A市", "A2区", "景蓉华苑", "物业管理"]
    # Codes of different cities stay different places.
    assert seg.tokens("咨询J11市灵活就业社保补贴")[1] == "J11市"


def test_place_names_come_out_whole(seg):
    assert seg.tokens("丽发新城小区附近的搅拌站") == ["丽发新城小区", "搅拌站"]
    assert seg.tokens("位于A市A2区桂花坪街道的") == ["位于", "A市", "A2区", "桂花坪街道"]
    assert "仓山区盖山镇" in seg.tokens("福州市仓山区盖山镇")  # 盖 + the fragment 山镇
    # A pronoun, a direction or a preposition is never part of a name.
    assert seg.tokens("我们小区") == ["小区"]
    assert "小区" in seg.tokens("这个小区附近")
    assert "村民对村" not in seg.tokens("村民对村用地有意见")
    # A common word ending like a place stays a word of its own.
    assert seg.tokens("建设城市") == ["建设", "城市"]


def test_count_arrays_agree_with_tokens_on_places_and_codes():
    seg = textseg.get_segmenter()
    texts = ["A7县星沙镇的居民反映", "", "丽发新城小区附近的搅拌站", "我在A市A2区"]
    assert [sorted(d) for d in seg.count_many(texts)] == [sorted(seg.count(t).items()) for t in texts]
    got = seg.count_arrays(texts).per_doc()
    assert [sorted(d) for d in got] == [sorted(seg.count(t).items()) for t in texts]


@pytest.mark.parametrize("word, kind", [
    ("星沙镇", tx.PLACE), ("丽发新城小区", tx.PLACE), ("A2区", tx.PLACE), ("福州市", tx.PLACE), ("美苑", tx.PLACE),
    ("教育局", tx.ORG), ("镇政府", tx.ORG), ("有限公司", tx.ORG),
    ("陈书记", tx.PERSON), ("副局长", tx.PERSON), ("校长", tx.PERSON), ("举报人", tx.PERSON),
    ("这么", tx.FUNCTION), ("直接", tx.FUNCTION),
    ("搅拌站", tx.TERM), ("业主", tx.TERM), ("投诉", tx.TERM), ("加装电梯", tx.TERM),
])
def test_kind_by_part_of_speech_and_shape(word, kind):
    assert tx.kind(word) == kind


@pytest.mark.parametrize("word, specific", [
    ("星沙镇", True), ("丽发新城小区", True), ("望仙路", True), ("A2区", True),
    ("文明城市", False), ("人民医院", False), ("本小区", False), ("山区", False), ("西地省", False),
])
def test_specific_places_have_a_proper_name(word, specific):
    assert tx.specific_place(word) is specific


def test_keyness_against_jiebas_dictionary_by_hand():
    freq, tags, total = tx.lexicon()
    assert (freq["业主"], tags["业主"], total) == (345, "n", 60_101_967)
    # 30 of 10,000 tokens against 346 (345 + 1) of 60,101,967: log2(0.003 / 5.7568e-6) = 9.0254
    assert tx.keyness(30, 10_000, "业主") == pytest.approx(9.0254, abs=1e-4)
    # An unknown word's background is its characters meeting by chance: (f(星)+1)/T × (f(沙)+1)/T × T.
    expected = (freq["星"] + 1) / total * (freq["沙"] + 1) / total * total
    assert tx.background("星沙") == pytest.approx(expected)
    assert tx.background("这是") > 1000 > tx.background("星沙")
    assert math.isfinite(tx.keyness(1, 1, "不存在的词组合"))
