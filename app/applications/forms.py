"""The application form: typed text → the plain data ``save_draft`` takes.

The form has repeating rows (team, targets, milestones) that the browser can
add to, so it is read from the posted fields by name rather than declared
with WTForms; CSRF is still checked globally. Rows left entirely blank are dropped.
"""

from __future__ import annotations

import re
from datetime import date

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.core.errors import ValidationFailed
from app.core.money import format_yuan, parse_fen

TEAM_FIELDS = ("name", "title", "organisation", "role")
TARGET_FIELDS = ("group", "indicator", "unit", "value")
MILESTONE_FIELDS = ("title", "due", "deliverables", "pct")
EXCLUDED_FIELDS = ("name", "organisation", "reason")
SOURCES = (("fund", "fund_fen"), ("matching", "matching_fen"), ("self", "self_raised_fen"))


def _indexed(form, prefix: str, fields) -> list[dict]:
    pattern = re.compile(rf"^{prefix}-(\d+)-({'|'.join(fields)})$")
    rows: dict[int, dict] = {}
    for key in form:
        match = pattern.match(key)
        if match:
            row = rows.setdefault(int(match.group(1)), dict.fromkeys(fields, ""))
            row[match.group(2)] = form.get(key, "").strip()
    return [rows[i] for i in sorted(rows)]


def _int_id(value):
    return int(value) if value and str(value).isdigit() else None


def parse_application(form) -> tuple[dict, dict[str, str]]:
    """Read the posted form; returns ``(data, errors)`` with errors keyed by field name."""
    errors: dict[str, str] = {}
    data = {
        "title": form.get("title", ""),
        "category": form.get("category") or None,
        "summary": form.get("summary", ""),
        "objectives": form.get("objectives", ""),
        "station_id": _int_id(form.get("station_id")),
        "park_id": _int_id(form.get("park_id")),
        "co_government_id": _int_id(form.get("co_government_id")),
        "chief_expert": {
            "name": form.get("chief_name", "").strip(),
            "title": form.get("chief_title", "").strip(),
            "organisation": form.get("chief_org", "").strip(),
        },
        "team": [r for r in _indexed(form, "team", TEAM_FIELDS) if any(r.values())],
        "excluded_experts": [
            r for r in _indexed(form, "excluded", EXCLUDED_FIELDS) if any(r.values())
        ],
        "pledge_integrity": form.get("pledge_integrity") == "1",
        "pledge_no_duplicate": form.get("pledge_no_duplicate") == "1",
        "budget": [],
        "targets": [],
        "milestones": [],
    }
    keys = sorted({m.group(1) for k in form if (m := re.match(r"^budget-([a-z0-9_]+)-fund$", k))})
    for key in keys:
        row = {"line_key": key, "note": form.get(f"budget-{key}-note", "")}
        for source, column in SOURCES:
            name = f"budget-{key}-{source}"
            raw = (form.get(name) or "").strip()
            try:
                row[column] = parse_fen(raw) if raw else 0
            except ValidationFailed as err:
                errors[name] = err.message
                row[column] = 0
        data["budget"].append(row)
    for i, row in enumerate(_indexed(form, "target", TARGET_FIELDS)):
        if not (row.get("indicator") or row.get("unit") or row.get("value")):
            continue
        data["targets"].append(
            {
                "group": row.get("group") or "output",
                "indicator": row.get("indicator", ""),
                "unit": row.get("unit", ""),
                "target_value": row.get("value", ""),
            }
        )
        if row.get("value") and not re.match(r"^\s*[0-9０-９.．]+\s*$", row["value"]):
            errors[f"target-{i}-value"] = _("目标值必须是数字。")
    seq = 0
    for i, row in enumerate(_indexed(form, "milestone", MILESTONE_FIELDS)):
        if i > 0 and not any(row.values()):
            continue
        due = None
        if row.get("due"):
            try:
                due = date.fromisoformat(row["due"])
            except ValueError:
                errors[f"milestone-{i}-due"] = _("日期格式应为 YYYY-MM-DD。")
        pct_raw = row.get("pct") or "0"
        if not pct_raw.isdigit() or int(pct_raw) > 100:
            errors[f"milestone-{i}-pct"] = _("拨付比例须为0到100的整数。")
            pct_raw = "0"
        data["milestones"].append(
            {
                "seq": seq,
                "title": row.get("title", ""),
                "due_on": due,
                "deliverables": row.get("deliverables", ""),
                "tranche_pct": int(pct_raw),
            }
        )
        seq += 1
    return data, errors


def form_values(app) -> dict:
    """The stored application as the form's field values (amounts in 元)."""
    values = {
        "title": app.title,
        "category": app.category or "",
        "summary": app.summary,
        "objectives": app.objectives,
        "station_id": str(app.station_id or ""),
        "park_id": str(app.park_id or ""),
        "co_government_id": str(app.co_government_id or ""),
        "chief_name": (app.chief_expert or {}).get("name", ""),
        "chief_title": (app.chief_expert or {}).get("title", ""),
        "chief_org": (app.chief_expert or {}).get("organisation", ""),
        "pledge_integrity": "1" if app.pledge_integrity else "",
        "pledge_no_duplicate": "1" if app.pledge_no_duplicate else "",
    }
    for i, member in enumerate(app.team or []):
        for f in TEAM_FIELDS:
            values[f"team-{i}-{f}"] = member.get(f, "")
    for i, e in enumerate(app.excluded_experts or []):
        for f in EXCLUDED_FIELDS:
            values[f"excluded-{i}-{f}"] = e.get(f, "")
    for b in app.budget:
        for source, column in SOURCES:
            amount = getattr(b, column)
            values[f"budget-{b.line_key}-{source}"] = (
                format_yuan(amount).replace(",", "") if amount else ""
            )
        values[f"budget-{b.line_key}-note"] = b.note or ""
    for i, t in enumerate(app.targets):
        values.update(
            {
                f"target-{i}-group": t.target_group,
                f"target-{i}-indicator": t.indicator,
                f"target-{i}-unit": t.unit,
                f"target-{i}-value": t.target_value,
            }
        )
    for i, m in enumerate(app.milestones):
        values.update(
            {
                f"milestone-{i}-title": m.title,
                f"milestone-{i}-due": m.due_on.isoformat() if m.due_on else "",
                f"milestone-{i}-deliverables": m.deliverables,
                f"milestone-{i}-pct": str(m.tranche_pct),
            }
        )
    return values


class AttachmentForm(FlaskForm):
    kind = SelectField(_l("附件类型"))
    file = FileField(_l("文件"))


class EndorseForm(FlaskForm):
    sealed_scan = FileField(_l("盖章后的申报书扫描件（PDF或图片）"))


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])


class MatchingForm(FlaskForm):
    amount = StringField(_l("承诺配套资金（元）"))
