"""The review module's messages are Babel messages, rendered in the language asked for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner

from app.reviews.assignment import Reason
from app.reviews.assignment.types import MESSAGES as ASSIGNMENT_MESSAGES
from app.reviews.cli import rubric_cli
from app.reviews.texts import LANG_NAMES, MESSAGES, TRANSLATIONS, language_name, say

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


@pytest.fixture
def bad_rubric(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        (RUBRICS / "assist-review.toml")
        .read_text(encoding="utf-8")
        .replace("weight = 20", "weight = 25", 1)
        .replace('label.en = "Fundable"', ""),
        encoding="utf-8",
    )
    return bad


def test_rubric_check_speaks_chinese_by_default_and_english_on_request(bad_rubric):
    zh = CliRunner().invoke(rubric_cli, ["check", str(bad_rubric)])
    assert zh.exit_code == 1
    assert zh.output.splitlines() == [
        f"{bad_rubric}: bands[3]: label 缺少英文文本（label.en）",
        f"{bad_rubric}: 各项权重合计为 105，应为 100",
    ]
    en = CliRunner().invoke(rubric_cli, ["check", str(bad_rubric), "--lang", "en"])
    assert en.exit_code == 1
    assert en.output.splitlines() == [
        f"{bad_rubric}: bands[3]: label is missing its English text (label.en)",
        f"{bad_rubric}: weights sum to 105, not 100",
    ]


def test_rubric_check_under_the_flask_command_line(app, bad_rubric):
    runner = app.test_cli_runner()
    zh = runner.invoke(args=["rubric", "check", str(bad_rubric)])
    assert zh.exit_code == 1
    assert "各项权重合计为 105，应为 100" in zh.output
    en = runner.invoke(args=["rubric", "check", str(bad_rubric), "--lang", "en"])
    assert en.exit_code == 1
    assert "weights sum to 105, not 100" in en.output


def test_every_message_is_in_both_catalogues_with_the_same_placeholders():
    catalogues = {locale: _po(locale) for locale in ("zh_CN", "en")}
    for msgid in [*MESSAGES.values(), *LANG_NAMES.values()]:
        for locale, catalogue in catalogues.items():
            message = catalogue.get(msgid)
            assert message is not None and message.string and not message.fuzzy, (locale, msgid)
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(msgid))
            # Only %(name)s placeholders: no str.format braces left over from the old table.
            assert "{" not in message.string.replace("[[", "").replace("]]", "")


def test_assignment_messages_are_in_both_catalogues_with_the_same_placeholders():
    """The reviewer draw's reasons (assignment/types.py) are Babel messages too."""
    catalogues = {locale: _po(locale) for locale in ("zh_CN", "en")}
    for code, msgid in ASSIGNMENT_MESSAGES.items():
        assert "{" not in msgid, code
        for locale, catalogue in catalogues.items():
            message = catalogue.get(msgid)
            assert message is not None and message.string and not message.fuzzy, (locale, code)
            assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(msgid))
            assert "{" not in message.string, (locale, code)
        assert catalogues["en"].get(msgid).string != msgid, code
    reason = Reason("reserve_exhausted", 7, {"expert_id": 12})
    assert reason.zh == "申请 7：备选专家中没有可替换专家 12 的人选"
    assert reason.en == "Application 7: no eligible reserve expert to replace expert 12"
    short = Reason("capacity_short", None, {"capacity": 4, "demand": 9})
    assert short.en == "Experts can take 4 reviews in total but 9 are needed"


def test_language_names_are_translated():
    assert language_name("zh", "en") == "英文"
    assert language_name("en", "en") == "English"
    assert language_name("en", "zh") == "Chinese"


def test_in_the_app_say_goes_through_flask_babel(app, tmp_path, monkeypatch):
    """Inside an app context the compiled catalogue Flask-Babel loads is used."""
    mo = tmp_path / "en" / "LC_MESSAGES" / "messages.mo"
    mo.parent.mkdir(parents=True)
    catalogue = _po("en")
    catalogue.get(MESSAGES["weights"]).string = "WEIGHTS %(total)s (from the .mo)"
    with mo.open("wb") as fh:
        write_mo(fh, catalogue)
    babel = app.extensions["babel"]
    monkeypatch.setattr(babel, "translation_directories", [str(tmp_path)])
    with app.app_context():
        monkeypatch.setattr(babel.instance.domain_instance, "cache", {})
        assert say("en", "weights", total=105) == "WEIGHTS 105 (from the .mo)"
        assert say("zh", "weights", total=105) == "各项权重合计为 105，应为 100"
        assert say("zh", "utf8") == "文件不是有效的 UTF-8 编码"
    # Without an app context the messages.po is read directly.
    assert say("en", "weights", total=105) == "weights sum to 105, not 100"
