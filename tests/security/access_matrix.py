"""The access matrix: for every endpoint, what every role (and anonymous) gets.

One entry per endpoint of ``app.url_map`` — a route with no entry fails
``test_access_matrix`` naming it. The expected outcome of a role is derived from
the view's declared permission and ``PERMISSIONS`` (holders ``OK``; others
``FORBIDDEN``; anonymous ``LOGIN``; on the API ``UNAUTHORIZED`` without a token
and ``FORBIDDEN`` for a non-auditor's token) and then narrowed by the entry's
``overrides`` where an object rule decides (each one says why).

Paths are filled from ``tests.security.world``: ``{app_id}`` is society A's
submitted application, ``{draft_id}`` its draft, ``{assignment_id}`` the
assignment of A's reviewer, and so on; so the "applicant" below is A's
applicant, the "local_partner" A's co-building government, the "reviewer" the
expert assigned to A. The cross-society sweep covers everybody else.

GET routes (and GET+POST routes) are requested as every identity. POST-only
routes are posted to, with a valid CSRF token, by every identity that does not
hold the permission (they must be refused before the view runs); their effect
for holders is covered by the module tests and by ``test_browser`` (CSRF walk).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.permissions import AUTHENTICATED, PUBLIC, roles_for
from tests.security.world import ANONYMOUS, IDENTITIES

OK = 200
REDIRECT = 302  # a redirect somewhere other than the login page
LOGIN = "login"  # a redirect to /login?next=…
BAD_REQUEST = 400
UNAUTHORIZED = 401
FORBIDDEN = 403
NOT_FOUND = 404

EVERY_ROLE = tuple(i for i in IDENTITIES if i != ANONYMOUS)
SKIP = frozenset({"static"})  # Flask's static files: public by design, no view of ours


@dataclass(frozen=True)
class Route:
    """An endpoint's entry: which objects fill its URL, and where an object rule
    overrides the permission. ``args`` maps a URL argument to a key of the world's
    ids (by default the argument's own name) or, prefixed with ``=``, a literal."""

    args: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)  # identity → outcome
    why: str = ""  # the object rule behind the overrides
    query: str = ""

    def values(self, rule, ids: dict) -> dict:
        values = {}
        for name in rule.arguments:
            key = self.args.get(name, name)
            values[name] = key[1:] if key.startswith("=") else ids[key]
        return values


def _only(roles, outcome, *, among) -> dict:
    """``outcome`` for each of ``among`` except ``roles``."""
    return {r: outcome for r in among if r not in roles}


STAFF_APP = ("officer", "approver", "auditor")
SOCIETY_A = ("applicant", "society_admin")


MATRIX: dict[str, Route] = {
    # --- home, accounts
    "home.index": Route(overrides={ANONYMOUS: LOGIN}, why="public; anonymous → login"),
    "home.favicon": Route(
        overrides={i: REDIRECT for i in IDENTITIES}, why="public; → the static SVG icon"
    ),
    "home.notifications": Route(),
    "home.mark_notifications_read": Route(why="own messages only (id filtered by user, 404)"),
    "home.job_status": Route(
        overrides=_only(("auditor",), NOT_FOUND, among=EVERY_ROLE),
        why="a job's progress only to its creator (the auditor who asked for the bundle)",
    ),
    "home.list_jobs": Route(),  # one's own jobs only: filtered, nothing to refuse
    "home.job_file": Route(
        overrides={i: NOT_FOUND for i in EVERY_ROLE},
        why="an export job's file only to its creator, and the world's job is a bundle"
        " (served by audit.fetch_bundle), not an export",
    ),
    "accounts.login": Route(),
    "accounts.logout": Route(),
    "accounts.forgot_password": Route(),
    "accounts.reset_password": Route(args={"token": "reset_token"}),
    "accounts.account": Route(),
    "accounts.change_password": Route(),
    "accounts.set_language": Route(),
    "accounts.list_users": Route(),
    "accounts.new_user": Route(),
    "accounts.set_user_enabled": Route(),
    "accounts.erase_user": Route(),
    "accounts.list_orgs": Route(),
    "accounts.new_org": Route(),
    "accounts.security_users": Route(),
    "accounts.set_user_roles": Route(),
    "accounts.unlock_user": Route(),
    "accounts.end_user_sessions": Route(),
    "accounts.mfa_setup": Route(),
    "accounts.mfa_enable": Route(),
    "accounts.mfa_disable": Route(),
    "accounts.mfa_verify": Route(
        overrides={r: LOGIN for r in IDENTITIES},
        why="without a pending password step the second step sends one back to /login",
    ),
    "accounts.reset_user_mfa": Route(),
    # --- auditors' API (bearer tokens; audit_admin holds audit.read but is not an auditor)
    "api.openapi": Route(),
    "api.audit_events": Route(),
    "api.list_calls": Route(),
    "api.list_applications": Route(query="call={call_id}"),
    "api.list_reviews": Route(query="call={call_id}"),
    "api.list_awards": Route(query="call={award_call_id}"),
    "api.ledger_transfers": Route(),
    "api.ledger_balances": Route(),
    # --- calls, funds, societies
    "calls.list_calls": Route(),
    "calls.show_call": Route(),
    "calls.manage_calls": Route(),
    "calls.new_call": Route(),
    "calls.edit_call": Route(),
    "calls.amend_call": Route(),
    "calls.publish_call": Route(),
    "calls.advance_call": Route(args={"action": "=close"}),
    "calls.list_funds": Route(),
    "calls.appropriate": Route(),
    "societies.import_societies": Route(),
    "societies.register": Route(),
    "societies.list_societies": Route(),
    "societies.verify": Route(),
    "societies.certificate": Route(),
    "societies.staff": Route(),
    # --- applications
    "applications.list_applications": Route(),
    "applications.show_application": Route(),
    "applications.show_revision": Route(),
    "applications.edit_application": Route(args={"app_id": "draft_id"}),
    "applications.start_application": Route(),
    "applications.upload_attachment": Route(args={"app_id": "draft_id"}),
    "applications.download_file": Route(),
    "applications.submit_application": Route(args={"app_id": "draft_id"}),
    "applications.withdraw_application": Route(args={"app_id": "draft_id"}),
    "eligibility.endorse": Route(),
    "eligibility.society_return": Route(),
    "eligibility.confirm_matching": Route(),
    "eligibility.check": Route(args={"action": "=accept"}),
    "eligibility.batch": Route(),
    "eligibility.duplicate_check": Route(),
    "eligibility.duplicates": Route(),
    "eligibility.application_pdf": Route(),
    "eligibility.revision": Route(),
    "eligibility.summary_sheet": Route(),
    "eligibility.eligibility_sheet": Route(),
    # --- reviews
    "reviews.list_experts": Route(),
    "reviews.new_expert": Route(),
    "reviews.edit_expert": Route(),
    "reviews.add_relation": Route(),
    "reviews.import_experts": Route(),
    "reviews.export_experts": Route(),
    "reviews.list_calls": Route(),
    "reviews.draw_page": Route(),
    "reviews.run_draw": Route(),
    "reviews.override_draw": Route(),
    "reviews.confirm_draw": Route(),
    "reviews.draw_record": Route(),
    "reviews.reopen_assignment": Route(),
    "reviews.my_assignments": Route(),
    "reviews.my_assignment": Route(),
    "reviews.assigned_application": Route(),
    "reviews.score_sheet": Route(),
    "reviews.assigned_attachment": Route(args={"index": "=0"}),
    "reviews.declaration_pdf": Route(),
    "reviews.sheet_pdf": Route(
        overrides={"reviewer": NOT_FOUND},
        why="the 评分表 PDF exists once the sheet is submitted; the world's sheet is not",
    ),
    "reviews.ranking": Route(),
    "reviews.ranking_xlsx": Route(),
    "reviews.scores_xlsx": Route(),
    "reviews.queue_scores": Route(),
    "reviews.scores_csv": Route(),
    "reviews.finish_round": Route(),
    "reviews.rate_experts": Route(),
    "reviews.fees_xlsx": Route(),
    # Panel review (会议评审): the officer's routes take the call of the world; a
    # member's routes are walked on a panel that does not exist (a 404 for reviewers).
    "reviews.panel_page": Route(),
    "reviews.save_panel": Route(),
    "reviews.add_panel_member": Route(),
    "reviews.draw_panel": Route(),
    "reviews.remove_panel_member": Route(args={"member_id": "=999999"}),
    "reviews.set_panel_attendance": Route(args={"member_id": "=999999"}),
    "reviews.add_panel_slot": Route(),
    "reviews.remove_panel_slot": Route(args={"slot_id": "=999999"}),
    "reviews.advance_panel": Route(args={"step": "=open"}),
    "reviews.propose_panel_opinion": Route(),
    "reviews.my_panels": Route(),
    "reviews.panel_member": Route(
        args={"panel_id": "=999999"},
        overrides={"reviewer": NOT_FOUND},
        why="only a member of an opened panel sees it; panel 999999 does not exist",
    ),
    "reviews.sign_panel": Route(args={"panel_id": "=999999"}),
    "reviews.chair_close_panel": Route(args={"panel_id": "=999999"}),
    # --- awards and agreements
    "awards.list_calls": Route(),
    "awards.show_call": Route(args={"call_id": "award_call_id"}),
    "awards.propose": Route(args={"app_id": "award_app_id"}),
    "awards.approve": Route(),
    "awards.withdraw": Route(),
    "awards.publish": Route(args={"call_id": "award_call_id"}),
    "awards.confirm": Route(args={"call_id": "award_call_id"}),
    "awards.allocation": Route(args={"call_id": "award_call_id"}),
    "awards.queue_letters": Route(args={"call_id": "award_call_id"}),
    "awards.list_notices": Route(),
    "awards.show_notice": Route(),
    "awards.notice_pdf": Route(),
    "awards.file_objection": Route(),
    "awards.list_objections": Route(),
    "awards.handle_objection": Route(args={"objection_id": "=1", "action": "=accept"}),
    "awards.handle_reconsideration": Route(args={"rec_id": "=1", "action": "=accept"}),
    "awards.outcome": Route(args={"app_id": "award_app_id"}),
    "awards.reconsider": Route(args={"app_id": "award_app_id"}),
    "awards.letter_pdf": Route(),
    "awards.list_agreements": Route(),
    "awards.show_agreement": Route(),
    "awards.edit_agreement": Route(),
    "awards.agreement_action": Route(args={"action": "=send"}),
    "awards.amendment_action": Route(args={"amendment_id": "=1", "action": "=approve"}),
    "awards.agreement_pdf": Route(),
    # --- audit and ledger
    "audit.events": Route(),
    "audit.list_downloads": Route(),
    "audit.download": Route(
        args={"kind": "=trail", "fmt": "=csv"},
        overrides={"finance": FORBIDDEN},
        why="finance downloads the ledger sheets, never the trail",
    ),
    "audit.request_bundle": Route(),
    "audit.fetch_bundle": Route(
        overrides={"audit_admin": FORBIDDEN},
        why="a bundle goes to whoever asked for it (the auditor) or any auditor",
    ),
    "ledger.trial_balance": Route(),
    "ledger.transfers": Route(),
    "ledger.download_transfers": Route(),
    "ledger.appropriate": Route(),
    # --- projects (A's signed project: a draft report, a submitted change, its tranches)
    "projects.import_matching": Route(),
    "projects.import_payments": Route(),
    "projects.list_projects": Route(),
    "projects.show_project": Route(),
    "projects.show_report": Route(),
    "projects.new_report": Route(),
    "projects.report_action": Route(args={"action": "=save"}),
    "projects.review_report": Route(),
    "projects.endorse_report": Route(),
    "projects.download_voucher": Route(
        why="voucher scans: the society, its co-building government, staff and the engaged "
        "evaluator (404 for the unengaged and other governments)",
    ),
    "projects.download_attachment": Route(
        args={"attachment_id": "report_attachment_id"},
        why="report files: the society, its co-building government, staff and the engaged "
        "evaluator (404 for the unengaged and other governments)",
    ),
    "projects.request_change": Route(),
    "projects.manage": Route(args={"action": "=begin_midterm"}),
    "projects.change_action": Route(args={"action": "=forward"}),
    "projects.tranche_action": Route(args={"action": "=release"}),
    "projects.decide": Route(
        args={"decision_id": "=999999", "action": "=approve"},
        overrides={"approver": NOT_FOUND},
        why="no proposed decision in the world: the approver's request finds nothing",
    ),
    "projects.record_matching": Route(),
    "projects.record_clawback": Route(),
    "projects.finance": Route(),
    "projects.download": Route(args={"kind": "=disbursements"}),
    "projects.queue_sheet": Route(args={"kind": "=disbursements"}),
    # --- performance evaluation (the world's evaluator is engaged on A's project)
    "evaluation.list_evaluations": Route(),
    "evaluation.new_engagement": Route(),
    "evaluation.show_engagement": Route(
        overrides=_only(STAFF_APP + ("evaluator",), NOT_FOUND, among=SOCIETY_A + STAFF_APP),
        why="an engagement is shown to staff and its evaluators, not to the evaluated society",
    ),
    "evaluation.declare": Route(),
    "evaluation.set_lead": Route(),
    "evaluation.add_evaluators": Route(),
    "evaluation.remove_evaluator": Route(
        args={"member_id": "=999999"},
        why="POST only: non-officers are refused before the view looks the member up",
    ),
    "evaluation.show_evaluation": Route(),
    "evaluation.save_self_sheet": Route(),
    "evaluation.save_agency_sheet": Route(),
    "evaluation.save_notes": Route(),
    "evaluation.upload_file": Route(),
    "evaluation.download_file": Route(args={"file_id": "evaluation_file_id"}),
    "evaluation.add_problem": Route(),
    "evaluation.remove_problem": Route(),
    "evaluation.request_self_evaluation": Route(),
    "evaluation.submit_evaluation": Route(),
    "evaluation.accept_evaluation": Route(),
    "evaluation.return_evaluation": Route(),
    "evaluation.report_pdf": Route(
        overrides={r: NOT_FOUND for r in SOCIETY_A},
        why="the society sees the agency's report only once the department accepted it",
    ),
    "evaluation.show_item": Route(),
    "evaluation.submit_item": Route(),
    "evaluation.close_item": Route(),
    "evaluation.reopen_item": Route(),
    # --- dashboard
    "dashboard.index": Route(),
    "dashboard.export_xlsx": Route(),
    # --- stations, needs, pilot (an established station led by A, co-built by A's partner)
    "stations.list_stations": Route(),
    "stations.new_station": Route(
        overrides={r: FORBIDDEN for r in (*SOCIETY_A, "local_partner", "approver")},
        why="only officers register a station",
    ),
    # A station answers only those who may see it (can_view_station; 404 otherwise): the
    # department's staff and auditors, its lead/partner societies and co-building
    # government, its park's enterprises, evaluators of an agency engaged on it. The
    # world's enterprise is in the park and its evaluator's agency is engaged, so every
    # holder sees A's station; the outsiders (B, B's partner, an unengaged evaluator, an
    # enterprise elsewhere) get 404 in the cross-society sweep.
    "stations.export_stations": Route(),
    "stations.export_reports": Route(),
    "stations.show_station": Route(),
    "stations.upload_document": Route(),
    "stations.confirm_agreement": Route(),
    "stations.edit_team": Route(),
    "stations.add_evidence": Route(),
    "stations.engage_agency": Route(),
    "stations.station_action": Route(args={"action": "=suspend"}),
    "stations.download_file": Route(
        args={"file_id": "station_file_id"},
        overrides={"enterprise": NOT_FOUND},
        why="a park's enterprises see the station page, not its documents",
    ),
    "stations.new_report": Route(
        overrides={"approver": FORBIDDEN, "local_partner": FORBIDDEN},
        why="the lead society (or an officer) files the yearly report",
    ),
    "stations.evaluate": Route(
        overrides={"officer": FORBIDDEN, "approver": FORBIDDEN},
        why="only an evaluator of an engaged, independent agency evaluates a station",
    ),
    "stations.override": Route(
        args={"evaluation_id": "=999999"},
        overrides={r: NOT_FOUND for r in ("approver", "evaluator", "officer")},
        why="no station evaluation in the world: a holder's request finds nothing",
    ),
    "stations.list_needs": Route(),
    "stations.new_need": Route(),
    "stations.export_needs": Route(),
    "stations.my_park": Route(),
    "stations.show_need": Route(
        overrides={"enterprise": NOT_FOUND},
        why="a need not yet screened: only staff, the requester and the station's parties",
    ),
    "stations.need_action": Route(args={"action": "=screen"}),
    "stations.pilot_profile": Route(
        args={"app_id": "app_id"},
        overrides={
            r: NOT_FOUND for r in ("applicant", "society_admin", "officer", "approver", "auditor")
        },
        why="A's application is not of a pilot call: it has no pilot profile",
    ),
    "stations.pilot_regions": Route(),
    "stations.dashboard": Route(),
    # --- auditors' API: projects, evaluations, stations
    "api.list_projects": Route(query="call={award_call_id}"),
    "api.list_milestones": Route(query="project={project_id}"),
    "api.list_evaluations": Route(query="call={award_call_id}"),
    "api.list_stations": Route(),
    "api.list_needs": Route(),
}


def permission_of(app, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "permission", None)


def expected(app, endpoint: str, identity: str):
    """The outcome ``identity`` must get on ``endpoint``."""
    route = MATRIX[endpoint]
    if identity in route.overrides:
        return route.overrides[identity]
    needed = permission_of(app, endpoint)
    if endpoint.startswith("api.") and needed != PUBLIC:
        if identity == ANONYMOUS:
            return UNAUTHORIZED
        return OK if identity == "auditor" and identity in roles_for(needed) else FORBIDDEN
    if needed == PUBLIC:
        return OK
    if identity == ANONYMOUS:
        return LOGIN
    if needed == AUTHENTICATED or identity in roles_for(needed):
        return OK
    return FORBIDDEN


def url_for_rule(app, rule, route: Route, ids: dict) -> str:
    """The URL of ``rule`` filled with the world's objects."""
    with app.test_request_context():
        from flask import url_for

        path = url_for(rule.endpoint, **route.values(rule, ids))
    return f"{path}?{route.query.format(**ids)}" if route.query else path


def covered_rules(app):
    """The url_map's rules that have an entry, by endpoint. Rules without one are
    reported by ``test_every_endpoint_has_an_entry``; every other suite walks these."""
    rules = [r for r in app.url_map.iter_rules() if r.endpoint in MATRIX]
    return sorted(rules, key=lambda r: (r.endpoint, r.rule))
