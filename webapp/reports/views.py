"""The reports dashboard (/reports): each indicator of the plan, actual against target, by
commune, village or household, as of now or a past day; and the "who is left" list a village
lead prints and takes door to door."""

from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, abort, render_template, request
from flask_babel import format_decimal, get_locale, gettext
from flask_login import current_user
from sqlalchemy import select

from webapp.extensions import db
from webapp.ids import query_int
from webapp.people import audit
from webapp.people.models import SEGMENT_LABELS, TARGET_GROUP_LABELS, Village
from webapp.permissions import roles_required
from webapp.reports import access, figures
from webapp.reports.access import REPORT_READERS
from webapp.reports.models import DENOMINATOR_LABELS, MEASURE_LABELS, Indicator
from webapp.text import clean
from webapp.timeutil import LOCAL_TZ, parse_date, to_local, utcnow

bp = Blueprint("reports", __name__)

LEFT_LIMIT = 500


@dataclass(frozen=True)
class Choice:
    """What the dashboard's filter chose: the year, the units, the moment."""

    year: int
    scope: figures.Scope
    as_of: datetime
    #: The day typed (None: now, or the year's end for a past year).
    day: date | None


@bp.app_template_filter("pct")
def pct(value: float) -> str:
    """62,5 % (Vietnamese decimals)."""
    return f"{format_decimal(round(value, 1), format='0.#')} %"


@bp.app_template_filter("points")
def points(value: float) -> str:
    """A gap in percentage points: "17,5 điểm"."""
    return gettext("%(num)s points", num=format_decimal(round(value, 1), format="0.#"))


def years() -> list[int]:
    found = db.session.scalars(select(Indicator.year).distinct().order_by(Indicator.year))
    return list(found) or [to_local(utcnow()).year]


def _choice() -> Choice:
    now = utcnow()
    known = years()
    this_year = to_local(now).year
    year = query_int("year", low=2000, high=2100)
    year = year if year in known else (this_year if this_year in known else known[-1])
    scope = access.scope_for(
        current_user, commune_id=query_int("commune"), village_id=query_int("village")
    )
    try:
        typed = clean(request.args.get("as_of"))
        day = parse_date(typed) if typed else None
    except ValueError:
        day = None
    as_of = figures.end_of_day(day) if day else now
    year_end = figures.end_of_day(date(year, 12, 31))
    return Choice(year, scope, min(as_of, year_end, now), day)


def name_of(indicator: Indicator) -> str:
    return indicator.name_en if str(get_locale()) == "en" else indicator.name_vi


@bp.get("/reports")
@roles_required(*REPORT_READERS)
def dashboard():
    """Every indicator of the year: actual, target, gap and people still to reach, by unit."""
    choice = _choice()
    table = figures.table(choice.scope, year=choice.year, as_of=choice.as_of)
    return render_template(
        "reports/dashboard.html",
        choice=choice,
        table=table,
        years=years(),
        communes=access.communes_for(current_user) if current_user.province_wide else [],
        villages=access.villages_for(current_user, choice.scope.commune_ids),
        name_of=name_of,
        measure_labels=MEASURE_LABELS,
        denominator_labels=DENOMINATOR_LABELS,
        group_labels=TARGET_GROUP_LABELS,
        as_of_local=choice.as_of.astimezone(LOCAL_TZ),
        left_limit=LEFT_LIMIT,
    )


@bp.get("/reports/left/<code>")
@roles_required(*REPORT_READERS)
def left(code: str):
    """The people of an indicator's population not reached yet in one village, priority
    segments first: a list to print and take door to door."""
    choice = _choice()
    scope = access.scope_for(current_user, village_id=query_int("village") or 0)
    indicator = figures.indicator_in_force(code, choice.year) or abort(404)
    if scope.level != "household" or indicator.unit != "person":
        abort(404)
    people = figures.left_people(indicator, scope, choice.as_of, limit=LEFT_LIMIT)
    indicator_village = db.session.get(Village, scope.village_id)
    page = render_template(
        "reports/left.html",
        indicator=indicator,
        people=people,
        limit=LEFT_LIMIT,
        village=indicator_village,
        choice=choice,
        name_of=name_of,
        segment_labels=SEGMENT_LABELS,
        as_of_local=choice.as_of.astimezone(LOCAL_TZ),
    )
    _audit_list(len(people), indicator_village)
    return page


def _audit_list(rows: int, village: Village | None) -> None:
    """One event for the "who is left" list (its people are many; the list is for printing)."""
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=audit.AuditAction.PRINT,
        what=request.endpoint,
        rows=rows,
        commune_id=village.commune_id if village else None,
    )
