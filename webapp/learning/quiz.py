"""Short quizzes, one per competency: the question bank, attempts and the pass rule.

The questions are project data in ``quiz_bank.yaml`` (read once per process, checked on
load); an attempt keeps the ids of the questions it was given and every answer, so a later
edit of the bank does not change a finished result. A learner answers on their own phone
(no actor) or with a staff helper beside them (``helper``). Each answer is accepted once, for
the question the attempt is at: a replayed or doubled form changes nothing, and a finished
attempt never changes. A pass records quiz evidence through the learning service, exactly once
per attempt.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, select, update
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload

from webapp import ratelimit
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Person
from webapp.timeutil import UTCDateTime

log = logging.getLogger("webapp.learning.quiz")

BANK_PATH = Path(__file__).with_name("quiz_bank.yaml")
CODE = re.compile(r"\d{1,2}(\.\d{1,2}){0,2}")
DAY = 86_400
#: An unfinished attempt younger than this is resumed instead of starting a new one.
RESUME_WITHIN = timedelta(hours=12)


# --- the question bank ---------------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    id: str
    competency_code: str
    position: int  # 1, 2, 3 … within its quiz
    text: str
    choices: tuple[str, ...]
    answer: int  # index of the right choice


@dataclass(frozen=True)
class Quiz:
    competency_code: str
    title: str  # in the bank's language (Vietnamese)
    language: str
    questions: tuple[Question, ...]

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)


class BankError(ValueError):
    """The question bank file is malformed (the message says where and why)."""


def _text(value, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise BankError(f"{where}: text missing")
    return value.strip()


def _question(raw, code: str, position: int, seen: set[str]) -> Question:
    where = f"competency {code}, question {position}"
    if not isinstance(raw, dict):
        raise BankError(f"{where}: not a mapping")
    qid = _text(raw.get("id"), f"{where} id")
    if qid in seen:
        raise BankError(f"{where}: id {qid!r} used twice")
    seen.add(qid)
    choices = raw.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        raise BankError(f"{where}: needs at least two choices")
    choices = tuple(_text(c, f"{where} choice") for c in choices)
    if len(set(choices)) != len(choices):
        raise BankError(f"{where}: two choices are the same")
    answer = raw.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
        raise BankError(f"{where}: answer must be a choice's position, 0 to {len(choices) - 1}")
    return Question(qid, code, position, _text(raw.get("text"), where), choices, answer)


def load_bank(path: Path = BANK_PATH) -> dict[str, Quiz]:
    """Read and check a question bank file: competency code -> quiz (BankError if malformed)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("competencies"), dict):
        raise BankError("the file needs a 'competencies' mapping")
    language = str(data.get("language") or "vi")
    quizzes, seen = {}, set()
    for code, raw in data["competencies"].items():
        code = str(code)
        if not CODE.fullmatch(code) or not isinstance(raw, dict):
            raise BankError(f"competency {code!r}: bad code or not a mapping")
        questions = raw.get("questions")
        if not isinstance(questions, list) or not questions:
            raise BankError(f"competency {code}: no questions")
        quizzes[code] = Quiz(
            code,
            _text(raw.get("title"), f"competency {code} title"),
            language,
            tuple(_question(q, code, i, seen) for i, q in enumerate(questions, 1)),
        )
    return quizzes


@cache
def bank() -> dict[str, Quiz]:
    """The project's question bank, read once per process."""
    return load_bank()


class QuizError(DomainError):
    pass


def quiz_for(competency_code: str) -> Quiz:
    """The quiz of a competency (404 when the bank has none)."""
    quiz = bank().get(competency_code)
    if quiz is None:
        raise QuizError("unknown_quiz", _l("There is no quiz for this competency."), status=404)
    return quiz


def pass_mark() -> float:
    """The share of right answers needed to pass (config QUIZ_PASS_MARK, 0.67 = 2 of 3)."""
    return float(current_app.config.get("QUIZ_PASS_MARK", 0.67))


def max_per_day() -> int:
    """Attempts a person may start per day (config QUIZ_MAX_PER_DAY)."""
    return int(current_app.config.get("QUIZ_MAX_PER_DAY", 20))


# --- attempts ------------------------------------------------------------------------------


class QuizAttempt(db.Model):
    """One person taking one competency's quiz, from the first question to the result."""

    __tablename__ = "quiz_attempts"
    __table_args__ = (Index("ix_quiz_attempts_person_code", "person_id", "competency_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id"))
    competency_code: Mapped[str] = mapped_column(String(12))
    #: Ids of the bank's questions, in the order asked.
    questions: Mapped[list] = mapped_column(JSON, default=list)
    #: One entry per answered question: {"q": id, "choice": index, "correct": bool}.
    answers: Mapped[list] = mapped_column(JSON, default=list)
    #: Number of answers given: the guard that accepts each question's answer once.
    answered: Mapped[int] = mapped_column(Integer, default=0)
    score: Mapped[float | None] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: The staff member sitting with the learner; None on the learner's own phone.
    helper_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    device_key: Mapped[str | None] = mapped_column(String(32))

    person = relationship("Person")
    helper = relationship("User")

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def correct(self) -> int:
        return sum(1 for a in self.answers if a.get("correct"))


def _find_open(person: Person, code: str, helper: User | None, now: datetime):
    stmt = (
        select(QuizAttempt)
        .where(
            QuizAttempt.person_id == person.id,
            QuizAttempt.competency_code == code,
            QuizAttempt.finished_at.is_(None),
            QuizAttempt.started_at > now - RESUME_WITHIN,
            QuizAttempt.helper_user_id.is_(None)
            if helper is None
            else QuizAttempt.helper_user_id == helper.id,
        )
        .order_by(QuizAttempt.started_at.desc())
    )
    return db.session.scalars(stmt).first()


def start(
    person: Person,
    competency_code: str,
    *,
    now: datetime,
    helper: User | None = None,
    device_key: str | None = None,
) -> QuizAttempt:
    """Begin a quiz, or resume the person's unfinished one; at most QUIZ_MAX_PER_DAY a day."""
    quiz = quiz_for(competency_code)
    attempt = _find_open(person, competency_code, helper, now)
    if attempt is not None:
        return attempt
    key = str(person.id)
    if ratelimit.count("quiz-person", key, now=now, window_seconds=DAY) >= max_per_day():
        message = _l("Too many quizzes today. Please try again tomorrow.")
        raise QuizError("too_many_attempts", message, status=429)
    ratelimit.hit("quiz-person", key, now=now, window_seconds=DAY)
    attempt = QuizAttempt(
        person_id=person.id,
        competency_code=competency_code,
        questions=[q.id for q in quiz.questions],
        answers=[],
        answered=0,
        started_at=now,
        helper_user_id=helper.id if helper else None,
        device_key=device_key,
    )
    db.session.add(attempt)
    db.session.flush()
    return attempt


def questions_of(attempt: QuizAttempt) -> list[Question]:
    """The attempt's questions, in order (409 if the bank no longer has one of them)."""
    quiz = quiz_for(attempt.competency_code)
    found = [quiz.question(qid) for qid in attempt.questions]
    if any(q is None for q in found):
        message = _l("This quiz has changed. Please start it again.")
        raise QuizError("quiz_changed", message, status=409)
    return found


def current_question(attempt: QuizAttempt) -> Question | None:
    """The question the attempt is at; None once every question is answered."""
    questions = questions_of(attempt)
    return questions[attempt.answered] if attempt.answered < len(questions) else None


def answer(
    attempt: QuizAttempt, *, position: int, choice: int, now: datetime, actor: User | None = None
) -> QuizAttempt:
    """Accept the answer to question ``position`` (0-based) once; the last answer finishes.

    Refused with ``attempt_finished`` on a finished attempt and ``stale_answer`` for any other
    question than the current one (a replayed or doubled form), without changing anything.
    """
    if attempt.finished:
        raise QuizError("attempt_finished", _l("This quiz is finished."), status=409)
    questions = questions_of(attempt)
    if position != attempt.answered:
        raise QuizError("stale_answer", _l("This question was already answered."), status=409)
    question = questions[position]
    if not 0 <= choice < len(question.choices):
        raise QuizError("bad_choice", _l("Please choose one of the answers."), status=400)
    answers = [
        *attempt.answers,
        {"q": question.id, "choice": choice, "correct": choice == question.answer},
    ]
    values: dict = {"answers": answers, "answered": position + 1}
    if position + 1 == len(questions):
        score = sum(1 for a in answers if a["correct"]) / len(questions)
        values |= {"score": score, "passed": round(score, 2) >= pass_mark(), "finished_at": now}
    # Conditional on the count read above: of two racing requests only one is accepted.
    accepted = db.session.execute(
        update(QuizAttempt)
        .where(
            QuizAttempt.id == attempt.id,
            QuizAttempt.finished_at.is_(None),
            QuizAttempt.answered == position,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if accepted != 1:
        raise QuizError("stale_answer", _l("This question was already answered."), status=409)
    if attempt.finished:
        _finished(attempt, actor=actor, now=now)
    return attempt


def _finished(attempt: QuizAttempt, *, actor: User | None, now: datetime) -> None:
    """Log the result; a pass becomes quiz evidence (once: only the finishing answer gets here)."""
    log.info(
        "quiz %s person %s attempt %s: score %.2f %s",
        attempt.competency_code,
        attempt.person_id,
        attempt.id,
        attempt.score,
        "passed" if attempt.passed else "not passed",
    )
    if not attempt.passed:
        return
    # Imported here: the learning services are a separate module that may import quizzes.
    from webapp.learning import services as learning

    device_id, pending = _phone_link(attempt, now)
    try:
        learning.record_evidence(
            actor=actor,
            now=now,
            person=attempt.person,
            competency_code=attempt.competency_code,
            kind="quiz",
            class_id=None,
            detail={"score": round(attempt.score, 4), "attempt_id": attempt.id},
            device_id=device_id,
            pending=pending,
        )
    except DomainError as refused:
        # E.g. no framework imported yet, or the competency left the framework: the learner
        # still gets the result; staff can record the evidence by hand.
        log.warning("quiz attempt %s: pass not recorded as evidence: %s", attempt.id, refused)


def _phone_link(attempt: QuizAttempt, now: datetime) -> tuple[int | None, bool]:
    """The learner's phone link an attempt was made on, and whether its pass waits for staff:
    it counts at once when the link is confirmed, or when staff checked the person in at a
    session under way now (the quiz is taken in class). A phone a stranger linked by
    checking in as the person earns nothing until the trainer confirms it. A helper's attempt
    (or one without a phone) is not a phone's."""
    if attempt.helper_user_id is not None or not attempt.device_key:
        return None, False
    from webapp.checkin import services as checkin
    from webapp.checkin.models import Device

    device = db.session.scalar(
        select(Device).where(
            Device.key == attempt.device_key, Device.person_id == attempt.person_id
        )
    )
    if device is not None and device.confirmed_at is not None and device.revoked_at is None:
        return device.id, False
    in_class = checkin.seen_by_staff_now(attempt.person_id, now=now)
    return (device.id if device is not None else None), not in_class


def pass_waits_for_staff(attempt: QuizAttempt) -> bool:
    """Whether the attempt's pass is kept as evidence that does not count yet (passed on a
    phone whose link staff have not confirmed): the result page says so."""
    if not attempt.passed:
        return False
    from webapp.learning.models import Evidence

    evidence = db.session.scalars(
        select(Evidence).where(
            Evidence.person_id == attempt.person_id,
            Evidence.competency_code == attempt.competency_code,
            Evidence.kind == "quiz",
            Evidence.pending.is_(True),
        )
    )
    return any(e.detail.get("attempt_id") == attempt.id and not e.counts for e in evidence)


def passed_codes(person_ids: list[int]) -> dict[int, set[str]]:
    """Competency codes whose quiz each person has passed at least once."""
    if not person_ids:
        return {}
    rows = db.session.execute(
        select(QuizAttempt.person_id, QuizAttempt.competency_code)
        .where(QuizAttempt.person_id.in_(person_ids), QuizAttempt.passed.is_(True))
        .distinct()
    )
    found: dict[int, set[str]] = {pid: set() for pid in person_ids}
    for person_id, code in rows:
        found[person_id].add(code)
    return found


def attempts_of(person: Person, limit: int = 50) -> list[QuizAttempt]:
    """A person's latest finished attempts, newest first."""
    stmt = (
        select(QuizAttempt)
        .where(QuizAttempt.person_id == person.id, QuizAttempt.finished_at.is_not(None))
        .order_by(QuizAttempt.finished_at.desc(), QuizAttempt.id.desc())
        .options(selectinload(QuizAttempt.helper))
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
