"""Bilingual texts for the review module: a small Text type and the message catalogue.

Users read Chinese by default and English on request; every message the rubric checker
and the score-sheet validator return is rendered from this one catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MESSAGES = {
    "utf8": ("文件不是有效的 UTF-8 编码", "the file is not valid UTF-8"),
    "toml": ("TOML 语法错误：{err}", "TOML syntax error: {err}"),
    "unknown": ("未知的键 {key}", "unknown key {key}"),
    "missing": ("缺少 {key}", "missing {key}"),
    "string": ("{key} 必须是非空字符串", "{key} must be a non-empty string"),
    "integer": ("{key} 必须是整数", "{key} must be an integer"),
    "number": ("{key} 必须是数字", "{key} must be a number"),
    "boolean": ("{key} 必须是 true 或 false", "{key} must be true or false"),
    "text": ("{key} 必须是含 zh 与 en 的表", "{key} must be a table with zh and en"),
    "array": ("{key} 必须写成表数组 [[{key}]]", "{key} must be an array of tables [[{key}]]"),
    "translation": (
        "{key} 缺少{language}文本（{key}.{part}）",
        "{key} is missing its {language} text ({key}.{part})",
    ),
    "slug": (
        "id「{value}」只能由小写字母、数字和连字符组成",
        'id "{value}" must be lower-case letters, digits and hyphens',
    ),
    "keyname": (
        "key「{value}」只能由小写字母、数字和下划线组成，并以字母开头",
        'key "{value}" must be lower-case letters, digits and underscores, starting with a letter',
    ),
    "choice": (
        "{key}「{value}」无效，可选：{choices}",
        '{key} "{value}" is invalid; use {choices}',
    ),
    "at_least": ("{key} 不能小于 {limit}", "{key} must be at least {limit}"),
    "positive": ("{key} 必须大于 0", "{key} must be greater than 0"),
    "range_100": ("{key} 必须在 0–100 之间", "{key} must be between 0 and 100"),
    "duplicate": (
        "键 {value} 重复（已用于 {first}）",
        "duplicate key {value} (already used by {first})",
    ),
    "weights": ("各项权重合计为 {total}，应为 100", "weights sum to {total}, not 100"),
    "min_max": ("min（{min}）必须小于 max（{max}）", "min ({min}) must be less than max ({max})"),
    "step": ("step {value} 无效，只能是 1 或 0.5", "step {value} is invalid; use 1 or 0.5"),
    "off_step": (
        "{key} {value} 不在以 {min} 起、步长 {step} 的刻度上",
        "{key} {value} is not on the step-{step} grid from {min}",
    ),
    "out_of_range": ("{key} {value} 超出 {min}–{max}", "{key} {value} is outside {min}–{max}"),
    "level_key": ("levels 的键「{value}」不是数字", 'levels key "{value}" is not a number'),
    "empty": ("至少需要一个 {key}", "at least one {key} is required"),
    "band_order": (
        "bands 必须从高到低排列：{value} 不低于上一档的 {prev}",
        "bands must be listed highest first: {value} is not below the previous {prev}",
    ),
    "band_floor": (
        "最低一档的 min 必须为 0（现为 {value}）",
        "the lowest band must start at 0, not {value}",
    ),
    # Score-sheet validation (shown to the reviewer next to the form).
    "sheet_unknown": ("未知的评审指标 {key}", "unknown criterion {key}"),
    "sheet_missing": ("「{title}」尚未打分", '"{title}" has not been scored'),
    "sheet_na_required": (
        "「{title}」为必评项，不能标为不适用",
        '"{title}" is required and cannot be marked not applicable',
    ),
    "sheet_number": (
        "「{title}」的得分「{value}」不是有效数字",
        '"{title}": "{value}" is not a number',
    ),
    "sheet_range": (
        "「{title}」的得分 {value} 超出 {min}–{max}",
        '"{title}": score {value} is outside {min}–{max}',
    ),
    "sheet_step": (
        "「{title}」的得分 {value} 须以 {step} 为步长（自 {min} 起）",
        '"{title}": score {value} must go in steps of {step} from {min}',
    ),
    "sheet_comment": (
        "「{title}」得分低于 {threshold}，须填写评语",
        '"{title}": a score below {threshold} needs a comment',
    ),
    "sheet_veto_unknown": ("未知的否决项 {key}", "unknown veto item {key}"),
    "sheet_veto_comment": (
        "否决项「{title}」须填写理由",
        'veto "{title}" needs a comment giving the reason',
    ),
    # Command-line messages (flask rubric check / flask review rank).
    "cli_ok": (
        "{file}：通过（{id} 第 {version} 版，{n} 项指标，sha256 {sha}）",
        "{file}: OK ({id} version {version}, {n} criteria, sha256 {sha})",
    ),
    "cli_unreadable": ("{file}：无法读取：{err}", "{file}: cannot read: {err}"),
    "cli_rubric": ("评分表 {file} 有误：{problem}", "rubric {file}: {problem}"),
    "cli_empty": ("{file}：文件没有数据", "{file}: the file has no rows"),
    "cli_columns": (
        "{file}：缺少列 {columns}（需要 application, reviewer, criterion, score）",
        "{file}: missing columns {columns} (need application, reviewer, criterion, score)",
    ),
    "cli_blank": (
        "第 {line} 行：application、reviewer、criterion 不能为空",
        "line {line}: application, reviewer and criterion must not be blank",
    ),
    "cli_unknown": (
        "第 {line} 行：「{key}」既不是评审指标也不是否决项",
        'line {line}: "{key}" is neither a criterion nor a veto item',
    ),
    "cli_number": (
        "第 {line} 行：得分「{value}」不是数字",
        'line {line}: score "{value}" is not a number',
    ),
    "cli_range": (
        "第 {line} 行：{key} 的得分 {value} 超出 {min}–{max}",
        "line {line}: score {value} for {key} is outside {min}–{max}",
    ),
    "cli_step": (
        "第 {line} 行：{key} 的得分 {value} 须以 {step} 为步长（自 {min} 起）",
        "line {line}: score {value} for {key} must go in steps of {step} from {min}",
    ),
    "cli_veto_value": (
        "第 {line} 行：否决项 {key} 只能填 1（否决）、0 或留空，而不是「{value}」",
        'line {line}: veto item {key} takes 1 (raised), 0 or blank, not "{value}"',
    ),
    "cli_duplicate": (
        "第 {line} 行：{application} / {reviewer} / {key} 重复出现",
        "line {line}: {application} / {reviewer} / {key} appears twice",
    ),
    "cli_required_blank": (
        "警告：第 {line} 行：必评项 {key} 留空，按不适用处理",
        "warning: line {line}: required criterion {key} is blank; treated as not applicable",
    ),
    "cli_read": (
        "已读取 {rows} 行：{applications} 个申报，{reviewers} 位专家",
        "read {rows} rows: {applications} applications, {reviewers} reviewers",
    ),
    "cli_wrote": ("已写入 {path}", "wrote {path}"),
    "cli_out_ext": (
        "--out 只能是 .csv 或 .xlsx 文件：{path}",
        "--out must be a .csv or .xlsx file: {path}",
    ),
}
LANG_NAMES = {"zh": ("中文", "Chinese"), "en": ("英文", "English")}


def say(lang: str, code: str, **kw: Any) -> str:
    """Render one catalogue message in ``lang`` ("zh" default, "en")."""
    zh, en = MESSAGES[code]
    return (en if lang == "en" else zh).format(**kw)


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
