"""Forms of the mentoring management pages: a mentor's details, ending a mentor, linking
their log-in, assigning mentees, ending and reassigning a mentorship."""

from wtforms import BooleanField, HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.forms import BaseForm
from webapp.i18n import lazy_text as _l
from webapp.ids import MAX_ID
from webapp.mentoring.models import END_REASON_LABELS, ORGANISATION_LABELS, EndReason
from webapp.mentoring.services import NOTE_MAX


def _optional_int(value):
    """An int, or None for no choice ("" or "None"); anything else is a coercion error."""
    return int(value) if value not in (None, "", "None") else None


def _note_field() -> StringField:
    return StringField(_l("Note"), validators=[Optional(), Length(max=NOTE_MAX)])


class MentorForm(BaseForm):
    """A mentor's details; ``villages`` are those the user may choose (their scope)."""

    organisation = SelectField(
        _l("Organisation"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(key.value, label) for key, label in ORGANISATION_LABELS.items()],
        validators=[DataRequired(_l("Choose the mentor's organisation."))],
    )
    village_id = SelectField(
        _l("Village they work in"),
        coerce=_optional_int,
        description=_l("Leave “the whole commune” for someone who helps everywhere."),
    )
    counter_helper = BooleanField(_l("Helps at the public-service centre's counter"))

    def __init__(self, *args, villages=(), whole_commune: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [SelectChoice("", _l("The whole commune"))] if whole_commune else []
        self.village_id.choices = choices + [SelectChoice(v.id, v.name) for v in villages]


class NewMentorForm(MentorForm):
    """Make a registered person (chosen in the search) a mentor."""

    person_id = IntegerField(
        validators=[InputRequired(_l("Choose the person first.")), NumberRange(1, MAX_ID)]
    )
    q = HiddenField()


class EndMentorForm(BaseForm):
    """The person stops mentoring (their mentees become unmatched)."""

    note = _note_field()


class LinkAccountForm(BaseForm):
    """The mentor's log-in, among the commune's log-ins of role mentor; none unlinks."""

    user_id = SelectField(_l("Log-in"), coerce=_optional_int)

    def __init__(self, *args, logins=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.user_id.choices = [SelectChoice("", _l("No log-in"))] + [
            SelectChoice(u.id, f"{u.username} ({u.full_name})") for u in logins
        ]


class AssignForm(BaseForm):
    """The Assign buttons: one person, or a whole household."""

    person_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    household_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    q = HiddenField()


class EndMentorshipForm(BaseForm):
    """End a mentorship with a reason (reassigning has its own form)."""

    reason = SelectField(
        _l("Reason"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [
            SelectChoice(key.value, label)
            for key, label in END_REASON_LABELS.items()
            if key != EndReason.REASSIGNED
        ],
        validators=[DataRequired(_l("Choose why the mentorship ends."))],
    )
    note = _note_field()


class ReassignForm(BaseForm):
    """Give the mentee to another mentor (chosen among the active mentors of the scope)."""

    new_mentor_id = IntegerField(
        _l("New mentor"),
        validators=[InputRequired(_l("Choose the new mentor.")), NumberRange(1, MAX_ID)],
    )
    note = _note_field()
