"""Courses, materials, venues and classes through HTTP, as each kind of user sees them."""

import io

import pytest

from tests.factories import NOW, make_class, make_course, make_person, make_session, make_user
from webapp.accounts.models import User
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people.models import Commune, Village
from webapp.permissions import Role
from webapp.scheduling import enrolment as rules
from webapp.scheduling import services
from webapp.scheduling.models import Course, CourseClass, CourseMaterial, Enrolment, Venue

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def plan(app, world):
    """A course, a venue, and a class of ``trainer`` (with one session); a second trainer."""
    with app.app_context():
        commune = db.session.get(Commune, world.commune_id)
        trainer = db.session.get(User, world.users["trainer"])
        other_trainer = make_user("gv.nam", Role.TRAINER, commune)
        course = make_course(world.commune_id, trainer.id, title="Dùng điện thoại thông minh")
        venue = make_venue_in(world)
        course_class = make_class(
            course, [trainer], name="Lớp sáng Thôn 1", capacity=2, village_id=world.village_ids[0]
        )
        session = make_session(course_class, NOW, venue=venue, topic="Zalo")
        other_course = make_course(
            world.other_commune_id, world.users["other_organiser"], title="Khóa của xã khác"
        )
        db.session.commit()
        return {
            "course": course.id,
            "venue": venue.id,
            "class": course_class.id,
            "session": session.id,
            "other_trainer": other_trainer.id,
            "other_course": other_course.id,
        }


def make_venue_in(world):
    venue = Venue(
        commune_id=world.commune_id,
        village_id=world.village_ids[0],
        name="Nhà văn hóa Thôn 1",
        address="Đường chính",
        capacity=40,
        accessibility=["step_free"],
        equipment=["wifi"],
    )
    db.session.add(venue)
    db.session.flush()
    return venue


@pytest.fixture
def english(client):
    """Messages as written in the code (the Vietnamese catalogue is the lead's)."""
    client.set_cookie("lang", "en")


def logout(actions):
    """Sign out with a token from a page every staff member may open (a trainer's start
    page is a redirect)."""
    actions.post("/auth/logout", token_from="/people")


# --- courses ------------------------------------------------------------------------------------


def test_course_list_is_read_only_for_mentors_and_village_leads(actions, plan):
    for user in ("mentor", "lead"):
        actions.login(user)
        html = actions.client.get("/courses").get_data(as_text=True)
        assert "Dùng điện thoại thông minh" in html and "Khóa của xã khác" not in html
        assert "/courses/new" not in html
        detail = actions.client.get(f"/courses/{plan['course']}").get_data(as_text=True)
        assert f"/courses/{plan['course']}/edit" not in detail
        assert "/materials" not in detail
        assert actions.client.get("/courses/new").status_code == 403
        response = actions.post(f"/courses/{plan['course']}/materials", token_from="/people")
        assert response.status_code == 403
        logout(actions)


def test_create_course_with_groups_segments_and_codes(actions, plan, app):
    actions.login("trainer")
    response = actions.post(
        "/courses/new",
        {
            "title": "  Dịch vụ công   trực tuyến ",
            "summary": "Nộp hồ sơ trên Cổng dịch vụ công",
            "target_groups": ["citizen", "enterprise_worker"],
            "segments": ["older", "disability"],
            "competency_codes": "1.1, 2.3; 4.2",
            "planned_hours": "7,5",
            "planned_sessions": "5",
        },
        token_from="/courses/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        course = db.session.scalar(db.select(Course).where(Course.title.like("Dịch vụ%")))
        assert course.title == "Dịch vụ công trực tuyến"
        assert course.target_groups == ["citizen", "enterprise_worker"]
        assert course.segments == ["older", "disability"]
        assert course.competency_codes == ["1.1", "2.3", "4.2"]
        assert course.planned_hours == 7.5 and course.planned_sessions == 5
        course_id = course.id
    assert response.headers["Location"].endswith(f"/courses/{course_id}")
    detail = actions.client.get(f"/courses/{course_id}").get_data(as_text=True)
    for text in ("Dịch vụ công trực tuyến", "1.1", "2.3", "4.2", "7,5"):  # Vietnamese comma
        assert text in detail


def test_course_form_mistakes_are_listed_and_nothing_is_written(actions, plan, app, english):
    actions.login("organiser")
    response = actions.post(
        "/courses/new",
        {
            "title": "",
            "competency_codes": "1.1, abc",
            "planned_hours": "nhiều",
            "planned_sessions": "-1",
            "segments": ["not-a-segment"],
        },
        token_from="/courses/new",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    for anchor in (
        "#title",
        "#competency_codes",
        "#planned_hours",
        "#planned_sessions",
        "#segments",
    ):
        assert f'href="{anchor}"' in html
    assert "“abc” is not a competency code" in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Course)) == 2


def test_edit_course_prefills_and_saves(actions, plan, app):
    actions.login("organiser")
    page = actions.client.get(f"/courses/{plan['course']}/edit").get_data(as_text=True)
    assert 'value="Dùng điện thoại thông minh"' in page and 'value="0.1, 2.3"' in page
    assert '<input checked id="segments-0" name="segments" type="checkbox" value="older">' in page
    response = actions.post(
        f"/courses/{plan['course']}/edit",
        {
            "title": "Điện thoại thông minh cơ bản",
            "target_groups": ["citizen"],
            "competency_codes": "0.1",
            "planned_hours": "8",
            "planned_sessions": "4",
        },
        token_from=f"/courses/{plan['course']}/edit",
    )
    assert response.status_code == 302
    with app.app_context():
        course = db.session.get(Course, plan["course"])
        assert course.title == "Điện thoại thông minh cơ bản"
        assert course.segments == [] and course.competency_codes == ["0.1"]


def test_another_communes_course_is_not_found(actions, plan):
    actions.login("organiser")
    assert actions.client.get(f"/courses/{plan['other_course']}").status_code == 404
    assert actions.client.get(f"/courses/{plan['other_course']}/edit").status_code == 404


# --- materials ----------------------------------------------------------------------------------


def upload(actions, course_id, content, filename, **fields):
    return actions.post(
        f"/courses/{course_id}/materials",
        {"file": (io.BytesIO(content), filename), **fields},
        token_from=f"/courses/{course_id}",
        content_type="multipart/form-data",
    )


def test_pdf_is_stored_in_the_database_and_downloaded(actions, plan, app):
    actions.login("trainer")
    response = upload(actions, plan["course"], PDF, "Bài 1 — Zalo.pdf", title="Bài 1")
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        material = db.session.scalar(db.select(CourseMaterial))
        assert material.data == PDF and material.size == len(PDF)
        assert material.content_type == "application/pdf"
        assert material.filename == "Bài 1 — Zalo.pdf"
        material_id = material.id
    logout(actions)
    actions.login("mentor")  # readers may download
    detail = actions.client.get(f"/courses/{plan['course']}").get_data(as_text=True)
    assert f"/materials/{material_id}" in detail and "Bài 1" in detail
    download = actions.client.get(f"/materials/{material_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_file_type_is_told_by_its_bytes_not_its_name(actions, plan, app, english):
    actions.login("trainer")
    response = upload(actions, plan["course"], b"MZ\x90\x00 not a pdf", "virus.pdf")
    assert response.status_code == 400
    assert "Upload a PDF, JPEG or PNG file." in response.get_data(as_text=True)
    assert upload(actions, plan["course"], PNG, "anh.jpg").status_code == 302
    with app.app_context():
        material = db.session.scalar(db.select(CourseMaterial))
        assert material.content_type == "image/png"
        assert db.session.scalar(db.select(db.func.count()).select_from(CourseMaterial)) == 1


def test_file_size_is_limited_by_the_setting(actions, plan, app, english, monkeypatch):
    monkeypatch.setitem(app.config, "MATERIAL_MAX_BYTES", 1024)
    actions.login("trainer")
    response = upload(actions, plan["course"], PDF + b"x" * 2000, "to.pdf")
    assert response.status_code == 400
    assert "larger than" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CourseMaterial)) == 0


def test_link_material_and_unsafe_links(actions, plan, app, english):
    actions.login("organiser")
    path = f"/courses/{plan['course']}/materials"
    bad = actions.post(
        path, {"title": "x", "url": "javascript:alert(1)"}, token_from=f"/courses/{plan['course']}"
    )
    assert bad.status_code == 400 and "https://" in bad.get_data(as_text=True)
    nothing = actions.post(path, {"title": "x"}, token_from=f"/courses/{plan['course']}")
    assert nothing.status_code == 400 and "Give a link or choose a file." in nothing.get_data(
        as_text=True
    )
    good = actions.post(
        path,
        {"title": "Video hướng dẫn", "url": "https://example.org/zalo"},
        token_from=f"/courses/{plan['course']}",
    )
    assert good.status_code == 302
    with app.app_context():
        material = db.session.scalar(db.select(CourseMaterial))
        assert material.url == "https://example.org/zalo" and material.data is None
    download = actions.client.get(f"/materials/{material.id}")
    assert download.status_code == 302 and download.headers["Location"] == material.url


def test_materials_of_another_commune_are_not_found(actions, plan, app):
    with app.app_context():
        material = services.add_material(
            actor=db.session.get(User, plan["other_trainer"]),
            now=NOW,
            course=db.session.get(Course, plan["course"]),
            title="x",
            url="https://example.org",
        )
        db.session.commit()
        material_id = material.id
    actions.login("other_organiser")
    assert actions.client.get(f"/materials/{material_id}").status_code == 404


def test_sniffing_and_file_names():
    assert services.sniff_material(PDF) == ("application/pdf", ".pdf")
    assert services.sniff_material(b"\xff\xd8\xff\xe0....JFIF") == ("image/jpeg", ".jpg")
    assert services.sniff_material(b"GIF89a") is None
    assert services._material_filename("C:\\Users\\An\\bai.pdf", ".pdf") == "bai.pdf"
    assert services._material_filename("../../etc/passwd", ".pdf") == "passwd.pdf"
    assert services._material_filename("", ".png") == "tai-lieu.png"


# --- venues -------------------------------------------------------------------------------------


def test_create_and_edit_venue(actions, plan, app, world):
    actions.login("trainer")
    response = actions.post(
        "/venues/new",
        {
            "name": "Trường tiểu học",
            "village_id": world.village_ids[1],
            "address": "Thôn 2",
            "capacity": "25",
            "accessibility": ["step_free", "good_lighting"],
            "equipment": ["projector", "loan_phones"],
        },
        token_from="/venues/new",
    )
    assert response.status_code == 302
    html = actions.client.get("/venues").get_data(as_text=True)
    assert "Trường tiểu học" in html and "Nhà văn hóa Thôn 1" in html
    with app.app_context():
        venue = db.session.scalar(db.select(Venue).where(Venue.name == "Trường tiểu học"))
        assert venue.accessibility == ["step_free", "good_lighting"]
        assert venue.equipment == ["projector", "loan_phones"] and venue.capacity == 25
        venue_id = venue.id
    edit = actions.client.get(f"/venues/{venue_id}/edit").get_data(as_text=True)
    assert 'value="Trường tiểu học"' in edit
    response = actions.post(
        f"/venues/{venue_id}/edit",
        {"name": "Trường tiểu học Thôn 2", "capacity": "30", "village_id": ""},
        token_from=f"/venues/{venue_id}/edit",
    )
    assert response.status_code == 302
    with app.app_context():
        venue = db.session.get(Venue, venue_id)
        assert venue.name == "Trường tiểu học Thôn 2" and venue.village_id is None
        assert venue.accessibility == [] and venue.capacity == 30


def test_venue_needs_a_name_and_a_village_of_the_commune(actions, plan, app, world):
    actions.login("organiser")
    response = actions.post(
        "/venues/new",
        {"name": "", "capacity": "x", "village_id": world.other_village_id},
        token_from="/venues/new",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'href="#name"' in html and 'href="#capacity"' in html and 'href="#village_id"' in html
    with app.app_context(), pytest.raises(DomainError) as excinfo:
        services.create_venue(
            actor=db.session.get(User, world.users["organiser"]),
            now=NOW,
            commune_id=world.commune_id,
            name="X",
            village_id=world.other_village_id,
        )
    assert excinfo.value.code == "village_invalid"


def test_mentor_cannot_create_or_edit_venues(actions, plan):
    actions.login("mentor")
    html = actions.client.get("/venues").get_data(as_text=True)
    assert "Nhà văn hóa Thôn 1" in html and "/venues/new" not in html and "/edit" not in html
    assert actions.client.get(f"/venues/{plan['venue']}/edit").status_code == 403


# --- classes ------------------------------------------------------------------------------------


def test_new_class_form_starts_from_the_course(actions, plan):
    actions.login("trainer")
    html = actions.client.get(f"/classes/new?course_id={plan['course']}").get_data(as_text=True)
    assert 'value="Dùng điện thoại thông minh"' in html  # the class name starts as the title
    assert "Gv.Nam" in html  # the other trainer of the commune may be chosen
    assert "Other_Organiser" not in html


def test_trainer_creates_a_class_and_is_one_of_its_trainers(actions, plan, app):
    actions.login("trainer")
    response = actions.post(
        f"/classes/new?course_id={plan['course']}",
        {
            "course_id": plan["course"],
            "name": "Lớp chiều Thôn 2",
            "trainers": [plan["other_trainer"]],
            "assistants": "Đoàn viên Trần Văn Hùng",
            "target_groups": ["citizen"],
            "segments": ["older"],
            "village_id": "",
            "capacity": "15",
            "accommodations": ["large_print", "slower_pace"],
            "status": "open",
            "public_signup": "y",
        },
        token_from="/classes/new",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        course_class = db.session.scalar(
            db.select(CourseClass).where(CourseClass.name == "Lớp chiều Thôn 2")
        )
        assert {t.username for t in course_class.trainers} == {"trainer", "gv.nam"}
        assert course_class.accommodations == ["large_print", "slower_pace"]
        assert course_class.status == "open" and course_class.public_signup
        assert course_class.assistants == "Đoàn viên Trần Văn Hùng"
        assert course_class.capacity == 15 and course_class.village_id is None


def test_class_form_mistakes(actions, plan, app, world):
    actions.login("organiser")
    response = actions.post(
        "/classes/new",
        {
            "course_id": plan["course"],
            "name": "",
            "capacity": "0",
            "status": "open",
            "village_id": world.other_village_id,
        },
        token_from="/classes/new",
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    for anchor in ("#name", "#capacity", "#village_id"):
        assert f'href="{anchor}"' in html
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CourseClass)) == 1


def test_trainers_must_be_of_the_commune(app, plan, world):
    with app.app_context():
        other = make_user(
            "gv.xakhac", Role.TRAINER, db.session.get(Commune, world.other_commune_id)
        )
        with pytest.raises(DomainError) as excinfo:
            services.create_class(
                actor=db.session.get(User, world.users["organiser"]),
                now=NOW,
                course=db.session.get(Course, plan["course"]),
                trainer_ids=[other.id],
                name="X",
                capacity=5,
            )
        assert excinfo.value.code == "trainer_invalid"
        with pytest.raises(DomainError) as excinfo:
            services.create_class(
                actor=db.session.get(User, world.users["organiser"]),
                now=NOW,
                course=db.session.get(Course, plan["course"]),
                trainer_ids=[999_999],
                name="X",
                capacity=5,
            )
        assert excinfo.value.code == "trainer_invalid"


def test_class_detail_shows_everything_and_links_to_sessions(actions, plan):
    actions.login("trainer")
    html = actions.client.get(f"/classes/{plan['class']}").get_data(as_text=True)
    for text in (
        "Lớp sáng Thôn 1",
        "Dùng điện thoại thông minh",
        "Trainer",
        "Thôn 1",
        "Zalo",
        "Nhà văn hóa Thôn 1",
        "25/11/2025",
        "10:00–12:00",
    ):
        assert text in html, text
    assert f"/sessions/{plan['session']}" in html
    assert f"/classes/{plan['class']}/sessions/series" in html
    assert f"/classes/{plan['class']}/sessions/new" in html
    assert f"/classes/{plan['class']}/enrolment" in html
    assert f"/classes/{plan['class']}/edit" in html


def test_class_pages_are_read_only_for_others(actions, plan):
    for user in ("mentor", "lead"):
        actions.login(user)
        assert "Lớp sáng Thôn 1" in actions.client.get("/classes").get_data(as_text=True)
        html = actions.client.get(f"/classes/{plan['class']}").get_data(as_text=True)
        assert "Lớp sáng Thôn 1" in html
        assert "/edit" not in html and "/enrolment" not in html and "/sessions/new" not in html
        assert actions.client.get(f"/classes/{plan['class']}/edit").status_code == 403
        logout(actions)


def test_only_the_class_trainers_or_an_organiser_edit_it(actions, plan, app, world):
    actions.login("gv.nam")
    html = actions.client.get(f"/classes/{plan['class']}").get_data(as_text=True)
    assert f"/classes/{plan['class']}/edit" not in html
    assert actions.client.get(f"/classes/{plan['class']}/edit").status_code == 403
    logout(actions)
    actions.login("other_organiser")
    assert actions.client.get(f"/classes/{plan['class']}").status_code == 404


def test_edit_class_status_and_seats_promotes_the_waiting_list(actions, plan, app, world):
    with app.app_context():
        course_class = db.session.get(CourseClass, plan["class"])
        trainer = db.session.get(User, world.users["trainer"])
        village = db.session.get(Village, world.village_ids[0])
        for i, name in enumerate(("An", "Bình", "Cúc")):
            rules.enrol(
                actor=trainer,
                now=NOW,
                course_class=course_class,
                person=make_person(village, f"Lê Thị {name}", 1950 + i),
            )
        db.session.commit()
    actions.login("trainer")
    edit = actions.client.get(f"/classes/{plan['class']}/edit").get_data(as_text=True)
    assert 'value="Lớp sáng Thôn 1"' in edit
    response = actions.post(
        f"/classes/{plan['class']}/edit",
        {
            "name": "Lớp sáng Thôn 1",
            "trainers": [world.users["trainer"]],
            "capacity": "3",
            "status": "running",
            "village_id": world.village_ids[0],
            "accommodations": ["one_to_one"],
        },
        token_from=f"/classes/{plan['class']}/edit",
    )
    assert response.status_code == 302
    with app.app_context():
        course_class = db.session.get(CourseClass, plan["class"])
        assert course_class.status == "running" and course_class.capacity == 3
        assert course_class.accommodations == ["one_to_one"] and not course_class.public_signup
        statuses = db.session.scalars(db.select(Enrolment.status)).all()
        assert sorted(statuses) == ["enrolled"] * 3


def test_class_list_filters_by_status(actions, plan, app, world):
    with app.app_context():
        course = db.session.get(Course, plan["course"])
        make_class(course, [], name="Lớp đã xong", status="finished")
        db.session.commit()
    actions.login("organiser")
    html = actions.client.get("/classes?status=finished").get_data(as_text=True)
    assert "Lớp đã xong" in html and "Lớp sáng Thôn 1" not in html
    html = actions.client.get("/classes").get_data(as_text=True)
    assert "Lớp đã xong" in html and "Lớp sáng Thôn 1" in html


def test_province_wide_admin_chooses_the_commune(actions, plan, app, world):
    actions.login("admin")
    page = actions.client.get("/courses/new").get_data(as_text=True)
    assert 'name="commune_id"' in page and "Xã Khác" in page
    response = actions.post(
        "/courses/new",
        {
            "commune_id": world.other_commune_id,
            "title": "Khóa cho xã khác",
            "planned_hours": "4",
            "planned_sessions": "2",
        },
        token_from="/courses/new",
    )
    assert response.status_code == 302
    with app.app_context():
        course = db.session.scalar(db.select(Course).where(Course.title == "Khóa cho xã khác"))
        assert course.commune_id == world.other_commune_id
    logout(actions)
    actions.login("organiser")  # commune officers plan at home: no choice offered
    assert 'name="commune_id"' not in actions.client.get("/courses/new").get_data(as_text=True)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda a, c: services.create_course(
                actor=a, now=NOW, commune_id=c.commune_id, title="X", competency_codes=["1.1", "a"]
            ),
            "competency_invalid",
        ),
        (
            lambda a, c: services.create_course(
                actor=a, now=NOW, commune_id=c.commune_id, title=" "
            ),
            "title_missing",
        ),
        (
            lambda a, c: services.update_course(actor=a, now=NOW, course=c, segments=["vip"]),
            "segment_invalid",
        ),
        (
            lambda a, c: services.create_venue(
                actor=a, now=NOW, commune_id=c.commune_id, name="X", equipment=["tv"]
            ),
            "equipment_invalid",
        ),
        (
            lambda a, c: services.create_class(
                actor=a, now=NOW, course=c, trainer_ids=[], name="X", capacity=5, status="paused"
            ),
            "status_invalid",
        ),
        (
            lambda a, c: services.create_class(
                actor=a, now=NOW, course=c, trainer_ids=[], name=" ", capacity=5
            ),
            "class_name_missing",
        ),
        (
            lambda a, c: services.create_class(
                actor=a,
                now=NOW,
                course=c,
                trainer_ids=[],
                name="X",
                capacity=5,
                accommodations=["taxi"],
            ),
            "accommodation_invalid",
        ),
        (
            lambda a, c: services.add_material(
                actor=a, now=NOW, course=c, url="https://x.org", data=PDF
            ),
            "material_both",
        ),
        (
            lambda a, c: services.add_material(actor=a, now=NOW, course=c, data=b""),
            "material_empty",
        ),
    ],
)
def test_service_rules_refuse_bad_values(app, plan, world, call, expected):
    with app.app_context():
        organiser = db.session.get(User, world.users["organiser"])
        with pytest.raises(DomainError) as excinfo:
            call(organiser, db.session.get(Course, plan["course"]))
        assert excinfo.value.code == expected
        db.session.rollback()


def test_village_leads_and_mentors_may_not_plan(app, plan, world):
    with app.app_context():
        for user in ("lead", "mentor"):
            with pytest.raises(DomainError) as excinfo:
                services.create_course(
                    actor=db.session.get(User, world.users[user]),
                    now=NOW,
                    commune_id=world.commune_id,
                    title="X",
                )
            assert excinfo.value.code == "not_allowed" and excinfo.value.status == 403


# --- review fixes: file names, links for readers, crafted addresses ---------------------------


@pytest.mark.parametrize(
    ("content", "sent_as", "kept_as", "mimetype"),
    [
        (PDF, "tai-lieu.html", "tai-lieu.pdf", "application/pdf"),
        (PDF, "Bài 1. Giới thiệu", "Bài 1. Giới thiệu.pdf", "application/pdf"),
        (PNG, "anh.jpg", "anh.png", "image/png"),
        (PDF, "bai.PDF", "bai.PDF", "application/pdf"),
    ],
    ids=["pdf-sent-as-html", "dot-inside-the-name", "png-sent-as-jpg", "upper-case-extension"],
)
def test_uploaded_files_get_the_extension_of_their_real_type(
    actions, plan, app, content, sent_as, kept_as, mimetype
):
    actions.login("trainer")
    assert upload(actions, plan["course"], content, sent_as).status_code == 302
    with app.app_context():
        material = db.session.scalar(db.select(CourseMaterial))
        assert material.filename == kept_as and material.content_type == mimetype
    download = actions.client.get(f"/materials/{material.id}")
    assert download.mimetype == mimetype
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert kept_as.rsplit(".", 1)[1] in download.headers["Content-Disposition"]
    assert ".html" not in download.headers["Content-Disposition"]


def test_a_file_kept_under_a_wrong_name_downloads_with_its_real_extension(actions, plan, app):
    with app.app_context():
        material = CourseMaterial(
            course_id=plan["course"],
            title="Cũ",
            filename="cu.html",
            content_type="application/pdf",
            size=len(PDF),
            data=PDF,
            uploaded_by_id=plan["other_trainer"],
            uploaded_at=NOW,
        )
        db.session.add(material)
        db.session.commit()
        material_id = material.id
    actions.login("mentor")
    download = actions.client.get(f"/materials/{material_id}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Disposition"] == "attachment; filename=cu.pdf"


def test_readers_see_the_sessions_without_links_to_the_planners_page(actions, plan):
    for user in ("mentor", "lead"):
        actions.login(user)
        html = actions.client.get(f"/classes/{plan['class']}").get_data(as_text=True)
        assert "25/11/2025" in html and "10:00–12:00" in html  # the session, as text
        assert "/sessions/" not in html
        assert actions.client.get(f"/sessions/{plan['session']}").status_code == 403
        logout(actions)
    actions.login("organiser")
    html = actions.client.get(f"/classes/{plan['class']}").get_data(as_text=True)
    assert f'href="/sessions/{plan["session"]}"' in html
    assert actions.client.get(f"/sessions/{plan['session']}").status_code == 200


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/classes/{HUGE}",
        f"/classes/{HUGE}/edit",
        f"/classes/{HUGE}/enrolment",
        f"/classes/{HUGE}/signups",
        f"/classes/{HUGE}/sessions/new",
        f"/sessions/{HUGE}",
        f"/courses/{HUGE}",
        f"/materials/{HUGE}",
        f"/venues/{HUGE}/edit",
        "/classes/2147483648",
    ],
)
def test_numbers_no_record_can_have_are_not_found(actions, plan, path):
    actions.login("organiser")
    assert actions.client.get(path).status_code == 404


def test_crafted_numbers_in_forms_are_refused_not_crashed(actions, plan):
    actions.login("organiser")
    assert actions.client.get(f"/classes/new?course_id={HUGE}").status_code == 200
    path = f"/classes/{plan['class']}/enrolment"
    for field in ("person_id", "household_id"):
        assert actions.post(path, {field: HUGE}, token_from=path).status_code == 422
