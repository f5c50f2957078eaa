"""Forms of the stations module; each turns typed text into the plain data operations take."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.core.errors import ValidationFailed
from app.core.forms import NumberRange
from app.core.money import parse_fen
from app.stations.models import REPORT_COUNTS
from app.stations.states import NEED_KINDS, URGENCIES


def choices(pairs) -> list[SelectChoice]:
    """Select options from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


REPORT_LABELS = {
    "needs_collected": _l("收集需求数"),
    "needs_solved": _l("解决需求数"),
    "experts_stationed": _l("进站专家人数"),
    "enterprises_served": _l("服务企业数"),
    "technicians_trained": _l("培训技术人员人次"),
    "events_held": _l("举办活动场次"),
    "patents": _l("专利（件）"),
    "standards": _l("标准（项）"),
    "products": _l("新产品（个）"),
    "revenue_fen": _l("企业报告新增产值（元）"),
}


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])


class StationForm(FlaskForm):
    name = StringField(_l("服务站名称"), validators=[DataRequired(), Length(max=200)])
    park_id = SelectField(_l("所在园区"), coerce=int)
    government_id = SelectField(_l("共建政府（科协）"), coerce=int)
    society_id = SelectField(_l("牵头学会"), coerce=int)


class DocumentForm(FlaskForm):
    kind = SelectField(
        _l("文件"),
        choices=choices(
            [
                ("rules", _l("服务站管理办法")),
                ("plan", _l("年度工作计划")),
                ("agreement", _l("合作协议（牵头学会与地方政府签订）")),
            ]
        ),
    )
    file = FileField(_l("文件（PDF或图片）"), validators=[FileRequired()])


class ChiefForm(FlaskForm):
    name = StringField(_l("首席科技专家姓名"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("职称"), validators=[Optional(), Length(max=100)])
    organisation = StringField(_l("工作单位"), validators=[DataRequired(), Length(max=200)])


class ExpertForm(FlaskForm):
    name = StringField(_l("专家姓名"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("职称"), validators=[Optional(), Length(max=100)])
    organisation = StringField(_l("工作单位"), validators=[Optional(), Length(max=200)])
    field = StringField(_l("专业领域"), validators=[Optional(), Length(max=100)])


class PartnerForm(FlaskForm):
    society_id = SelectField(_l("合作学会"), coerce=int)


class EngageForm(FlaskForm):
    agency_id = SelectField(_l("第三方评估机构"), coerce=int)


class EvidenceForm(FlaskForm):
    criterion = SelectField(_l("认定条件"))
    note = StringField(_l("说明"), validators=[Optional(), Length(max=2000)])
    file = FileField(_l("佐证材料"), validators=[FileRequired()])


class ReportForm(FlaskForm):
    year = IntegerField(_l("报告年度"), validators=[DataRequired(), NumberRange(2000, 2100)])
    needs_collected = StringField(REPORT_LABELS["needs_collected"])
    needs_solved = StringField(REPORT_LABELS["needs_solved"])
    experts_stationed = StringField(REPORT_LABELS["experts_stationed"])
    enterprises_served = StringField(REPORT_LABELS["enterprises_served"])
    technicians_trained = StringField(REPORT_LABELS["technicians_trained"])
    events_held = StringField(REPORT_LABELS["events_held"])
    patents = StringField(REPORT_LABELS["patents"])
    standards = StringField(REPORT_LABELS["standards"])
    products = StringField(REPORT_LABELS["products"])
    revenue_fen = StringField(REPORT_LABELS["revenue_fen"])
    narrative = TextAreaField(_l("工作总结"), validators=[Optional(), Length(max=10000)])
    evidence = FileField(_l("佐证材料"))

    def counts(self) -> dict:
        """The counts as integers (revenue parsed from 元 into fen); negatives pass through
        so the operation refuses them with its message."""
        out = {}
        for name in REPORT_COUNTS:
            raw = (getattr(self, name).data or "0").strip()
            if name == "revenue_fen":
                negative = raw.startswith("-")
                try:
                    fen = parse_fen(raw.lstrip("-"))
                except ValidationFailed as err:
                    raise ValidationFailed(err.message, field=name) from None
                out[name] = -fen if negative else fen
            else:
                out[name] = int(raw) if raw.lstrip("-").isdigit() else raw
        return out


class NeedForm(FlaskForm):
    kind = SelectField(_l("需求类型"), choices=choices(NEED_KINDS.items()))
    industry = StringField(_l("所属行业"), validators=[DataRequired(), Length(max=100)])
    title = StringField(_l("需求名称"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("需求描述"), validators=[DataRequired(), Length(max=10000)])
    urgency = SelectField(_l("紧急程度"), choices=choices(URGENCIES.items()), default="normal")
    contact_name = StringField(_l("联系人"), validators=[DataRequired(), Length(max=100)])
    contact_phone = StringField(_l("联系电话"), validators=[DataRequired(), Length(max=40)])


class ProposalForm(FlaskForm):
    content = TextAreaField(_l("对接方案"), validators=[DataRequired(), Length(max=10000)])
    experts = TextAreaField(
        _l("拟派专家（每行：姓名 | 职称 | 单位）"), validators=[DataRequired(), Length(max=5000)]
    )

    def expert_rows(self) -> list[dict]:
        rows = []
        for line in (self.experts.data or "").splitlines():
            parts = [p.strip() for p in line.split("|")] + ["", ""]
            if parts[0]:
                rows.append({"name": parts[0], "title": parts[1], "organisation": parts[2]})
        return rows


class MatchForm(FlaskForm):
    project_id = SelectField(_l("服务该需求的立项项目"), coerce=int)
    proposal_id = SelectField(_l("采用的对接方案"), coerce=int)


class CloseForm(FlaskForm):
    result = TextAreaField(_l("解决结果"), validators=[DataRequired(), Length(max=10000)])
    satisfaction = SelectField(
        _l("满意度（1–5分）"),
        coerce=int,
        choices=choices(
            [
                (5, _l("5 非常满意")),
                (4, _l("4 满意")),
                (3, _l("3 一般")),
                (2, _l("2 不满意")),
                (1, _l("1 非常不满意")),
            ]
        ),
    )


class PilotForm(FlaskForm):
    park_id = SelectField(_l("所在省级高新园区"), coerce=int)
    leading_industries = TextAreaField(_l("主导产业"), validators=[Optional(), Length(max=5000)])
    needs = TextAreaField(_l("提出的需求"), validators=[Optional(), Length(max=5000)])
    premises = TextAreaField(_l("提供的场地条件"), validators=[Optional(), Length(max=5000)])
    matching_funds = StringField(_l("地方配套资金（元）"), validators=[Optional()])
    staff_count = IntegerField(_l("专职工作人员（人）"), validators=[Optional()])
    staff_note = TextAreaField(_l("人员保障说明"), validators=[Optional(), Length(max=5000)])
    lead_society_id = SelectField(_l("拟牵头学会（可选）"), coerce=int)

    def data_for(self) -> dict:
        raw = (self.matching_funds.data or "0").strip()
        try:
            fen = parse_fen(raw)
        except ValidationFailed as err:
            raise ValidationFailed(err.message, field="matching_funds") from None
        return {
            "park_id": self.park_id.data,
            "leading_industries": self.leading_industries.data,
            "needs": self.needs.data,
            "premises": self.premises.data,
            "matching_funds_fen": fen,
            "staff_count": self.staff_count.data or 0,
            "staff_note": self.staff_note.data,
            "lead_society_id": self.lead_society_id.data or None,
        }
