"""Panel review (会议评审/答辩): the optional second stage of a call.

The officer shortlists applications from the remote-review ranking into oral-defence
slots, forms a panel of 5–9 (odd) pool experts — conflicts checked with the remote
review's rules, at most ``REVIEW_PANEL_MAX_PER_ORG`` (2) from one organisation —
and opens the meeting. Each attending member declares no conflict and records a score
(0–100) or a vote per application, once; nobody sees another member's marks until
every attending member has submitted or the chair (or the officer) closes scoring.
The officer then writes the panel opinion, every attending member signs it or writes
a dissent with a reason, and the officer concludes. A concluded panel feeds the
ranking (``final_ranking``) and the fee sheet (``panel_fees``).
"""

from __future__ import annotations

from app.reviews.operations.panel.common import SHORTLIST_STATES, panel_of
from app.reviews.operations.panel.fees import (
    PanelFee,
    fee_rows,
    panel_fees,
    with_panel_fees,
)
from app.reviews.operations.panel.meeting import (
    close_scoring,
    conclude_panel,
    open_panel,
    propose_opinion,
    sign_opinion,
    submit_marks,
)
from app.reviews.operations.panel.results import (
    FinalRow,
    PanelResult,
    PanelSection,
    combine,
    final_ranking,
    panel_marks,
    panel_results,
    ranking_section,
)
from app.reviews.operations.panel.setup import (
    add_member,
    add_slot,
    draw_members,
    remove_member,
    remove_slot,
    save_panel,
    set_attendance,
)

__all__ = [
    "SHORTLIST_STATES",
    "panel_of",
    "add_member",
    "add_slot",
    "draw_members",
    "remove_member",
    "remove_slot",
    "save_panel",
    "set_attendance",
    "close_scoring",
    "conclude_panel",
    "open_panel",
    "propose_opinion",
    "sign_opinion",
    "submit_marks",
    "FinalRow",
    "PanelResult",
    "PanelSection",
    "combine",
    "final_ranking",
    "panel_marks",
    "panel_results",
    "ranking_section",
    "PanelFee",
    "fee_rows",
    "panel_fees",
    "with_panel_fees",
]
