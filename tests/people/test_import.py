"""Importing persons: every row's problems are shown first; commit writes all rows or none."""

import io
import unicodedata

import openpyxl
import pytest
from flask_babel import force_locale
from sqlalchemy import func, select

from tests.factories import NOW, make_household, make_person
from webapp.errors import DomainError
from webapp.extensions import db
from webapp.people import importer
from webapp.people.models import Household, ImportBatch, Person, Village

HEADER = [
    "Họ và tên",
    "Năm sinh",
    "Giới tính",
    "Số điện thoại",
    "Thôn",
    "Mã hộ",
    "Nhóm đối tượng",
    "Khuyết tật",
    "VNeID mức 2",
    "Ngày đồng ý xử lý dữ liệu",
]

GOOD_ROWS = [
    [
        "Nguyễn Thị Hồng Nhung",
        1958,
        "Nữ",
        "0905 123 456",
        "Thôn 1",
        "T1-050",
        "Người dân",
        "",
        "12/03/2025",
        "01/11/2025",
    ],
    ["Đặng Văn Ướt", "1949", "Nam", "", "thon 1", "T1-050", "", "Khiếm thị", "Có", ""],
    ["A Thút", 2010, "Nam", "", "Thôn 2", "T2-009", "Học sinh", "", "", ""],
    [
        "Y Lan",
        1985,
        "nữ",
        "0386000111",
        "2",
        "",
        "Người lao động doanh nghiệp",
        "Khiếm thính",
        "",
        "",
    ],
]


def xlsx(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows, header=HEADER, sep=",", encoding="utf-8-sig") -> bytes:
    lines = [sep.join(header)] + [sep.join(str(c) for c in row) for row in rows]
    return "\r\n".join(lines).encode(encoding)


def counts():
    return (
        db.session.scalar(select(func.count()).select_from(Person)),
        db.session.scalar(select(func.count()).select_from(Household)),
    )


def stage(actor, content, filename="danh-sach.xlsx"):
    batch = importer.stage(
        actor=actor, now=NOW, commune_id=actor.commune_id, filename=filename, content=content
    )
    db.session.commit()
    return batch


def problems_by_line(report):
    with force_locale("en"):
        return {row.line: " ".join(str(p) for p in row.problems) for row in report.problem_rows}


def test_good_file_is_written_completely(organiser):
    batch = stage(organiser, xlsx(GOOD_ROWS))
    report = importer.check(batch, now=NOW)
    assert report.ok and report.good_count == 4
    assert counts() == (0, 0), "the preview writes nothing"

    assert importer.commit(actor=organiser, now=NOW, batch=batch) == 4
    db.session.commit()
    assert counts() == (4, 2)
    uot = db.session.scalar(select(Person).where(Person.full_name == "Đặng Văn Ướt"))
    nhung = db.session.scalar(select(Person).where(Person.full_name == "Nguyễn Thị Hồng Nhung"))
    assert uot.household_id == nhung.household_id
    assert uot.disability == "vision" and uot.vneid_level2 and uot.vneid_level2_on is None
    assert nhung.phone == "0905123456" and nhung.vneid_level2_on.isoformat() == "2025-03-12"
    assert nhung.consent_recorded_by_id == organiser.id
    lan = db.session.scalar(select(Person).where(Person.full_name == "Y Lan"))
    assert (lan.target_group, lan.disability, lan.sex) == ("enterprise_worker", "hearing", "female")
    batch = db.session.get(ImportBatch, batch.id)
    assert batch.rows_written == 4 and batch.content == b"", "no second copy of personal data"


def test_every_kind_of_problem_is_reported_and_nothing_is_written(organiser):
    village = db.session.get(Village, organiser.commune.villages[0].id)
    make_person(village, "Trần Văn Có", 1970)
    make_household(organiser.commune.villages[1], "T2-001")
    db.session.commit()
    before = counts()
    nfd = unicodedata.normalize("NFD", "Trần Văn Có")
    rows = [
        GOOD_ROWS[0],
        ["", 1960, "", "", "Thôn 1", "", "", "", "", ""],  # 3: no name
        ["Lê Thị Già", 1850, "", "", "Thôn 1", "", "", "", "", ""],  # 4: impossible year
        ["Lê Văn Trẻ", 2031, "", "", "Thôn 1", "", "", "", "", ""],  # 5: born in the future
        ["Lê Văn Xa", 1970, "", "", "Thôn 9", "", "", "", "", ""],  # 6: unknown village
        [nfd, 1970, "", "", "Thôn 1", "", "", "", "", ""],  # 7: already registered
        ["Nguyễn Thị Hồng Nhung", 1958, "", "", "Thôn 1", "", "", "", "", ""],  # 8: line 2 again
        ["Phạm Văn Hộ", 1980, "", "", "Thôn 1", "T2-001", "", "", "", ""],  # 9: other village
        ["Võ Thị Số", 1980, "", "12", "Thôn 1", "", "Khách", "", "", ""],  # 10: phone, group
    ]
    batch = stage(organiser, xlsx(rows))
    report = importer.check(batch, now=NOW)
    found = problems_by_line(report)
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert "Full name is missing" in found[3]
    assert "1850 is impossible" in found[4]
    assert "2031 is impossible" in found[5]
    assert "Unknown village “Thôn 9”" in found[6]
    assert "already registered" in found[7]
    assert "line 2" in found[8]
    assert "belongs to another village" in found[9]
    assert "10 digits" in found[10] and "Unknown target group" in found[10]
    assert counts() == before

    with pytest.raises(DomainError) as refused:
        importer.commit(actor=organiser, now=NOW, batch=batch)
    assert refused.value.code == "import_has_problems"
    db.session.rollback()
    assert counts() == before
    assert db.session.get(ImportBatch, batch.id).committed_at is None


def test_one_bad_row_writes_nothing(organiser):
    rows = [*GOOD_ROWS, ["Lê Văn Xa", 1970, "", "", "Thôn 9", "", "", "", "", ""]]
    batch = stage(organiser, xlsx(rows))
    with pytest.raises(DomainError) as refused:
        importer.commit(actor=organiser, now=NOW, batch=batch)
    assert refused.value.code == "import_has_problems"
    db.session.rollback()
    assert counts() == (0, 0)


def test_commit_checks_again_against_the_registry_as_it_is_now(organiser):
    batch = stage(organiser, xlsx(GOOD_ROWS))
    assert importer.check(batch, now=NOW).ok
    # Meanwhile somebody registers one of the persons by hand.
    make_person(db.session.get(Village, organiser.commune.villages[1].id), "A Thút", 2010)
    db.session.commit()
    with pytest.raises(DomainError) as refused:
        importer.commit(actor=organiser, now=NOW, batch=batch)
    assert refused.value.code == "import_has_problems"
    db.session.rollback()
    assert counts() == (1, 0)


def test_a_batch_is_committed_only_once(organiser):
    batch = stage(organiser, xlsx(GOOD_ROWS))
    importer.commit(actor=organiser, now=NOW, batch=batch)
    db.session.commit()
    with pytest.raises(DomainError) as twice:
        importer.commit(actor=organiser, now=NOW, batch=batch)
    assert twice.value.code == "import_already_committed"
    db.session.rollback()
    assert counts() == (4, 2)


def test_a_failure_in_the_middle_of_writing_leaves_nothing(organiser, monkeypatch):
    batch = stage(organiser, xlsx(GOOD_ROWS))
    calls = []

    def failing_sort_key(name):
        calls.append(name)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return b"x"

    monkeypatch.setattr(importer, "name_sort_key", failing_sort_key)
    with pytest.raises(RuntimeError):
        importer.commit(actor=organiser, now=NOW, batch=batch)
    db.session.rollback()
    assert counts() == (0, 0), "households created before the failure are rolled back too"
    assert db.session.get(ImportBatch, batch.id).committed_at is None


def test_csv_with_semicolons_and_byte_order_mark(organiser):
    batch = stage(organiser, csv_bytes(GOOD_ROWS, sep=";"), "list.csv")
    report = importer.check(batch, now=NOW)
    assert report.ok, problems_by_line(report)
    assert [row.values["full_name"] for row in report.rows][:2] == [
        "Nguyễn Thị Hồng Nhung",
        "Đặng Văn Ướt",
    ]


@pytest.mark.parametrize(
    ("content", "filename", "code"),
    [
        (csv_bytes(GOOD_ROWS, encoding="utf-16"), "x.csv", "file_encoding"),
        (xlsx(GOOD_ROWS, header=["Tên", "Năm sinh"]), "x.xlsx", "columns_missing"),
        (b"PK\x03\x04 not really a workbook", "x.xlsx", "file_unreadable"),
        (xlsx([]), "x.xlsx", "file_no_rows"),
    ],
)
def test_unreadable_files_are_refused_as_a_whole(organiser, content, filename, code):
    # The file is read once, at upload: a file that cannot be read is refused there.
    with pytest.raises(importer.FileProblem) as refused:
        stage(organiser, content, filename)
    assert refused.value.code == code
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_other_file_types_are_refused_at_upload(organiser):
    with pytest.raises(importer.FileProblem) as refused:
        importer.stage(
            actor=organiser,
            now=NOW,
            commune_id=organiser.commune_id,
            filename="a.pdf",
            content=b"%PDF",
        )
    assert refused.value.code == "file_type"


def test_an_organiser_cannot_import_into_another_commune(app, world, organiser):
    with pytest.raises(DomainError) as refused:
        importer.stage(
            actor=organiser,
            now=NOW,
            commune_id=world.other_commune_id,
            filename="a.csv",
            content=b"x",
        )
    assert refused.value.code == "not_allowed"


def test_the_template_round_trips(organiser):
    book = openpyxl.load_workbook(io.BytesIO(importer.template_xlsx()))
    header = [c.value for c in book.worksheets[0][1]]
    assert header == [c.header for c in importer.COLUMNS]
    assert book.sheetnames == ["Danh sách", "Hướng dẫn"]
    assert importer.template_csv().decode("utf-8-sig").strip() == ",".join(header)
    # Filled in, the template imports.
    book.worksheets[0].append(["Bùi Thị Mẫu", 1975, "Nữ", "", "Thôn 2"])
    buffer = io.BytesIO()
    book.save(buffer)
    batch = stage(organiser, buffer.getvalue())
    assert importer.check(batch, now=NOW).ok


# --- through the pages ------------------------------------------------------------------------


def upload(actions, content, filename="danh-sach.xlsx"):
    token = actions.csrf_token("/people/import")
    return actions.client.post(
        "/people/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_pages_bad_file_shows_problems_in_vietnamese_and_writes_nothing(app, actions, world):
    actions.login("organiser")
    rows = [*GOOD_ROWS, ["Lê Văn Xa", 1970, "", "", "Thôn 9", "", "", "", "", ""]]
    response = upload(actions, xlsx(rows))
    assert response.status_code == 302
    preview = actions.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Không có gì được ghi" in preview  # Nothing has been written.
    assert "Thôn 9" in preview and "Lê Văn Xa" in preview
    assert "/commit" not in preview, "no commit button while a row has problems"
    # Posting the commit anyway is refused.
    token = response.headers["Location"].rsplit("/", 1)[-1]
    refused = actions.post(f"/people/import/{token}/commit", token_from="/people/import")
    assert refused.status_code == 302
    with app.app_context():
        assert counts() == (0, 0)


def test_pages_good_file_is_written(app, actions, world):
    actions.login("organiser")
    response = upload(actions, xlsx(GOOD_ROWS))
    location = response.headers["Location"]
    preview = actions.client.get(location).get_data(as_text=True)
    assert "Nhập tất cả 4 người" in preview
    done = actions.post(f"{location}/commit", token_from=location, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "4 người đã được thêm" in html
    with app.app_context():
        assert counts() == (4, 2)
    again = actions.post(f"{location}/commit", token_from=location, follow_redirects=True)
    assert "đã được nhập" in again.get_data(as_text=True)
    with app.app_context():
        assert counts() == (4, 2)


def test_pages_wrong_file_type_gets_a_message(actions, world):
    actions.login("organiser")
    response = upload(actions, b"%PDF-1.4", "danh-sach.pdf")
    assert response.status_code == 400
    assert "Excel (.xlsx)" in response.get_data(as_text=True)


def test_another_communes_batch_is_not_found(app, actions, world, organiser):
    batch = stage(organiser, xlsx(GOOD_ROWS))
    actions.login("other_organiser")
    assert actions.client.get(f"/people/import/{batch.token}").status_code == 404


def test_poor_household_column_marks_the_household(organiser):
    existing = make_household(organiser.commune.villages[0], "T1-001")
    db.session.commit()
    header = ["Họ và tên", "Năm sinh", "Thôn", "Mã hộ", "Hộ nghèo"]
    rows = [
        ["Lê Văn Nghèo", 1960, "Thôn 1", "T1-090", "Có"],
        ["Lê Thị Nghèo", 1962, "Thôn 1", "T1-090", ""],  # same household: poor too
        ["Trần Văn Cũ", 1970, "Thôn 1", "T1-001", "x"],  # an existing household
        ["Võ Văn Khá", 1980, "Thôn 1", "T1-091", ""],
    ]
    batch = stage(organiser, xlsx(rows, header=header))
    assert importer.commit(actor=organiser, now=NOW, batch=batch) == 4
    db.session.commit()
    poor = dict(db.session.execute(select(Household.code, Household.is_poor)).all())
    assert poor == {"T1-001": True, "T1-090": True, "T1-091": False}
    assert existing.id


def test_poor_household_needs_a_household_number(organiser):
    header = ["Họ và tên", "Năm sinh", "Thôn", "Mã hộ", "Hộ nghèo"]
    batch = stage(organiser, xlsx([["Lê Văn Nghèo", 1960, "Thôn 1", "", "Có"]], header=header))
    assert "needs the household number" in problems_by_line(importer.check(batch, now=NOW))[2]


def test_flask_prune_drops_files_never_imported_within_a_week(app, runner, organiser):
    from datetime import timedelta

    from webapp.timeutil import utcnow

    old, fresh = stage(organiser, xlsx(GOOD_ROWS)), stage(organiser, xlsx(GOOD_ROWS))
    old.created_at = utcnow() - timedelta(days=8)
    fresh.created_at = utcnow() - timedelta(days=6)
    db.session.commit()
    old_id, fresh_id = old.id, fresh.id
    result = runner.invoke(args=["prune"])
    assert result.exit_code == 0 and "Removed 1 import files" in result.output
    db.session.expire_all()
    assert db.session.get(ImportBatch, old_id) is None
    assert db.session.get(ImportBatch, fresh_id) is not None
