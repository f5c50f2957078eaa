"""Showing refusals beside the fields they concern, keeping what was typed."""

from __future__ import annotations

import wtforms.validators
from flask import flash

from app.core.errors import DomainError


def show_error(form, err: DomainError) -> int:
    """Put a domain error on its field (or flash it); returns the HTTP status to answer."""
    field = getattr(form, err.field, None) if err.field else None
    if field is not None:
        field.errors = [*list(field.errors or []), err.message]
    else:
        flash(err.message, "danger")
    for detail in err.details:
        flash(detail, "danger")
    return err.status if err.status >= 400 else 400


def page_args(request, default_size: int = 50) -> tuple[int, int]:
    """``page`` and ``size`` from the query string, bounded."""
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    try:
        size = min(200, max(1, int(request.args.get("size", default_size))))
    except ValueError:
        size = default_size
    return page, size


class NumberRange(wtforms.validators.NumberRange):
    """WTForms' NumberRange that refuses, rather than crashes on, an integer too large
    for a float (it calls ``math.isnan`` on the value: ``OverflowError`` past ~1e308)."""

    def __call__(self, form, field):
        if isinstance(field.data, int) and abs(field.data) > 2**53:
            field.data = None
        super().__call__(form, field)
