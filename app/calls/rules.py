"""Validation of a call's rules: plain data in, column values out, every problem listed."""

from __future__ import annotations

import re
import string
from datetime import datetime
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from app.calls.models import DEFAULT_CATEGORIES, INDIRECT
from app.calls.states import KINDS
from app.core.errors import ValidationFailed
from app.reviews.rubric import RubricError, load_rubric

RULE_FIELDS = (
    "kind",
    "title",
    "title_en",
    "guide",
    "guide_en",
    "categories",
    "opens_at",
    "closes_at",
    "total_budget_fen",
    "project_cap_fen",
    "per_society_limit",
    "budget_lines",
    "indirect_cap_pct",
    "matching_required",
    "matching_ratio_pct",
    "required_attachments",
    "rubric_file",
    "reviews_per_application",
    "notice_days",
    "notice_working_days",
    "number_pattern",
    "max_returns",
    "hide_applicant_identity",
    "balance_retention_allowed",
)
# Optional yes/no rules and their value when a caller leaves them out.
OPTIONAL_FLAGS = {
    "hide_applicant_identity": False,  # identity shown to reviewers
    "notice_working_days": False,  # notice period in calendar days
    "balance_retention_allowed": False,  # unspent balances are returned
}
# What an amendment of a published call may change (money reserved, the rubric
# pinned, the kind and the numbering are fixed once published).
AMENDABLE = tuple(
    f for f in RULE_FIELDS if f not in ("kind", "total_budget_fen", "rubric_file", "number_pattern")
)
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def rubrics_dir() -> Path:
    """The folder of rubric files."""
    return Path(current_app.root_path).parent / "rubrics"


def rubric_choices() -> list[tuple[str, str]]:
    """Review rubrics available to a call: (file name, title)."""
    choices = []
    for path in sorted(rubrics_dir().glob("*.toml")):
        try:
            rubric = load_rubric(path.read_bytes())
        except RubricError:
            continue
        if rubric.kind == "review":
            choices.append((path.name, f"{rubric.title.zh}（v{rubric.version}）"))
    return choices


def format_number(pattern: str, *, year: int, seq: int, call_id: int) -> str:
    """A project number from the call's pattern, e.g. ``{year}-ZL-{seq:03d}``."""
    return pattern.format(year=year, seq=seq, call=call_id)


def _check_pattern(pattern: str) -> str | None:
    fields = {f for _t, f, _s, _c in string.Formatter().parse(pattern) if f is not None}
    if "seq" not in fields:
        return _("项目编号规则必须包含 {seq}。")
    if fields - {"year", "seq", "call"}:
        return _("项目编号规则只能使用 {year}、{seq}、{call}。")
    try:
        sample = format_number(pattern, year=2026, seq=1, call_id=1)
    except (ValueError, IndexError, KeyError):
        return _("项目编号规则格式不正确。")
    if not sample or len(sample) > 40:
        return _("项目编号过长（最多40个字符）。")
    return None


def _int(data, name, problems, label, minimum=0, maximum=None):
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        problems.append(_("%(label)s必须是整数。", label=label))
        return None
    if value < minimum or (maximum is not None and value > maximum):
        problems.append(_("%(label)s超出允许范围。", label=label))
    return value


def validate_rules(data: dict, *, fields=RULE_FIELDS) -> dict:
    """Check the rule ``fields`` present in ``data``; returns the cleaned values.

    Raises ``ValidationFailed`` whose ``details`` list every problem in Chinese.
    Times must be timezone-aware; money is integer fen.
    """
    problems: list[str] = []
    out: dict = {}
    if fields is RULE_FIELDS:  # a new call; an amendment changes only what it names
        data = {**OPTIONAL_FLAGS, **data}
    present = [f for f in fields if f in data]
    for name in present:
        value = data[name]
        if name in ("title", "guide"):
            value = (value or "").strip()
            if not value:
                problems.append(_("请填写标题。") if name == "title" else _("请填写申报指南。"))
        elif name in ("title_en", "guide_en"):
            value = (value or "").strip() or None
        elif name == "kind":
            if value not in KINDS:
                problems.append(_("批次类型无效。"))
        elif name == "categories":
            value = [c for c in DEFAULT_CATEGORIES if c in (value or [])]
            if not value:
                problems.append(_("请至少选择一个任务类别。"))
        elif name in ("opens_at", "closes_at"):
            if not isinstance(value, datetime) or value.tzinfo is None:
                problems.append(_("请填写申报开始和截止时间。"))
                value = None
        elif name in ("total_budget_fen", "project_cap_fen"):
            value = _int(data, name, problems, _("金额"), minimum=1)
        elif name == "per_society_limit":
            value = _int(data, name, problems, _("每个学会限报数"), minimum=1, maximum=100)
        elif name == "indirect_cap_pct":
            value = _int(data, name, problems, _("间接费用比例上限"), minimum=0, maximum=100)
        elif name == "matching_ratio_pct":
            value = _int(data, name, problems, _("配套比例"), minimum=0, maximum=1000)
        elif name == "reviews_per_application":
            value = _int(data, name, problems, _("每项评审专家数"), minimum=1, maximum=15)
        elif name == "notice_days":
            value = _int(data, name, problems, _("公示天数"), minimum=1, maximum=30)
        elif name == "max_returns":
            value = _int(data, name, problems, _("退回修改次数上限"), minimum=0, maximum=10)
        elif name == "matching_required" or name in OPTIONAL_FLAGS:
            value = bool(value)
        elif name == "budget_lines":
            value = _budget_lines(value or [], problems)
        elif name == "required_attachments":
            value = _attachments(value or [], problems)
        elif name == "rubric_file":
            if value not in {f for f, _t in rubric_choices()}:
                problems.append(_("请选择有效的评审评分表。"))
        elif name == "number_pattern":
            value = (value or "").strip()
            if problem := _check_pattern(value):
                problems.append(problem)
        out[name] = value
    _cross_checks(out, data, problems)
    if problems:
        raise ValidationFailed(problems[0], details=problems[1:])
    return out


def _cross_checks(out: dict, data: dict, problems: list[str]) -> None:
    merged = {**data, **out}
    opens, closes = merged.get("opens_at"), merged.get("closes_at")
    if isinstance(opens, datetime) and isinstance(closes, datetime) and closes <= opens:
        problems.append(_("截止时间必须晚于开始时间。"))
    total, cap = merged.get("total_budget_fen"), merged.get("project_cap_fen")
    if isinstance(total, int) and isinstance(cap, int) and cap > total:
        problems.append(_("单项资助上限不能超过批次总预算。"))
    if "matching_required" in out or "matching_ratio_pct" in out:
        required, ratio = merged.get("matching_required"), merged.get("matching_ratio_pct")
        if required and not ratio:
            problems.append(_("要求地方配套时请填写配套比例。"))
        if not required and ratio:
            out["matching_ratio_pct"] = 0


def _budget_lines(lines, problems) -> list[dict]:
    seen, out = set(), []
    for line in lines:
        key = (line.get("key") or "").strip()
        if not _KEY.match(key) or key in seen:
            problems.append(_("预算科目代码无效或重复：%(key)s", key=key or "—"))
            continue
        seen.add(key)
        cap = line.get("cap_fen")
        if cap is not None and (not isinstance(cap, int) or cap <= 0):
            problems.append(_("预算科目“%(name)s”的上限无效。", name=line.get("zh") or key))
            cap = None
        zh = (line.get("zh") or "").strip()
        if not zh:
            problems.append(_("预算科目“%(key)s”缺少中文名称。", key=key))
        out.append({"key": key, "zh": zh, "en": (line.get("en") or "").strip(), "cap_fen": cap})
    if not out:
        problems.append(_("请至少设置一个预算科目。"))
    elif all(line["key"] == INDIRECT for line in out):
        problems.append(_("除间接费用外至少需要一个直接费用科目。"))
    return out


def _attachments(kinds, problems) -> list[dict]:
    seen, out = set(), []
    for kind in kinds:
        key = (kind.get("key") or "").strip()
        zh = (kind.get("zh") or "").strip()
        if not _KEY.match(key) or key in seen or not zh:
            problems.append(_("附件类型无效或重复：%(key)s", key=key or "—"))
            continue
        seen.add(key)
        out.append({"key": key, "zh": zh, "en": (kind.get("en") or "").strip()})
    return out
