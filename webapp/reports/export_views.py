"""Exports of the figures: Excel, CSV, the machine-readable aggregates and the printable A4
page. Each takes the dashboard's filter (year, commune, village, as_of) and its scope, and
exports the very table the dashboard shows (:func:`webapp.reports.exports.export_table`)."""

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from webapp.people import audit
from webapp.permissions import roles_required
from webapp.reports import exports, figures
from webapp.reports.access import REPORT_READERS
from webapp.reports.views import _choice, name_of
from webapp.timeutil import LOCAL_TZ, utcnow

bp = Blueprint("reports_export", __name__)


def _live_table() -> figures.Table:
    """The dashboard's table for the filter of the request (the user's scope)."""
    choice = _choice()
    return figures.table(choice.scope, year=choice.year, as_of=choice.as_of)


def _audit(action: audit.AuditAction, table: figures.Table) -> None:
    """One event for the export: figures only (no person), ``rows`` the units it covers."""
    communes = table.scope.commune_ids or ()
    audit.record_read(
        actor=current_user,
        now=utcnow(),
        address=request.remote_addr,
        action=action,
        what=request.endpoint,
        rows=len(table.units),
        commune_id=communes[0] if len(communes) == 1 else None,
    )


def _download(table: figures.Table, fmt: str) -> Response:
    found = exports.export_table(table, fmt)
    response = Response(found.body, mimetype=found.mimetype)
    response.headers["Content-Disposition"] = found.content_disposition
    response.headers["Cache-Control"] = "private, no-store"
    _audit(audit.AuditAction.EXPORT, table)
    return response


@bp.get("/reports/export.xlsx")
@roles_required(*REPORT_READERS)
def xlsx():
    """The figures as an Excel workbook: the summary, then a sheet per indicator by unit."""
    return _download(_live_table(), "xlsx")


@bp.get("/reports/export.csv")
@roles_required(*REPORT_READERS)
def csv():
    """The figures as CSV for people: a line per indicator and unit, and the totals."""
    return _download(_live_table(), "csv")


@bp.get("/reports/aggregates.csv")
@roles_required(*REPORT_READERS)
def aggregates():
    """The figures for a province system: a line per indicator × unit × period, with codes."""
    return _download(_live_table(), "aggregates")


@bp.get("/reports/print")
@roles_required(*REPORT_READERS)
def print_page():
    """The summary as an A4 page with the committee's heading and a signature block."""
    table = _live_table()
    page = render_template(
        "reports/print.html",
        table=table,
        about=exports.heading_of(table),
        summary=[(row, exports.line(row, row.total)) for row in table.rows],
        name_of=name_of,
        today=utcnow().astimezone(LOCAL_TZ).date(),
    )
    _audit(audit.AuditAction.PRINT, table)
    return page
