"""No N+1 after the award: the pages of projects, agreements, notices, objections,
evaluations, stations, needs and the dashboards run as many SQL queries on ten times
the data.

Each page is requested for a small round (2 funded projects: applications, review,
awards proposed, approved and published, the notice over, confirmed, agreements sent
and signed; objections, a reconsideration, an engagement, stations with needs, a pilot
region) and for a round ten times bigger built in the same rolled-back session; the
query counts must be equal. The big round is bigger than a page of the paged lists
(20 projects or stations a page), so paging is exercised. Counts only, never timings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.accounts.models import Organisation, User
from app.awards import operations as awards
from app.awards.models import TaskAgreement
from app.core import clock
from app.core.tick import run_tick
from app.extensions import db
from app.projects.models import Project
from app.stations import needs as need_ops
from app.stations import operations as stations
from app.stations.models import PilotRegion
from tests import factories as f
from tests.conftest import login, statements

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
NEED = {
    "kind": "key_tech",
    "industry": "五金制造",
    "title": "电动工具电机温升控制",
    "description": "园区企业电动工具电机温升过高，需要专家团队攻关。",
    "urgency": "high",
    "contact_name": "徐经理",
    "contact_phone": "13800001111",
}


def _round(n: int, officer) -> SimpleNamespace:
    """``n`` funded projects of one call (agreements signed, all but the last running),
    one not-funded application with a reconsideration, an anonymous objection per award,
    an engagement evaluating the projects, ``n`` established stations with a need each
    (besides the applications' stations) and ``n // 2`` pilot regions."""
    with clock.frozen(START):
        r = f.noticed_call(n_awards=n, n_not_funded=1, amount_fen=1_000_000)
        for award in r.awards:
            awards.file_objection(award, {"grounds": "该项目团队成员虚报业绩。"})
        loser = r.apps[-1]
        awards.file_reconsideration(
            loser, "procedure", "评审程序违规。", actor=db.session.get(User, loser.created_by_id)
        )
    with clock.frozen(START + timedelta(days=6)):
        run_tick()
    admins = []
    for award in r.awards:
        agreement = db.session.scalars(
            select(TaskAgreement).where(TaskAgreement.award_id == award.id)
        ).one()
        admin = f.society_admin_of(award.society)
        admins.append(admin)
        with clock.frozen(START + timedelta(days=7)):
            awards.send_agreement(agreement, actor=officer)
        if award is not r.awards[-1]:  # the last one stays awaiting signature
            with clock.frozen(START + timedelta(days=8)):
                awards.sign_agreement(agreement, actor=admin)
    r.projects = [db.session.get(Project, a.id) for a in r.awards]
    f.engagement([p for p in r.projects if p.state != "awaiting_agreement"], officer=officer)
    for _ in range(n):
        station = f.station_in("established")
        government = db.session.get(Organisation, station.government_id)
        need_ops.post_need(station, NEED, actor=f.user("local_partner", organisation=government))
    pilots = []
    for _ in range(max(1, n // 2)):
        gov = f.org("local_government", city_code="330784")
        park = stations.create_park(f"试点园区{gov.id}", "330700", actor=None)
        station = stations.create_station(
            f"试点服务站{gov.id}",
            park_id=park.id,
            government_id=gov.id,
            society_id=f.org("society").id,
            actor=None,
        )
        pilots.append((f.user("applicant", organisation=gov), station))
    f.confirmed_awards(pilots, kind="pilot", officer=officer)
    stations.sync_pilot_regions()
    r.admin = admins[0]
    r.project = r.projects[0]
    return r


def _pages(r) -> dict[str, tuple[str, str]]:
    """page name → (who, path) for one round."""
    p = r.project.id
    return {
        "projects": ("officer", "/projects/"),
        "projects page 2": ("officer", "/projects/?page=2"),
        "projects (approver)": ("approver", "/projects/"),
        "projects (society)": ("society_admin", "/projects/"),
        "project": ("officer", f"/projects/{p}"),
        "project (society)": ("society_admin", f"/projects/{p}"),
        "dashboard": ("officer", "/dashboard/"),
        "agreements": ("officer", "/awards/agreements"),
        "agreements page 2": ("officer", "/awards/agreements?page=2"),
        "agreements (society)": ("society_admin", "/awards/agreements"),
        "notices": ("officer", "/awards/notices"),
        "objections": ("officer", "/awards/objections"),
        "needs": ("officer", "/needs"),
        "evaluations": ("officer", "/evaluations/"),
        "finance sheets": ("finance", "/projects/finance"),
        "funds": ("finance", "/funds"),
        "notifications": ("society_admin", "/notifications"),
        "stations": ("officer", "/stations"),
        "stations page 2": ("officer", "/stations?page=2"),
        "stations dashboard": ("officer", "/stations/dashboard"),
        "pilot regions": ("officer", "/pilot/regions"),
        "societies": ("officer", "/societies"),
    }


def _count(client, path: str) -> int:
    """Queries of one request, after a warm-up, each with an empty identity map: the
    tests share one session with the requests, and a many-to-one found in its identity
    map costs no query here but one per row in production (a session per request)."""
    db.session.expunge_all()
    client.get(path)  # warm: caches of immutable things (rubrics) are not the point
    db.session.expunge_all()
    with statements() as seen:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return len(seen)


def _measure(app, people: dict, r) -> dict[str, int]:
    pages = _pages(r)
    users = {**people, "society_admin": r.admin}
    clients = {}
    for who, user in users.items():
        clients[who] = app.test_client()
        login(clients[who], user)
    return {name: _count(clients[who], path) for name, (who, path) in pages.items()}


@pytest.fixture
def people(session):
    return {
        "officer": f.user("officer"),
        "finance": f.user("finance"),
        "approver": f.user("approver"),
    }


def test_after_award_query_counts_do_not_grow_with_the_data(app, session, people):
    ids = {who: user.id for who, user in people.items()}
    small = _round(2, people["officer"])
    session.flush()
    before = _measure(app, people, small)
    people = {who: session.get(User, i) for who, i in ids.items()}  # measuring detached them
    big = _round(20, people["officer"])
    session.flush()
    running = session.scalar(
        select(func.count()).where(Project.call_id == big.call.id, Project.state == "in_progress")
    )
    regions = session.scalar(select(func.count(PilotRegion.id)))
    assert (len(small.projects), len(big.projects), running, regions) == (2, 20, 19, 11)
    after = _measure(app, people, big)
    # A second page is empty for the small round: it is compared with the big round's
    # first page instead.
    for name in [k for k in before if k.endswith("page 2")]:
        before[name] = after[name.replace(" page 2", "")]
    grown = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert not grown, f"query counts grew with the data (small, 10x): {grown}"
    client = app.test_client()
    login(client, session.get(User, ids["officer"]))
    for path, link in (
        ("/projects/?page=2", r'href="/projects/\d+"'),
        ("/stations?page=2", r'href="/stations/\d+"'),
        ("/awards/agreements?page=2", r'href="/awards/agreements/\d+"'),
    ):
        page = client.get(path).get_data(as_text=True)
        assert re.search(link, page) and "2 / " in page, path  # the second page lists rows


def test_project_and_station_lists_search_and_keep_the_filters_in_page_links(app, session):
    r = f.signed_project()
    station = f.station_in("established")
    client = app.test_client()
    login(client, r.officer)
    number = r.project.application.project_number
    page = client.get(f"/projects/?q={number}&state=in_progress").get_data(as_text=True)
    assert f'href="/projects/{r.project.id}"' in page and 'value="in_progress" selected' in page
    page = client.get("/projects/?q=没有这个项目").get_data(as_text=True)
    assert f'href="/projects/{r.project.id}"' not in page and "没有符合条件的项目。" in page
    page = client.get(f"/stations?q={station.name}").get_data(as_text=True)
    assert f'href="/stations/{station.id}"' in page and "共 1 条" in page
    page = client.get("/stations?q=没有这个服务站").get_data(as_text=True)
    assert f'href="/stations/{station.id}"' not in page and "没有符合条件的服务站。" in page
    f.station_in("established")  # a second match: two pages of one
    page = client.get("/stations?q=测试学会服务站&state=established&size=1").get_data(as_text=True)
    nxt = re.search(r'href="([^"]*page=2[^"]*)"', page).group(1)
    assert "q=%E6%B5%8B%E8%AF%95" in nxt and "state=established" in nxt and "1 / 2" in page
