"""Spreadsheet imports: the shared machinery (read, check, preview, all or nothing,
template) and the society registry import through the page."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.accounts import credit_code
from app.accounts.models import Organisation, User
from app.audit.models import AuditEvent
from app.calls import societies
from app.core import imports
from app.core.errors import NotAllowed, ValidationFailed
from app.core.imports import Column, ImportRow
from app.extensions import db
from tests import factories
from tests.conftest import login, post

HEADER = ["学会名称", "统一社会信用代码", "学科领域", "联系人", "联系人邮箱"]


def sheet(*rows, header=HEADER, title_rows=0) -> bytes:
    book = Workbook()
    ws = book.active
    for _ in range(title_rows):
        ws.append(["某某表"])
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    fh = io.BytesIO()
    book.save(fh)
    return fh.getvalue()


def code(n: int) -> str:
    return credit_code.make(f"5133{n:013d}")


COLUMNS = (Column("名称"), Column("数量"), Column("备注", required=False))


def _check(line, cells, seen):
    row = ImportRow(line, {"name": cells["名称"], "n": cells["数量"]})
    if cells["数量"] and not cells["数量"].isdigit():
        row.problems.append("数量须为整数")
    if cells["名称"] in seen:
        row.problems.append(f"与第 {seen[cells['名称']]} 行重复")
    seen[cells["名称"]] = line
    return row


def test_parse_finds_the_header_and_reports_every_problem_by_line(session):
    data = sheet(
        ("甲", 3, ""),
        ("", "", ""),
        ("乙", "x", ""),
        ("甲", 1, ""),
        ("", 2, "备注"),
        header=["名称", "数量", "备注"],
        title_rows=2,
    )
    rows = imports.parse(io.BytesIO(data), COLUMNS, _check)
    assert [r.line for r in rows] == [4, 6, 7, 8]  # the blank row is skipped
    assert rows[0].problems == [] and rows[0].data == {"name": "甲", "n": "3"}
    assert rows[1].problems == ["数量须为整数"]
    assert rows[2].problems == ["与第 4 行重复"]
    assert rows[3].problems == ["未填写：名称"]


def test_parse_refuses_what_is_not_an_import_sheet(session):
    with pytest.raises(ValidationFailed, match="不是有效的 xlsx"):
        imports.parse(io.BytesIO(b"not a workbook"), COLUMNS, _check)
    with pytest.raises(ValidationFailed, match="找不到表头行"):
        imports.parse(io.BytesIO(sheet(header=["别的"])), COLUMNS, _check)
    with pytest.raises(ValidationFailed, match="缺少列：数量"):
        imports.parse(io.BytesIO(sheet(header=["名称", "备注"])), COLUMNS, _check)


def test_commit_is_all_or_nothing(session):
    officer = factories.user("officer")
    good = [ImportRow(2, {"name": "导入单位甲"}), ImportRow(3, {"name": "导入单位乙"})]

    def create(data):
        from app.accounts import operations as accounts

        return accounts.create_organisation(data["name"], "enterprise", actor=officer)

    with pytest.raises(ValidationFailed) as exc:
        imports.commit([*good, ImportRow(4, {"name": "x"}, ["名称有误"])], create, noun="单位")
    assert exc.value.details == ["第 4 行：名称有误"]
    with pytest.raises(ValidationFailed, match="没有数据行"):
        imports.commit([], create, noun="单位")
    # A refusal while writing (row 3 repeats row 2's name) rolls back row 2 as well.
    twice = [ImportRow(2, {"name": "导入单位丙"}), ImportRow(3, {"name": "导入单位丙"})]
    with pytest.raises(ValidationFailed, match="第 3 行"):
        imports.commit(twice, create, noun="单位")
    assert (
        db.session.scalar(select(Organisation.id).where(Organisation.name == "导入单位丙")) is None
    )
    created = imports.commit(good, create, noun="单位")
    assert [o.name for o in created] == ["导入单位甲", "导入单位乙"]


def test_the_template_has_the_header_and_instructions(session):
    book = load_workbook(io.BytesIO(societies.society_template()))
    assert [c.value for c in book.worksheets[0][1]] == HEADER
    assert book.worksheets[1].title == "填表说明"
    example = [row[3].value for row in book.worksheets[1].iter_rows(min_row=2, max_row=6)]
    assert credit_code.is_valid(example[1])


def test_society_import_checks_codes_duplicates_and_the_registry(session):
    officer = factories.user("officer")
    taken = factories.org("society")
    data = sheet(
        ("新学会一", code(901), "机械工程", "张三", "z1@example.cn"),
        ("新学会二", "91330000123456789X", "农学", "李四", "z2@example.cn"),
        ("新学会一", code(902), "农学", "王五", "bad-mail"),
        (taken.name, taken.credit_code, "化学", "赵六", "z4@example.cn"),
    )
    rows = societies.preview_societies(io.BytesIO(data), actor=officer)
    assert rows[0].problems == []
    assert rows[1].problems == ["统一社会信用代码无效（应为18位且校验位正确）"]
    assert "学会名称与第 2 行重复" in rows[2].problems and "邮箱格式不正确" in rows[2].problems
    assert "单位名称已存在" in rows[3].problems and "统一社会信用代码已登记" in rows[3].problems
    before = db.session.scalar(select(func.count(Organisation.id)))
    with pytest.raises(ValidationFailed) as exc:
        societies.import_societies(io.BytesIO(data), actor=officer)
    assert len(exc.value.details) == 3 and exc.value.details[0].startswith("第 3 行：")
    assert db.session.scalar(select(func.count(Organisation.id))) == before
    with pytest.raises(NotAllowed):
        societies.preview_societies(io.BytesIO(data), actor=factories.user("finance"))


def test_society_import_registers_verified_societies_with_their_contacts(session):
    officer = factories.user("officer")
    data = sheet(
        ("导入学会甲", code(911), "机械工程", "张三", "Jia@Example.cn"),
        ("导入学会乙", code(912), "农学", "李四", "yi@example.cn"),
    )
    created = societies.import_societies(io.BytesIO(data), actor=officer)
    assert [(o.name, o.kind, o.is_verified) for o in created] == [
        ("导入学会甲", "society", True),
        ("导入学会乙", "society", True),
    ]
    contact = db.session.scalar(select(User).where(User.email == "jia@example.cn"))
    assert contact.org_id == created[0].id and contact.has_role("society_admin")
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "society.import")
    ).one()
    assert event.actor_id == officer.id and event.after["count"] == 2
    assert [s["discipline"] for s in event.after["societies"]] == ["机械工程", "农学"]


def test_the_import_page_previews_then_commits(client, session):
    officer = factories.user("officer")
    login(client, officer)
    assert "下载导入模板" in client.get("/societies/import").get_data(as_text=True)
    template = client.get("/societies/import?template=1")
    assert template.status_code == 200 and template.data[:2] == b"PK"
    bad = sheet(("坏学会", "123", "农学", "张三", "bad@example.cn"))
    page = post(
        client,
        "/societies/import",
        {"file": (io.BytesIO(bad), "s.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "1 行有错误" in page and "统一社会信用代码无效" in page and 'name="commit"' not in page
    good = sheet(("页面学会", code(921), "农学", "张三", "page@example.cn"))
    page = post(
        client,
        "/societies/import",
        {"file": (io.BytesIO(good), "s.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "0 行有错误" in page and 'name="commit"' in page
    token = page.split('name="token" value="')[1].split('"')[0]
    assert db.session.scalar(select(Organisation.id).where(Organisation.name == "页面学会")) is None
    response = post(client, "/societies/import", {"token": token, "commit": "1"})
    assert response.status_code == 302
    assert db.session.scalar(select(Organisation.id).where(Organisation.name == "页面学会"))
    # The same sheet again: the registry now has it, so nothing is written twice.
    assert post(client, "/societies/import", {"token": token, "commit": "1"}).status_code == 404
    assert post(client, "/societies/import", {"token": "x" * 64, "commit": "1"}).status_code == 404
    not_xlsx = post(
        client,
        "/societies/import",
        {"file": (io.BytesIO(b"hello"), "s.xlsx")},
        content_type="multipart/form-data",
    )
    assert not_xlsx.status_code == 422 and "不是有效的 xlsx" in not_xlsx.get_data(as_text=True)
