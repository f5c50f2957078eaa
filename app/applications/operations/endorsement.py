"""The society's endorsement (单位审核) and the co-builder's matching commitment."""

from __future__ import annotations

from flask_babel import gettext as _

from app.applications import notices
from app.applications.models import Application, Decision
from app.applications.operations.common import lock, require, touch
from app.applications.operations.submission import required_matching_fen
from app.applications.permissions import can_confirm_matching
from app.applications.states import APPLICATION_WORKFLOW
from app.audit import trail
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.files import store_upload
from app.core.money import format_yuan
from app.extensions import db


def endorse_application(app: Application, stream, filename: str, *, actor) -> Application:
    """The society's secretariat endorses a submitted application with its sealed scan.

    ``stream``/``filename``: the signed and sealed application (PDF, JPEG or
    PNG). Raises ``NotAllowed`` (not the society_admin of the same
    organisation), ``InvalidTransition``, ``ValidationFailed`` (no file, bad
    type). Runs the duplicate check for this application. Audited as
    ``application.endorse`` with the scan's sha256.
    """
    app = lock(app)
    require(APPLICATION_WORKFLOW.can(app, "endorse", actor))
    if stream is None or not filename:
        raise ValidationFailed(_("请上传盖章后的申报书扫描件。"), field="sealed_scan")
    stored = store_upload(
        stream, filename, kind="scan", owner_type="application", owner_id=app.id, actor=actor
    )
    stored.kind = "sealed_scan"
    with db.session.no_autoflush:
        app.endorsed_at = clock.now()
        app.endorsed_by_id = actor.id
        app.sealed_file_id = stored.id
        touch(app, actor)
        db.session.add(Decision(application_id=app.id, kind="endorse", actor_id=actor.id))
    APPLICATION_WORKFLOW.apply(
        app,
        "endorse",
        actor=actor,
        after={"version": app.version, "sealed_file_id": stored.id, "sha256": stored.sha256},
    )
    from app.applications.operations.duplicates import check_application

    check_application(app, actor=actor)
    return app


def society_return_application(app: Application, *, actor, reason: str) -> Application:
    """The society's secretariat returns a submitted application to its staff with reasons.

    Raises ``NotAllowed``, ``InvalidTransition``, ``ValidationFailed`` (no
    reason). Audited as ``application.society_return``.
    """
    app = lock(app)
    require(APPLICATION_WORKFLOW.can(app, "society_return", actor))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写退回理由。"), field="reason")
    touch(app, actor)
    db.session.add(
        Decision(application_id=app.id, kind="society_return", reason=reason, actor_id=actor.id)
    )
    APPLICATION_WORKFLOW.apply(
        app, "society_return", actor=actor, reason=reason, after={"version": app.version}
    )
    notices.application_returned(app, reason, by_society=True)
    return app


def confirm_matching(app: Application, amount_fen: int, *, actor) -> Application:
    """The co-building government confirms how much matching money it commits (配套资金承诺).

    Refused when ``amount_fen`` is below the call's ratio × the requested
    money (rounded up to the fen), with both amounts in the message.
    Raises ``NotAllowed`` (not a local partner of the co-building government,
    call without matching, wrong state) and ``ValidationFailed``. Audited as
    ``application.confirm_matching``.
    """
    app = lock(app)
    require(can_confirm_matching(actor, app))
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen < 0:
        raise ValidationFailed(_("请填写承诺的配套资金金额。"), field="amount")
    needed = required_matching_fen(app.requested_fen, app.call.matching_ratio_pct)
    if amount_fen < needed:
        raise ValidationFailed(
            _(
                "承诺配套资金 %(got)s 元，低于要求的 %(need)s 元"
                "（申请专项资金 %(req)s 元的 %(pct)s%%），未予确认。",
                got=format_yuan(amount_fen),
                need=format_yuan(needed),
                req=format_yuan(app.requested_fen),
                pct=app.call.matching_ratio_pct,
            ),
            field="amount",
        )
    before = app.matching_committed_fen
    app.matching_committed_fen = amount_fen
    app.matching_confirmed_at = clock.now()
    app.matching_confirmed_by_id = actor.id
    touch(app, actor)
    db.session.add(
        Decision(application_id=app.id, kind="matching", amount_fen=amount_fen, actor_id=actor.id)
    )
    db.session.flush()
    trail.record(
        "application.confirm_matching",
        "application",
        app.id,
        actor=actor,
        before={"matching_committed_fen": before},
        after={
            "version": app.version,
            "changed": ["matching"],
            "matching_committed_fen": amount_fen,
            "required_fen": needed,
        },
    )
    return app
