"""Property: over random pools, a draw through ``run_draw`` never seats an expert
from the applicant's or the co-builder's organisation, nor two from one organisation,
and an infeasible draw writes nothing."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.extensions import db
from app.reviews import operations as ops
from app.reviews.models import Expert, ReviewDraw
from tests import factories


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    placements=st.lists(st.integers(min_value=0, max_value=5), min_size=3, max_size=9),
    seed=st.integers(min_value=0, max_value=2**40),
)
def test_draw_never_violates_conflicts(session, placements, seed):
    nested = db.session.begin_nested()
    try:
        officer = factories.user("officer")
        the_call = factories.call(officer=officer, reviews_per_application=2)
        apps = [factories.accepted(the_call, officer=officer) for _ in range(2)]
        others = [factories.org("expert_org") for _ in range(2)]
        # 0,1: the applicants' societies; 2,3: their co-builders; 4,5: neutral organisations.
        orgs = [
            apps[0].society,
            apps[1].society,
            db.session.get(type(apps[0].society), apps[0].co_government_id),
            db.session.get(type(apps[0].society), apps[1].co_government_id),
            *others,
        ]
        for place in placements:
            factories.expert(officer, organisation=orgs[place])
        try:
            draw = ops.run_draw(the_call, actor=officer, seed=seed)
        except ops.DrawInfeasible as err:
            assert err.details
            assert db.session.scalar(select(func.count(ReviewDraw.id))) == 0
            return
        for app in apps:
            drawn = [db.session.get(Expert, x) for x in draw.assignments()[app.id]]
            banned = {app.society_id, app.co_government_id}
            # An expert from either applicant society also has an own competing application.
            banned |= {a.society_id for a in apps}
            assert not {e.org_id for e in drawn} & banned
            assert len({e.org_id for e in drawn}) == len(drawn) == 2
            for x in draw.reserves(app.id):
                assert db.session.get(Expert, x).org_id not in banned
    finally:
        nested.rollback()
        db.session.expunge_all()
