"""Pages of the stations module, the dashboard and the API."""

from __future__ import annotations

from sqlalchemy import func, select

from app.accounts import operations as accounts
from app.extensions import db
from app.stations import needs
from app.stations.models import EnterprisePark, HighTechPark, Need
from tests import factories
from tests.conftest import login, post
from tests.stations.test_needs import NEED, _enterprise_in, _funded


def outsider_park(user):
    return db.session.get(HighTechPark, db.session.get(EnterprisePark, user.org_id).park_id)


def test_station_pages_and_refusals_shown(client, session):
    station = factories.station_in("operating")
    officer = factories.user("officer")
    login(client, officer)
    page = client.get("/stations").get_data(as_text=True)
    assert station.name in page
    page = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert "示范基地认定条件" in page and "认定为示范基地" in page
    approver = factories.user("approver")
    post(client, "/logout")
    login(client, approver)
    response = post(client, f"/stations/{station.id}/do/confirm_base")
    assert response.status_code == 302
    page = client.get(f"/stations/{station.id}").get_data(as_text=True)
    assert "尚无佐证材料" in page and station.state == "operating"


def test_needs_search_page_and_posting_refused_for_outsider(client, session):
    station = factories.station_in("operating")
    requester = _enterprise_in(station.park)
    needs.post_need(station, NEED, actor=requester)
    outsider = _enterprise_in(factories.station_in("operating").park)
    login(client, outsider)
    # A station of another park: the outsider cannot even see it, let alone post to it.
    assert client.get(f"/stations/{station.id}/needs/new").status_code == 404
    before = db.session.scalar(select(func.count()).select_from(Need))
    response = post(client, f"/stations/{station.id}/needs/new", NEED)
    assert response.status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Need)) == before
    # A station of its park that does not take needs yet: refused with the reason.
    planned = factories.station_in("planned", park=outsider_park(outsider))
    response = client.get(f"/stations/{planned.id}/needs/new")
    assert response.status_code == 303
    post(client, "/logout")
    login(client, requester)
    page = client.get("/needs?industry=五金").get_data(as_text=True)
    assert NEED["title"] in page
    response = post(
        client,
        f"/stations/{station.id}/needs/new",
        {**NEED, "kind": "talent", "title": "引进电机专家"},
    )
    assert response.status_code == 302
    assert "引进电机专家" in client.get("/needs").get_data(as_text=True)


def test_dashboard_renders_figures_and_chart_data(client, session):
    login(client, factories.user("officer"))
    page = client.get("/stations/dashboard").get_data(as_text=True)
    assert 'id="stations-chart-data"' in page and "js/stations.js" in page
    assert "<script>" not in page


def test_api_lists_stations_and_needs_with_project(client, session):
    station = factories.station_in("operating")
    project_id = _funded(station)
    need = needs.post_need(station, NEED, actor=_enterprise_in(station.park))
    officer = factories.user("officer")
    needs.screen_need(need, True, actor=officer)
    needs.match_need(need, project_id, actor=officer)
    auditor = factories.user("auditor")
    _row, token = accounts.create_api_token(auditor, actor=None)
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get("/api/v1/stations?limit=1000", headers=headers).get_json()
    assert any(s["id"] == station.id and s["state"] == "operating" for s in body["items"])
    body = client.get("/api/v1/needs", headers=headers).get_json()
    item = next(n for n in body["items"] if n["id"] == need.id)
    assert item["project_id"] == project_id and item["state"] == "matched"
    assert "contact_phone" not in item
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/stations" in spec["paths"] and "/api/v1/needs" in spec["paths"]
