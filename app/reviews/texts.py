"""Texts for the review module: the rubric/score-sheet messages and a small bilingual Text type.

The messages the rubric checker, the score-file reader, ``flask review rank`` and the
score-sheet validator return are Babel messages: Chinese msgids marked with ``N_`` below
(extracted by ``make messages``), translated in app/translations/*/messages.po and rendered
by :func:`say` in the language asked for. ``Text`` is different: it holds the zh/en pair a
rubric file itself supplies (title.zh / title.en), which is data, not interface text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.pofile import read_po
from flask import has_app_context
from flask_babel import force_locale, gettext

TRANSLATIONS = Path(__file__).resolve().parents[1] / "translations"


def N_(message: str) -> str:
    """Mark ``message`` for extraction (Babel's default ``N_`` keyword); translated in say()."""
    return message


MESSAGES = {
    "utf8": N_("文件不是有效的 UTF-8 编码"),
    "toml": N_("TOML 语法错误：%(err)s"),
    "unknown": N_("未知的键 %(key)s"),
    "missing": N_("缺少 %(key)s"),
    "string": N_("%(key)s 必须是非空字符串"),
    "integer": N_("%(key)s 必须是整数"),
    "number": N_("%(key)s 必须是数字"),
    "boolean": N_("%(key)s 必须是 true 或 false"),
    "text": N_("%(key)s 必须是含 zh 与 en 的表"),
    "array": N_("%(key)s 必须写成表数组 [[%(key)s]]"),
    "translation": N_("%(key)s 缺少%(language)s文本（%(key)s.%(part)s）"),
    "slug": N_("id「%(value)s」只能由小写字母、数字和连字符组成"),
    "keyname": N_("key「%(value)s」只能由小写字母、数字和下划线组成，并以字母开头"),
    "choice": N_("%(key)s「%(value)s」无效，可选：%(choices)s"),
    "at_least": N_("%(key)s 不能小于 %(limit)s"),
    "positive": N_("%(key)s 必须大于 0"),
    "range_100": N_("%(key)s 必须在 0–100 之间"),
    "duplicate": N_("键 %(value)s 重复（已用于 %(first)s）"),
    "weights": N_("各项权重合计为 %(total)s，应为 100"),
    "min_max": N_("min（%(min)s）必须小于 max（%(max)s）"),
    "step": N_("step %(value)s 无效，只能是 1 或 0.5"),
    "off_step": N_("%(key)s %(value)s 不在以 %(min)s 起、步长 %(step)s 的刻度上"),
    "out_of_range": N_("%(key)s %(value)s 超出 %(min)s–%(max)s"),
    "level_key": N_("levels 的键「%(value)s」不是数字"),
    "empty": N_("至少需要一个 %(key)s"),
    "band_order": N_("bands 必须从高到低排列：%(value)s 不低于上一档的 %(prev)s"),
    "band_floor": N_("最低一档的 min 必须为 0（现为 %(value)s）"),
    # Score-sheet validation (shown to the reviewer next to the form).
    "sheet_unknown": N_("未知的评审指标 %(key)s"),
    "sheet_missing": N_("「%(title)s」尚未打分"),
    "sheet_na_required": N_("「%(title)s」为必评项，不能标为不适用"),
    "sheet_number": N_("「%(title)s」的得分「%(value)s」不是有效数字"),
    "sheet_range": N_("「%(title)s」的得分 %(value)s 超出 %(min)s–%(max)s"),
    "sheet_step": N_("「%(title)s」的得分 %(value)s 须以 %(step)s 为步长（自 %(min)s 起）"),
    "sheet_comment": N_("「%(title)s」得分低于 %(threshold)s，须填写评语"),
    "sheet_veto_unknown": N_("未知的否决项 %(key)s"),
    "sheet_veto_comment": N_("否决项「%(title)s」须填写理由"),
    # Command-line messages (flask rubric check / flask review rank).
    "cli_ok": N_("%(file)s：通过（%(id)s 第 %(version)s 版，%(n)s 项指标，sha256 %(sha)s）"),
    "cli_unreadable": N_("%(file)s：无法读取：%(err)s"),
    "cli_rubric": N_("评分表 %(file)s 有误：%(problem)s"),
    "cli_empty": N_("%(file)s：文件没有数据"),
    "cli_columns": N_(
        "%(file)s：缺少列 %(columns)s（需要 application, reviewer, criterion, score）"
    ),
    "cli_blank": N_("第 %(line)s 行：application、reviewer、criterion 不能为空"),
    "cli_unknown": N_("第 %(line)s 行：「%(key)s」既不是评审指标也不是否决项"),
    "cli_number": N_("第 %(line)s 行：得分「%(value)s」不是数字"),
    "cli_range": N_("第 %(line)s 行：%(key)s 的得分 %(value)s 超出 %(min)s–%(max)s"),
    "cli_step": N_(
        "第 %(line)s 行：%(key)s 的得分 %(value)s 须以 %(step)s 为步长（自 %(min)s 起）"
    ),
    "cli_veto_value": N_(
        "第 %(line)s 行：否决项 %(key)s 只能填 1（否决）、0 或留空，而不是「%(value)s」"
    ),
    "cli_duplicate": N_("第 %(line)s 行：%(application)s / %(reviewer)s / %(key)s 重复出现"),
    "cli_required_blank": N_("警告：第 %(line)s 行：必评项 %(key)s 留空，按不适用处理"),
    "cli_read": N_("已读取 %(rows)s 行：%(applications)s 个申报，%(reviewers)s 位专家"),
    "cli_wrote": N_("已写入 %(path)s"),
    "cli_out_ext": N_("--out 只能是 .csv 或 .xlsx 文件：%(path)s"),
}
LANG_NAMES = {"zh": N_("中文"), "en": N_("英文")}


def _locale(lang: str) -> str:
    return "en" if lang == "en" else "zh_CN"


@lru_cache(maxsize=4)
def _catalogue(locale: str) -> dict[str, str]:
    """msgid → translation from ``locale``'s messages.po (fuzzy and empty entries left out)."""
    try:
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
            catalog = read_po(fh, locale=locale)
    except (OSError, ValueError):
        return {}
    return {
        m.id: m.string
        for m in catalog
        if isinstance(m.id, str) and m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }


def _translate(lang: str, msgid: str, kw: dict[str, Any]) -> str:
    """Translate ``msgid`` into ``lang`` and fill in its ``%(name)s`` placeholders."""
    locale = _locale(lang)
    if has_app_context():
        # In the app (web requests, worker, `flask` commands with an app context):
        # Flask-Babel, with the compiled catalogues, in the language asked for.
        with force_locale(locale):
            return gettext(msgid, **kw)
    # No app context at all: `flask rubric check` / `flask review rank` run without one
    # (with_appcontext=False, so they work from files alone), as do pure unit tests and
    # the benchmarks. Read the same catalogue from messages.po directly (no compiled .mo
    # needed); a msgid it lacks falls back to the Chinese source text, formatted as is.
    text = _catalogue(locale).get(msgid, msgid)
    return text % kw if kw else text


def translate(lang: str, msgid: str, kw: Mapping[str, Any] | None = None) -> str:
    """Render any ``N_``-marked msgid in ``lang``; for message tables kept in other modules."""
    return _translate(lang, msgid, dict(kw or {}))


def say(lang: str, code: str, **kw: Any) -> str:
    """Render one review message in ``lang`` ("zh" default, "en")."""
    return _translate(lang, MESSAGES[code], kw)


def language_name(lang: str, code: str) -> str:
    """The name of language ``code`` ("zh"/"en") in ``lang``: 中文/英文, Chinese/English."""
    return _translate(lang, LANG_NAMES[code], {})


@dataclass(frozen=True)
class Text:
    """A short bilingual text: Chinese first, English available."""

    zh: str
    en: str

    def get(self, lang: str = "zh") -> str:
        """Return the text in ``lang``, Chinese unless "en"."""
        return self.en if lang == "en" else self.zh

    def as_dict(self) -> dict[str, str]:
        """Return ``{"zh": …, "en": …}`` for JSON output."""
        return {"zh": self.zh, "en": self.en}

    def __str__(self) -> str:
        return self.zh


def plain(value: Decimal) -> str:
    """Format a Decimal without exponent or trailing zeros (10, 0.5, 12.5)."""
    return format(value.normalize(), "f")
