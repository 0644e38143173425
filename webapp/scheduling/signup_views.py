"""The public class page, where anybody may ask to join a class (no account needed).

The page shows the class, never a person: no learner, no trainer name or phone. Sign-ups are
throttled per address (counted in the database, so every app host shares the count).
"""

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from webapp import ratelimit
from webapp.extensions import db
from webapp.forms import attempt, page_status
from webapp.people.models import Village
from webapp.permissions import public
from webapp.scheduling import enrolment as rules
from webapp.scheduling.enrolment import seats_taken
from webapp.scheduling.forms import SignupForm
from webapp.scheduling.models import (
    ACCESSIBILITY_LABELS,
    ACCOMMODATION_LABELS,
    CLASS_STATUS_LABELS,
    ClassSession,
    CourseClass,
)
from webapp.scheduling.series import WEEKDAY_LABELS
from webapp.timeutil import to_local, utcnow

bp = Blueprint("signup", __name__)

SIGNUP_WINDOW_SECONDS = 3600
SIGNUP_MAX_PER_ADDRESS = 30  # per hour; many villagers share one mobile-network address
THANKS_KEY = "signup_sent"


def _public_class(token: str) -> CourseClass:
    """The class whose public page this is; 404 when it has none."""
    course_class = db.session.scalar(select(CourseClass).where(CourseClass.public_token == token))
    if course_class is None or not course_class.public_signup:
        abort(404)
    return course_class


def _too_many(now) -> bool:
    """Count this submission; True when the address sent too many this hour."""
    address = request.remote_addr or "unknown"
    limit = current_app.config.get("SIGNUP_MAX_PER_ADDRESS", SIGNUP_MAX_PER_ADDRESS)
    hits = ratelimit.hit("signup-address", address, now=now, window_seconds=SIGNUP_WINDOW_SECONDS)
    db.session.commit()  # the attempt counts even when the form is then refused
    return hits > limit


@bp.route("/lop/<token>", methods=["GET", "POST"])
@public
def class_page(token: str):
    """The class for everybody: what, where, when, and a form to ask to join."""
    course_class = _public_class(token)
    if request.method == "GET" and session.pop(THANKS_KEY, None) == token:
        return render_template("public/signup_thanks.html", course_class=course_class)
    form = SignupForm(villages=_villages(course_class))
    if request.method == "POST":
        now = utcnow()
        if _too_many(now):
            abort(429)
        if form.validate_on_submit():
            with attempt(form) as refused:
                rules.submit_signup(now=now, course_class=course_class, **form.signup_fields())
            if not refused:
                session[THANKS_KEY] = token
                return redirect(url_for(".class_page", token=token))
    return _class_page(course_class, form)


def _villages(course_class: CourseClass) -> list[Village]:
    return db.session.scalars(
        select(Village)
        .where(Village.commune_id == course_class.commune_id)
        .order_by(Village.position, Village.name)
    ).all()


def _class_page(course_class: CourseClass, form: SignupForm):
    return render_template(
        "public/class_page.html",
        course_class=course_class,
        form=form,
        open_for_signup=rules.takes_signups(course_class),
        free_seats=max(0, course_class.capacity - seats_taken(course_class)),
        sessions=_upcoming(course_class),
        accommodation_labels=ACCOMMODATION_LABELS,
        accessibility_labels=ACCESSIBILITY_LABELS,
        status_labels=CLASS_STATUS_LABELS,
        weekdays=WEEKDAY_LABELS,
        to_local=to_local,
    ), page_status(form)


def _upcoming(course_class: CourseClass) -> list[ClassSession]:
    """Sessions not over yet (cancelled ones too, marked, so nobody walks there in vain)."""
    since = utcnow() - timedelta(hours=1)
    return [s for s in course_class.sessions if s.ends_at > since]
