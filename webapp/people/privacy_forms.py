"""Forms of a person's data rights page."""

from flask_babel import lazy_gettext as _l
from wtforms import SelectField
from wtforms.validators import InputRequired

from webapp.forms import BaseForm, options
from webapp.people.forms import VietnameseDateField
from webapp.people.privacy_models import REQUEST_KIND_LABELS

CHANNEL_LABELS = {
    "in_person": _l("in person"),
    "paper": _l("on paper"),
    "phone_call": _l("by phone call"),
}


class PaperConsentForm(BaseForm):
    """The signed paper form came back: the date written on it."""

    given_on = VietnameseDateField(
        _l("Date signed"),
        validators=[InputRequired(_l("Enter the date on the signed form (dd/mm/yyyy)."))],
    )


class RequestForm(BaseForm):
    kind = SelectField(_l("The person asks to"), choices=options(REQUEST_KIND_LABELS.items()))
    channel = SelectField(_l("How the request came"), choices=options(CHANNEL_LABELS.items()))


class ActionForm(BaseForm):
    """A button that changes something (CSRF only)."""
