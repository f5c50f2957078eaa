"""Refused row actions on the user pages come back with the message beside the field
and what was chosen kept (issue 11: they were a banner after a redirect)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEvent
from tests import factories
from tests.conftest import login, post


def _err(page: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', page)
    assert match, element_id
    return match.group(1)


def test_erase_without_a_reason_keeps_the_row_and_shows_the_message_beside_it(client, session):
    admin = factories.user("admin")
    person = factories.user("applicant", name="李四")
    session.commit()
    login(client, admin)
    response = post(client, f"/admin/users/{person.id}/erase", {"reason": "   "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _err(page, f"erase-reason-{person.id}-err") == "请填写理由。"
    assert f'aria-describedby="erase-reason-{person.id}-err"' in page and "is-invalid" in page
    assert 'value="   "' in page and "李四" in page
    assert '<div class="alert' not in page  # beside the field, not a banner
    session.expire_all()
    assert session.get(User, person.id).erased_at is None
    assert not session.scalars(select(AuditEvent).where(AuditEvent.action == "person.erase")).all()


def test_disable_with_a_too_long_reason_is_refused_beside_the_button(client, session):
    admin = factories.user("admin")
    person = factories.user("applicant")
    session.commit()
    login(client, admin)
    response = post(
        client, f"/admin/users/{person.id}/enabled", {"enabled": "0", "reason": "长" * 501}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _err(page, f"enabled-{person.id}-err")
    session.expire_all()
    assert session.get(User, person.id).is_enabled
    response = post(client, f"/admin/users/{person.id}/enabled", {"enabled": "0"})
    assert response.status_code == 302
    session.expire_all()
    assert not session.get(User, person.id).is_enabled


def test_roles_refused_beside_the_select_with_the_choice_kept(client, session):
    security = factories.user("security_admin")
    target = factories.user("officer")
    session.commit()
    login(client, security)
    response = post(client, f"/security/users/{target.id}/roles", {})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _err(page, f"roles-{target.id}-err") == "请至少选择一个角色。"
    response = post(
        client, f"/security/users/{target.id}/roles", {"roles": ["admin", "audit_admin"]}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert _err(page, f"roles-{target.id}-err")
    row = page[page.index(f'id="roles-{target.id}"') :]
    row = row[: row.index("</select>")]
    assert re.search(r'value="admin"\s+selected', row) and re.search(
        r'value="audit_admin"\s+selected', row
    )
    assert not re.search(r'value="officer"\s+selected', row)
    session.expire_all()
    assert session.get(User, target.id).role_names == {"officer"}
