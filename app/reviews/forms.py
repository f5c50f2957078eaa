"""Review forms: they turn typed text into the plain data the operations take."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.core.forms import NumberRange
from app.reviews.rubric import Rubric
from app.reviews.states import RELATION_KINDS, RELATION_LABELS


class ExpertForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[Optional(), Length(max=100)])
    email = EmailField(_l("邮箱（新建评审专家账号）"), validators=[Optional(), Length(max=254)])
    org_name = StringField(_l("工作单位"), validators=[DataRequired(), Length(max=200)])
    title = StringField(_l("职称"), validators=[Optional(), Length(max=60)])
    is_senior = BooleanField(_l("高级职称"))
    fields = StringField(
        _l("专业领域代码（多个用分号分隔）"), validators=[DataRequired(), Length(max=500)]
    )
    keywords = StringField(_l("关键词（多个用分号分隔）"), validators=[Optional(), Length(max=500)])
    region = StringField(_l("地区代码（6位）"), validators=[Optional(), Length(max=6)])
    yearly_limit = IntegerField(
        _l("年度评审上限"), default=10, validators=[Optional(), NumberRange(0, 100)]
    )
    is_active = BooleanField(_l("在库（可被抽取）"), default=True)
    bank_name = StringField(_l("开户行"), validators=[Optional(), Length(max=100)])
    bank_account = StringField(_l("银行账号"), validators=[Optional(), Length(max=40)])

    def fill(self, expert) -> None:
        self.name.data = expert.user.name
        self.email.data = expert.user.email
        self.org_name.data = expert.org.name if expert.org else ""
        self.title.data = expert.title
        self.is_senior.data = expert.is_senior
        self.fields.data = "; ".join(expert.fields or [])
        self.keywords.data = "; ".join(expert.keywords or [])
        self.region.data = expert.region
        self.yearly_limit.data = expert.yearly_limit
        self.is_active.data = expert.is_active
        self.bank_name.data = expert.bank_name
        self.bank_account.data = expert.bank_account

    def values(self) -> dict:
        return {
            "name": self.name.data,
            "email": self.email.data,
            "org_name": self.org_name.data,
            "title": self.title.data,
            "is_senior": self.is_senior.data,
            "fields": self.fields.data,
            "keywords": self.keywords.data,
            "region": self.region.data,
            "yearly_limit": self.yearly_limit.data,
            "is_active": self.is_active.data,
            "bank_name": self.bank_name.data,
            "bank_account": self.bank_account.data,
        }


class RelationForm(FlaskForm):
    org_name = StringField(_l("关联单位"), validators=[DataRequired(), Length(max=200)])
    kind = SelectField(
        _l("关系类型"), choices=[SelectChoice(k, RELATION_LABELS[k]) for k in RELATION_KINDS]
    )
    since = DateField(_l("起始日期"), validators=[Optional()])
    until = DateField(_l("结束日期（仍在持续可不填）"), validators=[Optional()])
    note = StringField(_l("说明"), validators=[Optional(), Length(max=300)])


class ImportForm(FlaskForm):
    file = FileField(_l("专家信息表（xlsx）"), validators=[DataRequired()])


class DrawForm(FlaskForm):
    fields = StringField(
        _l("按领域筛选（领域代码，多个用分号分隔；留空为全部）"),
        validators=[Optional(), Length(max=500)],
    )
    seed = IntegerField(_l("随机种子（留空则随机生成）"), validators=[Optional(), NumberRange(0)])


class OverrideForm(FlaskForm):
    application_id = IntegerField(_l("申报书编号"), validators=[DataRequired()])
    remove = IntegerField(_l("原专家编号"), validators=[DataRequired()])
    add = IntegerField(_l("替换专家编号"), validators=[DataRequired()])
    reason = TextAreaField(_l("调整理由"), validators=[DataRequired(), Length(max=2000)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])


class RespondForm(FlaskForm):
    no_conflict = BooleanField(
        _l(
            "本人声明：与该申报单位、共建地方及项目团队不存在同单位、近亲属、"
            "三年内雇佣或任职、合作等利益冲突关系。"
        )
    )
    pledge = BooleanField(
        _l("本人承诺：对申报材料和评审情况严格保密，不复制、不外传、不泄露评审意见。")
    )
    reason = TextAreaField(_l("谢绝或回避理由"), validators=[Optional(), Length(max=2000)])


class RatingForm(FlaskForm):
    timeliness = IntegerField(
        _l("及时性（0–100）"), validators=[DataRequired(), NumberRange(0, 100)]
    )
    quality = IntegerField(
        _l("评审质量（0–100）"), validators=[DataRequired(), NumberRange(0, 100)]
    )
    score = IntegerField(_l("综合评价（0–100）"), validators=[DataRequired(), NumberRange(0, 100)])
    comment = StringField(_l("说明"), validators=[Optional(), Length(max=500)])


class SheetForm(FlaskForm):
    """The score sheet; its criterion fields are generated from the rubric (see ``sheet_data``)."""

    overall_comment = TextAreaField(_l("总体评审意见"), validators=[Optional(), Length(max=5000)])


def sheet_data(form_data, rubric: Rubric) -> dict:
    """Plain sheet data from the posted fields ``score-<key>``, ``na-<key>``,
    ``comment-<key>``, ``veto-<key>`` and ``veto_reason-<key>``."""
    scores, comments, vetoes = {}, {}, {}
    for c in rubric.criteria:
        if form_data.get(f"na-{c.key}"):
            scores[c.key] = None
        else:
            scores[c.key] = (form_data.get(f"score-{c.key}") or "").strip()
        comments[c.key] = form_data.get(f"comment-{c.key}") or ""
    for v in rubric.vetoes:
        if form_data.get(f"veto-{v.key}"):
            vetoes[v.key] = form_data.get(f"veto_reason-{v.key}") or ""
    return {
        "scores": scores,
        "comments": comments,
        "vetoes": vetoes,
        "overall_comment": form_data.get("overall_comment") or "",
    }


# --- panel review (会议评审/答辩) ---


def _panel_choices(labels: dict) -> list[tuple[str, str]]:
    return [(k, v) for k, v in labels.items()]


class PanelSettingsForm(FlaskForm):
    mode = SelectField(_l("会评结果的使用方式"), validators=[DataRequired()])
    panel_weight = IntegerField(
        _l("加权合成时会评结果的权重（%）"),
        default=50,
        validators=[Optional(), NumberRange(0, 100)],
    )
    method = SelectField(_l("评分方式"), validators=[DataRequired()])
    meeting_date = DateField(_l("会议日期"), validators=[Optional()])
    meeting_place = StringField(_l("会议地点"), validators=[Optional(), Length(max=200)])

    def __init__(self, *args, **kwargs):
        from app.reviews.states import PANEL_METHOD_LABELS, PANEL_MODE_LABELS

        super().__init__(*args, **kwargs)
        self.mode.choices = _panel_choices(PANEL_MODE_LABELS)
        self.method.choices = _panel_choices(PANEL_METHOD_LABELS)

    def values(self) -> dict:
        return {
            "mode": self.mode.data,
            "method": self.method.data,
            "panel_weight": self.panel_weight.data if self.panel_weight.data is not None else 50,
            "meeting_date": self.meeting_date.data,
            "meeting_place": self.meeting_place.data or "",
        }


class PanelMemberForm(FlaskForm):
    expert_id = SelectField(_l("专家"), coerce=int, validators=[DataRequired()])
    is_chair = BooleanField(_l("担任评审组组长"))


class PanelDrawForm(FlaskForm):
    size = IntegerField(
        _l("评审组人数（5–9 的奇数）"), default=7, validators=[DataRequired(), NumberRange(1, 99)]
    )
    seed = IntegerField(_l("随机种子（留空则随机生成）"), validators=[Optional(), NumberRange(0)])


class PanelSlotForm(FlaskForm):
    application_id = SelectField(_l("入围申报书"), coerce=int, validators=[DataRequired()])
    position = IntegerField(_l("答辩顺序（留空排在最后）"), validators=[Optional(), NumberRange(1)])
    starts_at = TimeField(_l("答辩时间"), validators=[Optional()])


class PanelAttendanceForm(FlaskForm):
    attendance = SelectField(_l("出席情况"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        from app.reviews.states import ATTENDANCE_LABELS

        super().__init__(*args, **kwargs)
        self.attendance.choices = _panel_choices(ATTENDANCE_LABELS)


class PanelOpinionForm(FlaskForm):
    opinion = TextAreaField(_l("评审组意见"), validators=[DataRequired(), Length(max=5000)])


class PanelMarksForm(FlaskForm):
    """A member's marks; the per-application fields are ``score-<id>`` / ``vote-<id>`` and
    ``comment-<id>`` (see ``panel_marks_data``)."""

    declared = BooleanField(
        _l(
            "本人声明：与答辩的申报单位、共建地方及项目团队不存在利益冲突，"
            "独立评分，并对评审情况严格保密。"
        )
    )


class PanelSignForm(FlaskForm):
    reason = TextAreaField(
        _l("不同意见及理由（不签署时必填）"), validators=[Optional(), Length(max=5000)]
    )


def panel_marks_data(form_data, application_ids) -> dict:
    """Plain marks (application id → score or vote and comment) from the posted fields."""
    out = {}
    for app_id in application_ids:
        mark = {"comment": form_data.get(f"comment-{app_id}") or ""}
        if f"vote-{app_id}" in form_data:
            mark["vote"] = form_data.get(f"vote-{app_id}")
        else:
            mark["score"] = (form_data.get(f"score-{app_id}") or "").strip()
        out[app_id] = mark
    return out
