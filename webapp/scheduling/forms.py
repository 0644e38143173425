"""Scheduling forms: courses, materials, venues and classes; sessions and weekly series;
enrolment; the public sign-up; the calendar filters.

The field classes here parse what people type the Vietnamese way: decimal commas (1,5), times
such as 8h30, competency codes such as "1.1, 2.3".
"""

import math
import re
from datetime import time

from flask_login import current_user
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from webapp.forms import BaseForm, ParsedTextField, options
from webapp.i18n import lazy_text as _l
from webapp.ids import MAX_ID, row_id
from webapp.people.forms import NameAndBirthYearForm, VietnameseDateField
from webapp.people.models import DISABILITY_LABELS, SEGMENT_LABELS, TARGET_GROUP_LABELS
from webapp.people.services import phone_problem
from webapp.phone import normalise_phone
from webapp.scheduling import services
from webapp.scheduling.access import may_override_clash
from webapp.scheduling.models import (
    ACCESSIBILITY_LABELS,
    ACCOMMODATION_LABELS,
    CLASS_STATUS_LABELS,
    EQUIPMENT_LABELS,
)
from webapp.scheduling.series import (
    WEEKDAY_LABELS,
    PlannedSession,
    SeriesRule,
    check_times,
    local_to_utc,
    parse_skip,
)

TIME_RE = re.compile(r"^(\d{1,2})(?:[:.hH](\d{2})?)?$")


# --- field pieces -----------------------------------------------------------------------------


def _choices(labels: dict) -> list[SelectChoice]:
    return [SelectChoice(key.value, label) for key, label in labels.items()]


def _optional_int(value):
    """An int, or None for no choice; anything else is a coercion error."""
    return int(value) if value not in (None, "", "None") else None


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (rendered by _planning_macros.checkboxes)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DecimalCommaField(ParsedTextField):
    """A number that may be written the Vietnamese way, with a decimal comma (1,5)."""

    message = _l("Write a number, for example 1,5.")

    def parse(self, text):
        number = float(text.replace(",", "."))
        if not math.isfinite(number):  # float() takes "nan", "inf" and "1e309"
            raise ValueError(text)
        return number

    def format(self, value):
        return f"{value:g}".replace(".", ",")


class CodeListField(StringField):
    """Competency codes typed as "1.1, 2.3" (commas, semicolons or spaces between them)."""

    def process_formdata(self, valuelist):
        text = valuelist[0] if valuelist else ""
        self.data = [c for c in text.replace(";", ",").replace(" ", ",").split(",") if c]
        bad = [c for c in self.data if not services.COMPETENCY_CODE.fullmatch(c)]
        if bad:
            raise ValueError(_l("“%(code)s” is not a competency code such as 2.3.", code=bad[0]))

    def _value(self):
        return ", ".join(self.data or [])


def _int_or_none(value):
    """Like _optional_int, but anything that is not a number becomes None (no error)."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _village_choices(villages) -> list[tuple[int, str]]:
    several = len({v.commune_id for v in villages}) > 1
    return [(v.id, f"{v.name} ({v.commune.name})" if several else v.name) for v in villages]


def parse_time(text: str) -> time:
    """08:00, 8:00, 8.00, 8h, 8h30 or 8 -> a time; ValueError otherwise."""
    found = TIME_RE.match(text.strip())
    if not found:
        raise ValueError(text)
    return time(int(found.group(1)), int(found.group(2) or 0))  # ValueError when out of range


class LocalTimeField(ParsedTextField):
    """A Vietnam wall-clock time typed as HH:MM."""

    message = _l("Write the time as HH:MM, for example 08:00.")

    def parse(self, text):
        return parse_time(text)

    def format(self, value):
        return value.strftime("%H:%M")


#: The ranges of the number fields, each with the message shown beyond it.
HOURS = NumberRange(min=0, max=1000, message=_l("Enter a number from 0 to 1000."))
SESSION_COUNT = NumberRange(min=0, max=500, message=_l("Enter a number from 0 to 500."))
VENUE_SEATS = NumberRange(min=0, max=10000, message=_l("Enter a number from 0 to 10000."))
CLASS_SEATS = NumberRange(min=1, max=1000, message=_l("The class needs at least one seat."))


def clash_override_fields() -> tuple[BooleanField, StringField]:
    """The "save anyway" box and its note, for a :class:`ClashOverride` form: unpacked as
    ``override, override_note`` where they come in the form's order (its error summary)."""
    return BooleanField(_l("Save anyway, despite the clash")), StringField(
        _l("Why the clash is acceptable"), validators=[Optional(), Length(max=300)]
    )


class ClashOverride:
    """A form whose plan may clash with other sessions, with the ``override`` box and
    ``override_note`` of :func:`clash_override_fields`."""

    def override_note_for_service(self) -> str | None:
        """The override note when someone who may override a clash ticked the box, else None
        (no override). The service checks who overrides again."""
        if self.override.data and may_override_clash(current_user):
            return self.override_note.data or ""
        return None


# --- courses, materials, venues, classes ------------------------------------------------------


class CourseForm(BaseForm):
    commune_id = SelectField(_l("Commune"), coerce=int)
    title = StringField(
        _l("Title"),
        validators=[DataRequired(_l("Give the course a title.")), Length(max=200)],
    )
    summary = TextAreaField(_l("Summary"), validators=[Optional(), Length(max=5000)])
    target_groups = CheckboxesField(_l("Target groups"), choices=_choices(TARGET_GROUP_LABELS))
    segments = CheckboxesField(_l("Segments"), choices=_choices(SEGMENT_LABELS))
    disability_types = CheckboxesField(
        _l("Designed for people with these disabilities (optional)"),
        choices=_choices(DISABILITY_LABELS),
    )
    competency_codes = CodeListField(
        _l("Framework competencies"),
        description=_l("Codes of the digital-skills framework, for example 1.1, 2.3"),
    )
    planned_hours = DecimalCommaField(
        _l("Planned hours"),
        validators=[InputRequired(_l("Enter the planned hours, for example 8.")), HOURS],
    )
    planned_sessions = IntegerField(
        _l("Number of sessions"),
        validators=[
            InputRequired(_l("Enter the number of sessions, for example 4.")),
            SESSION_COUNT,
        ],
    )

    def __init__(self, *args, communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        if len(communes) > 1:  # province-wide users choose; everybody else plans at home
            self.commune_id.choices = options([(c.id, c.name) for c in communes])
        else:
            del self.commune_id

    def course_fields(self) -> dict:
        names = (
            "title",
            "summary",
            "target_groups",
            "segments",
            "disability_types",
            "competency_codes",
            "planned_hours",
            "planned_sessions",
        )
        return {name: self[name].data for name in names} | {"summary": self.summary.data or ""}


class MaterialForm(BaseForm):
    title = StringField(_l("Title"), validators=[Optional(), Length(max=200)])
    url = StringField(_l("Web link"), validators=[Optional(), Length(max=500)])
    file = FileField(_l("Or a file (PDF, JPEG or PNG)"))


class VenueForm(BaseForm):
    commune_id = SelectField(_l("Commune"), coerce=int)
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the venue a name.")), Length(max=200)]
    )
    village_id = SelectField(_l("Village"), coerce=_optional_int, validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=300)])
    capacity = IntegerField(
        _l("Seats"),
        validators=[InputRequired(_l("Enter the number of seats, for example 30.")), VENUE_SEATS],
    )
    accessibility = CheckboxesField(_l("Accessibility"), choices=_choices(ACCESSIBILITY_LABELS))
    equipment = CheckboxesField(_l("Equipment"), choices=_choices(EQUIPMENT_LABELS))

    def __init__(self, *args, communes=(), villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        if len(communes) > 1:
            self.commune_id.choices = options([(c.id, c.name) for c in communes])
        else:
            del self.commune_id
        self.village_id.choices = options([("", _l("— none —")), *_village_choices(villages)])

    def venue_fields(self) -> dict:
        names = ("name", "village_id", "address", "capacity", "accessibility", "equipment")
        return {name: self[name].data for name in names} | {"address": self.address.data or ""}


class ClassForm(ClashOverride, BaseForm):
    course_id = SelectField(_l("Course"), coerce=int)
    name = StringField(
        _l("Name of the class"),
        validators=[DataRequired(_l("Give the class a name.")), Length(max=200)],
        description=_l("For example: Older people, Thôn 1, mornings"),
    )
    trainers = CheckboxesField(_l("Trainers"), coerce=int)
    assistants = StringField(
        _l("Assistants (optional)"),
        validators=[Optional(), Length(max=300)],
        description=_l("Names of volunteers who help, e.g. from the youth union"),
    )
    target_groups = CheckboxesField(_l("Audience"), choices=_choices(TARGET_GROUP_LABELS))
    segments = CheckboxesField(_l("Segments"), choices=_choices(SEGMENT_LABELS))
    village_id = SelectField(_l("Village"), coerce=_optional_int, validators=[Optional()])
    capacity = IntegerField(
        _l("Seats"),
        validators=[InputRequired(_l("Enter the number of seats, for example 20.")), CLASS_SEATS],
    )
    accommodations = CheckboxesField(
        _l("Accommodations offered"), choices=_choices(ACCOMMODATION_LABELS)
    )
    status = SelectField(_l("Status"), choices=_choices(CLASS_STATUS_LABELS))
    public_signup = BooleanField(_l("Public sign-up page: people may ask to join from a link"))
    # Shown when a trainer added to the class is busy at some of its sessions.
    override, override_note = clash_override_fields()

    def __init__(self, *args, courses=(), trainers=(), villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.course_id.choices = options([(c.id, c.title) for c in courses])
        self.trainers.choices = options([(t.id, t.full_name) for t in trainers])
        self.village_id.choices = options([("", _l("— none —")), *_village_choices(villages)])

    def class_fields(self) -> dict:
        names = (
            "name",
            "target_groups",
            "segments",
            "village_id",
            "capacity",
            "accommodations",
            "status",
            "public_signup",
        )
        return {name: self[name].data for name in names} | {
            "assistants": self.assistants.data or "",
            "trainer_ids": self.trainers.data or [],
        }

    def change_fields(self) -> dict:
        """What ``services.update_class`` takes from the form: the class's fields and the
        clash override, if any."""
        return self.class_fields() | {"override_note": self.override_note_for_service()}


# --- sessions ---------------------------------------------------------------------------------


class _SessionFields(ClashOverride, BaseForm):
    """Fields shared by the one-session and the series forms."""

    start = LocalTimeField(
        _l("Starts at (HH:MM)"),
        validators=[InputRequired(_l("Enter the start time, for example 08:00."))],
    )
    end = LocalTimeField(
        _l("Ends at (HH:MM)"),
        validators=[InputRequired(_l("Enter the end time, for example 10:00."))],
    )
    venue_id = SelectField(_l("Venue"), coerce=_int_or_none, validators=[Optional()])
    topic = StringField(_l("Topic (optional)"), validators=[Optional(), Length(max=200)])
    override, override_note = clash_override_fields()

    def __init__(self, *args, venues=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.venue_id.choices = options([("", _l("— none —"))] + [(v.id, v.name) for v in venues])

    def plan_fields(self) -> dict:
        """What the session services take from the form besides the times."""
        return {
            "venue_id": self.venue_id.data,
            "topic": self.topic.data,
            "override_note": self.override_note_for_service(),
        }


class SessionDateField(VietnameseDateField):
    """The day of a class session: a date of the years classes can be held in (01/01/0001 at
    00:02 Vietnam time would be before year 1 in UTC)."""

    def parse(self, text):
        day = super().parse(text)
        if not 2000 <= day.year <= 2100:
            raise ValueError(text)
        return day


class SessionForm(_SessionFields):
    day = SessionDateField(
        _l("Date (dd/mm/yyyy)"),
        validators=[InputRequired(_l("Enter the date, for example 05/12/2025."))],
    )
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])

    def plan_fields(self) -> dict:
        return super().plan_fields() | {"note": self.note.data}

    def planned(self) -> PlannedSession:
        check_times(self.start.data, self.end.data)
        return PlannedSession(
            local_to_utc(self.day.data, self.start.data), local_to_utc(self.day.data, self.end.data)
        )


class SeriesForm(_SessionFields):
    weekdays = CheckboxesField(_l("Days of the week"), coerce=int)
    first_day = SessionDateField(
        _l("First day (dd/mm/yyyy)"),
        validators=[InputRequired(_l("Enter the first day, for example 01/12/2025."))],
    )
    weeks = IntegerField(
        _l("For how many weeks"),
        validators=[Optional(), NumberRange(1, 52, _l("Between 1 and 52 weeks."))],
    )
    until = VietnameseDateField(_l("Or until (dd/mm/yyyy)"), validators=[Optional()])
    skip = StringField(
        _l("Days to skip (optional)"),
        description=_l("Holidays or market days, for example 02/09, 15/09/2026"),
        validators=[Optional(), Length(max=500)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.weekdays.choices = options([(d, label) for d, label in WEEKDAY_LABELS.items()])

    def rule(self) -> SeriesRule:
        """The rule as typed (DomainError for days to skip that are not days)."""
        return SeriesRule(
            first_day=self.first_day.data,
            weekdays=self.weekdays.data or [],
            start=self.start.data,
            end=self.end.data,
            weeks=self.weeks.data,
            until=self.until.data,
            skip=parse_skip(self.skip.data or "", self.first_day.data),
        )


class CancelForm(BaseForm):
    reason = TextAreaField(
        _l("Why is the session cancelled?"),
        validators=[DataRequired(_l("Say why the session is cancelled.")), Length(max=300)],
    )


# --- enrolment --------------------------------------------------------------------------------


class EnrolForm(BaseForm):
    """The Enrol buttons: one person, or a whole household."""

    person_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    household_id = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])
    q = HiddenField()


class WithdrawForm(BaseForm):
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(_l("Say why the person leaves the class.")), Length(max=300)],
    )


class DecisionForm(BaseForm):
    """Confirm or reject a sign-up request (only the CSRF token)."""


class ConfirmSignupForm(DecisionForm):
    """Confirm a sign-up request as a registered person (their id) or as a new one ("new");
    nothing chosen leaves it to the automatic match."""

    NEW = "new"
    person = StringField(validators=[Optional(), Length(max=20)])

    def chose_new(self) -> bool:
        """True when "register a new person" was chosen."""
        return self.person.data == self.NEW

    def chose_person(self) -> bool:
        """True when a registered person was chosen (see ``chosen_id``)."""
        return bool(self.person.data) and not self.chose_new()

    def chosen_id(self) -> int | None:
        """The chosen person's id; None for a value that cannot be an id."""
        return row_id(self.person.data)


# --- the public sign-up -----------------------------------------------------------------------


class SignupForm(NameAndBirthYearForm):
    village_id = SelectField(_l("Village"), coerce=int, validators=[Optional()])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=20)])
    consent = BooleanField(
        _l("I agree that my name, birth year, village and phone are kept to organise the class.")
    )

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village_id.choices = options(
            [(0, _l("— choose your village —"))] + [(v.id, v.name) for v in villages]
        )

    def signup_fields(self) -> dict:
        """What ``enrolment.submit_signup`` takes from the form."""
        return {
            "full_name": self.full_name.data,
            "birth_year": self.birth_year.data,
            "village_id": self.village_id.data or None,
            "phone": self.phone.data or "",
            "consent": self.consent.data,
        }

    # The service checks these too; here they join the other mistakes in one error summary.
    def validate_village_id(self, field):
        if not field.data:
            raise ValidationError(_l("Choose your village."))

    def validate_phone(self, field):
        problem = phone_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
        field.data = normalise_phone(field.data)

    def validate_consent(self, field):
        if not field.data:
            raise ValidationError(
                _l("Tick the box to agree that your details are kept for this class.")
            )


# --- calendar filters -------------------------------------------------------------------------


class CalendarFilterForm(BaseForm):
    """Village, trainer and audience filters (a GET form, no CSRF)."""

    class Meta:
        csrf = False

    village = SelectField(_l("Village"), validate_choice=False)
    trainer = SelectField(_l("Trainer"), validate_choice=False)
    audience = SelectField(_l("Learner group"), validate_choice=False)
    NAMES = ("village", "trainer", "audience")

    def __init__(self, *args, villages=(), trainers=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village.choices = options(
            [("", _l("All villages"))] + [(str(v.id), v.name) for v in villages]
        )
        self.trainer.choices = options(
            [("", _l("All trainers"))] + [(str(u.id), u.full_name) for u in trainers]
        )
        self.audience.choices = options(
            [("", _l("All learners"))]
            + [(f"group:{k.value}", v) for k, v in TARGET_GROUP_LABELS.items()]
            + [(f"segment:{k.value}", v) for k, v in SEGMENT_LABELS.items()]
        )

    def query(self) -> dict:
        """Keyword arguments for ``queries.calendar_sessions``; unknown values are ignored."""
        value = {}
        for name in self.NAMES:
            known = {str(choice.value) for choice in self[name].choices}
            value[name] = self[name].data if self[name].data in known else ""
        kind, _, code = value["audience"].partition(":")
        return {
            "village_id": int(value["village"]) if value["village"] else None,
            "trainer_id": int(value["trainer"]) if value["trainer"] else None,
            "group": code if kind == "group" else None,
            "segment": code if kind == "segment" else None,
        }

    def args(self) -> dict:
        """The chosen filters, to keep in the previous/next links."""
        return {name: self[name].data for name in self.NAMES if self[name].data}
