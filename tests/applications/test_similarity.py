"""Duplicate check: identical, copied paragraph, unrelated, threshold, others, template."""

from __future__ import annotations

import random

import pytest

from app.applications.similarity import find_similar, normalise

STATION = (
    "本项目依托省级学会的专家资源，在国家级高新技术产业开发区建设学会服务站，"
    "组织首席科技专家带领专家团队深入园区企业，围绕新能源汽车动力电池的热管理难题开展关键技术攻关，"
    "计划三年内解决企业技术难题十项以上，培养青年技术骨干三十名。"
)
COPIED = (
    "服务站将建立专家与企业的常态化对接机制，每季度召开一次技术需求发布会，"
    "由企业提出需求清单，学会组织专家逐项认领，形成需求征集、专家匹配、联合攻关、成果转化的闭环管理。"
)
OUTREACH = (
    "我们计划面向县域中小学开展精准科普活动，联合市科技馆编写青少年人工智能科普读本，"
    "每年举办科学营和科普讲座二十场，受众覆盖两万人次。"
)
FARMING = (
    "针对山区茶叶种植病虫害频发的问题，农学会将派出植保专家驻村指导，"
    "推广绿色防控技术和生物农药，建设示范茶园五百亩，带动茶农增收。"
)
CONSULTING = (
    "决策咨询方面，我会将围绕区域产业转型升级开展专题调研，形成咨询报告报送地方政府，"
    "并对园区招商引资项目进行技术评估，提出产业链补链强链建议。"
)


def test_normalise_keeps_original_spans():
    text = "Ｈｅｌｌｏ，世界！\n 学会　服务站"
    norm, starts, ends = normalise(text)
    assert norm == "hello世界学会服务站"
    assert [text[s:e] for s, e in zip(starts, ends, strict=True)][:5] == list("Ｈｅｌｌｏ")
    assert text[starts[5] : ends[8]] == "世界！\n 学会"


def test_identical_documents_score_one():
    pairs = find_similar({1: STATION, 2: STATION, 3: OUTREACH}, threshold=0.8)
    assert [(p.a_id, p.b_id) for p in pairs] == [(1, 2)]
    (pair,) = pairs
    assert pair.score == pair.containment == pair.jaccard == 1.0
    assert pair.passages[0].a_text == STATION.rstrip("。")


def test_copied_paragraph_is_flagged_with_the_passage():
    # Same paragraph, one copy with its line breaks and spaces changed.
    reworded = COPIED.replace("，", "， \n", 2).replace("服务站", "服务站 ", 1)
    a = FARMING + COPIED
    b = "为落实创新驱动助力工程，" + reworded + OUTREACH
    pairs = find_similar({"a": a, "b": b, "c": CONSULTING}, threshold=0.4)
    assert [(p.a_id, p.b_id) for p in pairs] == [("a", "b")]
    (pair,) = pairs
    assert 0.4 <= pair.score < 1 and pair.jaccard < pair.containment
    longest = pair.passages[0]
    assert longest.a_text == COPIED.rstrip("。")
    assert longest.b_text == reworded.rstrip("。")
    assert a[longest.a_start : longest.a_end] == longest.a_text
    assert b[longest.b_start : longest.b_end] == longest.b_text
    assert longest.length == len(normalise(COPIED)[0])


def test_unrelated_documents_are_not_flagged():
    docs = {1: STATION, 2: OUTREACH, 3: FARMING, 4: CONSULTING}
    assert find_similar(docs, threshold=0.2) == []


def test_threshold_is_respected():
    a, b = STATION + COPIED, CONSULTING + COPIED
    (pair,) = find_similar({1: a, 2: b}, threshold=0.0)
    assert 0 < pair.score < 1
    assert find_similar({1: a, 2: b}, threshold=pair.score)[0].score == pair.score
    assert find_similar({1: a, 2: b}, threshold=min(1.0, pair.score + 0.01)) == []
    (by_jaccard,) = find_similar({1: a, 2: b}, threshold=0.0, measure="jaccard")
    assert by_jaccard.score == pair.jaccard
    with pytest.raises(ValueError):
        find_similar({1: a}, threshold=1.5)


def test_containment_catches_a_short_text_inside_a_long_one():
    long = FARMING + OUTREACH + CONSULTING + STATION
    (pair,) = find_similar({1: STATION}, {9: long}, threshold=0.9)
    assert (pair.a_id, pair.b_id, pair.b_is_other) == (1, 9, True)
    assert pair.containment == 1.0 and pair.jaccard < 0.4


def test_others_are_compared_with_docs_only():
    pairs = find_similar({1: OUTREACH}, {7: STATION, 8: STATION}, threshold=0.5)
    assert pairs == []
    pairs = find_similar({1: STATION}, {7: STATION, 8: OUTREACH}, threshold=0.5)
    assert [(p.a_id, p.b_id, p.b_is_other) for p in pairs] == [(1, 7, True)]


def test_template_text_is_not_evidence_of_copying():
    template = (
        "一、项目背景与必要性。二、建设目标与主要任务。三、实施计划与进度安排。"
        "四、经费预算与配套资金。"
    )
    a = template + FARMING
    b = template + OUTREACH
    assert find_similar({1: a, 2: b}, threshold=0.3)
    assert find_similar({1: a, 2: b}, threshold=0.3, template=template) == []
    pairs = find_similar({1: a + COPIED, 2: b + COPIED}, threshold=0.0, template=template)
    assert [p.a_text for p in pairs[0].passages] == [COPIED.rstrip("。")]


def test_planted_copy_found_among_many_documents():
    rnd = random.Random(3)
    pieces = [STATION, COPIED, OUTREACH, FARMING, CONSULTING]
    alphabet = "".join(sorted(set("".join(pieces))))
    docs = {i: "".join(rnd.choice(alphabet) for _ in range(400)) for i in range(600)}
    docs[17] += CONSULTING
    docs[433] = CONSULTING + docs[433][:50]
    pairs = find_similar(docs, threshold=0.5)
    assert [(p.a_id, p.b_id) for p in pairs] == [(17, 433)]
    assert pairs[0].passages[0].a_text == CONSULTING.rstrip("。")
