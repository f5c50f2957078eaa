"""Stage figures against data made in the test (deltas over whatever the database holds)."""

from __future__ import annotations

from app.stations import needs, reporting
from app.stations import operations as ops
from app.stations.figures import stage_figures
from tests import factories
from tests.stations.test_needs import NEED, _enterprise_in, _funded
from tests.stations.test_reporting import COUNTS, FULL


def _city(figures, code):
    return next(c for c in figures["by_city"] if c["code"] == code)


def test_stage_figures_are_the_true_figures(session):
    before = stage_figures()
    assert before["city_share_with_base"]["cities"] == 11
    assert before["pilot_regions"]["min"] == 3 and before["parks_supported"]["max"] == 16

    # Pilot: a county of Jinhua selected through a pilot call.
    county = factories.org("local_government", city_code="330784")
    park = ops.create_park("永康图表园区", "330700", actor=None)
    planned = ops.create_station(
        "永康图表服务站（筹）", park_id=park.id, government_id=county.id,
        society_id=factories.org("society").id, actor=None,
    )  # fmt: skip
    factories.confirmed_awards(
        [(factories.user("applicant", organisation=county), planned)], kind="pilot"
    )
    ops.sync_pilot_regions()
    # Stations: a base in Hangzhou and in Jinhua, an operating one in Ningbo, a planned
    # one and a closed one (neither supports its park).
    base_hz = factories.station_in("base", city_code="330100")
    base_jh = factories.station_in("base", city_code="330700")
    nb = factories.station_in("operating", city_code="330200")
    factories.station_in("planned", city_code="330300")
    factories.station_in("closed", city_code="330400")
    partner = factories.org("society")
    ops.add_partner(nb, partner.id, actor=nb.test_officer)
    idle = factories.org("society")  # registered, takes no part
    # Needs in Ningbo: one posted, one matched and solved.
    requester = _enterprise_in(nb.park)
    needs.post_need(nb, NEED, actor=requester)
    solved = needs.post_need(nb, NEED, actor=requester)
    officer = factories.user("officer")
    needs.screen_need(solved, True, actor=officer)
    needs.match_need(solved, _funded(nb), actor=officer)
    needs.advance_need(solved, "start", actor=officer)
    needs.advance_need(solved, "solve", actor=officer)
    # Evaluations: Hangzhou poor, Jinhua excellent.
    for station, scores in ((base_hz, {k: 0 for k in FULL}), (base_jh, FULL)):
        lead = factories.user("applicant", organisation=station.society)
        reporting.submit_report(station, 2025, COUNTS, actor=lead)
        reporting.evaluate_station(
            station, 2025, scores, actor=factories.station_evaluator(station)
        )

    after = stage_figures()
    assert after["pilot_regions"]["value"] - before["pilot_regions"]["value"] == 1
    bases = after["city_share_with_base"]
    assert bases["cities_with_base"] - before["city_share_with_base"]["cities_with_base"] == 2
    assert bases["value"] == round(bases["cities_with_base"] / 11, 4)
    # Stations: the pilot's planned station, base_hz, base_jh, nb, planned, closed → 6 lead
    # societies; nb's partner; the pilot application is a government's, not a society's.
    soc, soc0 = after["society_share_participating"], before["society_share_participating"]
    assert soc["participating"] - soc0["participating"] == 7
    # Societies made: 6 leads + partner + idle + the funded project's applicant (nb's lead).
    assert soc["registered"] - soc0["registered"] == 8
    assert idle.id  # counted as registered only
    assert soc["value"] == round(soc["participating"] / soc["registered"], 4)
    assert after["parks_supported"]["value"] - before["parks_supported"]["value"] == 3
    delta = {k: after["needs"][k] - before["needs"][k] for k in ("posted", "matched", "solved")}
    assert delta == {"posted": 2, "matched": 1, "solved": 1}
    assert after["grades"]["poor"] - before["grades"]["poor"] == 1
    assert after["grades"]["excellent"] - before["grades"]["excellent"] == 1
    nb_city, nb_city0 = _city(after, "330200"), _city(before, "330200")
    assert nb_city["needs_posted"] - nb_city0["needs_posted"] == 2
    assert nb_city["needs_solved"] - nb_city0["needs_solved"] == 1
    assert _city(after, "330700")["pilot_regions"] - _city(before, "330700")["pilot_regions"] == 1
    assert _city(after, "330100")["bases"] - _city(before, "330100")["bases"] == 1
    years = {row["year"]: row for row in after["by_year"]}
    assert years[2025]["grade_poor"] >= 1 and years[2025]["grade_excellent"] >= 1
