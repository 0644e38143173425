"""Forms of the learner's phone pages and the trainer's live page."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from webapp.checkin.models import STATUS_LABELS, Method
from webapp.forms import BaseForm, YearField, options


class IdentifyForm(BaseForm):
    """Who is checking in: phone number and year of birth, or the learner code."""

    phone = StringField(
        _l("Your phone number"),
        validators=[Optional(), Length(max=20)],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    birth_year = YearField(
        _l("Your year of birth"),
        validators=[
            Optional(),
            NumberRange(min=1900, max=2100, message=_l("Enter a year such as 1958.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    learner_code = StringField(
        _l("Or your learner code"),
        validators=[Optional(), Length(max=12)],
        description=_l("Six letters and digits, printed on your learner card"),
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.learner_code.data or (self.phone.data and self.birth_year.data):
            return True
        self.form_errors.append(
            str(_l("Please give your phone number and your year of birth, or your learner code."))
        )
        return False


class SessionCodeForm(BaseForm):
    code = StringField(
        _l("Code shown by the trainer"),
        validators=[DataRequired(_l("Enter the code shown on the screen.")), Length(max=12)],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )


class MarkForm(BaseForm):
    """A roster tap: one status; a reason when it overrules an earlier record."""

    status = SelectField(_l("Status"), choices=options(list(STATUS_LABELS.items())))
    reason = StringField(_l("Reason (for a correction)"), validators=[Optional(), Length(max=300)])
    #: Marked in class (roster) or copied afterwards from the paper sign-in sheet.
    source = SelectField(
        choices=options([(Method.ROSTER.value, ""), (Method.PAPER.value, "")]),
        default=Method.ROSTER.value,
        validators=[Optional()],
    )


class CorrectForm(BaseForm):
    status = SelectField(_l("Status"), choices=options(list(STATUS_LABELS.items())))
    reason = TextAreaField(
        _l("Why is it corrected?"),
        validators=[DataRequired(_l("Please say why the record is corrected.")), Length(max=300)],
    )
