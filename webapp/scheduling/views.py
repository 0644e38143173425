"""Courses, venues and classes: lists, details, create and edit; course materials.

Planners (admins, organisers, trainers) create and edit in their commune; mentors and village
leads read the lists and details. A class is edited by its own trainers or an organiser.
"""

from io import BytesIO

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user

from webapp.extensions import db
from webapp.forms import BaseForm, attempt, page_status
from webapp.ids import row_id
from webapp.people.models import (
    DISABILITY_LABELS,
    SEGMENT_LABELS,
    TARGET_GROUP_LABELS,
    Village,
)
from webapp.people.queries import communes_for
from webapp.permissions import ALL_STAFF, PEOPLE_READERS, Role, roles_required
from webapp.scheduling import queries, services
from webapp.scheduling.access import may_override_clash
from webapp.scheduling.enrolment import seats_taken
from webapp.scheduling.forms import ClassForm, CourseForm, MaterialForm, VenueForm
from webapp.scheduling.models import (
    ACCESSIBILITY_LABELS,
    ACCOMMODATION_LABELS,
    CLASS_STATUS_LABELS,
    EQUIPMENT_LABELS,
    ClassStatus,
    Course,
    CourseClass,
    SignupRequest,
    SignupStatus,
)
from webapp.scheduling.series import WEEKDAY_LABELS
from webapp.timeutil import to_local, utcnow

bp = Blueprint("scheduling", __name__)

READERS = ALL_STAFF
PLANNERS = services.PLANNERS


def file_size(size: int | None) -> str:
    """A file size for people: "340 KB", "2,5 MB" (in the page's number format)."""
    size = size or 0
    if size < 100 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{format_decimal(size / 1024 / 1024, format='0.0')} MB"


LABELS = {
    "groups": TARGET_GROUP_LABELS,
    "segment_labels": SEGMENT_LABELS,
    "disabilities": DISABILITY_LABELS,
    "accessibility_labels": ACCESSIBILITY_LABELS,
    "equipment_labels": EQUIPMENT_LABELS,
    "accommodation_labels": ACCOMMODATION_LABELS,
    "status_labels": CLASS_STATUS_LABELS,
    "weekdays": WEEKDAY_LABELS,
    "to_local": to_local,
    "file_size": file_size,
    "decimal": format_decimal,
}


# --- shared view helpers -------------------------------------------------------------------


def _home_commune(form: BaseForm, communes) -> int | None:
    """The commune chosen on the form, else the user's own (or the only one there is)."""
    if "commune_id" in form:
        return form.commune_id.data
    return current_user.commune_id or (communes[0].id if communes else None)


def _run(form: BaseForm, service, **arguments):
    """Make one change by ``service`` for the acting user, now (see :func:`attempt`): what the
    service returns once committed, or None when it was refused (the message is on the form)."""
    with attempt(form) as refused:
        row = service(actor=current_user, now=utcnow(), **arguments)
    return None if refused else row


def _villages(commune_id: int | None) -> list[Village]:
    stmt = db.select(Village).order_by(Village.commune_id, Village.position, Village.name)
    if commune_id is not None:
        stmt = stmt.where(Village.commune_id == commune_id)
    elif not current_user.province_wide:
        stmt = stmt.where(Village.commune_id == current_user.commune_id)
    return list(db.session.scalars(stmt))


def _can_plan() -> bool:
    return current_user.role in PLANNERS


# --- courses -------------------------------------------------------------------------------------


@bp.get("/courses")
@roles_required(*READERS)
def course_list():
    """The courses of the commune."""
    courses = queries.visible_courses(current_user)
    return render_template(
        "scheduling/course_list.html", courses=courses, can_plan=_can_plan(), **LABELS
    )


@bp.route("/courses/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def course_new():
    """Describe a new course."""
    communes = communes_for(current_user)
    form = CourseForm(communes=communes)
    if form.validate_on_submit():
        commune_id = _home_commune(form, communes)
        course = _run(form, services.create_course, commune_id=commune_id, **form.course_fields())
        if course is not None:
            flash(_("Course “%(title)s” created.", title=course.title), "success")
            return redirect(url_for(".course_detail", course_id=course.id))
    return render_template("scheduling/course_form.html", form=form, course=None), page_status(form)


def _course_page(course: Course, material_form: MaterialForm, status: int = 200):
    classes = sorted(course.classes, key=lambda c: (c.created_at, c.id), reverse=True)
    classes = [c for c in classes if services.in_commune(current_user, c.commune_id)]
    return render_template(
        "scheduling/course_detail.html",
        course=course,
        classes=classes,
        material_form=material_form,
        can_plan=_can_plan() and services.in_commune(current_user, course.commune_id),
        max_mb=current_app.config.get("MATERIAL_MAX_BYTES", services.MATERIAL_MAX_BYTES)
        / 1024
        / 1024,
        **LABELS,
    ), status


@bp.get("/courses/<int:course_id>")
@roles_required(*READERS)
def course_detail(course_id: int):
    """A course: its description, materials and classes."""
    course = queries.get_course(current_user, course_id)
    return _course_page(course, MaterialForm())


@bp.route("/courses/<int:course_id>/edit", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def course_edit(course_id: int):
    """Change a course's description."""
    course = queries.get_course(current_user, course_id)
    form = CourseForm(obj=course if request.method == "GET" else None)
    if form.validate_on_submit() and _run(
        form, services.update_course, course=course, **form.course_fields()
    ):
        flash(_("Changes to the course saved."), "success")
        return redirect(url_for(".course_detail", course_id=course.id))
    return render_template("scheduling/course_form.html", form=form, course=course), page_status(
        form
    )


@bp.post("/courses/<int:course_id>/materials")
@roles_required(*PLANNERS)
def material_add(course_id: int):
    """Attach a link or an uploaded file (kept in the database) to a course."""
    course = queries.get_course(current_user, course_id)
    form = MaterialForm()
    if form.validate_on_submit():
        limit = current_app.config.get("MATERIAL_MAX_BYTES", services.MATERIAL_MAX_BYTES)
        upload = form.file.data
        with attempt(form) as refused:
            material = services.add_material(
                actor=current_user,
                now=utcnow(),
                course=course,
                title=form.title.data,
                url=form.url.data or "",
                filename=upload.filename if upload else None,
                data=upload.stream.read(limit + 1) if upload else None,
                max_bytes=limit,
            )
        if not refused:
            flash(_("“%(title)s” added to the course.", title=material.title), "success")
            return redirect(url_for(".course_detail", course_id=course.id, _anchor="materials"))
    return _course_page(course, form, page_status(form))


@bp.get("/materials/<int:material_id>")
@roles_required(*READERS)
def material_download(material_id: int):
    """The uploaded file (always as a download), or the link's address."""
    material = queries.get_material(current_user, material_id)
    if material.url:
        return redirect(material.url)
    response = send_file(
        BytesIO(material.data or b""),
        mimetype=material.content_type,
        as_attachment=True,
        download_name=services.material_download_name(material),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


# --- venues --------------------------------------------------------------------------------------


@bp.get("/venues")
@roles_required(*READERS)
def venue_list():
    """Where classes meet: capacity, accessibility and equipment."""
    return render_template(
        "scheduling/venue_list.html",
        venues=queries.visible_venues(current_user),
        can_plan=_can_plan(),
        **LABELS,
    )


@bp.route("/venues/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def venue_new():
    """Register a venue."""
    communes = communes_for(current_user)
    form = VenueForm(communes=communes, villages=_villages(None))
    if form.validate_on_submit():
        commune_id = _home_commune(form, communes)
        venue = _run(form, services.create_venue, commune_id=commune_id, **form.venue_fields())
        if venue is not None:
            flash(_("Venue “%(name)s” saved.", name=venue.name), "success")
            return redirect(url_for(".venue_list"))
    return render_template("scheduling/venue_form.html", form=form, venue=None), page_status(form)


@bp.route("/venues/<int:venue_id>/edit", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def venue_edit(venue_id: int):
    """Change a venue."""
    venue = queries.get_venue(current_user, venue_id)
    form = VenueForm(
        obj=venue if request.method == "GET" else None, villages=_villages(venue.commune_id)
    )
    if form.validate_on_submit() and _run(
        form, services.update_venue, venue=venue, **form.venue_fields()
    ):
        flash(_("Venue “%(name)s” saved.", name=venue.name), "success")
        return redirect(url_for(".venue_list"))
    return render_template("scheduling/venue_form.html", form=form, venue=venue), page_status(form)


# --- classes -----------------------------------------------------------------------------------


@bp.get("/classes")
@roles_required(*READERS)
def class_list():
    """Classes of the commune, newest first, optionally of one status."""
    status = request.args.get("status") or None
    if status not in CLASS_STATUS_LABELS:
        status = None
    classes = queries.visible_classes(current_user, status=status)
    ids = [c.id for c in classes]
    return render_template(
        "scheduling/class_list.html",
        classes=classes,
        status=status,
        enrolled=queries.enrolled_counts(ids),
        waiting=queries.waiting_counts(ids),
        can_plan=_can_plan(),
        **LABELS,
    )


def _class_form(commune_id: int | None, course_class: CourseClass | None = None, **kwargs):
    trainers = queries.commune_trainers(commune_id)
    if course_class is not None:  # keep trainers no longer active on the list, still ticked
        trainers += [t for t in course_class.trainers if t not in trainers]
    courses = [
        c
        for c in queries.visible_courses(current_user)
        if commune_id is None or c.commune_id == commune_id
    ]
    return ClassForm(courses=courses, trainers=trainers, villages=_villages(commune_id), **kwargs)


@bp.route("/classes/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def class_new():
    """Open a class of a course: trainers, audience, village, seats, accommodations."""
    course_id = row_id(request.args.get("course_id"))
    course = db.session.get(Course, course_id) if course_id else None
    if course is not None and not services.in_commune(current_user, course.commune_id):
        course = None
    form = _class_form(course.commune_id if course else current_user.commune_id)
    if request.method == "GET":
        _prefill_new_class(form, course)
    elif form.validate_on_submit():
        chosen = queries.get_course(current_user, form.course_id.data)
        course_class = _run(form, services.create_class, course=chosen, **form.class_fields())
        if course_class is not None:
            flash(_("Class “%(name)s” created.", name=course_class.name), "success")
            return redirect(url_for(".class_detail", class_id=course_class.id))
    if not form.course_id.choices:
        flash(_("Describe a course first: every class belongs to a course."), "error")
        return redirect(url_for(".course_new"))
    return render_template("scheduling/class_form.html", form=form, course_class=None), page_status(
        form
    )


def _prefill_new_class(form: ClassForm, course: Course | None) -> None:
    """A new class is planned, has the trainer who opens it, and the course's name and
    audience when it is opened from a course."""
    form.status.data = ClassStatus.PLANNED
    if current_user.role == Role.TRAINER:
        form.trainers.data = [current_user.id]
    if course is not None:
        form.course_id.data, form.name.data = course.id, course.title
        form.target_groups.data, form.segments.data = course.target_groups, course.segments


@bp.get("/classes/<int:class_id>")
@roles_required(*READERS)
def class_detail(class_id: int):
    """A class: its course, trainers, audience, seats, status and sessions."""
    course_class = queries.get_class(current_user, class_id)
    can_run = services.can_run(current_user, course_class)
    pending = 0
    if can_run:
        pending = db.session.scalar(
            db.select(db.func.count()).where(
                SignupRequest.class_id == course_class.id,
                SignupRequest.status == SignupStatus.PENDING,
            )
        )
    return render_template(
        "scheduling/class_detail.html",
        course_class=course_class,
        enrolled=seats_taken(course_class),
        waiting=queries.waiting_counts([course_class.id]).get(course_class.id, 0),
        pending=pending,
        can_run=can_run,
        can_open_sessions=_can_plan(),  # the session page is for planners only
        sees_learners=current_user.role in PEOPLE_READERS,  # not mentors (volunteers)
        public_url=current_app.config["BASE_URL"]
        + url_for("signup.class_page", token=course_class.public_token),
        **LABELS,
    )


@bp.route("/classes/<int:class_id>/edit", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def class_edit(class_id: int):
    """Change a class, including its status (open, running, finished, cancelled)."""
    course_class = queries.get_class(current_user, class_id, for_running=True)
    form = _class_form(
        course_class.commune_id, course_class, obj=course_class if request.method == "GET" else None
    )
    del form.course_id  # a class stays with its course
    clashes = []
    if request.method == "GET":
        form.trainers.data = [t.id for t in course_class.trainers]
    elif form.validate_on_submit():
        with attempt(form) as refused:
            services.update_class(
                actor=current_user, now=utcnow(), course_class=course_class, **form.change_fields()
            )
        if not refused:
            flash(_("Changes to the class saved."), "success")
            return redirect(url_for(".class_detail", class_id=course_class.id))
        clashes = getattr(refused.error, "clashes", [])
    return render_template(
        "scheduling/class_form.html",
        form=form,
        course_class=course_class,
        clashes=clashes,
        can_override=may_override_clash(current_user),
    ), page_status(form)
