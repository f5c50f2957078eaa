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
