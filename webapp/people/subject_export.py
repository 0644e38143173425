"""Everything the product holds about one person, for their access request: as JSON (every
record of every table that refers to the person, column by column) and as a readable PDF in
Vietnamese.

Complete by construction: the records are every table with a ``person_id`` column (a new
table that refers to people is included without a change here), plus the person's own row,
their household and the audit trail of who viewed, exported, printed or changed their data.
Credentials (a phone link's key, the learner code, certificate verification codes) and
internal keys are left out: they are not the person's data but keys to it.
"""

from datetime import date, datetime
from io import BytesIO

from sqlalchemy import LargeBinary, select

from webapp.extensions import db
from webapp.people.models import Household, Person, Village
from webapp.timeutil import to_local

#: Tables of the export, in reading order, with their Vietnamese titles (others follow).
TITLES = {
    "consents": "Đồng ý xử lý dữ liệu",
    "data_requests": "Yêu cầu về dữ liệu",
    "enrolments": "Ghi danh lớp học",
    "signup_requests": "Đăng ký lớp qua mạng",
    "attendance": "Điểm danh",
    "evidence": "Minh chứng kỹ năng",
    "quiz_attempts": "Bài kiểm tra",
    "certificates": "Giấy chứng nhận",
    "mentorships": "Được Đại sứ số hướng dẫn",
    "mentors": "Làm Đại sứ số",
    "mentoring_confirmations": "Xác nhận buổi hướng dẫn",
    "checkin_devices": "Điện thoại đã liên kết",
    "checkin_join_requests": "Yêu cầu vào lớp bằng điện thoại",
}
#: Not exported: machinery of the product, not the person's data.
SKIPPED_TABLES = {"report_dirty", "report_spans", "audit_events"}
#: Keys to the data rather than data (and internal search keys).
HIDDEN_COLUMNS = {
    "key",
    "device_key",
    "verify_code",
    "learner_code",
    "sort_key",
    "name_key",
    "search_text",
    "token",
    "password_hash",
}
PERSON_COLUMNS = [
    "id",
    "full_name",
    "birth_year",
    "sex",
    "phone",
    "target_group",
    "disability",
    "trader_farmer",
    "ethnic_minority",
    "vneid_level2",
    "vneid_level2_on",
    "digital_signature",
    "digital_signature_on",
    "consent_on",
    "consent_withdrawn_at",
    "restricted_at",
    "erased_at",
    "note",
    "created_at",
    "updated_at",
]


def _plain(value):
    if isinstance(value, datetime):
        return to_local(value).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return None
    return value


def _rows(table, where) -> list[dict]:
    columns = [
        c for c in table.c if c.name not in HIDDEN_COLUMNS and not isinstance(c.type, LargeBinary)
    ]
    stmt = select(*columns).where(where).order_by(table.c.id) if "id" in table.c else None
    if stmt is None:
        return []
    return [
        {name: _plain(value) for name, value in row._mapping.items()}
        for row in db.session.execute(stmt)
    ]


def gather(person: Person, *, now: datetime) -> dict:
    """Every record about the person, as plain data (JSON)."""
    from webapp.people.privacy_models import AuditEvent

    village = db.session.get(Village, person.village_id)
    household = db.session.get(Household, person.household_id) if person.household_id else None
    found = {
        "generated_at": _plain(now),
        "person": {name: _plain(getattr(person, name)) for name in PERSON_COLUMNS},
        "village": village.name if village else None,
        "household": (
            {"code": household.code, "address": household.address, "is_poor": household.is_poor}
            if household
            else None
        ),
        "records": {},
    }
    tables = {t.name: t for t in db.metadata.sorted_tables if "person_id" in t.c}
    for name in [*TITLES, *sorted(set(tables) - set(TITLES))]:
        table = tables.get(name)
        if table is None or name in SKIPPED_TABLES:
            continue
        found["records"][name] = _rows(table, table.c.person_id == person.id)
    trail = db.session.execute(
        select(AuditEvent).where(AuditEvent.person_id == person.id).order_by(AuditEvent.at)
    ).scalars()
    found["audit"] = [
        {
            "at": _plain(e.at),
            "user": e.user.full_name if e.user else None,
            "role": e.role,
            "action": e.action,
            "what": e.what,
            "address": e.address,
        }
        for e in trail
    ]
    return found


# --- the PDF --------------------------------------------------------------------------------


def _line(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "có" if value else "không"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render_pdf(data: dict) -> bytes:
    """The gathered data as an A4 portrait PDF in Vietnamese (fonts embedded)."""
    from fpdf import FPDF

    from webapp.certificates.pdf import FONT, font_path

    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title("Dữ liệu cá nhân")
    for style in ("", "B"):
        pdf.add_font(FONT, style, font_path(style))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: float = 12) -> None:
        pdf.set_font(FONT, "B", size)
        pdf.multi_cell(width, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)

    def text(line: str) -> None:
        pdf.multi_cell(width, 4.6, line, new_x="LMARGIN", new_y="NEXT")

    person = data["person"]
    heading("DỮ LIỆU CÁ NHÂN LỚP SỐ ĐANG LƯU", 14)
    text(f"Người: {_line(person.get('full_name'))} · Lập lúc: {data['generated_at']}")
    text(f"Thôn: {_line(data.get('village'))}")
    heading("Thông tin cá nhân")
    for name, value in person.items():
        text(f"{name}: {_line(value)}")
    heading("Hộ gia đình")
    for name, value in (data.get("household") or {}).items():
        text(f"{name}: {_line(value)}")
    for table, rows in data["records"].items():
        heading(f"{TITLES.get(table, table)} ({len(rows)})")
        if not rows:
            text("Không có.")
        for row in rows:
            text(" · ".join(f"{k}: {_line(v)}" for k, v in row.items()))
    heading(f"Ai đã xem, tải, in hoặc sửa dữ liệu ({len(data['audit'])})")
    if not data["audit"]:
        text("Chưa có.")
    for event in data["audit"]:
        text(
            f"{event['at']} · {_line(event['user'])} ({_line(event['role'])}) · "
            f"{event['action']} · {event['what']} · {_line(event['address'])}"
        )
    out = BytesIO()
    pdf.output(out)
    return out.getvalue()
