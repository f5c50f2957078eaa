"""Society self-registration, verification by an officer, and a society's own staff."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User
from app.audit import trail
from app.calls.permissions import can_manage_staff, can_verify_society
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.core.models import StoredFile
from app.extensions import db

CERTIFICATE = "registration_certificate"


def register_society(
    *,
    name: str,
    credit_code_text: str,
    contact_name: str,
    email: str,
    password: str,
    certificate,
    certificate_name: str,
) -> tuple[Organisation, User]:
    """A society registers itself: an unverified organisation and its society_admin user.

    Every check runs before anything is written: name, unified social credit
    code (checksum), contact, e-mail (format, not taken), password policy,
    and that a certificate was given. Raises ``ValidationFailed`` /
    ``Conflict`` naming the field. The certificate is stored with
    ``store_upload`` (PDF or image). Audited as ``society.register``.
    """
    name = (name or "").strip()
    code = credit_code.normalise(credit_code_text or "")
    email = (email or "").strip().lower()
    if not name:
        raise ValidationFailed(_("请填写学会名称。"), field="name")
    if not credit_code.is_valid(code):
        raise ValidationFailed(
            _("统一社会信用代码无效（应为18位且校验位正确）。"), field="credit_code"
        )
    if not (contact_name or "").strip():
        raise ValidationFailed(_("请填写联系人姓名。"), field="contact_name")
    if not accounts.EMAIL_RE.match(email):
        raise ValidationFailed(_("邮箱格式不正确。"), field="email")
    accounts.check_password_policy(password or "", email)
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict(_("该邮箱已被使用。"), field="email")
    if db.session.scalar(select(Organisation.id).where(Organisation.name == name)):
        raise Conflict(_("单位名称已存在。"), field="name")
    if db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(_("统一社会信用代码已登记。"), field="credit_code")
    if certificate is None or not certificate_name:
        raise ValidationFailed(_("请上传学会登记证书扫描件。"), field="certificate")
    org = accounts.create_organisation(
        name, "society", actor=None, credit_code_text=code, is_verified=False
    )
    user = accounts.create_user(
        email,
        contact_name.strip(),
        org.id,
        ["society_admin"],
        password=password,
        actor=None,
        bootstrap=True,
    )
    stored = store_upload(
        certificate,
        certificate_name,
        kind="document",
        owner_type="organisation",
        owner_id=org.id,
        actor=user,
    )
    stored.kind = CERTIFICATE
    trail.record(
        "society.register",
        "organisation",
        org.id,
        actor=user,
        after={"is_verified": False, "admin_user_id": user.id, "certificate_sha256": stored.sha256},
    )
    return org, user


def certificate_of(org: Organisation) -> StoredFile | None:
    """The registration certificate a society uploaded."""
    return db.session.scalar(
        select(StoredFile)
        .where(
            StoredFile.owner_type == "organisation",
            StoredFile.owner_id == org.id,
            StoredFile.kind == CERTIFICATE,
        )
        .order_by(StoredFile.id.desc())
    )


def verify_society(org: Organisation, *, actor) -> Organisation:
    """An officer confirms a self-registered society; it may apply from then on.

    Raises ``NotAllowed`` unless the actor is an officer and ``org`` a society.
    Idempotent. Audited as ``society.verify``.
    """
    decision = can_verify_society(actor, org)
    if not decision:
        raise NotAllowed(decision.reason)
    if org.is_verified:
        return org
    org.is_verified = True
    db.session.flush()
    trail.record(
        "society.verify",
        "organisation",
        org.id,
        actor=actor,
        before={"is_verified": False},
        after={"is_verified": True},
    )
    return org


def create_staff(org: Organisation, *, email: str, name: str, password: str, actor) -> User:
    """A society_admin creates an applicant account in its own society.

    Raises ``NotAllowed`` for another society or an unverified one, and the
    account errors of ``accounts.create_user``. Audited as ``user.create``.
    """
    decision = can_manage_staff(actor, org)
    if not decision:
        raise NotAllowed(decision.reason)
    return accounts.create_user(
        email, name, org.id, ["applicant"], password=password, actor=actor, bootstrap=True
    )


def staff_of(org: Organisation) -> list[User]:
    """The accounts of a society."""
    return list(db.session.scalars(select(User).where(User.org_id == org.id).order_by(User.id)))
