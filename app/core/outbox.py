"""Mail goes through the outbox: written in the transaction, sent after commit."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from app.core import clock
from app.core.models import Notification, OutboxMessage
from app.extensions import db


def queue_mail(
    user, subject: str, body: str, *, link: str | None = None, dedupe_key: str | None = None
):
    """Queue a message for ``user``: always in-app, and by mail if they chose mail.

    ``dedupe_key`` makes repeated reminders idempotent (one per key).
    Returns the outbox row, or ``None`` when the key was already used.
    """
    if dedupe_key and db.session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)
    ):
        return None
    db.session.add(Notification(user_id=user.id, subject=subject, body=body, link=link))
    message = OutboxMessage(
        to_user_id=user.id,
        to_address=user.email,
        subject=subject,
        body=body + (f"\n\n{current_app.config['PUBLIC_BASE_URL']}{link}" if link else ""),
        dedupe_key=dedupe_key,
        # Users who chose in-app only: the row is kept (for dedupe) but marked as not to send.
        sent_at=None if user.notify_by_mail else clock.now(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def send_pending(limit: int = 100) -> tuple[int, int]:
    """Send unsent mail; returns (sent, failed). Commits per message."""
    config = current_app.config
    sent = failed = 0
    rows = db.session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    ).all()
    for row in rows:
        try:
            if config.get("MAIL_PRINT") or not config.get("MAIL_SERVER"):
                print(
                    f"To: {row.to_address}\nSubject: {row.subject}\n\n{row.body}\n", file=sys.stderr
                )
            else:
                _smtp_send(config, row)
            row.sent_at = clock.now()
            sent += 1
        except (OSError, smtplib.SMTPException) as exc:
            row.attempts += 1
            row.last_error = str(exc)[:1000]
            failed += 1
        db.session.commit()
    return sent, failed


def _smtp_send(config, row: OutboxMessage) -> None:
    """Deliver one message over SMTP."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = config["MAIL_SENDER"], row.to_address, row.subject
    msg.set_content(row.body)
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(msg)
