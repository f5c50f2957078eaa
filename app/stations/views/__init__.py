"""Stations registry, demonstration bases, the needs board, yearly reports and
evaluations, pilot profiles and regions, and the stage-goals dashboard.

One blueprint, ``stations``, split by page group: ``registry`` (stations, their
documents, team, base checklist and engagements), ``reports`` (yearly reports,
evaluations, overrides), ``needs`` (the needs board and an enterprise's park) and
``programme`` (pilot profiles, pilot regions, the dashboard). Endpoint names are
``stations.<view>`` whatever the module (the access matrix keys on them).
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.home import navigation
from app.stations.states import NeedState, StationState
from app.stations.views.common import bp

navigation.add("stations.list_stations", _l("学会服务站"), "stations.read")
navigation.add("stations.list_needs", _l("需求对接"), "needs.read")
navigation.add("stations.dashboard", _l("阶段目标"), "stations.dashboard")


@bp.app_template_filter("station_state")
def station_state(value) -> str:
    """A station state's label."""
    return StationState(str(value)).label


@bp.app_template_filter("need_state")
def need_state(value) -> str:
    """A need state's label."""
    return NeedState(str(value)).label


from app.stations import demo as _demo  # noqa: E402, F401  (registers the demo step)
from app.stations.views import needs as _needs  # noqa: E402, F401
from app.stations.views import programme as _programme  # noqa: E402, F401
from app.stations.views import registry as _registry  # noqa: E402, F401
from app.stations.views import reports as _reports  # noqa: E402, F401

__all__ = ["bp"]
