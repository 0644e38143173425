"""One active mentor per mentee, also when assignments are made at the same moment: each
thread has its own app context (its own session and connection), all released together."""

import threading
from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import NOW
from webapp.accounts.models import User
from webapp.extensions import db
from webapp.mentoring import services
from webapp.mentoring.models import Mentor, MentoringError, Mentorship, Organisation
from webapp.people.models import Person


def _race(app, jobs) -> list:
    """Run each ``job(session objects…)`` in its own thread at once; each result is "ok" or
    the refusal's code (any other exception is returned as is, for the test to show)."""
    barrier = threading.Barrier(len(jobs), timeout=30)
    results: list = [None] * len(jobs)

    def run(i: int, job) -> None:
        with app.app_context():
            try:
                prepared = job.prepare()
                barrier.wait()
                job.run(*prepared)
                db.session.commit()
                results[i] = "ok"
            except MentoringError as error:
                db.session.rollback()
                results[i] = error.code
            except Exception as error:  # shown by the assertion
                db.session.rollback()
                results[i] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, j)) for i, j in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(t.is_alive() for t in threads)
    return results


class Assign:
    def __init__(self, actor_id: int, mentor_id: int, person_id: int):
        self.ids = actor_id, mentor_id, person_id

    def prepare(self):
        actor_id, mentor_id, person_id = self.ids
        actor, mentor = db.session.get(User, actor_id), db.session.get(Mentor, mentor_id)
        person = db.session.get(Person, person_id)
        mentor.person  # noqa: B018 (loaded before the race: the race is about the insert)
        return actor, mentor, person

    def run(self, actor, mentor, person):
        services.assign(actor=actor, now=NOW, mentor=mentor, person=person)


class Reassign:
    def __init__(self, actor_id: int, mentorship_id: int, mentor_id: int):
        self.ids = actor_id, mentorship_id, mentor_id

    def prepare(self):
        actor_id, mentorship_id, mentor_id = self.ids
        mentorship = db.session.get(Mentorship, mentorship_id)
        mentorship.person  # noqa: B018
        return db.session.get(User, actor_id), mentorship, db.session.get(Mentor, mentor_id)

    def run(self, actor, mentorship, mentor):
        services.reassign(
            actor=actor, now=NOW + timedelta(days=1), mentorship=mentorship, new_mentor=mentor
        )


def _active_rows(app, person_id: int) -> int:
    with app.app_context():
        stmt = select(func.count()).where(Mentorship.person_id == person_id, Mentorship.active)
        return db.session.scalar(stmt)


def test_two_mentors_taking_one_mentee_at_once_make_one_mentorship(app, mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    ids = (mw.users["organiser"].id, person.id)
    mentors = [mw.mentors["an"].id, mw.mentors["binh"].id]
    db.session.commit()
    results = _race(app, [Assign(ids[0], m, ids[1]) for m in mentors])
    assert sorted(map(str, results)) == ["already_mentored", "ok"]
    assert _active_rows(app, ids[1]) == 1


def test_many_assignments_of_one_mentee_at_once_make_one_mentorship(app, mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    mentors = [mw.mentors["an"], mw.mentors["binh"]]
    mentors += [mw.mentor(f"Đại Sứ Số {i}") for i in range(2)]
    actor_id, person_id, mentor_ids = mw.users["organiser"].id, person.id, [m.id for m in mentors]
    db.session.commit()
    results = _race(app, [Assign(actor_id, m, person_id) for m in mentor_ids])
    assert sorted(map(str, results)) == ["already_mentored"] * 3 + ["ok"]
    assert _active_rows(app, person_id) == 1


def test_two_reassignments_at_once_move_the_mentee_once(app, mw):
    person = mw.villager("Đinh Thị Hoa", 1948)
    organiser = mw.users["organiser"]
    old = services.assign(actor=organiser, now=NOW, mentor=mw.mentors["an"], person=person)
    extra = mw.mentor("Đại Sứ Số Tư", organisation=Organisation.SCHOOL)
    actor_id, old_id, person_id = mw.users["organiser"].id, old.id, person.id
    targets = [mw.mentors["binh"].id, extra.id]
    db.session.commit()
    results = _race(app, [Reassign(actor_id, old_id, m) for m in targets])
    assert sorted(map(str, results)) == ["mentorship_ended", "ok"]
    assert _active_rows(app, person_id) == 1
    with app.app_context():
        rows = db.session.scalars(select(Mentorship).where(Mentorship.person_id == person_id))
        assert sorted(str(m.end_reason) for m in rows) == ["None", "reassigned"]
