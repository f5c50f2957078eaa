"""Account forms. Labels are lazy so they follow the user's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.accounts.models import ORG_KINDS
from app.core.permissions import ROLES

ROLE_LABELS = {
    "applicant": _l("申报人（学会工作人员）"),
    "society_admin": _l("学会秘书处（单位审核）"),
    "local_partner": _l("地方合作方（市县政府/科协）"),
    "officer": _l("学会部经办人"),
    "approver": _l("学会部负责人（审批）"),
    "reviewer": _l("评审专家"),
    "evaluator": _l("第三方评估人员"),
    "finance": _l("财务"),
    "auditor": _l("审计/纪检"),
    "admin": _l("系统管理员"),
    "security_admin": _l("安全保密管理员"),
    "audit_admin": _l("安全审计员"),
    "enterprise": _l("园区企业"),
}
ORG_KIND_LABELS = {
    "department": _l("科协部门"),
    "society": _l("省级学会"),
    "local_government": _l("地方政府/科协"),
    "evaluation_agency": _l("第三方评估机构"),
    "finance": _l("财务部门"),
    "audit": _l("审计部门"),
    "enterprise": _l("企业"),
    "expert_org": _l("专家所在单位"),
}


class LoginForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("密码"), validators=[DataRequired(), Length(max=200)])


class ForgotPasswordForm(FlaskForm):
    email = StringField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    old_password = PasswordField(_l("原密码"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("新密码"), validators=[DataRequired(), Length(max=200)])


class PreferencesForm(FlaskForm):
    locale = SelectField(
        _l("界面语言"), choices=[SelectChoice("zh_CN", "中文"), SelectChoice("en", "English")]
    )
    notify_by_mail = BooleanField(_l("同时通过邮件通知我"))


class UserForm(FlaskForm):
    # No wtforms Email(): it needs the email_validator package; create_user checks the format.
    email = EmailField(_l("邮箱"), validators=[DataRequired(), Length(max=254)])
    name = StringField(_l("姓名"), validators=[DataRequired(), Length(max=100)])
    org_id = SelectField(_l("所属单位"), coerce=int, validators=[DataRequired()])
    roles = SelectMultipleField(
        _l("角色"),
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
        validators=[DataRequired()],
    )
    password = PasswordField(_l("初始密码"), validators=[Optional(), Length(max=200)])


class RolesForm(FlaskForm):
    roles = SelectMultipleField(
        _l("角色"),
        choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES],
        validators=[DataRequired()],
    )


class OrganisationForm(FlaskForm):
    name = StringField(_l("单位名称"), validators=[DataRequired(), Length(max=200)])
    name_en = StringField(_l("英文名称"), validators=[Optional(), Length(max=200)])
    kind = SelectField(
        _l("单位类型"), choices=[SelectChoice(k, ORG_KIND_LABELS[k]) for k in ORG_KINDS]
    )
    credit_code = StringField(_l("统一社会信用代码"), validators=[Optional(), Length(max=40)])
    city_code = StringField(_l("所在城市代码"), validators=[Optional(), Length(max=6)])


class ReasonForm(FlaskForm):
    reason = StringField(_l("理由"), validators=[Optional(), Length(max=500)])


class MfaCodeForm(FlaskForm):
    code = StringField(_l("验证码（6位数字）"), validators=[DataRequired(), Length(max=10)])
