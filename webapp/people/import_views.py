"""Import pages: upload a file, preview every row's problems, then write all rows or none."""

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.forms import attempt
from webapp.people import audit, importer, queries
from webapp.people.forms import ImportForm
from webapp.permissions import MANAGERS, roles_required
from webapp.timeutil import utcnow

bp = Blueprint("imports", __name__, url_prefix="/people/import")

PREVIEW_GOOD_ROWS = 20


@bp.route("", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def upload():
    """Choose a file; it is kept for the preview, nothing else is written."""
    form = ImportForm(communes=queries.communes_for(current_user))
    if form.validate_on_submit():
        upload = form.file.data
        with attempt(form) as refused:
            batch = importer.stage(
                actor=current_user,
                now=utcnow(),
                commune_id=int(form.commune_id.data),
                filename=upload.filename or "",
                content=upload.read(),
            )
        if not refused:
            return redirect(url_for("imports.preview", token=batch.token))
    status = 400 if form.errors else 200
    return render_template("people/import_upload.html", form=form, columns=importer.COLUMNS), status


@bp.get("/template.<any(xlsx, csv):fmt>")
@roles_required(*MANAGERS)
def template(fmt: str):
    """The empty spreadsheet with the Vietnamese column headers."""
    if fmt == "xlsx":
        body = importer.template_xlsx(queries.villages_for(current_user))
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = importer.template_csv()
        mimetype = "text/csv; charset=utf-8"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename=mau-danh-sach-nguoi-hoc.{fmt}"
    return response


@bp.get("/<token>")
@roles_required(*MANAGERS)
def preview(token: str):
    """Every row's problems; the commit button only when there are none."""
    batch = queries.get_import_batch(current_user, token) or abort(404)
    report = problem = None
    if batch.committed_at is None:
        try:
            report = importer.check(batch, now=utcnow())
        except importer.FileProblem as error:
            problem = error.message
    return render_template(
        "people/import_preview.html",
        batch=batch,
        report=report,
        problem=problem,
        columns=importer.COLUMNS,
        good_rows=[row for row in report.rows if not row.problems][:PREVIEW_GOOD_ROWS]
        if report
        else [],
    )


@bp.post("/<token>/commit")
@roles_required(*MANAGERS)
def commit(token: str):
    """Write all rows in one transaction, or none."""
    batch = queries.get_import_batch(current_user, token) or abort(404)
    now = utcnow()
    with attempt(flashed=True) as refused:
        written = importer.commit(actor=current_user, now=now, batch=batch)
        audit.record(
            actor=current_user,
            now=now,
            action=audit.AuditAction.IMPORT,
            what=request.endpoint,
            commune_id=batch.commune_id,
            rows=written,
            address=request.remote_addr or "",
        )
    if not refused:
        flash(_("%(count)d people have been added to the registry.", count=written), "success")
    return redirect(url_for("imports.preview", token=token))
