"""The expert pool pages: create with a reviewer account, edit audited without bank
details, import with a row-by-row report and all-or-nothing commit, export."""

from __future__ import annotations

import io
import re

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.extensions import db
from app.reviews.models import Expert
from tests import factories
from tests.conftest import csrf_token, login

HEADER = [
    "姓名",
    "邮箱",
    "工作单位",
    "职称",
    "高级职称",
    "专业领域代码",
    "关键词",
    "地区代码",
    "年度评审上限",
]


def _sheet(rows) -> bytes:
    book = Workbook()
    ws = book.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    fh = io.BytesIO()
    book.save(fh)
    return fh.getvalue()


def _post(client, path, data, **kw):
    return client.post(path, data={**data, "csrf_token": csrf_token(client)}, **kw)


def test_only_officers_manage_the_pool(client, session):
    login(client, factories.user("approver"))
    assert client.get("/reviews/experts").status_code == 403
    assert client.get("/reviews/experts/export.xlsx").status_code == 403


def test_officer_creates_an_expert_with_a_new_reviewer_account(client, session):
    officer = factories.user("officer")
    login(client, officer)
    answer = _post(
        client,
        "/reviews/experts/new",
        {
            "name": "钱教授",
            "email": "qian@zju.test.cn",
            "org_name": "某某大学",
            "title": "教授",
            "is_senior": "y",
            "fields": "key_tech；0802、transfer",
            "keywords": "五金, 装备",
            "region": "330100",
            "yearly_limit": "8",
            "is_active": "y",
            "bank_account": "6222000011112222",
        },
    )
    assert answer.status_code == 302
    expert = db.session.scalar(select(Expert))
    assert expert.user.has_role("reviewer") and expert.user.name == "钱教授"
    assert expert.org.kind == "expert_org" and expert.fields == ["key_tech", "0802", "transfer"]
    assert expert.is_senior and expert.yearly_limit == 8
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "expert.create")).one()
    assert "6222000011112222" not in str(event.after) and "qian@" not in str(event.after)
    listing = client.get("/reviews/experts?q=钱").get_data(as_text=True)
    assert "钱教授" in listing and "某某大学" in listing
    assert "钱教授" not in client.get("/reviews/experts?field=outreach").get_data(as_text=True)
    edit = _post(
        client,
        f"/reviews/experts/{expert.id}",
        {
            "org_name": "某某大学",
            "fields": "key_tech",
            "yearly_limit": "5",
            "bank_account": "6222999999999999",
        },
    )
    assert edit.status_code == 302 and expert.yearly_limit == 5 and not expert.is_active
    update = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "expert.update")
    ).one()
    assert update.before["yearly_limit"] == 8 and update.after["yearly_limit"] == 5
    assert update.after["bank_changed"] is True and "6222" not in str(update.after)


def test_bad_fields_are_shown_beside_the_form(client, session):
    login(client, factories.user("officer"))
    answer = _post(
        client,
        "/reviews/experts/new",
        {"name": "甲", "email": "a@test.cn", "org_name": "某大学", "fields": "x", "region": "12"},
    )
    assert answer.status_code == 422 and "地区代码应为6位数字" in answer.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Expert.id))) == 0


def test_import_previews_each_row_and_commits_nothing_when_any_is_bad(client, session):
    officer = factories.user("officer")
    login(client, officer)
    data = _sheet(
        [
            ["张一", "zhang1@test.cn", "甲大学", "教授", "是", "key_tech", "", "330100", 10],
            ["", "bad-mail", "", "", "", "", "", "1", "x"],
            ["张三", "zhang1@test.cn", "乙大学", "", "否", "outreach", "", "", ""],
        ]
    )
    preview = _post(
        client,
        "/reviews/experts/import",
        {"file": (io.BytesIO(data), "pool.xlsx")},
        content_type="multipart/form-data",
    )
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "3 行，2 行有错误" in text
    assert "姓名为空" in text and "邮箱格式不正确" in text and "邮箱与第 2 行重复" in text
    assert "确认导入" not in text
    token = __import__("hashlib").sha256(data).hexdigest()
    forced = _post(client, "/reviews/experts/import", {"token": token, "commit": "1"})
    assert forced.status_code == 303
    assert db.session.scalar(select(func.count(Expert.id))) == 0
    assert db.session.scalar(select(User.id).where(User.email == "zhang1@test.cn")) is None


def test_import_commits_all_rows_and_export_round_trips(client, session):
    login(client, factories.user("officer"))
    data = _sheet(
        [
            [
                "张一",
                "zhang1@test.cn",
                "甲大学",
                "教授",
                "是",
                "key_tech; 0802",
                "五金",
                "330100",
                10,
            ],
            ["-2+3 张二", "zhang2@test.cn", "乙大学", "高工", "否", "outreach", "", "", 6],
        ]
    )
    preview = _post(
        client,
        "/reviews/experts/import",
        {"file": (io.BytesIO(data), "pool.xlsx")},
        content_type="multipart/form-data",
    )
    token = re.search(r'name="token" value="([0-9a-f]{64})"', preview.get_data(as_text=True))
    done = _post(client, "/reviews/experts/import", {"token": token.group(1), "commit": "1"})
    assert done.status_code == 302
    experts = db.session.scalars(select(Expert).order_by(Expert.id)).all()
    assert [e.user.email for e in experts] == ["zhang1@test.cn", "zhang2@test.cn"]
    assert experts[0].is_senior and experts[1].yearly_limit == 6
    assert db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "expert.import")
    ).one().after == {"count": 2}
    book = load_workbook(io.BytesIO(client.get("/reviews/experts/export.xlsx").data))
    rows = list(book["明细"].iter_rows(min_row=2, values_only=True))
    assert list(rows[0][: len(HEADER)]) == HEADER
    assert rows[2][0] == "'-2+3 张二"  # neutralised, never a formula
