"""The decision of a call (staff): proposals, approval, withdrawal, publishing,
confirmation, the allocation table."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import lazyload, load_only

from app.accounts.models import Organisation
from app.applications.models import Application
from app.awards import exports
from app.awards import operations as ops
from app.awards.models import Award, AwardNotice, NotFundedDecision
from app.awards.permissions import can_approve
from app.awards.views import bp, done, download, fail
from app.calls.models import Call
from app.calls.operations import balance_fen
from app.core import export_jobs
from app.core.errors import DomainError
from app.core.models import Job
from app.core.money import parse_fen
from app.core.permissions import requires
from app.extensions import db
from app.ledger import operations as ledger


@bp.route("/calls")
@requires("awards.read")
def list_calls():
    """Calls in review, notice or decided, with their award counts."""
    calls = db.session.scalars(
        select(Call)
        .where(Call.state.in_(("reviewing", "notice", "decided", "archived")))
        .order_by(Call.id.desc())
    ).all()
    return render_template("awards/calls.html", calls=calls)


# The states in which an application appears on the decision page.
DECISION_STATES = ("in_review", "reviewed", "proposed", "not_funded", "awarded")
# Filters of the decision table (``show``): what each one lists.
SHOW = ("todo", "proposed", "awarded", "not_funded")
# Awards whose money is committed (approved and not revoked): ``ops.committed_fen``.
BOUND = ("approved", "in_notice", "objection", "confirmed")


def _back() -> dict:
    """The decision page's paging and filters, carried through a form post and back."""
    return {k: request.args[k] for k in ("page", "q", "show") if request.args.get(k)}


def _live_not_funded():
    return (
        select(NotFundedDecision.id)
        .where(
            NotFundedDecision.application_id == Application.id,
            NotFundedDecision.overturned_at.is_(None),
        )
        .exists()
    )


def _with_award(states):
    return (
        select(Award.id)
        .where(Award.application_id == Application.id, Award.state.in_(states))
        .exists()
    )


def _decision_ids(call: Call, q: str, show: str) -> list[int]:
    """The ids of the call's applications on the decision page (filtered), one query."""
    stmt = select(Application.id).where(
        Application.call_id == call.id, Application.state.in_(DECISION_STATES)
    )
    if show == "todo":
        stmt = stmt.where(Application.state == "reviewed", ~_live_not_funded())
    elif show == "proposed":
        stmt = stmt.where(_with_award(("proposed",)))
    elif show == "awarded":
        stmt = stmt.where(_with_award(BOUND))
    elif show == "not_funded":
        stmt = stmt.where(_live_not_funded())
    if q:
        pattern = f"%{q}%"
        stmt = stmt.join(Organisation, Organisation.id == Application.society_id).where(
            Application.project_number.ilike(pattern)
            | Application.title.ilike(pattern)
            | Organisation.name.ilike(pattern)
        )
    return list(db.session.scalars(stmt))


def _summary(call: Call) -> dict:
    """Counts and sums of the whole call (every page), by the database: two queries."""
    awards = {
        state: (int(n), int(fen or 0))
        for state, n, fen in db.session.execute(
            select(Award.state, func.count(Award.id), func.sum(Award.amount_fen))
            .where(Award.call_id == call.id)
            .group_by(Award.state)
        )
    }
    apps = {
        state: (int(n), int(nf or 0))
        for state, n, nf in db.session.execute(
            select(
                Application.state,
                func.count(Application.id),
                func.sum(case((_live_not_funded(), 1), else_=0)),
            )
            .where(Application.call_id == call.id, Application.state.in_(DECISION_STATES))
            .group_by(Application.state)
        )
    }
    reviewed, draft_not_funded = apps.get("reviewed", (0, 0))
    return {
        "committed": sum(awards.get(s, (0, 0))[1] for s in BOUND),
        "proposed": awards.get("proposed", (0, 0)),
        "confirmed": awards.get("confirmed", (0, 0))[0],
        "todo": reviewed - draft_not_funded,
        "in_review": apps.get("in_review", (0, 0))[0],
        "not_funded": draft_not_funded + apps.get("not_funded", (0, 0))[0],
        "listed": sum(n for n, _nf in apps.values()),
    }


@bp.route("/calls/<int:call_id>")
@requires("awards.read")
def show_call(call_id):
    """The decision page: the ranking with each application's proposal or decision,
    one page of ``REVIEW_PAGE_SIZE`` rows at a time (searchable, filtered by what is
    left to do); the call's totals are counted by the database over every page."""
    call = db.get_or_404(Call, call_id)
    size = int(current_app.config.get("REVIEW_PAGE_SIZE", 100))
    q = (request.args.get("q") or "").strip()[:100]
    show = request.args.get("show") or ""
    if show not in SHOW:
        show = ""
    page = max(request.args.get("page", type=int) or 1, 1)
    ranking = ops.ranking_of(call)
    ids = sorted(
        _decision_ids(call, q, show),
        key=lambda i: ((ranking.get(i) or (None,))[0] or 10**9, i),
    )
    total, ids = len(ids), ids[(page - 1) * size : page * size]
    apps, awards, not_funded = [], {}, {}
    if ids:
        # The table shows a few columns of each row: no JSON columns, no joined call, and
        # the awards and decisions without their (already listed) application.
        by_id = {
            a.id: a
            for a in db.session.scalars(
                select(Application)
                .where(Application.id.in_(ids))
                .options(
                    load_only(
                        Application.id,
                        Application.call_id,
                        Application.society_id,
                        Application.project_number,
                        Application.title,
                        Application.requested_fen,
                        Application.state,
                    ),
                    lazyload(Application.call),
                )
            )
        }
        apps = [by_id[i] for i in ids]
        awards = {
            a.application_id: a
            for a in db.session.scalars(
                select(Award)
                .where(Award.application_id.in_(ids), Award.state != "revoked")
                .options(lazyload(Award.call), lazyload(Award.application), lazyload(Award.society))
            )
        }
        not_funded = {
            d.application_id: d
            for d in db.session.scalars(
                select(NotFundedDecision)
                .where(
                    NotFundedDecision.application_id.in_(ids),
                    NotFundedDecision.overturned_at.is_(None),
                )
                .options(lazyload(NotFundedDecision.application))
            )
        }
    notices = db.session.scalars(
        select(AwardNotice).where(AwardNotice.call_id == call.id).order_by(AwardNotice.id)
    ).all()
    summary = _summary(call)
    return render_template(
        "awards/call.html",
        call=call,
        apps=apps,
        ranking=ranking,
        awards=awards,
        not_funded=not_funded,
        notices=notices,
        committed=summary["committed"],
        remaining=balance_fen(ledger.call_code(call.id)),
        summary=summary,
        withdrawn=ops.awards_of(call.id, ("revoked",)),
        can_approve=can_approve,
        letter_jobs=_letter_jobs(call.id),
        n_confirmed=summary["confirmed"],
        page=page,
        size=size,
        total=total,
        q=q,
        show=show,
        back=_back(),
    )


def _letter_jobs(call_id: int) -> list[Job]:
    """The current user's latest batch-letter jobs of this call (newest first)."""
    recent = db.session.scalars(
        select(Job)
        .where(Job.created_by_id == current_user.id, Job.kind == export_jobs.JOB_KIND)
        .order_by(Job.id.desc())
        .limit(50)
    )
    return [
        j
        for j in recent
        if (j.payload or {}).get("export") == exports.LETTERS_EXPORT
        and (j.payload.get("params") or {}).get("call_id") == call_id
    ][:3]


@bp.route("/applications/<int:app_id>/propose", methods=["POST"])
@requires("awards.propose")
def propose(app_id):
    """Propose an award (amount, note) or a not-funded decision for one application."""
    app = db.get_or_404(Application, app_id)
    call_id = app.call_id
    try:
        if request.form.get("outcome") == "not_funded":
            ops.mark_not_funded(app, request.form.get("note", ""), actor=current_user)
        else:
            ops.propose_award(
                app,
                parse_fen(request.form.get("amount")),
                request.form.get("note", ""),
                actor=current_user,
            )
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id, **_back()))
    return done("awards.show_call", _("已保存决定。"), call_id=call_id, **_back())


@bp.route("/<int:award_id>/approve", methods=["POST"])
@requires("awards.approve")
def approve(award_id):
    """Approve a proposed award (commits the money)."""
    award = db.get_or_404(Award, award_id)
    try:
        ops.approve_award(award, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=award.call_id, **_back()))
    return done("awards.show_call", _("已审批，资金已占用。"), call_id=award.call_id, **_back())


@bp.route("/<int:award_id>/withdraw", methods=["POST"])
@requires("awards.withdraw")
def withdraw(award_id):
    """Withdraw an unpublished award with a reason (an approved one releases its money)."""
    award = db.get_or_404(Award, award_id)
    try:
        ops.withdraw_award(award, request.form.get("reason", ""), actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=award.call_id, **_back()))
    return done("awards.show_call", _("立项建议已撤回。"), call_id=award.call_id, **_back())


@bp.route("/calls/<int:call_id>/publish", methods=["POST"])
@requires("awards.propose")
def publish(call_id):
    """Publish the decisions together and start the notice."""
    call = db.get_or_404(Call, call_id)
    # The call's setting decides unless the form says explicitly.
    working = request.form["working_days"] == "1" if "working_days" in request.form else None
    try:
        ops.publish_decisions(call, actor=current_user, working_days=working)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call_id))
    return done("awards.show_call", _("立项结果已公布，公示开始。"), call_id=call_id)


@bp.route("/calls/<int:call_id>/confirm", methods=["POST"])
@requires("awards.propose")
def confirm(call_id):
    """Confirm every award whose notice is over with no open objection."""
    call = db.get_or_404(Call, call_id)
    confirmed = ops.confirm_call(call, actor=current_user)
    return done("awards.show_call", _("已确认立项 %(n)s 项。", n=len(confirmed)), call_id=call_id)


@bp.route("/calls/<int:call_id>/allocation.xlsx")
@requires("awards.export")
def allocation(call_id):
    """资金分配表 of a call."""
    call = db.get_or_404(Call, call_id)
    data = exports.allocation_xlsx(call, ops.awards_of(call.id), maker_name=current_user.name)
    return download(
        data,
        f"资金分配表-{call.id}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "call",
        call.id,
        "allocation_xlsx",
    )


@bp.route("/calls/<int:call_id>/letters", methods=["POST"])
@requires("awards.export")
def queue_letters(call_id):
    """Queue the 立项通知书 of every confirmed award of the call as one zip (a job)."""
    call = db.get_or_404(Call, call_id)
    try:
        export_jobs.queue_export(exports.LETTERS_EXPORT, {"call_id": call.id}, actor=current_user)
    except DomainError as err:
        db.session.rollback()
        fail(err)
        return redirect(url_for("awards.show_call", call_id=call.id))
    return done("awards.show_call", _("通知书正在后台生成，完成后可在本页下载。"), call_id=call.id)
