"""Erasing a person's data keeps every audit hash valid."""

from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.audit.verify import verify_chain
from tests import factories


def test_erase_keeps_chain_and_removes_personal_data(app, session):
    person = factories.user("applicant", name="张三")
    person.phone = "13800000000"
    session.flush()
    result = app.test_cli_runner().invoke(
        args=["people", "erase", str(person.id), "--reason", "本人申请"]
    )
    assert result.exit_code == 0, result.output
    erased = session.get(User, person.id)
    assert erased.name != "张三" and erased.phone is None and erased.password_hash is None
    assert "张三" not in str(session.scalars(select(AuditEvent.after)).all())
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "person.erase"))
    assert event.reason == "本人申请" and event.entity_id == str(person.id)
    fault, _, _ = verify_chain()
    assert fault is None


def test_erase_needs_a_reason(app, session):
    person = factories.user("applicant")
    result = app.test_cli_runner().invoke(args=["people", "erase", str(person.id), "--reason", " "])
    assert result.exit_code != 0
    assert session.get(User, person.id).erased_at is None


def test_admin_erases_a_person_from_the_users_page(client, session):
    from tests.conftest import login, post

    admin = factories.user("admin")
    person = factories.user("applicant", name="李四")
    login(client, admin)
    refused = post(client, f"/admin/users/{person.id}/erase", {"reason": ""})
    assert refused.status_code == 422 and session.get(User, person.id).erased_at is None
    assert f'id="erase-reason-{person.id}-err"' in refused.get_data(as_text=True)
    done = post(client, f"/admin/users/{person.id}/erase", {"reason": "离职且本人申请"})
    assert done.status_code == 302
    assert session.get(User, person.id).name != "李四"
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "person.erase"))
    assert event.actor_id == admin.id and event.reason == "离职且本人申请"
    assert verify_chain()[0] is None
