"""Rubric loading and validation, and the three shipped rubrics."""

from dataclasses import FrozenInstanceError
from decimal import Decimal
from pathlib import Path

import pytest

from app.reviews.rubric import RubricError, Text, check_rubric, load_rubric, rubric_sha256

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
SHIPPED = ["assist-review.toml", "assist-performance.toml", "station-performance.toml"]

GOOD = """
id = "tiny"
version = 2
kind = "review"
title.zh = "小表"
title.en = "Tiny"
min_reviews = 3
aggregation = "median"
trim_min_n = 5
normalization = "zscore"
disagreement_range = 25

[[criteria]]
key = "need"
title.zh = "需求"
title.en = "Need"
weight = 62.5
min = 0
max = 10
step = 0.5
comment_required_below = 4
levels = { "0" = "无", "10" = { zh = "充分", en = "Strong" } }

[[criteria]]
key = "budget"
title.zh = "预算"
title.en = "Budget"
group = "经费"
weight = 37.5
min = 1
max = 5
required = false

[[veto]]
key = "fraud"
title.zh = "造假"
title.en = "Fraud"
effect = "exclude"
trigger = "majority"

[[bands]]
min = 80
label.zh = "好"
label.en = "Good"

[[bands]]
min = 0
label.zh = "差"
label.en = "Poor"
"""

# One document with every kind of fault the checker knows about.
BAD = """
id = "Bad Id"
version = 0
kind = "survey"
title.zh = "坏表"
colour = "red"
aggregation = "max"
normalization = "rank"

[[criteria]]
key = "need"
title.zh = "需求"
title.en = "Need"
weight = 50
min = 10
max = 5
shade = 1

[[criteria]]
key = "need"
title = { zh = "重复", fr = "Doublon" }
weight = 30
min = 0
max = 10
step = 2

[[veto]]
key = "need"
title.en = "Clash"
effect = "ban"
trigger = "all"

[[bands]]
min = 60
label.zh = "中"
label.en = "Fair"

[[bands]]
min = 85
label.zh = "优"
"""


def test_load_good_rubric():
    rubric = load_rubric(GOOD.encode())
    assert (rubric.id, rubric.version, rubric.kind) == ("tiny", 2, "review")
    assert rubric.title == Text("小表", "Tiny")
    assert rubric.aggregation == "median" and rubric.normalization == "zscore"
    assert rubric.disagreement_range == 25
    need, budget = rubric.criteria
    assert need.weight == Decimal("62.5") and need.step == Decimal("0.5")
    assert need.comment_required_below == 4 and need.required is True
    assert need.levels == ((0, Text("无", "无")), (10, Text("充分", "Strong")))
    assert budget.required is False and budget.step == 1 and budget.group == "经费"
    assert rubric.veto("fraud").trigger == "majority"
    assert rubric.criterion_keys == ("need", "budget") and rubric.veto_keys == ("fraud",)


def test_defaults_for_optional_keys():
    text = GOOD.replace('aggregation = "median"\n', "").replace("min_reviews = 3\n", "")
    rubric = load_rubric(text.encode())
    assert rubric.aggregation == "mean" and rubric.min_reviews == 3


def test_band_for_uses_highest_reached_band():
    rubric = load_rubric(GOOD.encode())
    assert rubric.band_for(Decimal("80")).label.en == "Good"
    assert rubric.band_for(Decimal("79.99")).label.zh == "差"
    assert rubric.band_for(None) is None


def test_rubric_is_frozen():
    rubric = load_rubric(GOOD.encode())
    with pytest.raises(FrozenInstanceError):
        rubric.version = 3
    with pytest.raises(FrozenInstanceError):
        rubric.criteria[0].weight = Decimal(1)


def test_every_fault_is_listed_together():
    problems = check_rubric(BAD.encode(), "en")
    expected = [
        "unknown key colour",
        'id "Bad Id" must be lower-case letters, digits and hyphens',
        "version must be at least 1",
        'kind "survey" is invalid; use review | performance',
        "title is missing its English text (title.en)",
        'aggregation "max" is invalid; use mean | median | trimmed_mean',
        'normalization "rank" is invalid; use none | zscore | calibrated',
        "criteria[1] (need): unknown key shade",
        "criteria[1] (need): min (10) must be less than max (5)",
        "criteria[2] (need): unknown key title.fr",
        "criteria[2] (need): title is missing its English text (title.en)",
        "criteria[2] (need): step 2 is invalid; use 1 or 0.5",
        "veto[1] (need): title is missing its Chinese text (title.zh)",
        'veto[1] (need): effect "ban" is invalid; use exclude | hold',
        'veto[1] (need): trigger "all" is invalid; use any | majority',
        "bands[2]: label is missing its English text (label.en)",
        "bands[2]: bands must be listed highest first: 85 is not below the previous 60",
        "bands[2]: the lowest band must start at 0, not 85",
        "criteria[2]: duplicate key need (already used by criteria[1])",
        "veto[1]: duplicate key need (already used by criteria[1])",
        "weights sum to 80, not 100",
    ]
    assert problems == expected


def test_load_raises_with_all_problems_in_chinese_by_default():
    with pytest.raises(RubricError) as caught:
        load_rubric(BAD.encode())
    assert len(caught.value.problems) == 21
    assert "各项权重合计为 80，应为 100" in caught.value.problems
    assert "kind「survey」无效，可选：review | performance" in caught.value.problems


def test_levels_must_be_on_the_scale():
    text = GOOD.replace('"0" = "无"', '"0" = "无", "11" = "超", "0.3" = "怪", "x" = "坏"')
    problems = check_rubric(text.encode(), "en")
    assert problems == [
        "criteria[1] (need): levels 11 is outside 0–10",
        "criteria[1] (need): levels 0.3 is not on the step-0.5 grid from 0",
        'criteria[1] (need): levels key "x" is not a number',
    ]


def test_missing_sections_and_keys():
    problems = check_rubric(b'id = "x"\n', "en")
    assert problems == [
        "missing version",
        "missing kind",
        "missing title.zh / title.en",
        "at least one [[bands]] is required",
        "at least one [[criteria]] is required",
    ]


def test_types_are_checked():
    text = GOOD.replace("weight = 62.5", 'weight = "62.5"').replace("version = 2", "version = 2.0")
    text = text.replace("required = false", 'required = "no"')
    assert check_rubric(text.encode(), "en") == [
        "version must be an integer",
        "criteria[1] (need): weight must be a number",
        "criteria[2] (budget): required must be true or false",
    ]


def test_syntax_and_encoding_errors():
    assert check_rubric(b"id = ", "en")[0].startswith("TOML syntax error:")
    assert check_rubric("id = 'é'".encode("latin-1"), "en") == ["the file is not valid UTF-8"]


def test_sha256_is_of_the_exact_bytes():
    data = GOOD.encode()
    assert rubric_sha256(data) == rubric_sha256(bytes(data))
    assert rubric_sha256(data) != rubric_sha256(data + b"\n")
    assert len(rubric_sha256(data)) == 64


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_rubrics_pass(name):
    data = (RUBRICS / name).read_bytes()
    assert check_rubric(data) == []
    rubric = load_rubric(data)
    assert sum(c.weight for c in rubric.criteria) == 100
    assert rubric.id == name.removesuffix(".toml")
    for c in rubric.criteria:
        assert c.title.zh and c.title.en
        if c.group:
            assert rubric.heading(c.group, "en") != c.group
        if c.subgroup:
            assert rubric.heading(c.subgroup, "en") != c.subgroup


def test_assist_review_rubric():
    rubric = load_rubric((RUBRICS / "assist-review.toml").read_bytes())
    assert rubric.kind == "review" and rubric.aggregation == "trimmed_mean"
    assert len(rubric.criteria) == 6
    assert [(b.min, b.label.zh, b.label.en) for b in rubric.bands] == [
        (85, "优先资助", "Priority"),
        (75, "建议资助", "Recommended"),
        (60, "可以资助", "Fundable"),
        (0, "不予资助", "Not recommended"),
    ]
    vetoes = {v.key: (v.effect, v.trigger) for v in rubric.vetoes}
    assert vetoes["duplicate_funding"] == ("exclude", "any")
    assert vetoes["academic_misconduct"] == ("exclude", "majority")
    assert ("hold", "any") in vetoes.values()


def test_assist_performance_rubric():
    rubric = load_rubric((RUBRICS / "assist-performance.toml").read_bytes())
    assert rubric.kind == "performance"
    groups = list(dict.fromkeys(c.group for c in rubric.criteria))
    assert groups == ["决策", "过程", "产出", "效益"]
    assert all(c.subgroup for c in rubric.criteria)
    assert rubric.group_weight("产出") + rubric.group_weight("效益") >= 60
    assert {c.source for c in rubric.criteria if c.source} == {
        "budget_execution_rate",
        "funds_in_place_rate",
        "on_time_milestone_rate",
        "target_achievement_rate",
    }
    assert [(b.min, b.label.zh) for b in rubric.bands] == [
        (90, "优"),
        (80, "良"),
        (60, "中"),
        (0, "差"),
    ]


def test_station_performance_rubric():
    rubric = load_rubric((RUBRICS / "station-performance.toml").read_bytes())
    assert rubric.kind == "performance"
    groups = list(dict.fromkeys(c.group for c in rubric.criteria))
    assert groups == ["立项管理", "过程管理", "绩效"]
    assert [(b.min, b.label.en) for b in rubric.bands] == [
        (90, "Excellent"),
        (80, "Good"),
        (60, "Fair"),
        (0, "Poor"),
    ]
