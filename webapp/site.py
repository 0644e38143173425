"""Pages that belong to no single domain: home, health check, language switch."""

from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import text

from webapp.extensions import db
from webapp.i18n import LANG_COOKIE
from webapp.permissions import Role, public
from webapp.security import safe_next

bp = Blueprint("site", __name__)

#: The pages a learner or the public opens, mostly on a phone: they use the light layout
#: (templates/light.html, no script, one small stylesheet), and so do their error pages.
LIGHT_PAGES = frozenset(
    {
        "checkin_learner.enter_code",
        "checkin_learner.scan",
        "checkin_learner.done",
        "checkin_cards.person_card",
        "certificates.verify",
        "quiz.home",
        "quiz.learner_start",
        "quiz.learner_question",
        "quiz.learner_result",
        "public.schedule",
        "public.schedule_print",
        "public.village_ics",
        "public.class_ics",
        "signup.class_page",
        # The mentor's phone pages (staff, but on a volunteer's cheap phone) and a mentee's
        # confirmation of a meeting.
        "mentor.home",
        "mentor.new_meeting",
        "mentor.meeting",
        "mentor.attest",
        "mentor.present",
        "mentor.confirm",
    }
)


@bp.app_context_processor
def _layout() -> dict:
    # The error pages (templates/errors/error.html) take the layout of the page they replace.
    return {"light_layout": has_request_context() and request.endpoint in LIGHT_PAGES}


@bp.get("/")
@public
def index():
    """The log-in page for visitors; the user's start page otherwise."""
    if not current_user.is_authenticated:
        from webapp.accounts.forms import LoginForm

        return render_template("accounts/login.html", form=LoginForm())
    if current_user.role == Role.TRAINER:
        # A trainer's start page is their day: today's and this week's sessions.
        return redirect(url_for("calendar.today"))
    if current_user.role == Role.MENTOR:
        # A mentor's start page is their mentees, on their phone.
        return redirect(url_for("mentor.home"))
    return render_template("home.html")


@bp.get("/healthz")
@public
def healthz():
    """200 when the app can reach its database."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker (static/js/sw.js), served from the root so that it may keep the
    staff pages it lists (docs/offline.md); always checked for a new version."""
    body = (Path(current_app.static_folder) / "js" / "sw.js").read_bytes()
    response = current_app.response_class(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.post("/language")
@public
def set_language():
    """Remember the chosen language in a cookie and go back."""
    lang = request.form.get("lang", "vi")
    response = redirect(safe_next(request.form.get("next"), url_for("site.index")))
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
            httponly=True,
        )
    return response
