"""People forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from webapp.forms import BaseForm, ParsedTextField, YearField, options
from webapp.people.models import (
    DISABILITY_LABELS,
    SEGMENT_LABELS,
    SEX_LABELS,
    TARGET_GROUP_LABELS,
)
from webapp.people.names import FullName
from webapp.people.services import phone_problem
from webapp.phone import normalise_phone
from webapp.timeutil import format_date, parse_date


def _optional_choice(value):
    return value or None


class VietnameseDateField(ParsedTextField):
    """A date typed as dd/mm/yyyy (the way people here write it)."""

    message = _l("Write the date as dd/mm/yyyy, for example 05/08/2025.")
    parse = staticmethod(parse_date)
    format = staticmethod(format_date)  # a date: dd/mm/yyyy


class NameAndBirthYearForm(BaseForm):
    """The two fields that identify a person everywhere (with the village)."""

    full_name = StringField(
        _l("Full name"),
        validators=[FullName()],
        description=_l("Family name, middle name and given name, with accents"),
    )
    birth_year = YearField(
        _l("Birth year"),
        validators=[
            InputRequired(_l("Enter the birth year, for example 1958.")),
            NumberRange(min=1900, max=2100, message=_l("Enter a year such as 1958.")),
        ],
    )


class PersonForm(NameAndBirthYearForm):
    sex = SelectField(_l("Sex"), coerce=_optional_choice, validators=[Optional()])
    phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=20)])
    village_id = SelectField(_l("Village"), coerce=int)
    household_code = StringField(
        _l("Household number (optional)"),
        description=_l("A new number creates the household in this village"),
        validators=[Optional(), Length(max=40)],
    )
    target_group = SelectField(_l("Target group"))
    disability = SelectField(_l("Disability"), coerce=_optional_choice, validators=[Optional()])
    trader_farmer = BooleanField(_l("Small trader or farmer"))
    ethnic_minority = BooleanField(_l("Ethnic minority"))
    vneid_level2 = BooleanField(_l("Has a level-2 VNeID digital identity"))
    vneid_level2_on = VietnameseDateField(_l("VNeID level 2 since (dd/mm/yyyy)"))
    digital_signature = BooleanField(_l("Has a digital signature"))
    digital_signature_on = VietnameseDateField(_l("Digital signature since (dd/mm/yyyy)"))
    consent_on = VietnameseDateField(
        _l("Consent to data processing given on (dd/mm/yyyy)"),
        description=_l("Leave empty until the person has agreed"),
    )
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])
    allow_duplicate = BooleanField(_l("Yes, this is a different person with the same name"))

    def __init__(self, *args, villages=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.village_id.choices = options([(v.id, v.name) for v in villages])
        self.sex.choices = options(
            [("", _l("— not given —"))] + [(k.value, v) for k, v in SEX_LABELS.items()]
        )
        self.target_group.choices = options([(k.value, v) for k, v in TARGET_GROUP_LABELS.items()])
        self.disability.choices = options(
            [("", _l("None"))] + [(k.value, v) for k, v in DISABILITY_LABELS.items()]
        )

    def validate_phone(self, field):
        problem = phone_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
        field.data = normalise_phone(field.data)  # e.g. 905123456 gets its 0 back


class PeopleSearchForm(BaseForm):
    """The search and filters of the people list (a GET form, no CSRF)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search by name or phone"))
    village = SelectField(_l("Village"), coerce=_optional_choice, validators=[Optional()])
    group = SelectField(_l("Target group"), coerce=_optional_choice, validators=[Optional()])
    segment = SelectField(_l("Segment"), coerce=_optional_choice, validators=[Optional()])

    def __init__(self, *args, villages=(), segments=frozenset(SEGMENT_LABELS), **kwargs):
        super().__init__(*args, **kwargs)
        villages = list(villages)
        #: The segments the user may filter by (webapp.people.visibility.segment_choices).
        self.allowed_segments = frozenset(segments)
        # A village lead sees one village: "all villages" would promise what they cannot see.
        every = [] if len(villages) == 1 else [("", _l("All villages"))]
        self.village.choices = options(every + [(str(v.id), v.name) for v in villages])
        if not every and not self.village.data:
            self.village.data = str(villages[0].id)
        self.group.choices = options(
            [("", _l("All groups"))] + [(k.value, v) for k, v in TARGET_GROUP_LABELS.items()]
        )
        self.segment.choices = options(
            [("", _l("All segments"))]
            + [(k.value, v) for k, v in SEGMENT_LABELS.items() if k in self.allowed_segments]
        )


class ImportForm(BaseForm):
    """Upload of a list of persons (.xlsx or .csv)."""

    commune_id = SelectField(_l("Commune"), coerce=int)
    file = FileField(
        _l("File (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose the file to import.")),
            FileAllowed(["xlsx", "csv"], _l("Upload an Excel (.xlsx) or CSV (.csv) file.")),
        ],
    )

    def __init__(self, *args, communes=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.commune_id.choices = options([(c.id, c.name) for c in communes])
        self.single_commune = len(self.commune_id.choices) == 1
        if self.single_commune and not self.commune_id.data:
            self.commune_id.data = self.commune_id.choices[0].value


class HouseholdForm(BaseForm):
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    is_poor = BooleanField(_l("Poor household (hộ nghèo)"))
