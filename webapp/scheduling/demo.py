"""Demo schedule for Ngọk Bay: venues, courses, classes with sessions around today, learners.

Built through the same services the pages use, so the demo obeys every rule (no clashes,
capacity, waiting list). Called by ``flask seed-demo`` after the people are in.
"""

from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import Commune, Person, Segment, TargetGroup
from webapp.scheduling import enrolment, services
from webapp.scheduling.models import (
    Accessibility,
    Accommodation,
    ClassStatus,
    CourseClass,
    Equipment,
)
from webapp.scheduling.series import PlannedSession, SeriesRule, expand, local_to_utc
from webapp.timeutil import to_local

A = Accessibility
E = Equipment

VENUES = [
    # (name, village index or None, address, capacity, accessibility, equipment)
    (
        "Nhà văn hóa thôn Ngọc Bay",
        6,
        "Thôn Ngọc Bay, xã Ngọk Bay",
        40,
        [A.STEP_FREE, A.GOOD_LIGHTING],
        [E.PROJECTOR, E.WIFI, E.LOAN_PHONES],
    ),
    (
        "Hội trường UBND xã Ngọk Bay",
        None,
        "Trung tâm xã Ngọk Bay",
        80,
        [A.STEP_FREE, A.ACCESSIBLE_TOILET, A.HEARING_LOOP, A.GOOD_LIGHTING],
        [E.PROJECTOR, E.WIFI],
    ),
    (
        "Nhà rông thôn Kon Rờ Bàng 1",
        0,
        "Thôn Kon Rờ Bàng 1, xã Ngọk Bay",
        30,
        [A.STEP_FREE],
        [E.WIFI, E.LOAN_PHONES],
    ),
]

COURSES = [
    {
        "title": "Kỹ năng số cho người cao tuổi",
        "summary": "Dùng điện thoại thông minh, Zalo, VNeID, dịch vụ công trực tuyến, thanh toán "
        "không dùng tiền mặt và giữ an toàn trên mạng — chậm rãi, thực hành trên máy của mình.",
        "target_groups": [TargetGroup.CITIZEN],
        "segments": [Segment.OLDER],
        "competency_codes": ["1.1", "2.1", "4.1"],
        "planned_hours": 16,
        "planned_sessions": 8,
    },
    {
        "title": "Thương mại điện tử cho tiểu thương – 4T",
        "summary": "Tiểu thương – Thương mại điện tử – Thanh toán không dùng tiền mặt – Tiết "
        "kiệm số: bán hàng trên mạng, mã QR thanh toán, ghi sổ trên điện thoại.",
        "target_groups": [TargetGroup.CITIZEN, TargetGroup.ENTERPRISE_WORKER],
        "segments": [Segment.TRADER_FARMER],
        "competency_codes": ["2.2", "3.1"],
        "planned_hours": 12,
        "planned_sessions": 6,
    },
    {
        "title": "Điện thoại thông minh cho người khiếm thị",
        "summary": "Trình đọc màn hình TalkBack, gọi điện và nhắn tin bằng giọng nói, nhận biết "
        "tin nhắn lừa đảo.",
        "target_groups": [TargetGroup.CITIZEN],
        "segments": [Segment.DISABILITY],
        "disability_types": ["vision"],
        "competency_codes": ["1.1", "4.1"],
        "planned_hours": 10,
        "planned_sessions": 5,
    },
]


def _monday(now: datetime):
    today = to_local(now).date()
    return today - timedelta(days=today.weekday())


def seed_schedule(commune: Commune, *, now: datetime) -> dict[str, int]:
    """Create the demo venues, courses, classes, sessions and enrolments."""
    users = {
        u.username: u for u in db.session.scalars(select(User).where(User.commune_id == commune.id))
    }
    organiser = users["canbo.vhxh"]
    villages = list(commune.villages)
    venues = [
        services.create_venue(
            actor=organiser,
            now=now,
            commune_id=commune.id,
            name=name,
            village_id=villages[v].id if v is not None else None,
            address=address,
            capacity=capacity,
            accessibility=[str(x) for x in access],
            equipment=[str(x) for x in equipment],
        )
        for name, v, address, capacity, access, equipment in VENUES
    ]
    courses = [
        services.create_course(actor=organiser, now=now, commune_id=commune.id, **fields)
        for fields in COURSES
    ]
    monday = _monday(now)
    plans = [
        # (course, trainer, venue, village, weekdays, start, end, weeks, capacity, extra)
        (
            0,
            "gv.hoa",
            0,
            6,
            [1, 3],
            time(8),
            time(10),
            4,
            20,
            {
                "accommodations": [Accommodation.LARGE_PRINT, Accommodation.SLOWER_PACE],
                "assistants": "Đoàn viên Nguyễn Văn Khoa, Lê Thị Ngọc",
            },
        ),
        (
            1,
            "gv.nam",
            1,
            None,
            [0, 2],
            time(19),
            time(21),
            3,
            25,
            {"assistants": "Đoàn viên Phạm Minh Tú"},
        ),
        (
            2,
            "gv.lan",
            2,
            0,
            [5],
            time(8),
            time(10, 30),
            5,
            8,
            {"accommodations": [Accommodation.ONE_TO_ONE, Accommodation.SLOWER_PACE]},
        ),
    ]
    counts = {
        "venues": len(venues),
        "courses": len(courses),
        "classes": 0,
        "sessions": 0,
        "enrolments": 0,
    }
    for (
        course_i,
        trainer,
        venue_i,
        village_i,
        weekdays,
        start,
        end,
        weeks,
        capacity,
        extra,
    ) in plans:
        course = courses[course_i]
        course_class = services.create_class(
            actor=organiser,
            now=now,
            course=course,
            trainer_ids=[users[trainer].id],
            name=f"{course.title} – {villages[village_i].name if village_i is not None else 'xã'}",
            village_id=villages[village_i].id if village_i is not None else None,
            capacity=capacity,
            target_groups=list(course.target_groups),
            segments=list(course.segments),
            status=ClassStatus.OPEN,
            public_signup=True,
            **{k: [str(x) for x in v] if isinstance(v, list) else v for k, v in extra.items()},
        )
        planned = expand(
            SeriesRule(first_day=monday, weekdays=weekdays, start=start, end=end, weeks=weeks)
        )
        sessions = services.add_sessions(
            actor=users[trainer],
            now=now,
            course_class=course_class,
            planned=planned,
            venue_id=venues[venue_i].id,
            topic=course.title,
        )
        counts["classes"] += 1
        counts["sessions"] += len(sessions)
        counts["enrolments"] += _enrol_demo_learners(course_class, course_i, organiser, now)
    sessions, learners = _finished_class(courses[0], users, venues[1], villages[1], monday, now)
    counts["classes"] += 1
    counts["sessions"] += sessions
    counts["enrolments"] += learners
    return counts


def _finished_class(course, users, venue, village, monday, now: datetime) -> tuple[int, int]:
    """A class of older people that ran for four weeks last month: ready for certificates."""
    organiser, trainer = users["canbo.vhxh"], users["gv.hoa"]
    course_class = services.create_class(
        actor=organiser,
        now=now,
        course=course,
        trainer_ids=[trainer.id],
        name=f"{course.title} – {village.name} (khóa trước)",
        village_id=village.id,
        capacity=12,
        target_groups=list(course.target_groups),
        segments=list(course.segments),
        status=ClassStatus.OPEN,
        accommodations=[str(Accommodation.LARGE_PRINT)],
    )
    rule = SeriesRule(
        first_day=monday - timedelta(weeks=6), weekdays=[2], start=time(14), end=time(16), weeks=4
    )
    planned = expand(rule)
    sessions = services.add_sessions(
        actor=trainer,
        now=now,
        course_class=course_class,
        planned=planned,
        venue_id=venue.id,
        topic=course.title,
    )
    learners = _enrol_demo_learners(course_class, 0, organiser, now)
    course_class.status = ClassStatus.FINISHED
    return len(sessions), learners


def _enrol_demo_learners(course_class, course_i: int, actor: User, now: datetime) -> int:
    stmt = select(Person).where(Person.commune_id == course_class.commune_id)
    if course_class.village_id is not None:
        stmt = stmt.where(Person.village_id == course_class.village_id)
    year = to_local(now).year
    if course_i == 0:
        stmt = stmt.where(Person.birth_year <= year - 60)
    elif course_i == 1:
        stmt = stmt.where(Person.trader_farmer.is_(True))
    else:
        stmt = stmt.where(Person.disability.is_not(None))
    people = list(db.session.scalars(stmt.order_by(Person.id).limit(course_class.capacity + 2)))
    for person in people:
        enrolment.enrol(actor=actor, now=now, course_class=course_class, person=person)
    return len(people)


#: The demo's trainers: each gets a session open for check-in on the day the demo is started.
DEMO_TRAINERS = ("gv.hoa", "gv.nam", "gv.lan")
TRY_TOPIC = "Buổi thử điểm danh"


def open_today(commune: Commune, *, now: datetime) -> int:
    """Give each demo trainer's open class a session whose check-in is open at ``now`` (from a
    few minutes on, two hours or until 23:55), unless one of its sessions is open already or the
    new one would clash: whoever starts the demo can try check-in at once. Returns how many
    sessions it added (none in the last half hour of the day)."""
    local = to_local(now).replace(second=0, microsecond=0, tzinfo=None)
    start = local + timedelta(minutes=5 - local.minute % 5)
    last = datetime.combine(local.date(), time(23, 55))
    if start + timedelta(minutes=30) > last:
        return 0
    planned = [
        PlannedSession(
            local_to_utc(start.date(), start.time()),
            local_to_utc(start.date(), min(start + timedelta(hours=2), last).time()),
        )
    ]
    opens = timedelta(minutes=current_app.config["CHECKIN_OPENS_BEFORE_MINUTES"])
    closes = timedelta(minutes=current_app.config["CHECKIN_CLOSES_AFTER_MINUTES"])
    added = 0
    for course_class in _demo_classes(commune):
        trainer = course_class.trainers[0]
        sessions = [s for s in course_class.sessions if not s.is_cancelled]
        if any(s.starts_at - opens <= now <= s.ends_at + closes for s in sessions):
            continue
        venue_id = sessions[-1].venue_id if sessions else None
        if services.find_clashes(course_class, venue_id, planned):
            continue
        services.add_sessions(
            actor=trainer,
            now=now,
            course_class=course_class,
            planned=planned,
            venue_id=venue_id,
            topic=TRY_TOPIC,
        )
        added += 1
    return added


def _demo_classes(commune: Commune) -> list[CourseClass]:
    """The open classes of the demo trainers, one per trainer (their first)."""
    classes = db.session.scalars(
        select(CourseClass)
        .where(CourseClass.commune_id == commune.id, CourseClass.status == ClassStatus.OPEN)
        .order_by(CourseClass.id)
    )
    first: dict[str, CourseClass] = {}
    for course_class in classes:
        for trainer in course_class.trainers:
            if trainer.username in DEMO_TRAINERS:
                first.setdefault(trainer.username, course_class)
    return list(first.values())
