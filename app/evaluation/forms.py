"""Evaluation forms: they turn typed text into the plain data the operations take."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.evaluation.states import FOLLOW_UP_LABELS, FOLLOW_UPS, KIND_LABELS, KINDS
from app.reviews.rubric import Rubric
from app.reviews.states import RELATION_KINDS, RELATION_LABELS


class EngagementForm(FlaskForm):
    agency_id = SelectField(_l("第三方评估机构"), coerce=int, validators=[DataRequired()])
    kind = SelectField(
        _l("评价类型"),
        choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS],
        validators=[DataRequired()],
    )
    title = StringField(_l("委托名称"), validators=[DataRequired(), Length(max=200)])
    scope = TextAreaField(_l("评价范围与内容"), validators=[DataRequired(), Length(max=5000)])
    due_on = DateField(_l("完成期限"), validators=[DataRequired()])
    project_ids = SelectMultipleField(_l("被评价项目"), coerce=int, validators=[DataRequired()])
    evaluator_ids = SelectMultipleField(_l("评价人员"), coerce=int, validators=[DataRequired()])
    lead_id = SelectField(_l("牵头人"), coerce=int, validators=[DataRequired()])
    rubric_file = SelectField(_l("绩效评价指标体系"), validators=[Optional()])

    def values(self) -> dict:
        return {
            "agency_id": self.agency_id.data,
            "kind": self.kind.data,
            "title": self.title.data,
            "scope": self.scope.data,
            "due_on": self.due_on.data,
            "project_ids": self.project_ids.data,
            "evaluator_ids": self.evaluator_ids.data,
            "lead_id": self.lead_id.data,
            "rubric_file": self.rubric_file.data or None,
        }


class DeclarationForm(FlaskForm):
    statement = BooleanField(
        _l(
            "本人及所在机构与被评价项目的承担学会、共建地方政府和项目团队均无利益关联，并对评价材料保密。"
        )
    )
    tie_org_id = SelectField(_l("如有关联，请申报关联单位"), coerce=int, validators=[Optional()])
    tie_kind = SelectField(
        _l("关系类型"),
        choices=[SelectChoice("", "—")]
        + [SelectChoice(k, RELATION_LABELS[k]) for k in RELATION_KINDS],
        validators=[Optional()],
    )
    tie_until = DateField(_l("关系截止日期（仍存续则留空）"), validators=[Optional()])

    def ties(self) -> list[dict]:
        if not (self.tie_org_id.data and self.tie_kind.data):
            return []
        return [
            {
                "org_id": self.tie_org_id.data,
                "kind": self.tie_kind.data,
                "until": self.tie_until.data,
            }
        ]


class AddEvaluatorsForm(FlaskForm):
    """Evaluators of the agency added to an engagement already made."""

    evaluator_ids = SelectMultipleField(_l("增加评价人员"), coerce=int, validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A button that changes state, with an optional reason."""

    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=5000)])


class AcceptForm(FlaskForm):
    follow_up = SelectField(
        _l("后续措施（仅评价等级为“差”时）"),
        choices=[SelectChoice(k, FOLLOW_UP_LABELS[k]) for k in FOLLOW_UPS],
        default="none",
    )
    reason = TextAreaField(_l("采纳意见"), validators=[Optional(), Length(max=5000)])


class NotesForm(FlaskForm):
    site_notes = TextAreaField(_l("现场核查情况"), validators=[Optional(), Length(max=20000)])
    summary = TextAreaField(_l("评价结论与意见"), validators=[Optional(), Length(max=20000)])


class ProblemForm(FlaskForm):
    problem = TextAreaField(_l("发现的问题"), validators=[DataRequired(), Length(max=5000)])
    requirement = TextAreaField(_l("整改要求"), validators=[Optional(), Length(max=5000)])
    deadline = DateField(_l("整改期限"), validators=[DataRequired()])


class UploadForm(FlaskForm):
    file = FileField(_l("文件"))


class RectificationForm(FlaskForm):
    response = TextAreaField(_l("整改情况说明"), validators=[Optional(), Length(max=10000)])
    file = FileField(_l("整改佐证材料"))


def sheet_data(form_data, rubric: Rubric) -> tuple[dict, dict]:
    """(scores, comments) from the posted ``score-<key>``, ``na-<key>``, ``comment-<key>``."""
    scores, comments = {}, {}
    for c in rubric.criteria:
        if form_data.get(f"na-{c.key}"):
            scores[c.key] = None
        else:
            scores[c.key] = (form_data.get(f"score-{c.key}") or "").strip()
        comments[c.key] = form_data.get(f"comment-{c.key}") or ""
    return scores, comments


def veto_data(form_data, rubric: Rubric) -> dict[str, str]:
    """The raised veto items from the posted ``veto-<key>`` and ``veto_reason-<key>``."""
    return {
        v.key: form_data.get(f"veto_reason-{v.key}") or ""
        for v in rubric.vetoes
        if form_data.get(f"veto-{v.key}")
    }
