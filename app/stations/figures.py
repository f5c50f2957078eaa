"""The programme's stage goals (seed §二): figures measured from the records, beside the
targets of ``data/zhejiang.toml``.

``stage_figures()`` is the one entry point (the stations dashboard uses it; the
programme dashboard can add it). Definitions:

- pilot regions: PilotRegion rows (confirmed awards of pilot calls);
- city share with a base: prefecture cities of the reference list with at least one
  station in state ``base`` (the park's city; county codes count for their city);
- society share: verified societies that take part — a submitted application (any call)
  or leading or partnering a station in any state — over all verified societies;
- parks supported: distinct parks with a station established and not closed
  (established, operating, base, suspended);
- needs: posted = every need; matched = needs linked to a project (matched and after);
  solved = solved or closed;
- grades: the latest evaluation of each station, by grade.
"""

from __future__ import annotations

import tomllib
from collections import Counter, defaultdict
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.accounts.models import Organisation
from app.core import clock
from app.extensions import db
from app.stations.models import (
    HighTechPark,
    Need,
    PilotRegion,
    Station,
    StationEvaluation,
    StationPartner,
)
from app.stations.reporting import latest_evaluations
from app.stations.states import ACTIVE_STATION_STATES, GRADE_LABELS, MATCHED_STATES, SOLVED_STATES


def reference() -> dict:
    """Cities and targets from ``data/zhejiang.toml``."""
    path = Path(current_app.root_path).parent / "data" / "zhejiang.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def city_of(code: str | None) -> str | None:
    """The prefecture city code of a city or county code (330784 → 330700)."""
    return f"{code[:4]}00" if code and len(code) == 6 else None


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _year(value) -> int | None:
    return clock.local(value).year if value is not None else None


def _targets(ref: dict) -> dict:
    return {t["measure"]: t for t in ref.get("targets", [])}


def participating_societies() -> set[int]:
    """Verified societies with a submitted application or a station they lead or partner."""
    from app.applications.models import Application

    verified = select(Organisation.id).where(
        Organisation.kind == "society", Organisation.is_verified.is_(True)
    )
    ids = set(
        db.session.scalars(
            select(Application.society_id).where(
                Application.submitted_at.is_not(None), Application.society_id.in_(verified)
            )
        )
    )
    ids |= set(
        db.session.scalars(select(Station.society_id).where(Station.society_id.in_(verified)))
    )
    ids |= set(
        db.session.scalars(
            select(StationPartner.society_id).where(StationPartner.society_id.in_(verified))
        )
    )
    return ids


def stage_figures() -> dict:
    """Every stage figure with its target, by city and by year (see the module docstring)."""
    ref = reference()
    targets = _targets(ref)
    cities = [c["code"] for c in ref["cities"]]
    stations = db.session.execute(
        select(
            Station.id, Station.state, Station.base_at, HighTechPark.city_code, Station.park_id
        ).join(HighTechPark, HighTechPark.id == Station.park_id)
    ).all()
    regions = db.session.execute(
        select(PilotRegion.selected_at, Organisation.city_code, HighTechPark.city_code)
        .join(Organisation, Organisation.id == PilotRegion.government_id)
        .outerjoin(HighTechPark, HighTechPark.id == PilotRegion.park_id)
    ).all()
    needs = db.session.execute(
        select(Need.state, Need.created_at, Need.solved_at, Need.matched_at, HighTechPark.city_code)
        .join(Station, Station.id == Need.station_id)
        .join(HighTechPark, HighTechPark.id == Station.park_id)
    ).all()
    evaluations = latest_evaluations()
    societies = db.session.scalar(
        select(func.count(Organisation.id)).where(
            Organisation.kind == "society", Organisation.is_verified.is_(True)
        )
    )
    participating = len(participating_societies())

    base_cities = {city_of(s.city_code) for s in stations if s.state == "base"} & set(cities)
    parks = {s.park_id for s in stations if s.state in ACTIVE_STATION_STATES}
    by_city = {
        c["code"]: {
            "code": c["code"],
            "zh": c["zh"],
            "en": c["en"],
            "stations": 0,
            "bases": 0,
            "pilot_regions": 0,
            "needs_posted": 0,
            "needs_matched": 0,
            "needs_solved": 0,
        }
        for c in ref["cities"]
    }
    years: dict[int, Counter] = defaultdict(Counter)
    for s in stations:
        row = by_city.get(city_of(s.city_code))
        if row is not None:
            row["stations"] += 1
            row["bases"] += s.state == "base"
        if s.state == "base" and s.base_at is not None:
            years[_year(s.base_at)]["bases"] += 1
    for selected_at, gov_city, park_city in regions:
        row = by_city.get(city_of(park_city or gov_city))
        if row is not None:
            row["pilot_regions"] += 1
        years[_year(selected_at)]["pilot_regions"] += 1
    for n in needs:
        row = by_city.get(city_of(n.city_code))
        matched, solved = n.state in MATCHED_STATES, n.state in SOLVED_STATES
        if row is not None:
            row["needs_posted"] += 1
            row["needs_matched"] += matched
            row["needs_solved"] += solved
        years[_year(n.created_at)]["needs_posted"] += 1
        if matched:
            years[_year(n.matched_at)]["needs_matched"] += 1
        if solved:
            years[_year(n.solved_at)]["needs_solved"] += 1
    grades = Counter(e.grade for e in evaluations)
    all_evaluations = db.session.execute(
        select(StationEvaluation.year, StationEvaluation.grade)
    ).all()
    for year, grade in all_evaluations:
        years[year][f"grade_{grade}"] += 1
    pilot = targets.get("pilot_regions", {})
    share = targets.get("city_share_with_base", {})
    soc = targets.get("society_share_participating", {})
    park_t = targets.get("parks_supported", {})
    return {
        "pilot_regions": {
            "value": len(regions),
            "min": pilot.get("min"),
            "max": pilot.get("max"),
            "year": pilot.get("year"),
        },
        "city_share_with_base": {
            "value": _share(len(base_cities), len(cities)),
            "cities_with_base": len(base_cities),
            "cities": len(cities),
            "min": share.get("min"),
            "year": share.get("year"),
        },
        "society_share_participating": {
            "value": _share(participating, societies),
            "participating": participating,
            "registered": societies,
            "min": soc.get("min"),
            "year": soc.get("year"),
        },
        "parks_supported": {
            "value": len(parks),
            "min": park_t.get("min"),
            "max": park_t.get("max"),
            "year": park_t.get("year"),
        },
        "needs": {
            "posted": len(needs),
            "matched": sum(n.state in MATCHED_STATES for n in needs),
            "solved": sum(n.state in SOLVED_STATES for n in needs),
        },
        "grades": {key: grades.get(key, 0) for key in GRADE_LABELS},
        "by_city": list(by_city.values()),
        "by_year": [
            {
                "year": year,
                "pilot_regions": c["pilot_regions"],
                "bases": c["bases"],
                "needs_posted": c["needs_posted"],
                "needs_matched": c["needs_matched"],
                "needs_solved": c["needs_solved"],
                **{f"grade_{key}": c[f"grade_{key}"] for key in GRADE_LABELS},
            }
            for year, c in sorted(years.items())
            if year is not None
        ],
    }
