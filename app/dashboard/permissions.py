"""Who reads the programme dashboard."""

from __future__ import annotations

from app.core.permissions import register_permissions

register_permissions({"dashboard.read": {"officer", "approver", "finance", "auditor"}})
