"""People rules and scoped queries."""

import unicodedata
from datetime import date

import pytest

from tests.factories import NOW, make_household, make_person
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people import queries, services
from webapp.people.models import Person, Village


@pytest.fixture
def ctx(app, world):
    with app.app_context():
        yield world


def actor(world, key):
    return db.session.get(User, world.users[key])


def data(world, **changes):
    values = {
        "full_name": "Nguyễn Thị Hồng Nhung",
        "birth_year": 1958,
        "village_id": world.village_ids[0],
        "target_group": "citizen",
    }
    return services.PersonInput(**(values | changes))


def test_create_person_stores_nfc_name_and_derived_keys(ctx):
    raw = unicodedata.normalize("NFD", "Nguyễn  Thị Hồng Nhung")
    person = services.create_person(
        actor=actor(ctx, "organiser"), now=NOW, data=data(ctx, full_name=raw, phone="0905 123 456")
    )
    assert person.full_name == "Nguyễn Thị Hồng Nhung"
    assert person.phone == "0905123456"
    assert person.search_text == "nguyen thi hong nhung 0905123456"
    assert person.created_at == NOW


def test_create_person_creates_household_by_code(ctx):
    person = services.create_person(
        actor=actor(ctx, "organiser"), now=NOW, data=data(ctx, household_code="T1-001")
    )
    assert person.household.code == "T1-001"
    assert person.household.village_id == ctx.village_ids[0]


def test_household_code_of_other_village_is_refused(ctx):
    make_household(db.session.get(Village, ctx.village_ids[1]), "T2-001")
    with pytest.raises(DomainError) as error:
        services.create_person(
            actor=actor(ctx, "organiser"), now=NOW, data=data(ctx, household_code="T2-001")
        )
    assert error.value.code == "household_other_village"


def test_consent_records_who_recorded_it(ctx):
    organiser = actor(ctx, "organiser")
    person = services.create_person(
        actor=organiser, now=NOW, data=data(ctx, consent_on=date(2025, 8, 5))
    )
    assert person.consent_recorded_by_id == organiser.id


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"full_name": "  "}, "name_missing"),
        ({"birth_year": 1850}, "birth_year_invalid"),
        ({"birth_year": 2999}, "birth_year_invalid"),
        ({"phone": "12"}, "phone_invalid"),
        ({"target_group": "aliens"}, "group_invalid"),
        ({"disability": "flying"}, "disability_invalid"),
        ({"consent_on": date(2030, 1, 1)}, "date_in_future"),
    ],
)
def test_bad_input_is_refused_with_a_code(ctx, changes, code):
    with pytest.raises(DomainError) as error:
        services.create_person(actor=actor(ctx, "organiser"), now=NOW, data=data(ctx, **changes))
    assert error.value.code == code
    assert db.session.query(Person).count() == 0


def test_duplicate_by_name_birth_year_and_village(ctx):
    organiser = actor(ctx, "organiser")
    services.create_person(actor=organiser, now=NOW, data=data(ctx))
    with pytest.raises(DomainError) as error:
        services.create_person(
            actor=organiser, now=NOW, data=data(ctx, full_name="nguyễn thị hồng  nhung")
        )
    assert error.value.code == "duplicate_person"
    # Same name in another village, or confirmed as another person: allowed.
    services.create_person(actor=organiser, now=NOW, data=data(ctx, village_id=ctx.village_ids[1]))
    services.create_person(actor=organiser, now=NOW, data=data(ctx), allow_duplicate=True)
    assert db.session.query(Person).count() == 3


def test_village_lead_edits_only_their_village(ctx):
    lead = actor(ctx, "lead")
    services.create_person(actor=lead, now=NOW, data=data(ctx))
    with pytest.raises(DomainError) as error:
        services.create_person(actor=lead, now=NOW, data=data(ctx, village_id=ctx.village_ids[1]))
    assert error.value.code == "village_not_allowed"
    assert error.value.status == 403


@pytest.mark.parametrize("who", ["trainer", "mentor", "other_organiser"])
def test_others_may_not_create_in_this_commune(ctx, who):
    with pytest.raises(DomainError) as error:
        services.create_person(actor=actor(ctx, who), now=NOW, data=data(ctx))
    assert error.value.code == "village_not_allowed"


def test_update_person(ctx):
    organiser = actor(ctx, "organiser")
    person = services.create_person(actor=organiser, now=NOW, data=data(ctx))
    services.update_person(
        actor=organiser,
        now=NOW,
        person=person,
        data=data(
            ctx,
            full_name="Nguyễn Thị Hồng Nhung",
            birth_year=1959,
            vneid_level2=True,
            vneid_level2_on=date(2025, 3, 1),
        ),
    )
    assert person.birth_year == 1959
    assert person.vneid_level2_on == date(2025, 3, 1)


def test_search_without_accents_scoped_and_in_vietnamese_order(ctx):
    v1, v2 = (db.session.get(Village, i) for i in ctx.village_ids)
    for name in ("Trần Văn Ướt", "Nguyễn Văn An", "Nguyễn Thị Đào", "Lê Dung"):
        make_person(v1, name)
    make_person(v2, "Nguyễn Văn Bảy")
    db.session.commit()

    def names(who, **kwargs):
        stmt = queries.search_people(actor(ctx, who), now=NOW, **kwargs)
        return [p.full_name for p in db.session.scalars(stmt)]

    assert names("organiser", text="nguyen") == [
        "Nguyễn Văn An",
        "Nguyễn Văn Bảy",
        "Nguyễn Thị Đào",
    ]
    assert names("organiser", text="NGUYỄN văn") == ["Nguyễn Văn An", "Nguyễn Văn Bảy"]
    assert names("lead", text="nguyen") == ["Nguyễn Văn An", "Nguyễn Thị Đào"]
    assert names("other_organiser", text="nguyen") == []
    # d < đ: Dung before Đào.
    assert names("admin") == [
        "Nguyễn Văn An",
        "Nguyễn Văn Bảy",
        "Lê Dung",
        "Nguyễn Thị Đào",
        "Trần Văn Ướt",
    ]


def test_segment_filters(ctx):
    v1 = db.session.get(Village, ctx.village_ids[0])
    poor = make_household(v1, "P-1", is_poor=True)
    make_person(v1, "Già Một", 1950)
    make_person(v1, "Trẻ Hai", 1990, disability="vision")
    make_person(v1, "Nghèo Ba", 1990, household=poor, trader_farmer=True)
    make_person(v1, "Dân Tộc Bốn", 2000, ethnic_minority=True)
    db.session.commit()
    organiser = actor(ctx, "organiser")

    def names(segment):
        stmt = queries.search_people(organiser, now=NOW, segment=segment)
        return {p.full_name for p in db.session.scalars(stmt)}

    assert names("older") == {"Già Một"}
    assert names("disability") == {"Trẻ Hai"}
    assert names("poor_household") == {"Nghèo Ba"}
    assert names("trader_farmer") == {"Nghèo Ba"}
    assert names("ethnic_minority") == {"Dân Tộc Bốn"}


def test_person_segments_derive_older_from_birth_year(ctx):
    v1 = db.session.get(Village, ctx.village_ids[0])
    person = make_person(v1, "Cụ Năm", 1965)
    assert "older" not in person.segments(2024)
    assert "older" in person.segments(2025)
