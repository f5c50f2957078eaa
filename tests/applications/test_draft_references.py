"""What a draft names (station, park, co-building government) is checked when it is
chosen or changed; a save that keeps them does not read them again."""

from __future__ import annotations

import pytest

from app.applications import operations as apps
from app.core.errors import ValidationFailed
from tests import factories
from tests.conftest import statements


@pytest.fixture
def draft(session):
    call = factories.call("open")
    applicant = factories.user("applicant")
    app = apps.create_application(call, actor=applicant)
    station = factories.station_for(applicant.org)
    apps.save_draft(app, factories.application_data(station), actor=applicant, expected_version=1)
    return app, applicant, station


def _save(app, applicant, station, **changes):
    data = factories.application_data(station, **changes)
    return apps.save_draft(app, data, actor=applicant, expected_version=app.version)


def _refused(app, applicant, station, **changes) -> str:
    version, title = app.version, app.title
    with pytest.raises(ValidationFailed) as exc:
        _save(app, applicant, station, title="不应保存的标题", **changes)
    assert (app.version, app.title) == (version, title)  # nothing written
    return exc.value.message


def test_a_park_that_does_not_exist_is_refused(draft):
    assert _refused(*draft, park_id=987_654) == "所选园区不存在。"


def test_a_station_that_does_not_exist_is_refused(draft):
    assert _refused(*draft, station_id=987_654) == "所选服务站不存在。"


def test_another_societys_station_is_refused(draft):
    other = factories.station_for(factories.org("society"))
    assert _refused(*draft, station_id=other.id) == "只能选择贵学会牵头或参与共建的服务站。"


def test_a_society_as_co_building_government_is_refused(draft):
    society = factories.org("society")
    assert _refused(*draft, co_government_id=society.id) == "共建单位必须是市县政府或科协。"


def test_a_changed_valid_choice_is_saved(draft):
    app, applicant, station = draft
    second = factories.station_for(applicant.org)
    _save(app, applicant, station, station_id=second.id, park_id=second.park_id)
    assert (app.station_id, app.park_id) == (second.id, second.park_id)


def test_a_save_keeping_the_choices_does_not_read_them_again(draft, session):
    app, applicant, station = draft
    data = factories.application_data(station, summary="只改了摘要")
    session.expire_all()  # a check of the station, park or government would read its row
    with statements(session.get_bind()) as seen:
        apps.save_draft(app, data, actor=applicant, expected_version=app.version)
    assert app.summary == "只改了摘要"
    read = [s for s in seen if s.lstrip().startswith("SELECT")]
    for table in ("FROM station", "FROM high_tech_park", "FROM organisation"):
        assert not [s for s in read if table in s], (table, read)
