"""Station states (STATES.md); the stations issue adds the transition table."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.workflow import State, labelled


class StationState(State):
    PLANNED = "planned"
    ESTABLISHED = "established"
    OPERATING = "operating"
    BASE = "base"
    SUSPENDED = "suspended"
    CLOSED = "closed"


labelled(
    StationState,
    {
        "planned": (_l("筹建中"), None),
        "established": (_l("已建立"), None),
        "operating": (_l("运行中"), None),
        "base": (_l("示范基地"), None),
        "suspended": (_l("暂停"), None),
        "closed": (_l("已撤销"), None),
    },
)
