"""The templates' ``_()``: translated in the request's language, a format string whose
values are escaped (``%%`` a percent sign), and plain text where a template does not
autoescape."""

from __future__ import annotations

from flask import render_template_string
from flask_babel import force_locale

MESSAGE = (
    '{{ _("申报书尚不完整，共 %(n)s 项需要补充或修改：", n=value) }}|{{ _("拨付比例（%%）") }}'
)


def test_chinese_with_escaped_values(app):
    with app.test_request_context("/"):
        out = render_template_string(MESSAGE, value="<b>3</b>")
    assert out == "申报书尚不完整，共 &lt;b&gt;3&lt;/b&gt; 项需要补充或修改：|拨付比例（%）"


def test_english(app):
    with app.test_request_context("/"), force_locale("en"):
        out = render_template_string(MESSAGE, value=3)
    assert out == (
        "The application is not complete yet; 3 items need to be added or corrected:"
        "|Disbursement (%)"
    )


def test_no_escaping_where_the_template_does_not_autoescape(app):
    with app.test_request_context("/"):
        template = app.jinja_env.from_string(
            "{% autoescape false %}" + MESSAGE + "{% endautoescape %}"
        )
        out = template.render(value="<b>3</b>")
    assert out.startswith("申报书尚不完整，共 <b>3</b> 项")
