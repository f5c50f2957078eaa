"""Over-long text and NUL bytes are refused as 4xx on both databases, never stored or a 500."""

import pytest
from sqlalchemy import func, select

from app.accounts.models import Organisation
from app.audit.models import AuditEvent
from app.core.errors import ValidationFailed
from tests import factories
from tests.conftest import post


def test_over_long_text_is_refused_before_the_database(session):
    org = factories.org("society")
    org.name_en = "x" * 201
    with pytest.raises(ValidationFailed) as err:
        session.flush()
    assert "最多 200 个字符" in err.value.message and err.value.field == "name_en"
    org.name_en = "short"
    session.flush()  # the session is still usable
    assert session.get(Organisation, org.id).name_en == "short"


def test_nul_byte_in_a_form_is_a_400_and_writes_nothing(client, session):
    before = session.scalar(select(func.count(AuditEvent.seq)))
    response = post(client, "/login", {"email": "a\x00b@test.cn", "password": "x"})
    assert response.status_code == 400
    assert "无效字符" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(AuditEvent.seq))) == before
