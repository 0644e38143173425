"""Periodic reports: submitting a period's figures, the list, a report, reopening by the
province; the populations the organiser enters and the indicators' targets.

An organiser submits their commune's report for a year, quarter or month: the figures by
village as of the period's last day (or now, for a period still running) are frozen in the
report. Only the province (a province-wide administrator) reopens it; the organiser may then
submit it again.
"""

from datetime import datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _lg
from flask_babel import ngettext
from flask_login import current_user

from webapp.extensions import db
from webapp.forms import attempt, page_status
from webapp.ids import query_int
from webapp.people.models import TARGET_GROUP_LABELS, Commune
from webapp.permissions import MANAGERS, Role, roles_required
from webapp.reports import access, figures, forms, reach, services
from webapp.reports.models import (
    DENOMINATOR_LABELS,
    MEASURE_LABELS,
    ReportsError,
    ReportStatus,
)
from webapp.reports.views import name_of, years
from webapp.text import clean
from webapp.timeutil import LOCAL_TZ, to_local, utcnow

bp = Blueprint("reports_submit", __name__)

STATUS_LABELS = {
    ReportStatus.SUBMITTED: _lg("submitted"),
    ReportStatus.REOPENED: _lg("reopened"),
}


def period_label(key: str) -> str:
    """ "Năm 2026", "Quý 2/2026", "Tháng 05/2026"."""
    if "-Q" in key:
        year, quarter = key.split("-Q")
        return _("Quarter %(quarter)s/%(year)s", quarter=quarter, year=year)
    if "-" in key:
        year, month = key.split("-")
        return _("Month %(month)s/%(year)s", month=month, year=year)
    return _("Year %(year)s", year=key)


# --- helpers ---------------------------------------------------------------------------------


def _no_commune():
    """A province-wide user has no commune to submit for or enter populations of."""
    flash(_("This is done by the commune's organisers, for their commune."), "error")
    return redirect(url_for(".index"))


def _year() -> int:
    known, this_year = years(), to_local(utcnow()).year
    year = query_int("year", low=2000, high=2100)
    return year if year in known else (this_year if this_year in known else known[-1])


def _live_table(commune_id: int, chosen: services.Period, now: datetime) -> figures.Table:
    """The commune by village as of the period's last moment (now, if it has not ended)."""
    as_of = min(figures.end_of_day(chosen.ends_on), now)
    scope = figures.Scope("village", (commune_id,))
    return figures.table(scope, year=chosen.year, as_of=as_of)


def _table_context(table: figures.Table) -> dict:
    return {
        "table": table,
        "as_of_local": table.as_of.astimezone(LOCAL_TZ),
        "name_of": name_of,
        "measure_labels": MEASURE_LABELS,
        "denominator_labels": DENOMINATOR_LABELS,
        "group_labels": TARGET_GROUP_LABELS,
        "period_label": period_label,
    }


def _preview(commune_id: int, key: str | None, *, problem=None, status: int = 200):
    """The period picker and, for a chosen period, its figures and the button to submit
    them (or why they cannot be: nothing is written here)."""
    now, chosen, table = utcnow(), None, None
    if key:
        try:
            chosen = services.period(key)
            services.check_submission(
                actor=current_user, now=now, commune_id=commune_id, chosen=chosen
            )
        except ReportsError as error:  # a check that writes nothing
            if error.status in (403, 404):
                raise
            problem = problem or error.message
        if chosen is not None and problem is None:
            table = _live_table(commune_id, chosen, now)
    periods = services.periods_of(years())
    context = _table_context(table) if table is not None else {"period_label": period_label}
    context.update(periods=periods, chosen=chosen, problem=problem, form=forms.SubmitForm())
    context.update(commune=db.session.get(Commune, commune_id), mode="preview")
    return render_template("reports/report.html", **context), status


def _report(report_id: int):
    return services.report_for(current_user, report_id) or abort(404)


def _report_page(report, form=None, *, status: int = 200):
    context = _table_context(figures.from_snapshot(report.figures))
    context.update(report=report, mode="report", status_labels=STATUS_LABELS)
    context.update(history=services.history_of(report), commune=report.commune)
    may_reopen = current_user.role == Role.ADMIN and current_user.province_wide
    context.update(reopen_form=form or (forms.ReopenForm() if may_reopen else None))
    return render_template("reports/report.html", **context), status


# --- the reports -------------------------------------------------------------------------------


@bp.get("/reports/submitted")
@roles_required(*MANAGERS)
def index():
    """The reports of the user's communes: period, status, who submitted them and when."""
    return render_template(
        "reports/submitted.html",
        reports=services.reports_for(current_user),
        status_labels=STATUS_LABELS,
        period_label=period_label,
        may_submit=current_user.commune_id is not None,
    )


@bp.route("/reports/submit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def submit():
    """Pick a period, see the commune's figures for it, then submit them frozen."""
    commune_id = current_user.commune_id
    if commune_id is None:
        return _no_commune()
    if request.method == "GET":
        return _preview(commune_id, clean(request.args.get("period")))
    form = forms.SubmitForm()
    if not form.validate_on_submit():
        problem = _("The form has expired; please try again.")
        return _preview(commune_id, form.period.data, problem=problem, status=422)
    now = utcnow()
    with attempt(form) as refused:
        chosen = services.period(form.period.data)
        reach.refresh_all()  # frozen figures are complete, however much was queued
        frozen = figures.snapshot(_live_table(commune_id, chosen, now))
        report = services.submit(
            actor=current_user, now=now, commune_id=commune_id, chosen=chosen, figures=frozen
        )
    if refused:
        key, problem = form.period.data, refused.message
        return _preview(commune_id, key, problem=problem, status=refused.status)
    flash(_("The report for %(period)s is submitted.", period=period_label(report.period)))
    return redirect(url_for(".report", report_id=report.id))


@bp.get("/reports/submitted/<int:report_id>")
@roles_required(*MANAGERS)
def report(report_id: int):
    """A submitted report: its frozen figures, who submitted it and when, its status."""
    return _report_page(_report(report_id))


@bp.post("/reports/submitted/<int:report_id>/reopen")
@roles_required(Role.ADMIN)
def reopen(report_id: int):
    """The province reopens a submitted report (with a reason) so the commune may submit the
    period again."""
    found = _report(report_id)
    form = forms.ReopenForm()
    if not form.validate_on_submit():
        return _report_page(found, form, status=422)
    with attempt(form) as refused:
        services.reopen(actor=current_user, now=utcnow(), report=found, reason=form.reason.data)
    if refused:
        return _report_page(found, form, status=refused.status)
    flash(_("The report is reopened: the commune may submit it again."), "success")
    return redirect(url_for(".report", report_id=found.id))


# --- denominators and targets --------------------------------------------------------------


def _populations_page(form, villages, groups, year: int):
    return render_template(
        "reports/populations.html",
        form=form,
        villages=villages,
        groups=groups,
        year=year,
        years=years(),
        group_labels=TARGET_GROUP_LABELS,
        cell_name=forms.cell_name,
    ), page_status(form)


def _indicators_page(form, found, year: int):
    return render_template(
        "reports/indicators.html",
        form=form,
        indicators=found,
        year=year,
        years=years(),
        name_of=name_of,
        group_labels=TARGET_GROUP_LABELS,
        measure_labels=MEASURE_LABELS,
        denominator_labels=DENOMINATOR_LABELS,
    ), page_status(form)


@bp.route("/reports/populations", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def populations():
    """The organiser's denominators: the people of each target group per village for a year."""
    commune_id = current_user.commune_id
    if commune_id is None:
        return _no_commune()
    year = _year()
    villages = access.villages_for(current_user, (commune_id,))
    groups = [g for g in TARGET_GROUP_LABELS if g in services.groups_of(year)]
    form = forms.population_form(villages, groups, services.populations_of(commune_id, year))
    if form.validate_on_submit():
        with attempt(form) as refused:
            saved = services.save_populations(
                actor=current_user, now=utcnow(), villages=villages, year=year, counts=form.counts()
            )
        if not refused:
            flash(ngettext("%(num)d number saved.", "%(num)d numbers saved.", saved), "success")
            return redirect(url_for(".populations", year=year))
    return _populations_page(form, villages, groups, year)


@bp.route("/reports/indicators", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def indicators():
    """Each indicator's target and where its denominator comes from; a change is a new
    version (submitted reports keep the version they were computed with)."""
    year = _year()
    found = figures.indicators_of(year)
    form = forms.indicators_form(found, name_of)
    if form.validate_on_submit():
        with attempt(form) as refused:
            changed = services.save_indicators(
                actor=current_user, now=utcnow(), changes=form.changes(found)
            )
        if not refused:
            flash(
                ngettext("%(num)d indicator changed.", "%(num)d indicators changed.", len(changed)),
                "success",
            )
            return redirect(url_for(".indicators", year=year))
    return _indicators_page(form, found, year)
