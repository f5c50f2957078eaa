"""Reading the plain forms of the project pages into the operations' plain data."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.core.errors import ValidationFailed


def parse_date(text, field: str, *, required: bool = True) -> date | None:
    """``YYYY-MM-DD`` from a form field, or a refusal naming the field."""
    text = (text or "").strip()
    if not text:
        if required:
            raise ValidationFailed(_("请填写日期。"), field=field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(_("日期格式不正确：%(v)s", v=text), field=field) from None


def expenditure_data(form) -> dict:
    """An expenditure row from the report page's form."""
    return {
        "line_key": form.get("line_key"),
        "source": form.get("source") or "fund",
        "spent_on": parse_date(form.get("spent_on"), "spent_on"),
        "amount": form.get("amount"),
        "voucher_no": form.get("voucher_no"),
        "payee": form.get("payee"),
    }


def change_data(form) -> dict:
    """The structured part of a change request from its form."""
    targets = []
    for line in (form.get("targets") or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3 and parts[0]:
            targets.append(
                {
                    "group": parts[3] if len(parts) > 3 else "output",
                    "indicator": parts[0],
                    "target_value": parts[1],
                    "unit": parts[2],
                }
            )
    return {
        "value": form.get("value"),
        "months": form.get("months"),
        "from_line": form.get("from_line"),
        "to_line": form.get("to_line"),
        "amount": form.get("amount"),
        "targets": targets,
    }
