"""Certificate pages: a class's certificates, one certificate, PDFs and the print view, and
the public verification page /v/<code> that the printed QR opens.

Staff of the commune read and print; organisers (and admins) issue, revoke and re-issue.
Every PDF download and every opening of the print view is written to the print log, as what
it is (a download or a print).
"""

from functools import partial

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from webapp import qr, ratelimit
from webapp.certificates import cli, pdf, queries, services
from webapp.certificates.forms import IssueAllForm, IssueForm, ReissueForm, RevokeForm
from webapp.certificates.models import Certificate, PrintKind
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import row_id
from webapp.learning.eligibility import hours_text
from webapp.people import audit
from webapp.people import queries as people_queries
from webapp.permissions import MANAGERS, PEOPLE_READERS, public, roles_required
from webapp.scheduling import queries as scheduling_queries
from webapp.scheduling.access import PLANNERS
from webapp.scheduling.models import CourseClass
from webapp.timeutil import utcnow

bp = Blueprint("certificates", __name__)
cli.install(bp.cli)  # flask certificates signer (used by `make run`)

VERIFY_BUCKET = "certificate_verify"
VERIFY_WINDOW_SECONDS = 600
PDF_MIMETYPE = "application/pdf"


# --- loading -------------------------------------------------------------------------------


def verify_url(certificate: Certificate) -> str:
    return pdf.verify_url(current_app.config["BASE_URL"], certificate.verify_code)


def _audit(action: audit.AuditAction, certificates: list[Certificate]) -> None:
    """Each certificate's person in the audit trail (the caller commits)."""
    audit.record_each(
        actor=current_user,
        now=utcnow(),
        action=action,
        what=request.endpoint,
        people=[(c.person_id, c.commune_id) for c in certificates],
        address=request.remote_addr or "",
    )


def _pdf_response(certificates: list[Certificate], name: str, scope: str):
    """The certificates in one PDF, saved under the Vietnamese file ``name`` (an attachment:
    opening it again later does not fetch it again), and logged as a download (print log and
    audit trail)."""
    if not certificates:
        abort(404)
    body = pdf.render(certificates)
    services.log_prints(actor=current_user, now=utcnow(), certificates=certificates, scope=scope)
    _audit(audit.AuditAction.EXPORT, certificates)
    db.session.commit()
    response = current_app.response_class(body, mimetype=PDF_MIMETYPE)
    response.headers["Content-Disposition"] = pdf.attachment(name)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _village_pdfs(certificates: list[Certificate]) -> list:
    """The villages of the valid certificates shown, in printing order: each has a PDF of all
    its people's certificates."""
    villages = {c.person.village_id: c.person.village for c in certificates if c.is_valid}
    return list(villages.values())


# --- a class's certificates ----------------------------------------------------------------


def _refuse_revoked(certificate: Certificate):
    """A revoked certificate is not printed: a clear page (410 Gone) instead of the paper."""
    if certificate.is_valid:
        return None
    page = render_template(
        "certificates/revoked.html",
        certificate=certificate,
        replaced_by=services.replaced_by(certificate),
    )
    return page, 410


@bp.app_template_filter("hours")
def hours_filter(hours) -> str:
    """Hours the Vietnamese way (8, 1,5)."""
    return hours_text(float(hours or 0))


@bp.app_template_filter("village_text")
def village_text_filter(name: str) -> str:
    """The village as the certificate prints it ("Thôn: Kon Rờ Bàng", "Thôn 2")."""
    return pdf.village_text(name or "")


@bp.app_template_global()
def certificate_counts(course_class: CourseClass, eligibilities) -> dict:
    """For the class actions (_class_actions.html, also on the eligibility page): eligible
    learners who never had a certificate (``pending``), valid certificates (``issued``),
    whether the user may issue (``may_issue``) and print the class (``may_print``), and
    whether the class is finished (``finished``: no certificate before) and whether the
    signer's name is still to be configured (``signer_missing``: no certificate before)."""
    return {
        "pending": services.pending_count(course_class, eligibilities),
        "issued": len(services.issued_person_ids(course_class)),
        "may_issue": services.can_issue(current_user, course_class),
        "may_print": services.can_print_class(current_user, course_class),
        "finished": services.is_finished(course_class),
        "signer_missing": not services.signer_name(),
    }


@bp.get("/classes/<int:class_id>/certificates")
@roles_required(*PEOPLE_READERS)
def class_certificates(class_id: int):
    """Learners of the class: their certificate, or whether they are eligible and what they lack
    (only the learners the user may see: a village lead, their village's)."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    sees = partial(people_queries.sees_person, current_user)
    eligibilities = [
        e for e in services.class_eligibility(course_class, now=utcnow()) if sees(e.person)
    ]
    certificates = [c for c in services.class_certificates(course_class) if sees(c.person)]
    valid = {c.person_id: c for c in certificates if c.is_valid}
    revoked = {c.person_id: c for c in certificates if not c.is_valid and c.person_id not in valid}
    return render_template(
        "certificates/class.html",
        course_class=course_class,
        eligibilities=eligibilities,
        valid=valid,
        revoked_of=revoked,
        certificates=certificates,
        villages=_village_pdfs(certificates),
        framework_ready=services.framework_ready(),
        finished=services.is_finished(course_class),
        may_issue=services.can_issue(current_user, course_class),
        signer_missing=not services.signer_name(),
    )


@bp.post("/classes/<int:class_id>/certificates/issue")
@roles_required(*MANAGERS)
def issue(class_id: int):
    """Issue one learner's certificate."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    form = IssueForm()
    person = people_queries.get_person(current_user, row_id(form.person_id.data) or 0)
    if not form.validate_on_submit() or person is None:
        abort(400)
    with attempt(flashed=True) as refused:
        certificate = services.issue(
            actor=current_user, now=utcnow(), person=person, course_class=course_class
        )
    if not refused:
        flash(
            _(
                "Certificate %(serial)s issued to %(name)s.",
                serial=certificate.serial,
                name=person.full_name,
            ),
            "success",
        )
    return redirect(url_for(".class_certificates", class_id=class_id))


@bp.post("/classes/<int:class_id>/certificates/issue-all")
@roles_required(*MANAGERS)
def issue_all(class_id: int):
    """Issue certificates to every eligible learner of the class, in one action."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    if not IssueAllForm().validate_on_submit():
        abort(400)
    with attempt(flashed=True) as refused:
        issued = services.issue_all(actor=current_user, now=utcnow(), course_class=course_class)
    if refused:
        pass
    elif issued:
        flash(
            ngettext("%(num)d certificate issued.", "%(num)d certificates issued.", len(issued)),
            "success",
        )
    else:
        flash(_("No learner is waiting for a certificate."), "info")
    return redirect(url_for(".class_certificates", class_id=class_id))


@bp.get("/classes/<int:class_id>/certificates.pdf")
@roles_required(*PLANNERS)
def class_pdf(class_id: int):
    """The class's valid certificates in one PDF, by village then name. Planners only: a
    village lead (whose learners may be in any village's class) prints their village's PDF."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    certificates = services.class_certificates(course_class, valid_only=True)
    name = pdf.download_name("Giấy chứng nhận", course_class.name)
    return _pdf_response(certificates, name, f"class:{class_id}")


@bp.get("/villages/<int:village_id>/certificates.pdf")
@roles_required(*PEOPLE_READERS)
def village_pdf(village_id: int):
    """The valid certificates of a village's people in one PDF, in name order."""
    village = people_queries.get_village(current_user, village_id) or abort(404)
    certificates = services.village_certificates(village)
    name = pdf.download_name("Giấy chứng nhận", village.name)
    return _pdf_response(certificates, name, f"village:{village_id}")


# --- one certificate -----------------------------------------------------------------------


def _certificate_page(template: str, certificate: Certificate, **context) -> str:
    """A page of one certificate: the record, and as ``s`` what it says (frozen at issue)."""
    return render_template(template, certificate=certificate, s=certificate.snapshot, **context)


@bp.get("/certificates/<int:certificate_id>")
@roles_required(*PEOPLE_READERS)
def detail(certificate_id: int):
    """One certificate: what it says, its status, its print log, revoke and re-issue."""
    certificate = queries.get_certificate(current_user, certificate_id)
    page = _certificate_page(
        "certificates/detail.html",
        certificate,
        verify_url=verify_url(certificate),
        prints=services.prints_of(certificate),
        replaced_by=services.replaced_by(certificate),
        revoke_form=RevokeForm(),
        reissue_form=ReissueForm(),
        may_issue=services.can_manage(current_user, certificate.commune_id),
        signer_missing=not services.signer_name(),
    )
    _audit(audit.AuditAction.VIEW, [certificate])
    db.session.commit()
    return page


@bp.post("/certificates/<int:certificate_id>/revoke")
@roles_required(*MANAGERS)
def revoke(certificate_id: int):
    """Revoke a certificate, with a reason."""
    certificate = queries.get_certificate(current_user, certificate_id)
    form = RevokeForm()
    if not form.validate_on_submit():
        for message in form.reason.errors:
            flash(message, "error")
        return redirect(url_for(".detail", certificate_id=certificate_id))
    services.revoke(
        actor=current_user, now=utcnow(), certificate=certificate, reason=form.reason.data
    )
    db.session.commit()
    flash(_("Certificate %(serial)s is revoked.", serial=certificate.serial), "success")
    return redirect(url_for(".detail", certificate_id=certificate_id))


@bp.post("/certificates/<int:certificate_id>/reissue")
@roles_required(*MANAGERS)
def reissue(certificate_id: int):
    """Issue a new certificate in place of this one (which is revoked)."""
    certificate = queries.get_certificate(current_user, certificate_id)
    form = ReissueForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt(flashed=True) as refused:
        new = services.reissue(
            actor=current_user, now=utcnow(), certificate=certificate, reason=form.reason.data or ""
        )
    if refused:
        return redirect(url_for(".detail", certificate_id=certificate_id))
    flash(
        _(
            "Certificate %(serial)s issued in place of %(old)s.",
            serial=new.serial,
            old=certificate.serial,
        ),
        "success",
    )
    return redirect(url_for(".detail", certificate_id=new.id))


@bp.get("/certificates/<int:certificate_id>.pdf")
@roles_required(*PEOPLE_READERS)
def certificate_pdf(certificate_id: int):
    """One certificate as PDF (refused once revoked)."""
    certificate = queries.get_certificate(current_user, certificate_id)
    if refused := _refuse_revoked(certificate):
        return refused
    full_name = certificate.snapshot.get("full_name", "")
    name = pdf.download_name("Giấy chứng nhận", full_name, certificate.serial)
    return _pdf_response([certificate], name, "certificate")


@bp.get("/certificates/<int:certificate_id>/print")
@roles_required(*PEOPLE_READERS)
def print_view(certificate_id: int):
    """The certificate as a web page laid out for A4 landscape, for printing from the browser."""
    certificate = queries.get_certificate(current_user, certificate_id)
    if refused := _refuse_revoked(certificate):
        return refused
    services.log_prints(
        actor=current_user,
        now=utcnow(),
        certificates=[certificate],
        scope="print_view",
        kind=PrintKind.PRINT,
    )
    _audit(audit.AuditAction.PRINT, [certificate])
    db.session.commit()
    url = verify_url(certificate)
    return _certificate_page(
        "certificates/print.html",
        certificate,
        verify_url=url,
        qr_svg=qr.inline_svg(url, label=_("QR code to verify the certificate")),
    )


# --- public verification -------------------------------------------------------------------


@bp.get("/v/<code>")
@public
def verify(code: str):
    """What the certificate's QR opens: whether it is genuine and valid, for anyone.

    Shows the name, course, date, issuer and status only; limited per client address so
    codes cannot be tried in bulk.
    """
    now = utcnow()
    hits = ratelimit.hit(
        VERIFY_BUCKET, request.remote_addr or "-", now=now, window_seconds=VERIFY_WINDOW_SECONDS
    )
    db.session.commit()
    if hits > current_app.config.get("CERTIFICATE_VERIFY_MAX_PER_ADDRESS", 60):
        abort(429)
    certificate = services.by_code(code)
    if certificate is None:
        page = render_template("certificates/verify_unknown.html")
        response = current_app.make_response((page, 404))
    else:
        page = _certificate_page("certificates/verify.html", certificate)
        response = current_app.make_response(page)
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["Cache-Control"] = "no-store"
    return response
