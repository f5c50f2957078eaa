"""Score maths: totals, sheet validation, aggregation, normalisation, ranking, reliability."""

from decimal import Decimal as D

import pytest

from app.reviews.rubric import load_rubric
from app.reviews.scoring import (
    ReviewTotal,
    VetoMark,
    aggregate,
    icc1,
    leniency,
    normalise,
    rank_applications,
    review_total,
    round_half_up,
    validate_sheet,
)

RUBRIC = load_rubric(
    """
id = "small"
version = 1
kind = "review"
title = { zh = "小表", en = "Small" }
min_reviews = 3
aggregation = "trimmed_mean"
trim_min_n = 5
normalization = "none"
disagreement_range = 30

[[criteria]]
key = "a"
title = { zh = "甲", en = "Alpha" }
weight = 60
min = 0
max = 10
comment_required_below = 4

[[criteria]]
key = "b"
title = { zh = "乙", en = "Beta" }
weight = 30
min = 0
max = 5
step = 0.5
required = false

[[criteria]]
key = "c"
title = { zh = "丙", en = "Gamma" }
weight = 10
min = 1
max = 5

[[veto]]
key = "dup"
title = { zh = "重复申报", en = "Duplicate" }
effect = "exclude"
trigger = "any"

[[veto]]
key = "fraud"
title = { zh = "造假", en = "Fraud" }
effect = "exclude"
trigger = "majority"

[[veto]]
key = "check"
title = { zh = "待核实", en = "To verify" }
effect = "hold"
trigger = "any"

[[bands]]
min = 85
label = { zh = "优先资助", en = "Priority" }

[[bands]]
min = 75
label = { zh = "建议资助", en = "Recommended" }

[[bands]]
min = 60
label = { zh = "可以资助", en = "Fundable" }

[[bands]]
min = 0
label = { zh = "不予资助", en = "Not recommended" }
""".encode()
)


def reviews_for(application, totals, prefix="r"):
    """Return one ReviewTotal per total, reviewers r1, r2, …"""
    return [ReviewTotal(application, f"{prefix}{i}", D(t)) for i, t in enumerate(totals, 1)]


def by_app(ranking):
    """Index a ranking by application."""
    return {r.application: r for r in ranking}


# --- totals -------------------------------------------------------------------------


def test_total_all_answered():
    # 100 × (60·10/10 + 30·2.5/5 + 10·(5−1)/4) / 100 = 85
    assert review_total(RUBRIC, {"a": D(10), "b": D("2.5"), "c": D(5)}) == 85


def test_total_drops_not_applicable_criteria_and_their_weight():
    # b is N/A: 100 × (60·0.8 + 10·(3−1)/4) / (60 + 10) = 100 × 53 / 70
    total = review_total(RUBRIC, {"a": D(8), "b": None, "c": D(3)})
    assert total == D(5300) / D(70)
    assert round_half_up(total) == D("75.71")
    # A missing key counts as not answered, exactly like None.
    assert review_total(RUBRIC, {"a": D(8), "c": D(3)}) == total


def test_total_with_nothing_answered_is_none_not_zero():
    assert review_total(RUBRIC, {"b": None}) is None


def test_total_rejects_unknown_criteria():
    with pytest.raises(ValueError, match="zzz"):
        review_total(RUBRIC, {"zzz": D(1)})


def test_round_half_up():
    assert round_half_up(D("84.125")) == D("84.13")
    assert round_half_up(D("84.135")) == D("84.14")
    assert round_half_up(D("-0.005")) == D("-0.01")


# --- sheet validation ---------------------------------------------------------------


def test_valid_sheet_has_no_problems():
    assert validate_sheet(RUBRIC, {"a": D(3), "b": None, "c": 2}, {"a": "weak"}) == []


def test_every_sheet_problem_is_reported_in_english():
    problems = validate_sheet(
        RUBRIC,
        {"a": D(2), "b": D("5.5"), "zzz": 1},
        comments={"a": "  "},
        vetoes={"dup": "", "nope": "x"},
        lang="en",
    )
    assert problems == [
        "unknown criterion zzz",
        '"Alpha": a score below 4 needs a comment',
        '"Beta": score 5.5 is outside 0–5',
        '"Gamma" has not been scored',
        'veto "Duplicate" needs a comment giving the reason',
        "unknown veto item nope",
    ]


def test_off_step_required_na_and_bad_numbers():
    problems = validate_sheet(RUBRIC, {"a": D("7.5"), "b": "1.25", "c": None}, lang="en")
    assert problems == [
        '"Alpha": score 7.5 must go in steps of 1 from 0',
        '"Beta": score 1.25 must go in steps of 0.5 from 0',
        '"Gamma" is required and cannot be marked not applicable',
    ]
    assert validate_sheet(RUBRIC, {"a": "x", "b": None, "c": 1}, lang="en") == [
        '"Alpha": "x" is not a number'
    ]


def test_sheet_messages_are_chinese_by_default():
    problems = validate_sheet(RUBRIC, {"a": D(11), "b": None, "c": 1}, vetoes={"check": None})
    assert problems == ["「甲」的得分 11 超出 0–10", "否决项「待核实」须填写理由"]


# --- aggregation --------------------------------------------------------------------


def test_aggregate_small_n():
    values = [D(50), D(70), D(95), D(60)]
    assert aggregate(values, "mean") == D("68.75")
    assert aggregate(values, "median") == D(65)  # (60 + 70) / 2
    assert aggregate(values, "trimmed_mean", 5) == D("68.75")  # n < 5: plain mean


def test_aggregate_five_or_more():
    values = [D(50), D(70), D(95), D(60), D(99)]
    assert aggregate(values, "mean") == D("74.8")
    assert aggregate(values, "median") == D(70)
    assert aggregate(values, "trimmed_mean", 5) == D(75)  # (60 + 70 + 95) / 3
    assert aggregate(values, "trimmed_mean", 6) == D("74.8")


def test_aggregate_empty_and_unknown():
    assert aggregate([], "mean") is None
    with pytest.raises(ValueError):
        aggregate([D(1)], "max")


# --- normalisation ------------------------------------------------------------------


def test_zscore_hand_computed():
    reviews = [
        ReviewTotal("A", "x", D(60)),
        ReviewTotal("B", "x", D(80)),
        ReviewTotal("A", "y", D(90)),
        ReviewTotal("B", "y", D(70)),
        ReviewTotal("C", "z", D(50)),  # one review: left as is
        ReviewTotal("C", "w", None),
    ]
    # All totals 60, 80, 90, 70, 50: mean 70, population sd √200.
    # x: mean 70, sd 10, so 60 → z = −1 → 70 − √200; y: mean 80, sd 10, 90 → z = +1.
    out = normalise(reviews, "zscore")
    root = D(200).sqrt()
    assert out[("A", "x")] == 70 - root
    assert out[("B", "x")] == 70 + root
    assert out[("A", "y")] == 70 + root
    assert out[("B", "y")] == 70 - root
    assert out[("C", "z")] == 50
    assert out[("C", "w")] is None


def test_zscore_reviewer_without_spread_is_left_alone():
    reviews = [ReviewTotal("A", "x", D(70)), ReviewTotal("B", "x", D(70)), *reviews_for("A", [40])]
    out = normalise(reviews, "zscore")
    assert out[("A", "x")] == 70 and out[("B", "x")] == 70


def test_none_normalisation_is_identity_and_duplicates_rejected():
    reviews = reviews_for("A", [70, 80])
    assert normalise(reviews, "none") == {("A", "r1"): 70, ("A", "r2"): 80}
    with pytest.raises(ValueError):
        normalise(reviews + [ReviewTotal("A", "r1", D(1))], "none")


def lenient_dataset():
    """Two disconnected groups; r1 gives +10, s1 gives +4, no noise."""
    quality = {f"a{i}": D(40 + 7 * i) for i in range(6)}
    bias = {"r1": D(10), "r2": D(0), "r3": D(0), "r4": D(0)}
    panels = ["r1 r2 r3", "r2 r3 r4", "r1 r3 r4", "r1 r2 r4", "r1 r2 r3", "r2 r3 r4"]
    reviews = [
        ReviewTotal(app, r, quality[app] + bias[r])
        for app, panel in zip(quality, panels, strict=True)
        for r in panel.split()
    ]
    reviews += [
        ReviewTotal("b0", "s1", D(54)),
        ReviewTotal("b1", "s1", D(64)),
        ReviewTotal("b0", "s2", D(50)),
        ReviewTotal("b1", "s2", D(60)),
    ]
    return quality, reviews


def test_calibrated_recovers_a_lenient_reviewer():
    quality, reviews = lenient_dataset()
    shift = leniency(reviews)
    # r1 is 10 above the others; centred within the group: 7.5 and −2.5 each.
    assert shift["r1"] - shift["r2"] == 10
    assert shift == {
        "r1": D("7.5"),
        "r2": D("-2.5"),
        "r3": D("-2.5"),
        "r4": D("-2.5"),
        "s1": D(2),
        "s2": D(-2),
    }
    # Leniencies sum to exactly zero in each connected group.
    assert shift["r1"] + shift["r2"] + shift["r3"] + shift["r4"] == 0
    assert shift["s1"] + shift["s2"] == 0
    out = normalise(reviews, "calibrated")
    # Every reviewer now agrees: quality plus the group's mean leniency (2.5).
    for (app, _reviewer), total in out.items():
        if app in quality:
            assert total == quality[app] + D("2.5")
    assert out[("b0", "s1")] == out[("b0", "s2")] == 52


def test_calibration_is_robust_to_one_wild_score():
    quality, reviews = lenient_dataset()
    reviews = [r for r in reviews if r.application.startswith("a")]
    # r2 gives application a1 a score 40 points too low, once.
    reviews = [
        ReviewTotal(r.application, r.reviewer, r.total - 40)
        if (r.application, r.reviewer) == ("a1", "r2")
        else r
        for r in reviews
    ]
    shift = leniency(reviews)
    # Plain least squares would spread the outlier into r2's leniency; Huber mostly doesn't.
    assert abs(shift["r1"] - shift["r3"] - 10) < 2
    assert abs(shift["r2"] - shift["r3"]) < 5
    assert sum(shift.values()) == 0


def test_single_reviewer_group_has_zero_leniency():
    shift = leniency([ReviewTotal("solo", "lonely", D(90)), *reviews_for("A", [60, 70])])
    assert shift["lonely"] == 0
    assert shift["r1"] == -5 and shift["r2"] == 5


# --- ranking ------------------------------------------------------------------------


def test_competition_ranking_and_ties():
    reviews = (
        reviews_for("A", [90, 90, 90])
        + reviews_for("B", ["80.004", "80.004", "80.004"])
        + reviews_for("C", ["79.996", "79.996", "79.996"])  # rounds to 80.00: ties with B
        + reviews_for("D", [70, 70, 70])
    )
    ranking = rank_applications(RUBRIC, reviews)
    assert [(r.application, r.rank, r.aggregate) for r in ranking] == [
        ("A", 1, D("90.00")),
        ("B", 2, D("80.00")),
        ("C", 2, D("80.00")),
        ("D", 4, D("70.00")),
    ]
    assert [r.flags for r in ranking] == [(), ("tie",), ("tie",), ()]
    assert ranking[0].band.label.zh == "优先资助" and ranking[1].band.label.en == "Recommended"


def test_veto_any_majority_and_hold():
    reviews = []
    for app in ["any", "maj1", "maj2", "even", "hold", "clean"]:
        reviews += reviews_for(app, [80, 80, 80])
    reviews += [ReviewTotal("even", "r4", D(80))]
    vetoes = [
        VetoMark("any", "r1", "dup"),  # one reviewer is enough
        VetoMark("maj1", "r1", "fraud"),  # 1 of 3: no majority
        VetoMark("maj2", "r1", "fraud"),
        VetoMark("maj2", "r2", "fraud"),  # 2 of 3: majority
        VetoMark("even", "r1", "fraud"),
        VetoMark("even", "r2", "fraud"),  # 2 of 4: not a strict majority
        VetoMark("hold", "r3", "check"),
    ]
    ranking = rank_applications(RUBRIC, reviews, vetoes)
    rows = by_app(ranking)
    assert rows["any"].flags == ("veto",) and rows["any"].rank is None
    assert rows["any"].vetoes == ("dup",)
    assert rows["maj2"].flags == ("veto",) and rows["maj2"].rank is None
    assert "veto" not in rows["maj1"].flags and "veto" not in rows["even"].flags
    assert rows["hold"].flags == ("veto_hold", "tie") and rows["hold"].rank == 1
    # Vetoed applications still get an aggregate and band, and come last.
    assert rows["any"].aggregate == D("80.00") and rows["any"].band.label.zh == "建议资助"
    assert [r.application for r in ranking] == ["clean", "even", "hold", "maj1", "any", "maj2"]


def test_insufficient_reviews_are_ranked_and_flagged():
    reviews = reviews_for("few", [95, 95]) + reviews_for("many", [70, 70, 70])
    rows = by_app(rank_applications(RUBRIC, reviews))
    assert rows["few"].flags == ("insufficient_reviews",) and rows["few"].rank == 1
    assert rows["few"].n == 2 and rows["many"].rank == 2


def test_a_veto_only_reviewer_counts_as_a_review():
    reviews = reviews_for("A", [80, 80])
    rows = by_app(rank_applications(RUBRIC, reviews, [VetoMark("A", "r9", "check")]))
    assert rows["A"].n == 3 and rows["A"].flags == ("veto_hold",)


def test_disagreement_flag():
    reviews = reviews_for("wide", [40, 75, 60]) + reviews_for("edge", [40, 70, 55])
    rows = by_app(rank_applications(RUBRIC, reviews))
    assert rows["wide"].flags == ("disagreement",) and rows["wide"].spread == 35
    assert rows["edge"].flags == ()  # a spread of exactly 30 is not flagged


def test_method_and_normalization_overrides():
    reviews = reviews_for("A", [10, 20, 90])
    assert rank_applications(RUBRIC, reviews)[0].aggregate == D("40.00")
    assert rank_applications(RUBRIC, reviews, method="median")[0].aggregate == D("20.00")
    five = reviews_for("B", [10, 20, 30, 40, 100])
    assert rank_applications(RUBRIC, five)[0].aggregate == D("30.00")  # trimmed
    with pytest.raises(ValueError):
        rank_applications(RUBRIC, reviews, normalization="rank")
    with pytest.raises(ValueError):
        rank_applications(RUBRIC, reviews, [VetoMark("A", "r1", "nope")])


def test_as_dict_shape():
    ranking = rank_applications(RUBRIC, reviews_for("A", ["84.995", 85, 85]))
    assert ranking[0].as_dict() == {
        "application": "A",
        "n": 3,
        "aggregate": 85.0,  # 84.99833… rounds half-up to 85.00
        "band": {"zh": "优先资助", "en": "Priority"},
        "flags": [],
        "rank": 1,
    }


# --- reliability --------------------------------------------------------------------


def test_icc1_balanced():
    # A: 1, 3; B: 5, 7. MSB = 16, MSW = 2, k = 2: (16 − 2) / (16 + 2) = 7/9.
    reviews = [*reviews_for("A", [1, 3]), *reviews_for("B", [5, 7])]
    assert icc1(reviews) == D(7) / D(9)


def test_icc1_unbalanced():
    # A: 1, 3; B: 5, 7, 9. MSB = 30, MSW = 10/3, k₀ = (5 − 13/5)/1 = 2.4
    # ICC = (30 − 10/3) / (30 + 1.4 · 10/3) = 80/104 = 10/13.
    reviews = [*reviews_for("A", [1, 3]), *reviews_for("B", [5, 7, 9])]
    assert abs(icc1(reviews) - D(10) / D(13)) < D("1e-25")


def test_icc1_undefined():
    assert icc1(reviews_for("A", [1, 2])) is None
    assert icc1([*reviews_for("A", [1]), *reviews_for("B", [2])]) is None
    assert icc1([*reviews_for("A", [5, 5]), *reviews_for("B", [5, 5])]) is None
