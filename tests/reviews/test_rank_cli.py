"""The ``rubric check`` and ``review rank`` commands, run without an app or database."""

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook

from app.reviews.cli import review_cli, rubric_cli

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
REVIEW_RUBRIC = str(RUBRICS / "assist-review.toml")
CRITERIA = ["need", "service_plan", "expert_team", "co_building", "outcomes", "budget"]


def rows_for(application, reviewer, scores, vetoes=()):
    """Return long-format rows: one per criterion, then one per raised veto."""
    rows = [[application, reviewer, c, s] for c, s in zip(CRITERIA, scores, strict=True)]
    return rows + [[application, reviewer, v, "1"] for v in vetoes]


def write_csv(path, rows, bom=True):
    """Write a score file with a header, as spreadsheets export it."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["application", "reviewer", "criterion", "score"])
        writer.writerows(rows)
    return str(path)


def sample_rows():
    """Four applications on the assist-review rubric (all criteria 0–10)."""
    rows = []
    for r in ("e1", "e2", "e3"):
        rows += rows_for("101", r, ["9"] * 6)  # 90
        rows += rows_for("102", r, ["8"] * 6)  # 80
        rows += rows_for("103", r, ["8"] * 6)  # 80: ties with 102
    rows += rows_for("104", "e1", ["10"] * 6, vetoes=["duplicate_funding"])
    rows += rows_for("104", "e2", ["10"] * 6)
    rows += rows_for("104", "e3", ["10"] * 6)
    rows += rows_for("105", "e1", ["7", "", "7", "7", "7", "7"])  # 70, N/A ignored
    rows += rows_for("105", "e2", ["3", "3", "3", "3", "3", "3"])  # 30: spread 40
    return rows


def rank(args):
    """Run ``review rank`` and return the result."""
    return CliRunner().invoke(review_cli, ["rank", *args])


def test_json_output_shape(tmp_path):
    scores = write_csv(tmp_path / "scores.csv", sample_rows())
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", scores, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [
        {
            "application": "101",
            "n": 3,
            "aggregate": 90.0,
            "band": {"zh": "优先资助", "en": "Priority"},
            "flags": [],
            "rank": 1,
        },
        {
            "application": "102",
            "n": 3,
            "aggregate": 80.0,
            "band": {"zh": "建议资助", "en": "Recommended"},
            "flags": ["tie"],
            "rank": 2,
        },
        {
            "application": "103",
            "n": 3,
            "aggregate": 80.0,
            "band": {"zh": "建议资助", "en": "Recommended"},
            "flags": ["tie"],
            "rank": 2,
        },
        {
            "application": "105",
            "n": 2,
            "aggregate": 50.0,
            "band": {"zh": "不予资助", "en": "Not recommended"},
            "flags": ["insufficient_reviews", "disagreement"],
            "rank": 4,
        },
        {
            "application": "104",
            "n": 3,
            "aggregate": 100.0,
            "band": {"zh": "优先资助", "en": "Priority"},
            "flags": ["veto"],
            "rank": None,
        },
    ]
    # Progress goes to stderr, so stdout is pure JSON.
    assert "5 个申报" in result.stderr


def test_method_override_and_rounding(tmp_path):
    rows = rows_for("A", "e1", ["10"] * 6) + rows_for("A", "e2", ["0"] * 6)
    rows += rows_for("A", "e3", ["10", "10", "10", "10", "10", "0"])  # 90
    scores = write_csv(tmp_path / "s.csv", rows, bom=False)
    mean = rank(["--rubric", REVIEW_RUBRIC, "--scores", scores, "--json"])
    assert json.loads(mean.stdout)[0]["aggregate"] == 63.33  # 190 / 3
    median = rank(["--rubric", REVIEW_RUBRIC, "--scores", scores, "--json", "--method", "median"])
    assert json.loads(median.stdout)[0]["aggregate"] == 90.0


def test_normalization_option(tmp_path):
    rows = []
    for r, bonus in (("e1", 1), ("e2", 0), ("e3", 0)):
        rows += rows_for("A", r, [str(6 + bonus)] * 6)
        rows += rows_for("B", r, [str(8 + bonus)] * 6)
    scores = write_csv(tmp_path / "s.csv", rows)
    args = ["--rubric", REVIEW_RUBRIC, "--scores", scores, "--json"]
    plain = {r["application"]: r["aggregate"] for r in json.loads(rank(args).stdout)}
    calibrated = rank([*args, "--normalization", "calibrated"])
    assert calibrated.exit_code == 0, calibrated.output
    fair = {r["application"]: r["aggregate"] for r in json.loads(calibrated.stdout)}
    assert plain == {"A": 63.33, "B": 83.33}
    # e1's +10 is estimated (leniencies 20/3, −10/3, −10/3) and removed: every total
    # becomes quality + 10/3, so the aggregates are unchanged here.
    assert fair == plain


def test_xlsx_input_and_outputs(tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(["Application", "Reviewer", "Criterion", "Score"])
    for row in sample_rows():
        application, reviewer, key, score = row
        sheet.append([int(application), reviewer, key, float(score) if score else None])
    source = tmp_path / "scores.xlsx"
    book.save(source)
    out_csv, out_xlsx = tmp_path / "rank.csv", tmp_path / "rank.xlsx"
    args = ["--rubric", REVIEW_RUBRIC, "--scores", str(source)]
    assert rank([*args, "--out", str(out_csv)]).exit_code == 0
    result = rank([*args, "--out", str(out_xlsx), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert f"wrote {out_xlsx}" in result.stderr
    with out_csv.open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == ["rank", "application", "n", "aggregate", "band_zh", "band_en", "flags"]
    assert table[1] == ["1", "101", "3", "90.00", "优先资助", "Priority", ""]
    assert table[-1] == ["", "104", "3", "100.00", "优先资助", "Priority", "veto"]
    sheet = load_workbook(out_xlsx, read_only=True).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[2] == (2, "102", 3, 80, "建议资助", "Recommended", "tie")
    assert values[-1][0] is None
    # Without --json the table goes to stdout.
    assert result.stdout.splitlines()[1].split("\t")[:4] == ["1", "101", "3", "90.00"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (["101", "e1", "novelty", "5"], '"novelty" is neither a criterion nor a veto item'),
        (["101", "e1", "need", "11"], "score 11 for need is outside 0–10"),
        (["101", "e1", "need", "7.25"], "score 7.25 for need must go in steps of 0.5 from 0"),
        (["101", "e1", "expert_team", "7.5"], "must go in steps of 1 from 0"),
        (["101", "e1", "need", "abc"], 'score "abc" is not a number'),
        (["101", "e1", "duplicate_funding", "2"], "takes 1 (raised), 0 or blank"),
        (["101", "", "need", "5"], "must not be blank"),
        (["100", "e0", "need", "5"], "100 / e0 / need appears twice"),
    ],
)
def test_bad_rows_exit_2_with_a_message(tmp_path, row, message):
    scores = write_csv(tmp_path / "s.csv", [["100", "e0", "need", "5"], row])
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", scores, "--lang", "en"])
    assert result.exit_code == 2
    assert result.stderr.startswith("line 3: ") and message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_every_bad_row_is_listed(tmp_path):
    rows = [["1", "e1", "need", "11"], ["1", "e1", "nope", "1"]]
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", write_csv(tmp_path / "s.csv", rows)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "第 2 行：need 的得分 11 超出 0–10",
        "第 3 行：「nope」既不是评审指标也不是否决项",
    ]


def test_unreadable_inputs_exit_2(tmp_path):
    good = write_csv(tmp_path / "s.csv", rows_for("1", "e1", ["5"] * 6))
    missing = rank(["--rubric", REVIEW_RUBRIC, "--scores", str(tmp_path / "none.csv")])
    assert missing.exit_code == 2 and "无法读取" in missing.stderr
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    assert rank(["--rubric", REVIEW_RUBRIC, "--scores", str(broken)]).exit_code == 2
    latin = tmp_path / "latin.csv"
    latin.write_bytes("application,reviewer,criterion,score\né,e1,need,5\n".encode("latin-1"))
    assert rank(["--rubric", REVIEW_RUBRIC, "--scores", str(latin)]).exit_code == 2
    header = tmp_path / "header.csv"
    header.write_text("app,reviewer,criterion,score\n1,e1,need,5\n", encoding="utf-8")
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", str(header), "--lang", "en"])
    assert result.exit_code == 2 and "missing columns application" in result.stderr
    bad_rubric = tmp_path / "bad.toml"
    bad_rubric.write_text('id = "x"\n', encoding="utf-8")
    result = rank(["--rubric", str(bad_rubric), "--scores", good, "--lang", "en"])
    assert result.exit_code == 2 and f"rubric {bad_rubric}: missing version" in result.stderr
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", good, "--out", str(tmp_path / "x.pdf")])
    assert result.exit_code == 2
    for outcome in (missing, result):
        assert outcome.exception is None or isinstance(outcome.exception, SystemExit)


def test_blank_required_score_warns_and_counts_as_not_applicable(tmp_path):
    rows = rows_for("1", "e1", ["10", "10", "10", "10", "10", ""])
    result = rank(["--rubric", REVIEW_RUBRIC, "--scores", write_csv(tmp_path / "s.csv", rows)])
    assert result.exit_code == 0
    assert "必评项 budget 留空" in result.stderr
    assert "100.00" in result.stdout


def test_rubric_check_passes_shipped_rubrics():
    files = [str(p) for p in sorted(RUBRICS.glob("*.toml"))]
    assert len(files) >= 3
    result = CliRunner().invoke(rubric_cli, ["check", *files, "--lang", "en"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(files)
    assert all(": OK (" in line for line in lines)


def test_rubric_check_lists_every_problem_with_file_name(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (RUBRICS / "assist-review.toml")
        .read_text(encoding="utf-8")
        .replace("weight = 20", "weight = 25", 1)
        .replace('kind = "review"', 'kind = "survey"')
        .replace('label.en = "Fundable"', ""),
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        rubric_cli, ["check", REVIEW_RUBRIC, str(bad), str(tmp_path / "gone.toml"), "--lang", "en"]
    )
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith(f"{REVIEW_RUBRIC}: OK (assist-review version 1")
    assert lines[1:] == [
        f'{bad}: kind "survey" is invalid; use review | performance',
        f"{bad}: bands[3]: label is missing its English text (label.en)",
        f"{bad}: weights sum to 105, not 100",
        f"{tmp_path / 'gone.toml'}: cannot read: No such file or directory",
    ]
