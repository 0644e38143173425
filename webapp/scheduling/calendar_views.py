"""The trainer's day and the organisers' calendar of the commune (week and month)."""

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp import htmx
from webapp.extensions import db
from webapp.people.queries import villages_for
from webapp.permissions import roles_required
from webapp.scheduling import queries, services
from webapp.scheduling.forms import CalendarFilterForm
from webapp.scheduling.models import ClassSession
from webapp.timeutil import to_local, utcnow

bp = Blueprint("calendar", __name__)


# --- the trainer's day ------------------------------------------------------------------------


@bp.get("/today")
@roles_required(*services.PLANNERS)
def today():
    """Today's sessions and the rest of the week's, each with a button to the live session."""
    now = utcnow()
    feed_url = None
    if current_user.calendar_token:
        feed_url = current_app.config["BASE_URL"] + url_for(
            "public.trainer_ics", token=current_user.calendar_token
        )
    return render_template(
        "scheduling/trainer_day.html",
        day=queries.trainer_day(current_user, now),
        today=to_local(now).date(),
        feed_url=feed_url,
        webcal_url=feed_url and "webcal://" + feed_url.split("://", 1)[1],
    )


@bp.post("/today/subscribe")
@roles_required(*services.PLANNERS)
def subscribe():
    """Make the user's personal calendar link (or a new one, which stops the old link)."""
    renew = request.form.get("renew") == "1"
    services.calendar_token(actor=current_user, now=utcnow(), renew=renew)
    db.session.commit()
    if renew:
        flash(_("You have a new calendar link; the old one no longer works."), "success")
    else:
        flash(_("Your calendar link is ready."), "success")
    return redirect(url_for(".today", _anchor="subscribe"))


# --- filters ----------------------------------------------------------------------------------


def _filters() -> CalendarFilterForm:
    commune_id = None if current_user.province_wide else current_user.commune_id
    return CalendarFilterForm(
        request.args,
        villages=villages_for(current_user),
        trainers=queries.commune_trainers(commune_id),
    )


#: Weeks and months the calendar shows; other dates in the address are ignored (today is
#: shown), so that a crafted ?week=9999-12-31 cannot run past the last date Python knows.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _parse(text: str | None, fmt: str) -> date | None:
    try:
        day = datetime.strptime(text or "", fmt).date()
    except ValueError:
        return None
    return day if FIRST_YEAR <= day.year <= LAST_YEAR else None


@dataclass
class Day:
    day: date
    sessions: list[ClassSession]
    in_month: bool = True


def _sessions(first: date, last: date, form: CalendarFilterForm):
    """Sessions of the days first..last, the clashing ids and enrolment counts. Clashes are
    looked for among all sessions, so a filtered view still shows a clash with a hidden one."""
    start = queries.local_day_bounds(first)[0]
    end = queries.local_day_bounds(last)[1]
    wanted = form.query()
    everything = queries.calendar_sessions(current_user, start, end)
    shown = (
        queries.calendar_sessions(current_user, start, end, **wanted)
        if any(wanted.values())
        else everything
    )
    by_day: dict[date, list] = {}
    for session in shown:
        by_day.setdefault(to_local(session.starts_at).date(), []).append(session)
    counts = queries.enrolled_counts(s.class_id for s in shown)
    return by_day, queries.clashing_ids(everything), counts


def _totals(days: list[Day], clashes: set[int]) -> dict:
    """How many sessions the days show, and how many of them clash."""
    shown = [s for d in days if d.in_month for s in d.sessions]
    return {"total": len(shown), "clash_count": sum(s.id in clashes for s in shown)}


# --- week and month ---------------------------------------------------------------------------


def _calendar_page(view: str, form, today: date, counted: list[Day], clashes, counts, **context):
    """The week or the month page (its fragment for htmx); the totals are of the days
    ``counted``."""
    args = form.args()
    return htmx.render(
        f"scheduling/calendar_{view}.html",
        f"scheduling/_calendar_{view}.html",
        form=form,
        clashes=clashes,
        counts=counts,
        today=today,
        args=args,
        **_totals(counted, clashes),
        this_url=url_for(f".{view}", **args),
        **context,
    )


@bp.get("/calendar")
@roles_required(*services.PLANNERS)
def week():
    """The week's sessions of the commune: a grid on wide screens, a list of days on phones."""
    form = _filters()
    today = to_local(utcnow()).date()
    monday = queries.week_start(_parse(request.args.get("week"), "%Y-%m-%d") or today)
    by_day, clashes, counts = _sessions(monday, monday + timedelta(days=6), form)
    days = [Day(d, by_day.get(d, [])) for d in (monday + timedelta(days=i) for i in range(7))]
    args = form.args()
    return _calendar_page(
        "week",
        form,
        today,
        days,
        clashes,
        counts,
        days=days,
        monday=monday,
        prev_url=url_for(".week", week=(monday - timedelta(days=7)).isoformat(), **args),
        next_url=url_for(".week", week=(monday + timedelta(days=7)).isoformat(), **args),
        month_url=url_for(".month", month=monday.strftime("%Y-%m"), **args),
    )


@bp.get("/calendar/month")
@roles_required(*services.PLANNERS)
def month():
    """The month's sessions of the commune, by week; phones get the days that have sessions."""
    form = _filters()
    today = to_local(utcnow()).date()
    first = _parse(request.args.get("month"), "%Y-%m") or today.replace(day=1)
    last = first.replace(day=monthrange(first.year, first.month)[1])
    grid_start = queries.week_start(first)
    grid_end = queries.week_start(last) + timedelta(days=6)
    by_day, clashes, counts = _sessions(grid_start, grid_end, form)
    days = []
    day = grid_start
    while day <= grid_end:
        days.append(Day(day, by_day.get(day, []), first <= day <= last))
        day += timedelta(days=1)
    prev_month = (first - timedelta(days=1)).replace(day=1)
    next_month = last + timedelta(days=1)
    args = form.args()
    return _calendar_page(
        "month",
        form,
        today,
        days,
        clashes,
        counts,
        weeks=[days[i : i + 7] for i in range(0, len(days), 7)],
        first=first,
        prev_url=url_for(".month", month=prev_month.strftime("%Y-%m"), **args),
        next_url=url_for(".month", month=next_month.strftime("%Y-%m"), **args),
        week_url=url_for(".week", week=first.isoformat(), **args),
    )
