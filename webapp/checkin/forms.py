"""Forms of check-in and attendance (staff pages)."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional

from webapp.forms import BaseForm, options
from webapp.people.models import TARGET_GROUP_LABELS

# cards and scanner


class CardScanForm(BaseForm):
    """The trainer's scan page: a photo of a learner card, the text the camera read from a
    card (sent by the page's script), or a learner code typed by hand. One is enough."""

    photo = FileField(_l("Photo of the learner card"))
    scanned = HiddenField(validators=[Optional(), Length(max=500)])
    code = StringField(
        _l("Learner code"),
        validators=[Optional(), Length(max=20)],
        description=_l("The six letters and digits under the name on the card, e.g. K7M 3QX."),
    )


class CardFilterForm(BaseForm):
    """Which people of a village get cards (a GET form, no CSRF)."""

    class Meta:
        csrf = False

    group = SelectField(_l("Target group"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options(
            [("", _l("All groups"))] + [(k.value, v) for k, v in TARGET_GROUP_LABELS.items()]
        )
