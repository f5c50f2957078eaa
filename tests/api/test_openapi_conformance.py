"""The auditors' API answers exactly as its OpenAPI spec says (schemathesis)."""

import schemathesis
from hypothesis import HealthCheck, given, settings

from app.accounts.operations import create_api_token
from tests import factories


def test_every_operation_matches_its_spec(app, session):
    auditor = factories.user("auditor")
    _, token = create_api_token(auditor, actor=None)
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers)

        check()
