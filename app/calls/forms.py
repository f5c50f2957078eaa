"""Call, fund and society forms; they turn typed text into the plain data operations take."""

from __future__ import annotations

from datetime import UTC

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.calls.models import DEFAULT_ATTACHMENTS, DEFAULT_BUDGET_LINES, DEFAULT_CATEGORIES
from app.calls.states import CATEGORY_LABELS, KIND_LABELS, KINDS
from app.core import clock
from app.core.errors import ValidationFailed
from app.core.forms import NumberRange
from app.core.money import format_yuan, parse_fen


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def lines_text(lines) -> str:
    """Budget lines as the editable text ``key | 中文 | English | 上限（元）``."""
    out = []
    for line in lines:
        cap = format_yuan(line["cap_fen"]).replace(",", "") if line.get("cap_fen") else ""
        out.append(" | ".join([line["key"], line["zh"], line.get("en") or "", cap]).rstrip(" |"))
    return "\n".join(out)


def attachments_text(kinds) -> str:
    """Attachment kinds as the editable text ``key | 中文 | English``."""
    return "\n".join(" | ".join([k["key"], k["zh"], k.get("en") or ""]) for k in kinds)


DEFAULT_LINES_TEXT = lines_text(
    [{"key": k, "zh": zh, "en": en, "cap_fen": None} for k, zh, en in DEFAULT_BUDGET_LINES]
)
DEFAULT_ATTACHMENTS_TEXT = attachments_text(
    [{"key": k, "zh": zh, "en": en} for k, zh, en in DEFAULT_ATTACHMENTS]
)


def _rows(text: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in row.split("|")]
        for row in (text or "").splitlines()
        if row.strip()
    ]


class CallForm(FlaskForm):
    fund_id = SelectField(_l("专项资金"), coerce=int)
    kind = SelectField(_l("批次类型"), choices=[SelectChoice(k, KIND_LABELS[k]) for k in KINDS])
    title = StringField(_l("标题（中文）"), validators=[DataRequired(), Length(max=300)])
    title_en = StringField(_l("标题（英文）"), validators=[Optional(), Length(max=300)])
    guide = TextAreaField(_l("申报指南（中文）"), validators=[DataRequired()])
    guide_en = TextAreaField(_l("申报指南（英文）"), validators=[Optional()])
    categories = MultiCheckboxField(
        _l("任务类别"), choices=[SelectChoice(c, CATEGORY_LABELS[c]) for c in DEFAULT_CATEGORIES]
    )
    opens_at = DateTimeLocalField(
        _l("申报开始时间（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    closes_at = DateTimeLocalField(
        _l("申报截止时间（北京时间）"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    total_budget = StringField(_l("批次总预算（元）"), validators=[DataRequired()])
    project_cap = StringField(_l("单项资助上限（元）"), validators=[DataRequired()])
    per_society_limit = IntegerField(_l("每个单位限报项数"), default=1)
    budget_lines = TextAreaField(
        _l("预算科目（每行：代码 | 中文名 | 英文名 | 上限元，可空）"), default=DEFAULT_LINES_TEXT
    )
    indirect_cap_pct = IntegerField(_l("间接费用上限（占直接费用的%）"), default=10)
    matching_required = BooleanField(_l("要求地方配套资金"))
    matching_ratio_pct = IntegerField(
        _l("配套比例（配套资金不低于申请专项资金的%）"), default=0, validators=[Optional()]
    )
    required_attachments = TextAreaField(
        _l("必须上传的附件（每行：代码 | 中文名 | 英文名）"), default=DEFAULT_ATTACHMENTS_TEXT
    )
    rubric_file = SelectField(_l("评审评分表"))
    reviews_per_application = IntegerField(_l("每项申报书评审专家数"), default=3)
    notice_days = IntegerField(_l("公示天数"), default=5)
    notice_working_days = BooleanField(_l("公示天数按工作日计算（不含法定节假日）"))
    number_pattern = StringField(_l("项目编号规则"), default="{year}-ZL-{seq:03d}")
    max_returns = IntegerField(_l("形式审查退回修改次数上限"), default=1)
    hide_applicant_identity = BooleanField(
        _l("匿名评审（评审专家看不到申报单位、联系人和团队成员）")
    )
    balance_retention_allowed = BooleanField(
        _l("允许结余留用（验收通过且信用良好的项目可保留结余资金）")
    )

    def fill(self, call) -> None:
        """Show a call's stored rules in the form (times in Beijing time)."""
        self.process(obj=call)
        self.opens_at.data = clock.local(call.opens_at).replace(tzinfo=None)
        self.closes_at.data = clock.local(call.closes_at).replace(tzinfo=None)
        self.total_budget.data = format_yuan(call.total_budget_fen)
        self.project_cap.data = format_yuan(call.project_cap_fen)
        self.budget_lines.data = lines_text(call.budget_lines)
        self.required_attachments.data = attachments_text(call.required_attachments)

    def rules(self) -> dict:
        """The plain data of ``calls.rules``; raises ``ValidationFailed`` on unparseable money."""
        problems = []

        def money(field):
            try:
                return parse_fen(field.data)
            except ValidationFailed as err:
                field.errors = [*field.errors, err.message]
                problems.append(err.message)
                return None

        lines = []
        for row in _rows(self.budget_lines.data):
            row += [""] * (4 - len(row))
            cap = None
            if row[3]:
                try:
                    cap = parse_fen(row[3])
                except ValidationFailed as err:
                    problems.append(err.message)
            lines.append({"key": row[0], "zh": row[1], "en": row[2], "cap_fen": cap})
        attachments = []
        for row in _rows(self.required_attachments.data):
            row += [""] * (3 - len(row))
            attachments.append({"key": row[0], "zh": row[1], "en": row[2]})
        data = {
            "kind": self.kind.data,
            "title": self.title.data,
            "title_en": self.title_en.data,
            "guide": self.guide.data,
            "guide_en": self.guide_en.data,
            "categories": self.categories.data or [],
            "opens_at": _beijing(self.opens_at.data),
            "closes_at": _beijing(self.closes_at.data),
            "total_budget_fen": money(self.total_budget),
            "project_cap_fen": money(self.project_cap),
            "per_society_limit": self.per_society_limit.data,
            "budget_lines": lines,
            "indirect_cap_pct": self.indirect_cap_pct.data,
            "matching_required": bool(self.matching_required.data),
            "matching_ratio_pct": self.matching_ratio_pct.data or 0,
            "required_attachments": attachments,
            "rubric_file": self.rubric_file.data,
            "reviews_per_application": self.reviews_per_application.data,
            "notice_days": self.notice_days.data,
            "notice_working_days": bool(self.notice_working_days.data),
            "number_pattern": self.number_pattern.data,
            "max_returns": self.max_returns.data,
            "hide_applicant_identity": bool(self.hide_applicant_identity.data),
            "balance_retention_allowed": bool(self.balance_retention_allowed.data),
        }
        if problems:
            raise ValidationFailed(problems[0], details=problems[1:])
        return data


def _beijing(value):
    """A naive time typed in Beijing time → aware UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=clock.SHANGHAI).astimezone(UTC)


class AmendForm(CallForm):
    reason = TextAreaField(_l("变更理由（将记入审计日志）"), validators=[DataRequired()])


class FundForm(FlaskForm):
    name = StringField(_l("资金名称"), validators=[DataRequired(), Length(max=200)])
    year = IntegerField(_l("年度"), validators=[DataRequired(), NumberRange(2000, 2100)])


class AppropriationForm(FlaskForm):
    amount = StringField(_l("拨款金额（元）"), validators=[DataRequired()])
    reference = StringField(_l("文号或凭证号"), validators=[Optional(), Length(max=200)])


class ReasonForm(FlaskForm):
    reason = TextAreaField(_l("理由"), validators=[Optional(), Length(max=2000)])


class SocietyRegistrationForm(FlaskForm):
    name = StringField(_l("学会名称"), validators=[DataRequired(), Length(max=200)])
    credit_code = StringField(_l("统一社会信用代码"), validators=[DataRequired(), Length(max=40)])
    contact_name = StringField(_l("联系人"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("联系人邮箱（登录账号）"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])
    certificate = FileField(_l("社会团体法人登记证书扫描件（PDF或图片）"))


class StaffForm(FlaskForm):
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("初始密码"), validators=[DataRequired(), Length(max=200)])
