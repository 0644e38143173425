"""Forms of the framework rules and of evidence entered by staff."""

from datetime import date

from wtforms import (
    BooleanField,
    IntegerField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.forms import BaseForm
from webapp.i18n import lazy_text as _l
from webapp.people.forms import VietnameseDateField
from webapp.scheduling.forms import DecimalCommaField
from webapp.timeutil import format_date, to_local, utcnow

#: The earliest date of a certificate or a VNeID confirmation we accept (typing mistakes
#: such as 01/01/0001 are refused); the latest is today in Vietnam.
EARLIEST_EVIDENCE_DATE = date(2015, 1, 1)


def today_local() -> date:
    return to_local(utcnow()).date()


class EvidenceDate:
    """A date from 01/01/2015 to today (Asia/Ho_Chi_Minh)."""

    def __call__(self, form, field):
        if field.data is None:
            return
        today = today_local()
        if not EARLIEST_EVIDENCE_DATE <= field.data <= today:
            raise ValidationError(
                _l(
                    "Write a date from %(first)s to today (%(today)s).",
                    first=format_date(EARLIEST_EVIDENCE_DATE),
                    today=format_date(today),
                )
            )


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class RulesForm(BaseForm):
    """One fieldset per target group is built by the view from GroupRule prefixes."""

    note = TextAreaField(_l("What changed and why"), validators=[DataRequired(), Length(max=2000)])


class GroupRuleForm(BaseForm):
    class Meta:
        csrf = False

    required = CheckboxesField(_l("Required competencies"), choices=[])
    min_attendance_pct = IntegerField(
        _l("Minimum attendance (%)"), validators=[InputRequired(), NumberRange(0, 100)]
    )
    min_hours = DecimalCommaField(_l("Minimum hours"), validators=[InputRequired()])
    meeting_hours = BooleanField(
        _l("Hours of meetings with a digital ambassador count toward the hours"),
    )

    def validate_min_hours(self, field):
        # ValidationError, not ValueError: WTForms catches only the former (else a 500).
        if field.data is not None and not 0 <= field.data <= 1000:
            raise ValidationError(_l("Write a number from 0 to 1000."))


class MoocForm(BaseForm):
    platform = StringField(
        _l("Platform"),
        default="binhdanhocvuso.gov.vn",
        validators=[DataRequired(), Length(max=200)],
    )
    number = StringField(_l("Certificate number"), validators=[DataRequired(), Length(max=100)])
    date = VietnameseDateField(
        _l("Date on the certificate"), validators=[InputRequired(), EvidenceDate()]
    )
    competencies = CheckboxesField(
        _l("Competencies it covers"), choices=[], validators=[DataRequired()]
    )


class VneidForm(BaseForm):
    """Shown on the evidence page under the online-course form: its own ids (same names)."""

    date = VietnameseDateField(
        _l("Date of the VNeID confirmation"),
        validators=[InputRequired(), EvidenceDate()],
        id="vneid-date",
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)], id="vneid-note")


class WithdrawForm(BaseForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=300)])
