"""Quizzes: the question bank, the learner's own phone, a helper beside the learner."""

import re
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from tests.factories import NOW, make_person
from webapp.checkin import learner_views
from webapp.checkin.models import Device
from webapp.extensions import db
from webapp.learning import quiz as quizzes
from webapp.learning.framework import competency_names, current_version, seed_framework
from webapp.learning.models import Evidence
from webapp.learning.quiz import QuizAttempt, QuizError
from webapp.people.models import Person, Village

CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
#: The competencies taught to residents (the draft's "nguoi_dan" rule).
RESIDENT_CODES = ["0.1", "0.2", "1.1", "1.2", "2.1", "2.3", "2.5", "4.1", "4.2", "6.1"]
CODE = "4.2"


@pytest.fixture
def qw(app, world):
    """Two villagers; the phone "phone-nhung" is remembered for Nhung only."""
    with app.app_context():
        seed_framework(NOW)
        village = db.session.get(Village, world.village_ids[0])
        nhung = make_person(village, "Nguyễn Thị Hồng Nhung", 1958)
        uot = make_person(village, "Đặng Văn Ướt", 1949)
        for key, person in (("phone-nhung", nhung), ("phone-uot", uot)):
            db.session.add(Device(key=key, person_id=person.id, created_at=NOW, last_used_at=NOW))
        db.session.commit()
        return SimpleNamespace(nhung=nhung.id, uot=uot.id, users=world.users)


def _use_phone(app, client, key: str) -> None:
    with app.test_request_context():
        client.set_cookie(learner_views.COOKIE, learner_views._signer().dumps(key))


def _csrf(page) -> str:
    return CSRF.search(page.get_data(as_text=True)).group(1)


def _answers(code: str, right: int) -> list[int]:
    """Choices for the quiz's questions: the first ``right`` of them right, the others wrong."""
    questions = quizzes.bank()[code].questions
    return [
        q.answer if i < right else (q.answer + 1) % len(q.choices) for i, q in enumerate(questions)
    ]


def _take(client, start_url: str, choices: list[int]):
    """Start a quiz and answer every question the way a phone's browser does."""
    page = client.get(start_url)
    assert page.status_code == 200, page.status_code
    response = client.post(start_url, data={"csrf_token": _csrf(page)})
    assert response.status_code == 303
    question_url = response.headers["Location"]
    for position, choice in enumerate(choices):
        page = client.get(question_url)
        assert page.status_code == 200
        data = {"csrf_token": _csrf(page), "position": position, "choice": choice}
        response = client.post(question_url, data=data)
        assert response.status_code == 303
    assert response.headers["Location"].endswith("/result")
    return question_url, response.headers["Location"]


def _evidence(app, person_id: int) -> list[Evidence]:
    with app.app_context():
        return list(db.session.scalars(select(Evidence).where(Evidence.person_id == person_id)))


def _attempt(app) -> QuizAttempt:
    with app.app_context():
        return db.session.scalars(select(QuizAttempt)).one()


# --- the bank ------------------------------------------------------------------------------


def test_bank_has_three_questions_of_three_choices_for_each_resident_competency(app):
    bank = quizzes.load_bank()
    assert set(RESIDENT_CODES) <= set(bank)
    ids = set()
    for code, quiz in bank.items():
        assert quiz.title and quiz.language == "vi"
        assert len(quiz.questions) == 3, code
        for question in quiz.questions:
            assert question.competency_code == code
            assert len(question.choices) == 3, question.id
            assert 0 <= question.answer < 3
            assert question.text.strip() and all(c.strip() for c in question.choices)
            ids.add(question.id)
    assert len(ids) == sum(len(q.questions) for q in bank.values())
    # The right answer is not always in the same place.
    assert {q.answer for quiz in bank.values() for q in quiz.questions} == {0, 1, 2}


def test_every_quiz_is_for_a_competency_of_the_framework(app):
    with app.app_context():
        seed_framework(NOW)
        names = competency_names(current_version())
    assert set(quizzes.bank()) <= set(names)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (
            "competencies: {'4.2': {title: T, questions: [{id: a, text: Q, choices: [x, y], "
            "answer: 2}]}}",
            "answer must be",
        ),
        (
            "competencies: {'4.2': {title: T, questions: [{id: a, text: Q, choices: [x]}]}}",
            "at least two choices",
        ),
        (
            "competencies: {'4.2': {title: T, questions: [{id: a, text: Q, choices: [x, y], "
            "answer: 0}, {id: a, text: R, choices: [x, y], answer: 1}]}}",
            "used twice",
        ),
        ("questions: []", "'competencies'"),
    ],
)
def test_a_malformed_bank_is_refused_with_the_reason(tmp_path, body, reason):
    path = tmp_path / "bank.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(quizzes.BankError, match=reason):
        quizzes.load_bank(path)


# --- the learner's own phone ---------------------------------------------------------------


def test_home_lists_the_phones_people_and_the_quizzes(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    html = client.get("/hoc").get_data(as_text=True)
    assert "Nguyễn Thị Hồng Nhung" in html and "Đặng Văn Ướt" not in html
    assert "Bảo vệ dữ liệu cá nhân" in html
    assert f"/hoc/quiz/4.2?person={qw.nhung}" in html


def test_a_phone_without_people_is_sent_to_check_in(app, client, qw):
    html = client.get("/hoc").get_data(as_text=True)
    assert 'href="/c"' in html
    assert "Nhung" not in html


def test_a_full_pass_on_the_phone_records_evidence_once(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    question_url, result_url = _take(
        client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 3)
    )
    page = client.get(result_url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Nguyễn Thị Hồng Nhung" in html and ("Passed" in html or "Đạt" in html)
    attempt = _attempt(app)
    assert attempt.passed and attempt.score == 1.0 and attempt.finished_at is not None
    assert attempt.device_key == "phone-nhung" and attempt.helper_user_id is None
    [evidence] = _evidence(app, qw.nhung)
    assert (evidence.kind, evidence.competency_code) == ("quiz", CODE)
    assert evidence.recorded_by_id is None and evidence.detail["score"] == 1.0
    # Reloading the result, or sending the last answer again, records nothing more.
    client.get(result_url)
    again = client.post(question_url, data={"csrf_token": _csrf(page), "position": 2, "choice": 0})
    assert again.status_code == 303 and again.headers["Location"].endswith("/result")
    assert len(_evidence(app, qw.nhung)) == 1
    # The home page now marks the quiz as passed.
    assert "✓" in client.get("/hoc").get_data(as_text=True)


def test_two_of_three_pass_and_one_of_three_fails_without_evidence(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    _take(client, f"/hoc/quiz/1.2?person={qw.nhung}", _answers("1.2", 2))
    _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 1))
    with app.app_context():
        results = {
            a.competency_code: (a.passed, round(a.score, 2))
            for a in db.session.scalars(select(QuizAttempt))
        }
    assert results == {"1.2": (True, 0.67), CODE: (False, 0.33)}
    assert [e.competency_code for e in _evidence(app, qw.nhung)] == ["1.2"]


def test_the_result_page_shows_the_right_answer_of_a_missed_question(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    _, result_url = _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 0))
    html = client.get(result_url).get_data(as_text=True)
    assert "Không đưa mã OTP cho bất kỳ ai, rồi gác máy" in html
    assert not _evidence(app, qw.nhung)


def test_a_phone_not_linked_to_the_person_is_refused(app, client, qw):
    _use_phone(app, client, "phone-uot")
    page = client.get(f"/hoc/quiz/{CODE}?person={qw.nhung}")
    assert page.status_code == 403
    assert 'href="/c"' in page.get_data(as_text=True)
    token = _csrf(client.get("/hoc"))
    assert (
        client.post(f"/hoc/quiz/{CODE}?person={qw.nhung}", data={"csrf_token": token}).status_code
        == 403
    )
    # Nhung's own phone starts an attempt; Ướt's phone cannot open or answer it.
    _use_phone(app, client, "phone-nhung")
    start = f"/hoc/quiz/{CODE}?person={qw.nhung}"
    question_url = client.post(start, data={"csrf_token": _csrf(client.get(start))}).location
    _use_phone(app, client, "phone-uot")
    assert client.get(question_url).status_code == 403
    refused = client.post(question_url, data={"csrf_token": token, "position": 0, "choice": 0})
    assert refused.status_code == 403
    assert _attempt(app).answered == 0
    # No phone cookie at all.
    client.delete_cookie(learner_views.COOKIE)
    assert client.get(question_url).status_code == 403


def test_a_revoked_phone_is_refused(app, client, qw):
    with app.app_context():
        db.session.scalars(select(Device).where(Device.key == "phone-nhung")).one().revoked_at = NOW
        db.session.commit()
    _use_phone(app, client, "phone-nhung")
    assert client.get(f"/hoc/quiz/{CODE}?person={qw.nhung}").status_code == 403


def test_question_page_markup_is_large_plain_and_small(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    start = f"/hoc/quiz/{CODE}?person={qw.nhung}"
    question_url = client.post(start, data={"csrf_token": _csrf(client.get(start))}).location
    page = client.get(question_url)
    html = page.get_data(as_text=True)
    assert len(page.data) < 30_000
    assert html.count("<h1") == 1 and "<script" not in html
    assert '<fieldset lang="vi">' in html and "<legend>" in html
    assert html.count('type="submit" name="choice"') == 3
    assert "1/3" in html or "1 of 3" in html
    assert "Có người gọi điện xưng là nhân viên ngân hàng" in html
    assert page.headers["Cache-Control"] == "private, no-store"


def test_unknown_quiz_and_foreign_attempt_ids_are_not_found(app, client, qw):
    _use_phone(app, client, "phone-nhung")
    assert client.get(f"/hoc/quiz/9.9?person={qw.nhung}").status_code == 404
    assert client.get("/hoc/quiz/4.2/12345").status_code == 404
    assert client.get("/hoc/quiz/4.2/99999999999").status_code == 404


def test_attempts_per_person_per_day_are_limited(app, client, qw, monkeypatch):
    monkeypatch.setitem(app.config, "QUIZ_MAX_PER_DAY", 2)
    _use_phone(app, client, "phone-nhung")
    for _ in range(2):
        _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 0))
    start = f"/hoc/quiz/{CODE}?person={qw.nhung}"
    refused = client.post(start, data={"csrf_token": _csrf(client.get(start))})
    assert refused.status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count(QuizAttempt.id))) == 2


# --- the rule ------------------------------------------------------------------------------


def test_answers_cannot_be_replayed_or_change_a_finished_attempt(app, qw):
    with app.app_context():
        person = db.session.get(Person, qw.nhung)
        attempt = quizzes.start(person, CODE, now=NOW)
        # Starting again before finishing resumes the same attempt.
        assert quizzes.start(person, CODE, now=NOW).id == attempt.id
        right = _answers(CODE, 3)
        quizzes.answer(attempt, position=0, choice=right[0], now=NOW)
        with pytest.raises(QuizError) as stale:
            quizzes.answer(attempt, position=0, choice=(right[0] + 1) % 3, now=NOW)
        assert stale.value.code == "stale_answer"
        with pytest.raises(QuizError) as bad:
            quizzes.answer(attempt, position=1, choice=7, now=NOW)
        assert bad.value.code == "bad_choice"
        quizzes.answer(attempt, position=1, choice=right[1], now=NOW)
        quizzes.answer(attempt, position=2, choice=right[2], now=NOW)
        db.session.commit()
        before = (list(attempt.answers), attempt.score, attempt.passed, attempt.finished_at)
        for position in (0, 2, 3):
            with pytest.raises(QuizError) as finished:
                quizzes.answer(attempt, position=position, choice=0, now=NOW)
            assert finished.value.code == "attempt_finished"
        db.session.rollback()
        attempt = db.session.get(QuizAttempt, attempt.id)
        assert (attempt.answers, attempt.score, attempt.passed, attempt.finished_at) == before
        assert db.session.scalar(select(func.count(Evidence.id))) == 1


def test_a_racing_second_answer_is_refused_by_the_database(app, qw):
    """Two requests read the attempt at question 1; only the first answer is taken."""
    with app.app_context():
        person = db.session.get(Person, qw.nhung)
        attempt = quizzes.start(person, CODE, now=NOW)
        db.session.commit()
        db.session.execute(
            QuizAttempt.__table__.update().values(answered=1, answers=[{"q": "x"}])
        )  # another request got there first; this session's object is now stale
        with pytest.raises(QuizError) as stale:
            quizzes.answer(attempt, position=0, choice=0, now=NOW)
        assert stale.value.code == "stale_answer"


def test_pass_mark_comes_from_the_config(app, qw, monkeypatch):
    monkeypatch.setitem(app.config, "QUIZ_PASS_MARK", 1.0)
    with app.app_context():
        attempt = quizzes.start(db.session.get(Person, qw.nhung), CODE, now=NOW)
        for position, choice in enumerate(_answers(CODE, 2)):
            quizzes.answer(attempt, position=position, choice=choice, now=NOW)
        assert attempt.finished and not attempt.passed


# --- with a helper -------------------------------------------------------------------------


def test_helper_mode_records_the_helper(app, actions, qw):
    actions.login("trainer")
    client = actions.client
    index = client.get(f"/people/{qw.nhung}/quiz")
    assert index.status_code == 200
    assert f"/people/{qw.nhung}/quiz/{CODE}" in index.get_data(as_text=True)
    question_url, result_url = _take(client, f"/people/{qw.nhung}/quiz/{CODE}", _answers(CODE, 3))
    assert question_url.startswith(f"/people/{qw.nhung}/quiz/{CODE}/")
    assert client.get(result_url).status_code == 200
    attempt = _attempt(app)
    assert attempt.helper_user_id == qw.users["trainer"] and attempt.device_key is None
    [evidence] = _evidence(app, qw.nhung)
    assert evidence.recorded_by_id == qw.users["trainer"] and evidence.kind == "quiz"
    history = client.get(f"/people/{qw.nhung}/quiz").get_data(as_text=True)
    assert "Trainer" in history  # "with Trainer": who sat with the learner
    # Another staff member cannot continue or open this helper's attempt.
    actions.logout()
    actions.login("organiser")
    assert client.get(result_url).status_code == 404
    assert client.get(f"/people/{qw.nhung}/quiz").status_code == 200
    actions.logout()  # a mentor helps their own mentees only (none yet): not anybody
    actions.login("mentor")
    assert client.get(f"/people/{qw.nhung}/quiz").status_code == 404


def test_helper_attempts_are_not_open_on_the_phone_and_the_reverse(app, actions, qw):
    actions.login("organiser")
    start = f"/people/{qw.nhung}/quiz/{CODE}"
    question_url = actions.client.post(
        start, data={"csrf_token": _csrf(actions.client.get(start))}
    ).location
    attempt_id = question_url.rsplit("/", 1)[1]
    _use_phone(app, actions.client, "phone-nhung")
    assert actions.client.get(f"/hoc/quiz/{CODE}/{attempt_id}").status_code == 404


def test_helpers_only_see_people_of_their_commune_and_village_leads_are_refused(app, actions, qw):
    actions.login("other_organiser")
    assert actions.client.get(f"/people/{qw.nhung}/quiz").status_code == 404
    actions.logout()
    actions.login("lead")
    assert actions.client.get(f"/people/{qw.nhung}/quiz").status_code == 403


# --- issue 12 (4): passes on a phone count once the phone is confirmed as the person's --------


def _class_of(qw, person_id: int, *, session_now: bool = False) -> int:
    """A class of the course "4.2" with the person enrolled; with a session under way now."""
    from datetime import timedelta

    from tests.factories import make_class, make_course, make_session
    from webapp.accounts.models import User
    from webapp.scheduling.models import Enrolment
    from webapp.timeutil import utcnow

    person = db.session.get(Person, person_id)
    trainer = db.session.get(User, qw.users["trainer"])
    course = make_course(person.commune_id, trainer.id)
    course.competency_codes = [CODE]
    course_class = make_class(course, [trainer], village_id=person.village_id)
    db.session.add(
        Enrolment(course_class=course_class, person=person, status="enrolled", since=utcnow())
    )
    if session_now:
        make_session(course_class, (utcnow() - timedelta(minutes=20)).replace(microsecond=0))
    db.session.commit()
    return course_class.id


def _missing(person_id: int, class_id: int) -> list[str]:
    """The competencies eligibility still finds missing for the person in the class."""
    from webapp.learning import eligibility
    from webapp.scheduling.models import CourseClass
    from webapp.timeutil import utcnow

    course_class = db.session.get(CourseClass, class_id)
    return eligibility.check(db.session.get(Person, person_id), course_class, now=utcnow()).missing


def test_a_pass_on_an_unconfirmed_phone_counts_once_the_trainer_confirms(app, actions, client, qw):
    from webapp.accounts.models import User
    from webapp.checkin import phones as checkin
    from webapp.timeutil import utcnow

    with app.app_context():
        class_id = _class_of(qw, qw.nhung)
        assert _missing(qw.nhung, class_id) == [CODE]
    _use_phone(app, client, "phone-nhung")  # linked by a check-in, not confirmed yet
    _, result_url = _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 3))
    result = client.get(result_url).get_data(as_text=True)
    assert "khi giảng viên xác nhận điện thoại này" in result  # the learner is told it waits
    with app.app_context():
        [evidence] = _evidence(app, qw.nhung)
        assert evidence.pending and evidence.device_id is not None
        assert _missing(qw.nhung, class_id) == [CODE]  # kept, not counted
    actions.login("trainer")
    page = actions.client.get(f"/people/{qw.nhung}/evidence").get_data(as_text=True)
    assert "đang chờ: điện thoại chưa được xác nhận" in page
    with app.app_context():
        device = db.session.query(Device).filter_by(key="phone-nhung").one()
        checkin.confirm_link(device, actor=db.session.get(User, qw.users["trainer"]), now=utcnow())
        db.session.commit()
        assert _missing(qw.nhung, class_id) == []  # confirming makes it count
    page = actions.client.get(f"/people/{qw.nhung}/evidence").get_data(as_text=True)
    assert "đang chờ" not in page


def test_a_pass_on_an_undone_phone_never_counts(app, actions, client, qw):
    from webapp.accounts.models import User
    from webapp.checkin import phones as checkin
    from webapp.timeutil import utcnow

    with app.app_context():
        class_id = _class_of(qw, qw.nhung)
    _use_phone(app, client, "phone-nhung")
    _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 3))
    with app.app_context():
        device = db.session.query(Device).filter_by(key="phone-nhung").one()
        trainer = db.session.get(User, qw.users["trainer"])
        checkin.revoke(device, actor=trainer, now=utcnow())
        db.session.commit()
        assert _missing(qw.nhung, class_id) == [CODE]
    actions.login("trainer")
    page = actions.client.get(f"/people/{qw.nhung}/evidence").get_data(as_text=True)
    assert "không được tính: điện thoại đã bị hủy liên kết" in page


def test_a_pass_in_class_counts_at_once(app, client, qw):
    """Taken during a session of the person's class at which staff checked them in."""
    from webapp.checkin.models import Attendance
    from webapp.scheduling.models import ClassSession
    from webapp.timeutil import utcnow

    with app.app_context():
        class_id = _class_of(qw, qw.nhung, session_now=True)
        session = db.session.query(ClassSession).filter_by(class_id=class_id).one()
        now = utcnow()
        db.session.add(
            Attendance(
                occasion_kind="session",
                occasion_id=session.id,
                person_id=qw.nhung,
                status="present",
                method="roster",
                recorded_at=now,
                recorded_by_id=qw.users["trainer"],
                updated_at=now,
            )
        )
        db.session.commit()
    _use_phone(app, client, "phone-nhung")
    _, result_url = _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 3))
    assert "khi giảng viên xác nhận" not in client.get(result_url).get_data(as_text=True)
    with app.app_context():
        [evidence] = _evidence(app, qw.nhung)
        assert not evidence.pending and _missing(qw.nhung, class_id) == []


def test_checking_in_on_the_phone_is_not_being_seen_in_class(app, client, qw):
    """A stranger who linked the phone by checking in as the person, during the session,
    gains nothing by taking the quiz right then: only staff seeing the person counts."""
    from webapp.checkin.models import Attendance
    from webapp.scheduling.models import ClassSession
    from webapp.timeutil import utcnow

    with app.app_context():
        class_id = _class_of(qw, qw.nhung, session_now=True)
        session = db.session.query(ClassSession).filter_by(class_id=class_id).one()
        now = utcnow()
        db.session.add(
            Attendance(
                occasion_kind="session",
                occasion_id=session.id,
                person_id=qw.nhung,
                status="present",
                method="self_scan",
                recorded_at=now,
                device_key="phone-nhung",
                updated_at=now,
            )
        )
        db.session.commit()
    _use_phone(app, client, "phone-nhung")
    _take(client, f"/hoc/quiz/{CODE}?person={qw.nhung}", _answers(CODE, 3))
    with app.app_context():
        [evidence] = _evidence(app, qw.nhung)
        assert evidence.pending and _missing(qw.nhung, class_id) == [CODE]
