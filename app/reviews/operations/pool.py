"""The expert pool: create and edit experts, declare relations, import from xlsx."""

from __future__ import annotations

import json
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.orm import joinedload

from app.accounts import operations as accounts
from app.accounts.models import Organisation, User, UserRole
from app.audit import trail
from app.core import imports
from app.core.errors import Conflict, ValidationFailed
from app.core.imports import Column, ImportRow
from app.extensions import db
from app.reviews.models import Expert, ExpertRelation
from app.reviews.operations.common import norm, require, split_terms
from app.reviews.permissions import can_manage_pool
from app.reviews.states import RELATION_KINDS

# Columns of the import sheet (the export writes the same ones first).
IMPORT_COLUMNS = (
    "姓名",
    "邮箱",
    "工作单位",
    "职称",
    "高级职称",
    "专业领域代码",
    "关键词",
    "地区代码",
    "年度评审上限",
)
YES = {"是", "y", "yes", "true", "1", "√"}


def _organisation(org_id: int | None, org_name: str | None, *, actor) -> Organisation | None:
    """The expert's organisation by id, or by name (created as ``expert_org`` if new)."""
    if org_id:
        org = db.session.get(Organisation, int(org_id))
        if org is None:
            raise ValidationFailed(_("工作单位不存在。"), field="org_id")
        return org
    name = (org_name or "").strip()
    if not name:
        return None
    org = db.session.scalar(select(Organisation).where(Organisation.name == name))
    if org is None:
        org = accounts.create_organisation(name, "expert_org", actor=actor)
    return org


def _clean(data: dict) -> dict:
    """Validated pool attributes from plain data; raises ``ValidationFailed``."""
    fields = split_terms(data.get("fields"))
    if not fields:
        raise ValidationFailed(_("请至少填写一个专业领域代码。"), field="fields")
    try:
        limit = int(data.get("yearly_limit") if data.get("yearly_limit") not in (None, "") else 10)
    except (TypeError, ValueError):
        raise ValidationFailed(_("年度评审上限必须是整数。"), field="yearly_limit") from None
    if not 0 <= limit <= 100:
        raise ValidationFailed(_("年度评审上限应在 0–100 之间。"), field="yearly_limit")
    region = (data.get("region") or "").strip() or None
    if region and not (len(region) == 6 and region.isdigit()):
        raise ValidationFailed(_("地区代码应为6位数字。"), field="region")
    return {
        "fields": fields,
        "keywords": split_terms(data.get("keywords")),
        "title": (data.get("title") or "").strip()[:60],
        "is_senior": bool(data.get("is_senior")),
        "region": region,
        "yearly_limit": limit,
        "bank_name": (data.get("bank_name") or "").strip() or None,
        "bank_account": (data.get("bank_account") or "").strip() or None,
    }


def create_expert(data: dict, *, actor) -> Expert:
    """Add an expert to the pool, linked to a reviewer account.

    ``data``: ``user_id`` of an existing reviewer, or ``email`` and ``name`` for a
    new reviewer account (created in the expert's organisation, no password: the
    expert sets one through the reset mail); ``org_id`` or ``org_name``; ``fields``,
    ``keywords``, ``title``, ``is_senior``, ``region``, ``yearly_limit``, bank details.
    Raises ``NotAllowed``, ``ValidationFailed``, ``Conflict`` (already in the pool).
    Audited as ``expert.create`` (bank details never in the payload).
    """
    require(can_manage_pool(actor))
    values = _clean(data)
    org = _organisation(data.get("org_id"), data.get("org_name"), actor=actor)
    if data.get("user_id"):
        user = db.session.get(User, int(data["user_id"]))
        if user is None:
            raise ValidationFailed(_("用户不存在。"), field="user_id")
        if not user.has_role("reviewer"):
            raise ValidationFailed(_("该用户不是评审专家角色。"), field="user_id")
    else:
        email = (data.get("email") or "").strip().lower()
        user = db.session.scalar(select(User).where(func.lower(User.email) == email))
        if user is None:
            if org is None:
                raise ValidationFailed(_("请填写工作单位。"), field="org_name")
            user = accounts.create_user(
                email, data.get("name") or "", org.id, ["reviewer"], actor=actor, bootstrap=True
            )
        elif not user.has_role("reviewer"):
            raise Conflict(_("该邮箱已被其他角色的账号使用。"), field="email")
    if db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)):
        raise Conflict(_("该专家已在专家库中。"), field="email")
    expert = Expert(user_id=user.id, org_id=org.id if org else user.org_id, **values)
    db.session.add(expert)
    db.session.flush()
    trail.record("expert.create", "expert", expert.id, actor=actor, after=expert.audit_view())
    return expert


def update_expert(expert: Expert, data: dict, *, actor) -> Expert:
    """Edit an expert's pool attributes (and active flag).

    Raises ``NotAllowed``, ``ValidationFailed``. Audited as ``expert.update`` with
    before/after (bank details never in the payload; a change of them is noted as
    ``bank_changed``).
    """
    require(can_manage_pool(actor))
    values = _clean(data)
    org = _organisation(data.get("org_id"), data.get("org_name"), actor=actor)
    before = expert.audit_view()
    bank_before = (expert.bank_name, expert.bank_account)
    for key, value in values.items():
        setattr(expert, key, value)
    if org is not None:
        expert.org_id = org.id
    if "is_active" in data:
        expert.is_active = bool(data["is_active"])
    db.session.flush()
    after = expert.audit_view()
    if (expert.bank_name, expert.bank_account) != bank_before:
        after["bank_changed"] = True
    trail.record("expert.update", "expert", expert.id, actor=actor, before=before, after=after)
    return expert


def add_relation(
    expert: Expert,
    org_id: int,
    kind: str,
    *,
    actor,
    since: date | None = None,
    until: date | None = None,
    note: str | None = None,
) -> ExpertRelation:
    """Record a declared relationship (relative, employment, directorship, collaboration).

    Raises ``ValidationFailed`` for an unknown kind or organisation. Audited as
    ``expert.relation_add``.
    """
    require(can_manage_pool(actor))
    if kind not in RELATION_KINDS:
        raise ValidationFailed(_("关系类型无效。"), field="kind")
    if db.session.get(Organisation, org_id) is None:
        raise ValidationFailed(_("单位不存在。"), field="org_id")
    if since and until and until < since:
        raise ValidationFailed(_("结束日期不能早于开始日期。"), field="until")
    row = ExpertRelation(
        expert_id=expert.id, org_id=org_id, kind=kind, since=since, until=until, note=note
    )
    db.session.add(row)
    db.session.flush()
    trail.record(
        "expert.relation_add",
        "expert",
        expert.id,
        actor=actor,
        after={
            "relation_id": row.id,
            "org_id": org_id,
            "kind": kind,
            "since": since,
            "until": until,
        },
    )
    return row


def search_experts(q: str = "", field_code: str = "", active_only: bool = False):
    """Experts matching a name/organisation/keyword text and a field code, by id."""
    rows = db.session.scalars(select(Expert).order_by(Expert.id)).all()
    needle = norm(q)
    out = []
    for e in rows:
        if active_only and not e.is_active:
            continue
        if field_code and field_code not in (e.fields or []):
            continue
        if needle:
            hay = " ".join([e.user.name, e.org.name if e.org else "", e.title, *(e.keywords or [])])
            if needle not in norm(hay):
                continue
        out.append(e)
    return out


def page_experts(
    q: str = "", field_code: str = "", *, page: int = 1, per_page: int = 100
) -> tuple[list[Expert], int]:
    """One page of ``search_experts(q, field_code)`` (same matches, same order) and
    the number of matches, in two queries whatever the size of the pool.

    Without a search the database counts and pages; with one, the candidates are
    read as plain columns (no ORM rows) and matched as ``search_experts`` does,
    and only the page's experts are loaded.
    """
    offset = (max(page, 1) - 1) * per_page
    if not q and not field_code:
        total = db.session.scalar(select(func.count(Expert.id))) or 0
        ids = select(Expert.id).order_by(Expert.id).limit(per_page).offset(offset)
        rows = db.session.scalars(
            select(Expert)
            .where(Expert.id.in_(ids.scalar_subquery()))
            .order_by(Expert.id)
            .options(joinedload(Expert.user).lazyload(User.roles))  # names, not roles
        ).all()
        return list(rows), int(total)
    e, u, o = Expert.__table__, User.__table__, Organisation.__table__
    # Only the columns the search needs; the JSON lists come as text and are decoded
    # here (decoding 5,000 of them through the column type cost more than the match).
    needle = norm(q)
    columns = [e.c.id]
    if needle:
        columns += [u.c.name, o.c.name, e.c.title, cast(e.c.keywords, Text)]
    if field_code:
        columns.append(cast(e.c.fields, Text))
        # An element equal to the code appears in the text as the code in quotes.
        quoted = {json.dumps(field_code), json.dumps(field_code, ensure_ascii=False)}
    stmt = (
        select(*columns)
        .select_from(e.join(u, u.c.id == e.c.user_id).outerjoin(o, o.c.id == e.c.org_id))
        .order_by(e.c.id)
    )
    matched = []
    for row in db.session.execute(stmt):
        if field_code:
            text = row[-1] or ""
            if not any(x in text for x in quoted) or field_code not in (json.loads(text) or []):
                continue
        if needle:
            _id, name, org_name, title, keywords = row[:5]
            keywords = (json.loads(keywords) if keywords else None) or []
            if needle not in norm(" ".join([name, org_name or "", title, *keywords])):
                continue
        matched.append(row[0])
    wanted = matched[offset : offset + per_page]
    rows = db.session.scalars(
        select(Expert)
        .where(Expert.id.in_(wanted))
        .order_by(Expert.id)
        .options(joinedload(Expert.user).lazyload(User.roles))
    ).all()
    return list(rows), len(matched)


def pool_counts() -> dict[str, int]:
    """The whole pool's size, active and flagged experts, counted by the database."""
    total, active, flagged = db.session.execute(
        select(
            func.count(Expert.id),
            func.coalesce(func.sum(case((Expert.is_active.is_(True), 1), else_=0)), 0),
            func.coalesce(func.sum(case((Expert.is_flagged.is_(True), 1), else_=0)), 0),
        )
    ).one()
    return {"total": int(total), "active": int(active), "flagged": int(flagged)}


# --- import ---------------------------------------------------------------


def parse_import(stream) -> list[ImportRow]:
    """Read an xlsx pool sheet into rows, each with every problem found (the reading is
    ``app.core.imports``'s, shared with the other imports).

    Raises ``ValidationFailed`` when the file is not an xlsx or lacks a column.
    """
    columns = tuple(Column(c, required=False) for c in IMPORT_COLUMNS)
    out: list[ImportRow] = []
    seen: dict[str, int] = {}
    for line, get in imports.read_rows(stream, columns):
        row = ImportRow(
            line,
            {
                "name": get["姓名"],
                "email": get["邮箱"].lower(),
                "org_name": get["工作单位"],
                "title": get["职称"],
                "is_senior": norm(get["高级职称"]) in YES,
                "fields": get["专业领域代码"],
                "keywords": get["关键词"],
                "region": get["地区代码"],
                "yearly_limit": get["年度评审上限"],
            },
        )
        _check_import_row(row, seen)
        out.append(row)
    return out


def _check_import_row(row: ImportRow, seen: dict[str, int]) -> None:
    data = row.data
    if not data["name"]:
        row.problems.append(_("姓名为空"))
    if not accounts.EMAIL_RE.match(data["email"]):
        row.problems.append(_("邮箱格式不正确"))
    elif data["email"] in seen:
        row.problems.append(_("邮箱与第 %(line)s 行重复", line=seen[data["email"]]))
    else:
        seen[data["email"]] = row.line
        user = db.session.scalar(select(User).where(func.lower(User.email) == data["email"]))
        if user is not None:
            if db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)):
                row.problems.append(_("该专家已在专家库中"))
            elif not db.session.scalar(
                select(UserRole.id).where(UserRole.user_id == user.id, UserRole.role == "reviewer")
            ):
                row.problems.append(_("该邮箱已被其他角色的账号使用"))
    if not data["org_name"]:
        row.problems.append(_("工作单位为空"))
    try:
        _clean(data)
    except ValidationFailed as err:
        row.problems.append(err.message)


def import_experts(stream, *, actor) -> list[Expert]:
    """Create every expert of an import sheet, or none of them.

    Raises ``ValidationFailed`` whose ``details`` list each bad row (第 N 行：…);
    nothing is written then. Each expert is audited as ``expert.create``, and the
    import as ``expert.import`` with the count.
    """
    require(can_manage_pool(actor))
    rows = parse_import(stream)
    if not rows:
        raise ValidationFailed(_("表格中没有专家数据。"), field="file")
    created = imports.commit(rows, lambda data: create_expert(data, actor=actor), noun=_("专家"))
    trail.record("expert.import", "expert", None, actor=actor, after={"count": len(created)})
    return created
