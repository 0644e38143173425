"""The forms of the mentor's phone pages: log a meeting in a few taps, attest after it, record
a mentee by the code on their learner card."""

import secrets
from datetime import UTC, datetime

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from webapp.forms import BaseForm, options
from webapp.mentoring.meetings import NOTE_MAX, MeetingDetails
from webapp.mentoring.models import MEETING_PLACE_LABELS, MeetingPlace
from webapp.people.forms import VietnameseDateField
from webapp.scheduling.forms import CheckboxesField, LocalTimeField
from webapp.timeutil import LOCAL_TZ, to_local

MINUTE_CHOICES = (15, 30, 45, 60, 90, 120, 180)


class MeetingForm(BaseForm):
    people = CheckboxesField(
        _l("Who was there"),
        coerce=int,
        validators=[InputRequired(_l("Please tick who you met (or tried to visit)."))],
    )
    held = RadioField(
        _l("Did you meet?"),
        choices=options([("yes", _l("Yes, we met")), ("no", _l("Nobody home: not met"))]),
        default="yes",
    )
    place = RadioField(
        _l("Where"),
        choices=options((p.value, label) for p, label in MEETING_PLACE_LABELS.items()),
        default=MeetingPlace.HOME.value,
    )
    day = VietnameseDateField(_l("Day"), validators=[InputRequired(_l("Enter the day."))])
    time = LocalTimeField(_l("Started at"), validators=[InputRequired(_l("Enter the time."))])
    minutes = SelectField(
        _l("How long it lasted"),
        coerce=int,
        default=60,
    )
    practised = CheckboxesField(_l("Skills practised"), coerce=str)
    note = TextAreaField(_l("Note"), validators=[Length(max=NOTE_MAX)])
    nonce = HiddenField()

    def __init__(self, *args, mentees=(), competencies=None, now=None, ticked=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.minutes.choices = options(
            (m, gettext("%(num)d minutes", num=m)) for m in MINUTE_CHOICES
        )
        self.people.choices = options((p.id, p.full_name) for p in mentees)
        self.practised.choices = options((c, f"{c} {n}") for c, n in (competencies or {}).items())
        if not self.is_submitted():
            local = to_local(now)
            self.day.data, self.time.data = local.date(), local.time().replace(second=0)
            self.people.data = [p.id for p in mentees if p.id in set(ticked)]
            self.nonce.data = secrets.token_hex(8)

    def details(self, mentees) -> MeetingDetails:
        by_id = {p.id: p for p in mentees}
        local = datetime.combine(self.day.data, self.time.data, tzinfo=LOCAL_TZ)
        return MeetingDetails(
            people=[by_id[i] for i in self.people.data],
            minutes=self.minutes.data,
            place=self.place.data,
            held=self.held.data == "yes",
            starts_at=local.astimezone(UTC),
            practised=list(self.practised.data or []),
            note=self.note.data or "",
            nonce=(self.nonce.data or "")[:32] or None,
        )


class AttestForm(BaseForm):
    """Who can do what was practised: checkboxes named ``can`` valued ``person_id:code``."""

    can = CheckboxesField(_l("Can do it"), coerce=str)

    def __init__(self, *args, page=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.can.choices = options(
            (f"{pid}:{code}", code) for pid in page.present for code in page.practised
        )

    def pairs(self) -> set[tuple[int, str]]:
        found = set()
        for value in self.can.data or []:
            pid, _, code = value.partition(":")
            found.add((int(pid), code))
        return found


class CardCodeForm(BaseForm):
    """A mentee's learner card: a photo of it (the phone's camera opens) or its code typed
    (six letters and digits). One is enough."""

    photo = FileField(_l("Photo of the learner card"))
    code = StringField(_l("Learner code"), validators=[Optional(), Length(max=20)])

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not self.photo.data and not self.code.data:
            self.code.errors = [gettext("Take a photo of the card, or type its code.")]
            return False
        return True
