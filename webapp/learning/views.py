"""The framework pages (read by all staff; rules changed by organisers), the trainer's
practical checklist, a person's evidence, and a class's certificate eligibility."""

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from webapp import htmx
from webapp.extensions import db
from webapp.forms import attempt
from webapp.ids import row_id
from webapp.learning import eligibility, framework, services
from webapp.learning.forms import GroupRuleForm, MoocForm, RulesForm, VneidForm, WithdrawForm
from webapp.learning.models import EVIDENCE_KIND_LABELS, Evidence, EvidenceKind
from webapp.people import queries as people_queries
from webapp.people.models import TARGET_GROUP_LABELS, Person, TargetGroup
from webapp.permissions import ALL_STAFF, MANAGERS, PEOPLE_READERS, Role, roles_required
from webapp.scheduling import queries as scheduling_queries
from webapp.scheduling.access import PLANNERS
from webapp.scheduling.enrolment import enrolled_people
from webapp.scheduling.models import CourseClass, Enrolment, EnrolmentStatus
from webapp.timeutil import format_date, utcnow

bp = Blueprint("learning", __name__)

RUNNERS = PLANNERS
RECORDERS = PLANNERS | {Role.VILLAGE_LEAD}
LABELS = {"kind_labels": EVIDENCE_KIND_LABELS, "group_labels": TARGET_GROUP_LABELS}


def _asked_version():
    """The version asked by ?version=N (404 when there is none such, even for a number too
    large for the database), else the version in force (None before any import)."""
    asked = request.args.get("version")
    if not asked:
        return framework.current_version()
    number = row_id(asked)
    version = framework.get_version(number) if number else None
    if version is None:
        abort(404)
    return version


# --- the framework ---------------------------------------------------------------------------


@bp.get("/framework")
@roles_required(*ALL_STAFF)
def framework_page():
    """The framework in force (or ?version=N): areas, competencies, rules; every version."""
    version = _asked_version()
    return render_template(
        "learning/framework.html",
        version=version,
        versions=framework.all_versions(),
        name_of=framework.name_of,
        names=framework.competency_names(version),
        hours=eligibility.hours_text,
        **LABELS,
    )


def _rule_forms(version, formdata=None) -> dict[str, GroupRuleForm]:
    names = framework.competency_names(version)
    choices = [(code, f"{code} {name}") for code, name in names.items()]
    forms = {}
    for group in TargetGroup:
        rule = version.rule_for(group.value)
        data = (
            {
                "required": rule.required_codes,
                "min_attendance_pct": rule.min_attendance_pct,
                "min_hours": rule.min_hours,
                "meeting_hours": rule.meeting_hours_count,
            }
            if rule
            else {"required": [], "min_attendance_pct": 80, "min_hours": 0.0}
        )
        form = GroupRuleForm(formdata=formdata, prefix=group.value, data=data)
        form.required.choices = choices
        forms[group.value] = form
    return forms


def _rules_submitted(form: RulesForm, groups: dict[str, GroupRuleForm]) -> bool:
    """Whether the note and every group's rule were posted valid (each form is validated, so
    that each shows its own mistakes)."""
    valid = form.validate_on_submit()
    return all([g.validate() for g in groups.values()]) and valid


def _posted_rules(groups: dict[str, GroupRuleForm]) -> dict[str, tuple]:
    """Target group -> (required codes, min attendance %, min hours, meeting hours count), as
    services want them."""
    return {
        group: (
            g.required.data or [],
            g.min_attendance_pct.data,
            g.min_hours.data,
            g.meeting_hours.data,
        )
        for group, g in groups.items()
    }


@bp.route("/framework/rules", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def rules():
    """Change each group's certificate rule; saving publishes a new version."""
    base = framework.current_version() or abort(404)
    form = RulesForm()
    groups = _rule_forms(base, request.form if request.method == "POST" else None)
    if request.method == "POST" and _rules_submitted(form, groups):
        with attempt(form) as refused:
            version = services.publish_rules(
                actor=current_user,
                now=utcnow(),
                base=base,
                rules=_posted_rules(groups),
                note=form.note.data,
            )
        if not refused:
            flash(
                _("Version %(number)d of the framework is published.", number=version.number),
                "success",
            )
            return redirect(url_for(".framework_page"))
    # Every page that comes back after a post is 422 (a mistake or a refused rule alike).
    status = 422 if request.method == "POST" else 200
    return render_template(
        "learning/rules.html", form=form, groups=groups, version=base, **LABELS
    ), status


# --- the trainer's practical checklist ---------------------------------------------------------


def _cell_id(person_id: int, code: str) -> str:
    return f"cell-{person_id}-{code.replace('.', '-')}"


@bp.get("/classes/<int:class_id>/checklist")
@roles_required(*RUNNERS)
def checklist(class_id: int):
    """Learners × the course's competencies: one tap per "can do" cell."""
    course_class = scheduling_queries.get_class(current_user, class_id, for_running=True)
    version = framework.current_version()
    names = framework.competency_names(version)
    return render_template(
        "learning/checklist.html",
        course_class=course_class,
        version=version,
        codes=services.checklist_codes(course_class, version),
        names=names,
        learners=enrolled_people(course_class, with_villages=True),
        marks=services.checklist_marks(course_class),
        cell_id=_cell_id,
    )


def _checklist_cell(course_class: CourseClass, person: Person, code: str, error: str | None):
    """One cell of the checklist as it is now, for htmx to swap in (with why a tap was
    refused, if it was)."""
    return render_template(
        "learning/_checklist_cell.html",
        course_class=course_class,
        person=person,
        code=code,
        mark=services.checklist_marks(course_class).get((person.id, code)),
        names=framework.competency_names(framework.current_version()),
        error=error,
        cell_id=_cell_id,
    )


@bp.post("/classes/<int:class_id>/checklist")
@roles_required(*RUNNERS)
def checklist_toggle(class_id: int):
    """Tick or untick one cell (htmx swaps the cell; without JS the page comes back)."""
    course_class = scheduling_queries.get_class(current_user, class_id, for_running=True)
    WithdrawForm().validate_on_submit() or abort(400)
    person_id = row_id(request.form.get("person_id")) or abort(400)
    person = db.session.get(Person, person_id)
    code = request.form.get("code", "")
    if person is None or person.commune_id != course_class.commune_id:
        abort(404)
    with attempt() as refused:
        services.toggle_checklist(
            actor=current_user,
            now=utcnow(),
            course_class=course_class,
            person=person,
            competency_code=code,
        )
    if htmx.is_htmx():
        return _checklist_cell(course_class, person, code, refused.message)
    if refused:
        flash(_("%(name)s: %(message)s", name=person.full_name, message=refused.message), "error")
    return redirect(url_for(".checklist", class_id=class_id) + f"#row-{person.id}")


# --- a person's evidence -------------------------------------------------------------------------


def _mooc_form(person: Person, formdata=None) -> MoocForm:
    form = MoocForm(formdata=formdata)
    names = framework.competency_names(framework.current_version())
    form.competencies.choices = [(c, f"{c} {n}") for c, n in names.items()]
    if formdata is None:
        taught = set()
        for course_class in db.session.scalars(
            select(CourseClass)
            .join(Enrolment, Enrolment.class_id == CourseClass.id)
            .where(Enrolment.person_id == person.id, Enrolment.status == EnrolmentStatus.ENROLLED)
        ):
            taught.update(course_class.course.competency_codes or [])
        form.competencies.data = [c for c in names if c in taught]
    return form


def _iso_date(text) -> str:
    """A date kept in evidence detail ("2025-11-20") as people read it (20/11/2025)."""
    try:
        return format_date(date.fromisoformat(str(text)))
    except ValueError:
        return str(text)


def _evidence_page(person: Person, mooc=None, vneid=None, status=200):
    version = framework.current_version()
    return render_template(
        "learning/person_evidence.html",
        person=person,
        evidence=services.person_evidence(person),
        names=framework.competency_names(version),
        mooc=mooc or _mooc_form(person),
        vneid=vneid or VneidForm(),
        withdraw=WithdrawForm(),
        can_record=services.can_record_for(current_user, person),
        iso_date=_iso_date,
        percent=format_percent,
        **LABELS,
    ), status


@bp.get("/people/<int:person_id>/evidence")
@roles_required(*RECORDERS)
def person_evidence(person_id: int):
    """A person's evidence (withdrawn included, with who and when), and forms to add some."""
    return _evidence_page(people_queries.get_person(current_user, person_id) or abort(404))


@bp.post("/people/<int:person_id>/evidence/mooc")
@roles_required(*RECORDERS)
def add_mooc(person_id: int):
    """An online-course certificate: one evidence per competency it covers."""
    person = people_queries.get_person(current_user, person_id) or abort(404)
    services.require_recorder(current_user, person)
    form = _mooc_form(person, request.form)
    if not form.validate_on_submit():
        return _evidence_page(person, mooc=form, status=422)
    detail = {
        "platform": form.platform.data,
        "number": form.number.data,
        "date": form.date.data.isoformat(),
    }
    now = utcnow()
    for code in form.competencies.data:
        services.record_evidence(
            actor=current_user,
            now=now,
            person=person,
            competency_code=code,
            kind=EvidenceKind.MOOC,
            detail=detail,
        )
    db.session.commit()
    flash(_("The certificate %(number)s is recorded.", number=form.number.data), "success")
    return redirect(url_for(".person_evidence", person_id=person.id))


@bp.post("/people/<int:person_id>/evidence/vneid")
@roles_required(*RECORDERS)
def add_vneid(person_id: int):
    """A VNeID confirmation: it covers every competency."""
    person = people_queries.get_person(current_user, person_id) or abort(404)
    services.require_recorder(current_user, person)
    form = VneidForm()
    if not form.validate_on_submit():
        return _evidence_page(person, vneid=form, status=422)
    detail = {"date": form.date.data.isoformat()}
    if form.note.data:
        detail["note"] = form.note.data
    services.record_evidence(
        actor=current_user,
        now=utcnow(),
        person=person,
        competency_code="*",
        kind=EvidenceKind.VNEID,
        detail=detail,
    )
    db.session.commit()
    flash(
        _("The VNeID confirmation of %(date)s is recorded.", date=format_date(form.date.data)),
        "success",
    )
    return redirect(url_for(".person_evidence", person_id=person.id))


@bp.post("/evidence/<int:evidence_id>/withdraw")
@roles_required(*RECORDERS)
def withdraw(evidence_id: int):
    """Withdraw evidence recorded by mistake (it stays listed, with who and when)."""
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None:
        abort(404)
    person = people_queries.get_person(current_user, evidence.person_id) or abort(404)
    services.require_recorder(current_user, person)
    form = WithdrawForm()
    if not form.validate_on_submit():
        abort(400)
    with attempt(flashed=True) as refused:
        services.withdraw_evidence(
            actor=current_user, now=utcnow(), evidence=evidence, reason=form.reason.data or ""
        )
    if not refused:
        flash(_("The evidence is withdrawn."), "success")
    return redirect(url_for(".person_evidence", person_id=person.id))


# --- eligibility ---------------------------------------------------------------------------------


@bp.get("/classes/<int:class_id>/eligibility")
@roles_required(*PEOPLE_READERS)
def class_eligibility(class_id: int):
    """Who is ready for the certificate, and what the others still lack (of the learners the
    user may see: a village lead, their village's)."""
    course_class = scheduling_queries.get_class(current_user, class_id)
    version = _asked_version()
    if version is None:
        return render_template("learning/no_framework.html", course_class=course_class)
    rows = [
        r
        for r in eligibility.for_class(course_class, now=utcnow(), version=version)
        if people_queries.sees_person(current_user, r.person)
    ]
    return render_template(
        "learning/eligibility.html",
        course_class=course_class,
        version=version,
        ready=[r for r in rows if r.eligible],
        others=[r for r in rows if not r.eligible],
        names=framework.competency_names(version),
        hours=eligibility.hours_text,
        versions=framework.all_versions(),
        **LABELS,
    )
