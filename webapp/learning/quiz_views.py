"""Quiz pages: one question per page, each answer a large submit button (no script needed).

Two ways in, the same pages: the learner's own phone (``/hoc``, public, for the people this
phone was remembered for at check-in) and a staff helper sitting with the learner
(``/people/<id>/quiz``; the helper is recorded on the attempt and on the evidence). Every
answer is a POST followed by a redirect to where the attempt now is, so reloading or going
back never answers twice.
"""

from dataclasses import dataclass

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from webapp import forms
from webapp.accounts.models import User
from webapp.checkin import phones
from webapp.checkin.learner_views import device_key
from webapp.extensions import db
from webapp.ids import query_int, row_id
from webapp.learning import quiz as quizzes
from webapp.learning.quiz import QuizAttempt, QuizError
from webapp.people import queries as people_queries
from webapp.people.models import Person
from webapp.permissions import Role, public, roles_required
from webapp.scheduling.access import PLANNERS
from webapp.timeutil import utcnow

bp = Blueprint("quiz", __name__)

#: Staff who may sit with a learner through a quiz.
HELPERS = PLANNERS | {Role.MENTOR}
#: Answers that only mean the form was old: show the attempt where it is now.
REPLAYED = frozenset({"stale_answer", "attempt_finished"})


@bp.after_request
def _private(response):
    # Names and answers of one learner: never kept by a shared cache or the browser's history.
    response.headers["Cache-Control"] = "private, no-store"
    return response


@dataclass
class Flow:
    """What differs between the learner's own phone and a helper's session."""

    person: Person
    helper: User | None = None
    device_key: str | None = None

    @property
    def layout(self) -> str:
        return "base.html" if self.helper else "light.html"

    def url(self, page: str, competency: str, attempt_id: int | None = None) -> str:
        args = {"competency": competency}
        if attempt_id is not None:
            args["attempt_id"] = attempt_id
        if self.helper:
            return url_for(f"quiz.helper_{page}", person_id=self.person.id, **args)
        if page == "start":
            args["person"] = self.person.id
        return url_for(f"quiz.learner_{page}", **args)

    @property
    def home(self) -> str:
        if self.helper:
            return url_for("quiz.person_quizzes", person_id=self.person.id)
        return url_for("quiz.home")


# --- the pages both ways share -------------------------------------------------------------


def _message(flow: Flow, error: QuizError):
    return render_template("learning/quiz_message.html", flow=flow, error=error), error.status


def _quiz(competency: str) -> quizzes.Quiz:
    """The quiz of a competency (a bank lookup, nothing to authorise); 404 when none."""
    try:
        return quizzes.quiz_for(competency)
    except QuizError:
        abort(404)


def _start_page(flow: Flow, competency: str):
    """The quiz's name, its length and a start button; starting resumes an unfinished one."""
    quiz = _quiz(competency)  # the 404 comes here: start() then refuses only too many a day
    if request.method == "POST":
        with forms.attempt() as refused:
            attempt = quizzes.start(
                flow.person,
                competency,
                now=utcnow(),
                helper=flow.helper,
                device_key=flow.device_key,
            )
        if refused:
            return _message(flow, refused.error)
        return redirect(flow.url("question", competency, attempt.id), 303)
    passed = competency in quizzes.passed_codes([flow.person.id])[flow.person.id]
    return render_template("learning/quiz_start.html", flow=flow, quiz=quiz, passed=passed)


def _answer(flow: Flow, attempt: QuizAttempt):
    """Accept the posted answer, then show where the attempt is (a replayed form included)."""
    code = attempt.competency_code
    position = query_int("position", low=0)
    choice = query_int("choice", low=0)
    if position is None or choice is None:
        abort(400)
    try:
        with forms.attempt() as refused:
            quizzes.answer(
                attempt, position=position, choice=choice, now=utcnow(), actor=flow.helper
            )
    except QuizError as gone:  # 404, re-raised by attempt(): the quiz has left the bank
        return _message(flow, gone)
    if refused and refused.error.code not in REPLAYED:
        return _message(flow, refused.error)
    page = "result" if attempt.finished else "question"
    return redirect(flow.url(page, code, attempt.id), 303)


def _question_page(flow: Flow, attempt: QuizAttempt):
    """GET: the current question. POST: accept its answer, then show where the attempt is."""
    code = attempt.competency_code
    if request.method == "POST":
        return _answer(flow, attempt)
    if attempt.finished:
        return redirect(flow.url("result", code, attempt.id))
    try:
        question = quizzes.current_question(attempt)
    except QuizError as error:
        return _message(flow, error)
    return render_template(
        "learning/quiz_question.html",
        flow=flow,
        attempt=attempt,
        question=question,
        quiz=quizzes.quiz_for(code),
        total=len(attempt.questions),
    )


def _result_page(flow: Flow, attempt: QuizAttempt):
    """Score, đạt / chưa đạt, and each question with the right answer."""
    if not attempt.finished:
        return redirect(flow.url("question", attempt.competency_code, attempt.id))
    quiz = quizzes.quiz_for(attempt.competency_code)
    asked = [(quiz.question(a["q"]), a) for a in attempt.answers]
    return render_template(
        "learning/quiz_result.html",
        flow=flow,
        attempt=attempt,
        quiz=quiz,
        asked=asked,
        total=len(attempt.questions),
        waits=quizzes.pass_waits_for_staff(attempt),
    )


# --- the learner's own phone ---------------------------------------------------------------


def _refuse_device():
    """This phone is not linked to the person: say how to link it (check in once)."""
    abort(make_response(render_template("learning/quiz_refused.html"), 403))


def _learner_flow(person_id: int | None) -> Flow:
    key = device_key()
    person = next((p for p in phones.device_people(key) if p.id == person_id), None)
    if person is None:
        _refuse_device()
    return Flow(person, device_key=key)


def _learner_attempt(competency: str, attempt_id: int) -> tuple[Flow, QuizAttempt]:
    attempt = db.session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.competency_code != competency or attempt.helper_user_id:
        abort(404)
    return _learner_flow(attempt.person_id), attempt


@bp.get("/hoc")
@public
def home():
    """The phone's people, what they are asked (a mentor's visit to confirm) and the quizzes
    they can take."""
    people = phones.device_people(device_key())
    ids = [p.id for p in people]
    return render_template(
        "learning/quiz_home.html",
        people=people,
        quizzes=list(quizzes.bank().values()),
        passed=quizzes.passed_codes(ids),
        prompts=phones.prompts_for(ids, now=utcnow()),
    )


@bp.route("/hoc/quiz/<competency>", methods=["GET", "POST"])
@public
def learner_start(competency: str):
    # The person is in the address also when the start button posts (query_int reads a
    # POST's form).
    return _start_page(_learner_flow(row_id(request.args.get("person"))), competency)


@bp.route("/hoc/quiz/<competency>/<int:attempt_id>", methods=["GET", "POST"])
@public
def learner_question(competency: str, attempt_id: int):
    return _question_page(*_learner_attempt(competency, attempt_id))


@bp.get("/hoc/quiz/<competency>/<int:attempt_id>/result")
@public
def learner_result(competency: str, attempt_id: int):
    return _result_page(*_learner_attempt(competency, attempt_id))


# --- with a helper -------------------------------------------------------------------------


def _helper_flow(person_id: int) -> Flow:
    person = people_queries.get_person(current_user, person_id)
    if person is None:
        abort(404)
    return Flow(person, helper=current_user._get_current_object())


def _helper_attempt(person_id: int, competency: str, attempt_id: int) -> tuple[Flow, QuizAttempt]:
    flow = _helper_flow(person_id)
    attempt = db.session.get(QuizAttempt, attempt_id)
    if (
        attempt is None
        or attempt.person_id != flow.person.id
        or attempt.competency_code != competency
        or attempt.helper_user_id != flow.helper.id
    ):
        abort(404)
    return flow, attempt


@bp.get("/people/<int:person_id>/quiz")
@roles_required(*HELPERS)
def person_quizzes(person_id: int):
    """A person's quizzes to take with a helper, and their finished attempts."""
    flow = _helper_flow(person_id)
    return render_template(
        "learning/quiz_person.html",
        flow=flow,
        quizzes=list(quizzes.bank().values()),
        passed=quizzes.passed_codes([person_id])[person_id],
        attempts=quizzes.attempts_of(flow.person),
    )


@bp.route("/people/<int:person_id>/quiz/<competency>", methods=["GET", "POST"])
@roles_required(*HELPERS)
def helper_start(person_id: int, competency: str):
    return _start_page(_helper_flow(person_id), competency)


@bp.route("/people/<int:person_id>/quiz/<competency>/<int:attempt_id>", methods=["GET", "POST"])
@roles_required(*HELPERS)
def helper_question(person_id: int, competency: str, attempt_id: int):
    return _question_page(*_helper_attempt(person_id, competency, attempt_id))


@bp.get("/people/<int:person_id>/quiz/<competency>/<int:attempt_id>/result")
@roles_required(*HELPERS)
def helper_result(person_id: int, competency: str, attempt_id: int):
    return _result_page(*_helper_attempt(person_id, competency, attempt_id))
