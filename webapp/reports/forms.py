"""Forms of the periodic reports: confirming a submission, reopening one, the populations
grid (villages × target groups) and the indicators' targets and denominators.

The grid and the indicators' form have one field per cell or indicator, built for the page:
a mistake is named by its cell ("Thôn 1, Adult residents: Not a valid integer value.").
"""

from wtforms import HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from webapp.forms import BaseForm, options
from webapp.i18n import lazy_text as _l
from webapp.people.models import TARGET_GROUP_LABELS, Village
from webapp.reports.models import DENOMINATOR_LABELS, Denominator, Indicator
from webapp.scheduling.forms import DecimalCommaField

MAX_POPULATION = 1_000_000


class InRange(NumberRange):
    """NumberRange, silent when the value could not be read (its own message says why)."""

    def __call__(self, form, field):
        if field.data is not None:
            super().__call__(form, field)


class SubmitForm(BaseForm):
    """The organiser confirms the period whose figures they have just seen."""

    period = HiddenField(validators=[DataRequired()])


class ReopenForm(BaseForm):
    """The province reopens a submitted report, saying why."""

    reason = StringField(
        _l("Why is the report reopened?"), validators=[DataRequired(), Length(max=300)]
    )


class PopulationForm(BaseForm):
    """Counts per village and target group; built by :func:`population_form`."""

    #: Field name -> (village id, target group).
    cells: dict[str, tuple[int, str]] = {}

    def counts(self) -> dict[tuple[int, str], int | None]:
        """{(village id, target group): count, None for an empty cell}."""
        return {cell: self[name].data for name, cell in self.cells.items()}


def cell_name(village_id: int, group: str) -> str:
    return f"c{village_id}_{group}"


def population_form(
    villages: list[Village], groups: list[str], entered: dict[tuple[int, str], int]
) -> PopulationForm:
    """The grid for the villages and groups, showing what was entered before."""
    fields, cells = {}, {}
    for village in villages:
        for group in groups:
            name = cell_name(village.id, group)
            label = f"{village.name}, {TARGET_GROUP_LABELS.get(group, group)}"
            fields[name] = IntegerField(
                label, validators=[Optional(), InRange(min=0, max=MAX_POPULATION)]
            )
            cells[name] = (village.id, group)
    form_class = type("PopulationGrid", (PopulationForm,), {**fields, "cells": cells})
    data = {cell_name(v, g): count for (v, g), count in entered.items()}
    return form_class(data=data)


class IndicatorsForm(BaseForm):
    """Each indicator's target and denominator; built by :func:`indicators_form`."""

    def changes(self, indicators: list[Indicator]) -> list[tuple[Indicator, float, str]]:
        """(indicator, target %, denominator) for every indicator whose values differ."""
        found = []
        for indicator in indicators:
            target = self[f"t{indicator.id}"].data
            chosen = self._fields.get(f"d{indicator.id}")
            denominator = chosen.data if chosen is not None else indicator.denominator
            if target != indicator.target_pct or denominator != indicator.denominator:
                found.append((indicator, target, denominator))
        return found


DENOMINATOR_CHOICES = [(d.value, DENOMINATOR_LABELS[d]) for d in Denominator]


def indicators_form(indicators: list[Indicator], name_of) -> IndicatorsForm:
    """One target per indicator, and a denominator choice for those of a target group (the
    others count households or mentors: the registry)."""
    fields, data = {}, {}
    for indicator in indicators:
        label = name_of(indicator)
        fields[f"t{indicator.id}"] = DecimalCommaField(
            _l("Target in percent — %(name)s", name=label),
            validators=[InputRequired(), InRange(min=0, max=100)],
        )
        data[f"t{indicator.id}"] = indicator.target_pct
        if indicator.target_group:
            fields[f"d{indicator.id}"] = SelectField(
                _l("Denominator — %(name)s", name=label), choices=options(DENOMINATOR_CHOICES)
            )
            data[f"d{indicator.id}"] = indicator.denominator
    form_class = type("IndicatorsGrid", (IndicatorsForm,), fields)
    return form_class(data=data)
