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
    "home.notifications": Route(),
    "home.job_status": Route(
        overrides=_only(("auditor",), NOT_FOUND, among=EVERY_ROLE),
        why="a job's progress only to its creator (the auditor who asked for the bundle)",
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
    "societies.register": Route(),
    "societies.list_societies": Route(),
    "societies.verify": Route(),
    "societies.certificate": Route(),
    "societies.staff": Route(),
    # --- applications
    "applications.list_applications": Route(),
    "applications.show_application": Route(),
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
    "reviews.ranking": Route(),
    "reviews.ranking_xlsx": Route(),
    "reviews.scores_xlsx": Route(),
    "reviews.scores_csv": Route(),
    "reviews.finish_round": Route(),
    "reviews.rate_experts": Route(),
    "reviews.fees_xlsx": Route(),
    # --- awards and agreements
    "awards.list_calls": Route(),
    "awards.show_call": Route(args={"call_id": "award_call_id"}),
    "awards.propose": Route(args={"app_id": "award_app_id"}),
    "awards.approve": Route(),
    "awards.publish": Route(args={"call_id": "award_call_id"}),
    "awards.confirm": Route(args={"call_id": "award_call_id"}),
    "awards.allocation": Route(args={"call_id": "award_call_id"}),
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
