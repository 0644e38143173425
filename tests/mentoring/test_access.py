"""Who may do what, and the scoped loaders: managers in their commune, a village lead in their
village, a mentor their own mentees only; outside the scope a record is not found (404)."""

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from tests.factories import NOW, make_household, make_person, make_user
from tests.sql import statements
from webapp.extensions import db
from webapp.mentoring import queries, services
from webapp.mentoring.models import Mentor, MentoringError, Mentorship, Organisation
from webapp.people.models import Commune


def _assign(mw, mentor, person, actor="organiser"):
    return services.assign(actor=mw.users[actor], now=NOW, mentor=mentor, person=person)


def _visible_mentors(user) -> set[str]:
    stmt = queries.scope_mentors(select(Mentor), user)
    return {m.person.full_name for m in db.session.scalars(stmt)}


def _visible_mentees(user) -> set[str]:
    stmt = queries.scope_mentorships(select(Mentorship), user)
    return {m.person.full_name for m in db.session.scalars(stmt)}


@pytest.fixture
def far(mw):
    """A mentor of the other commune, with a mentee there; mentees of Thôn 1 and Thôn 2."""
    other = db.session.get(Commune, mw.other_village.commune_id)
    mw.users["far_admin"] = make_user("far.admin", "organiser", other)
    far_mentor = services.make_mentor(
        actor=mw.users["other_organiser"],
        now=NOW,
        person=make_person(mw.other_village, "Y Xa Lạ", 1999),
        organisation=Organisation.SCHOOL,
    )
    far_ship = _assign(mw, far_mentor, make_person(mw.other_village, "Y Học Xa", 1950), "admin")
    own = _assign(mw, mw.mentors["an"], mw.villager("Đinh Thị Một", 1950))
    near = _assign(mw, mw.mentors["binh"], mw.villager("Đinh Văn Hai", 1951))
    thon2 = _assign(mw, mw.mentors["cuong"], mw.villager("Phan Thị Ba", 1952, village=mw.v2))
    db.session.commit()
    return {"mentor": far_mentor, "ship": far_ship, "own": own, "near": near, "thon2": thon2}


def test_another_communes_mentor_and_mentorship_are_not_found(mw, far):
    organiser = mw.users["organiser"]
    with pytest.raises(NotFound):
        queries.get_mentor(organiser, far["mentor"].id)
    with pytest.raises(NotFound):
        queries.get_mentorship(organiser, far["ship"].id)
    assert queries.get_mentor(organiser, mw.mentors["cuong"].id) == mw.mentors["cuong"]
    # Province-wide admins see every commune.
    assert queries.get_mentor(mw.users["admin"], far["mentor"].id) == far["mentor"]
    assert "Y Xa Lạ" not in _visible_mentors(organiser)
    assert _visible_mentees(organiser) == {"Đinh Thị Một", "Đinh Văn Hai", "Phan Thị Ba"}


def test_a_village_lead_sees_only_their_villages_mentors_and_mentees(mw, far):
    lead = mw.users["lead"]  # Thôn 1
    assert _visible_mentors(lead) == {"Nguyễn Văn An", "Trần Thị Bình"}
    assert _visible_mentees(lead) == {"Đinh Thị Một", "Đinh Văn Hai"}
    with pytest.raises(NotFound):
        queries.get_mentor(lead, mw.mentors["cuong"].id)
    with pytest.raises(NotFound):
        queries.get_mentorship(lead, far["thon2"].id)
    assert queries.get_mentorship(lead, far["near"].id, for_managing=True) == far["near"]
    assert _visible_mentors(mw.users["lead2"]) == {"Lê Văn Cường"}
    assert _visible_mentees(mw.users["lead2"]) == {"Phan Thị Ba"}


def test_a_mentor_working_in_a_village_belongs_to_it_wherever_they_live(mw):
    # Bình lives in Thôn 1; working in Thôn 2 she is Thôn 2's lead's.
    services.update_mentor(
        actor=mw.users["organiser"],
        now=NOW,
        mentor=mw.mentors["binh"],
        organisation=Organisation.COMMUNITY_DIGITAL_TEAM,
        village_id=mw.v2.id,
        counter_helper=False,
    )
    assert "Trần Thị Bình" in _visible_mentors(mw.users["lead2"])
    assert "Trần Thị Bình" not in _visible_mentors(mw.users["lead"])


def test_a_village_lead_manages_only_their_village(mw, far):
    lead = mw.users["lead"]
    # Their village's mentor and villager: allowed.
    _assign(mw, mw.mentors["binh"], mw.villager("Đinh Văn Bốn", 1953), "lead")
    # Thôn 2's mentor, or a Thôn 2 villager: refused (403).
    for mentor, person in (
        (mw.mentors["cuong"], mw.villager("Đinh Văn Năm", 1954)),
        (mw.mentors["an"], mw.villager("Phan Văn Sáu", 1955, village=mw.v2)),
    ):
        with pytest.raises(MentoringError) as caught:
            _assign(mw, mentor, person, "lead")
        assert (caught.value.code, caught.value.status) == ("not_allowed", 403)
    with pytest.raises(MentoringError) as caught:
        services.end_mentor(actor=lead, now=NOW, mentor=mw.mentors["cuong"])
    assert caught.value.code == "not_allowed"
    with pytest.raises(MentoringError) as caught:
        services.make_mentor(
            actor=lead,
            now=NOW,
            person=mw.villager("Phan Văn Bảy", 2000, village=mw.v2),
            organisation=Organisation.YOUTH_UNION,
        )
    assert caught.value.code == "not_allowed"
    made = services.make_mentor(
        actor=lead, now=NOW, person=mw.villager("Đinh Thị Tám", 2001), organisation="school"
    )
    assert made.home_village_id == mw.v1.id


def test_a_mentor_reads_only_their_own_mentees_and_changes_nothing(mw, far):
    mentor_user = mw.users["mentor"]  # linked to An
    assert _visible_mentors(mentor_user) == {"Nguyễn Văn An"}
    assert _visible_mentees(mentor_user) == {"Đinh Thị Một"}
    assert queries.get_mentorship(mentor_user, far["own"].id) == far["own"]
    for other in (far["near"], far["thon2"], far["ship"]):
        with pytest.raises(NotFound):
            queries.get_mentorship(mentor_user, other.id)
    with pytest.raises(NotFound):
        queries.get_mentor(mentor_user, mw.mentors["binh"].id)
    with pytest.raises(MentoringError) as caught:
        queries.get_mentorship(mentor_user, far["own"].id, for_managing=True)
    assert (caught.value.code, caught.value.status) == ("not_allowed", 403)
    with pytest.raises(MentoringError):
        _assign(mw, mw.mentors["an"], mw.villager("Đinh Văn Chín", 1950), "mentor")
    # A mentor log-in not linked to a mentor sees nobody; trainers have no part in it.
    for nobody in (mw.users["mentor2"], mw.users["trainer"]):
        assert _visible_mentors(nobody) == set() and _visible_mentees(nobody) == set()
        assert queries.my_mentees(nobody) == []


def _read_my_mentees(app, user) -> tuple[list[str], int]:
    """The names on a mentor's list, with each one's household and village read, and the
    number of SQL statements it took."""
    db.session.commit()
    db.session.expire_all()
    with statements(app) as seen:
        mentees = queries.my_mentees(user)
        rows = [
            (m.person.household and m.person.household.code, m.person.village.name) for m in mentees
        ]
        assert all(village for _code, village in rows)
    return [m.person.full_name for m in mentees], len(seen)


def test_my_mentees_groups_households_and_takes_a_fixed_number_of_statements(app, mw):
    an, mentor_user = mw.mentors["an"], mw.users["mentor"]
    home = make_household(mw.v1, "T1-005")
    _assign(mw, an, mw.villager("Vũ Thị Yến", 1950, household=home))
    _assign(mw, an, mw.villager("Âu Văn Lẻ", 1949))
    _assign(mw, an, mw.villager("Vũ Văn Anh", 1948, household=home))
    names, few = _read_my_mentees(app, mentor_user)
    # The household together (in name order), then the mentee without one.
    assert names == ["Vũ Văn Anh", "Vũ Thị Yến", "Âu Văn Lẻ"]
    for i in range(6):  # each in a household of their own, some in Thôn 2
        village = (mw.v1, mw.v2)[i % 2]
        home = make_household(village, f"T-10{i}")
        _assign(mw, an, mw.villager(f"Học Viên Số {i}", 1950 + i, household=home, village=village))
    names, many = _read_my_mentees(app, mentor_user)
    assert len(names) == 9 and many == few
    # An ended mentorship leaves the list.
    ended = queries.my_mentees(mentor_user)[0]
    services.end_mentorship(
        actor=mw.users["organiser"], now=NOW, mentorship=ended, reason="finished"
    )
    assert len(queries.my_mentees(mentor_user)) == 8


def test_mentors_of_a_village(mw):
    assert [m.person.full_name for m in queries.mentors_of_village(mw.v1)] == [
        "Nguyễn Văn An",
        "Trần Thị Bình",
    ]
    assert queries.mentor_of(mw.users["mentor"]) == mw.mentors["an"]
    assert queries.mentor_of(mw.users["mentor2"]) is None
