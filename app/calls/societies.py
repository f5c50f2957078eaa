"""Society self-registration, verification by an officer, and a society's own staff."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts import operations as accounts
from app.accounts.models import Organisation, User
from app.audit import trail
from app.calls.permissions import can_manage_staff, can_verify_society
from app.core import imports
from app.core.errors import Conflict, NotAllowed, ValidationFailed
from app.core.files import store_upload
from app.core.imports import Column, ImportRow
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


# --- import from a spreadsheet (issue 11) ---

# Headers are data (the sheet's own words, matched when reading); hints are UI text.
SOCIETY_COLUMNS = (
    Column("学会名称", _l("学会的全称，与登记证书一致")),
    Column("统一社会信用代码", _l("18位，校验位须正确")),
    Column("学科领域", _l("如：机械工程、农学")),
    Column("联系人", _l("学会秘书处联系人姓名")),
    Column("联系人邮箱", _l("用于登录；联系人通过“忘记密码”设置密码")),
)
SOCIETY_EXAMPLE = ("浙江省示例学会", "51330000MJ0000000U", "机械工程", "张三", "zs@example.cn")


def _check_society_row(line: int, cells: dict, seen: dict) -> ImportRow:
    """One sheet row checked against the registry and the rows above it."""
    data = {
        "name": cells["学会名称"],
        "credit_code": credit_code.normalise(cells["统一社会信用代码"]),
        "discipline": cells["学科领域"],
        "contact_name": cells["联系人"],
        "email": cells["联系人邮箱"].lower(),
    }
    row = ImportRow(line, data)
    name, code, email = data["name"], data["credit_code"], data["email"]
    if code and not credit_code.is_valid(code):
        row.problems.append(_("统一社会信用代码无效（应为18位且校验位正确）"))
    if email and not accounts.EMAIL_RE.match(email):
        row.problems.append(_("邮箱格式不正确"))
    for key, value, message in (
        ("name", name, _("学会名称与第 %(line)s 行重复")),
        ("code", code, _("统一社会信用代码与第 %(line)s 行重复")),
        ("email", email, _("邮箱与第 %(line)s 行重复")),
    ):
        if value and (key, value) in seen:
            row.problems.append(message % {"line": seen[(key, value)]})
        elif value:
            seen[(key, value)] = line
    if name and db.session.scalar(select(Organisation.id).where(Organisation.name == name)):
        row.problems.append(_("单位名称已存在"))
    if code and db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        row.problems.append(_("统一社会信用代码已登记"))
    if email and db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        row.problems.append(_("该邮箱已被使用"))
    return row


def _require_officer(actor) -> None:
    if actor is None or not actor.has_role("officer"):
        raise NotAllowed(_("只有学会部工作人员可以导入学会名录。"))


def preview_societies(stream, *, actor) -> list[ImportRow]:
    """Every row of a society sheet with its problems (nothing is written).
    Raises ``NotAllowed``, ``ValidationFailed`` (not an xlsx, a column missing)."""
    _require_officer(actor)
    return imports.parse(stream, SOCIETY_COLUMNS, _check_society_row)


def import_societies(stream, *, actor) -> list[Organisation]:
    """Register every society of the sheet (verified, with its contact as the
    society_admin account, no password: they set one by the reset mail), or none.

    Raises ``NotAllowed``, ``ValidationFailed`` (``details``: 第 N 行：…). Each society
    is audited as ``org.create`` and its contact as ``user.create``; the sheet as
    ``society.import`` with the count and each society's discipline.
    """
    _require_officer(actor)
    rows = imports.parse(stream, SOCIETY_COLUMNS, _check_society_row)

    def create(data: dict) -> Organisation:
        org = accounts.create_organisation(
            data["name"], "society", actor=actor, credit_code_text=data["credit_code"]
        )
        accounts.create_user(
            data["email"],
            data["contact_name"],
            org.id,
            ["society_admin"],
            actor=actor,
            bootstrap=True,
        )
        return org

    created = imports.commit(rows, create, noun=_("学会"))
    trail.record(
        "society.import",
        "organisation",
        None,
        actor=actor,
        after={
            "count": len(created),
            "societies": [
                {"org_id": org.id, "discipline": r.data["discipline"]}
                for org, r in zip(created, rows, strict=True)
            ],
        },
    )
    return created


def society_template() -> bytes:
    """The downloadable society import template."""
    return imports.template_xlsx(SOCIETY_COLUMNS, list(SOCIETY_EXAMPLE))
