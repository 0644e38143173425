"""PDFs download as files with Vietnamese names, and the print log tells a download from a
print: opening a downloaded PDF again is not another print."""

import re
import subprocess
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from tests.certificates.conftest import NHUNG, UOT
from webapp.certificates.models import Certificate, PrintLog
from webapp.extensions import db


def _issue_all(actions, cw):
    page = f"/classes/{cw.class_id}/certificates"
    return actions.post(f"{page}/issue-all", token_from=page)


def _certificates(app) -> dict[str, Certificate]:
    with app.app_context():
        rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        return {c.snapshot["full_name"]: c for c in rows}


def _disposition(response) -> tuple[str, str, str]:
    """(type, ASCII filename, decoded UTF-8 filename*) of Content-Disposition."""
    header = response.headers["Content-Disposition"]
    kind = header.split(";")[0]
    fallback = re.search(r'filename="([^"]*)"', header)[1]
    utf8 = re.search(r"filename\*=UTF-8''([^;]+)", header)[1]
    assert fallback.isascii() and utf8.isascii()  # a header is ASCII; the name is in filename*
    return kind, fallback, unquote(utf8)


@pytest.fixture
def issued(app, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    return _certificates(app)


def test_pdfs_are_attachments_with_vietnamese_file_names(client, cert_world, issued):
    cases = {
        f"/classes/{cert_world.class_id}/certificates.pdf": (
            "Giấy chứng nhận - Lớp cao tuổi Thôn 1.pdf",
            "Giay chung nhan - Lop cao tuoi Thon 1.pdf",
        ),
        f"/villages/{cert_world.village_ids[1]}/certificates.pdf": (
            "Giấy chứng nhận - Thôn 2.pdf",
            "Giay chung nhan - Thon 2.pdf",
        ),
        f"/certificates/{issued[UOT].id}.pdf": (
            f"Giấy chứng nhận - {UOT} - {issued[UOT].serial}.pdf",
            f"Giay chung nhan - Dang Van Uot - {issued[UOT].serial}.pdf",
        ),
    }
    for url, (name, fallback) in cases.items():
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
        assert _disposition(response) == ("attachment", fallback, name), url
        assert "no-store" in response.headers["Cache-Control"]


def test_downloads_and_prints_are_logged_as_what_they_are(app, client, cert_world, issued):
    nhung = issued[NHUNG]
    client.get(f"/classes/{cert_world.class_id}/certificates.pdf")
    client.get(f"/classes/{cert_world.class_id}/certificates.pdf")  # downloaded again
    client.get(f"/certificates/{nhung.id}/print")
    with app.app_context():
        rows = db.session.scalars(
            select(PrintLog).where(PrintLog.certificate_id == nhung.id).order_by(PrintLog.id)
        ).all()
        assert [(r.kind, r.scope) for r in rows] == [
            ("download", f"class:{cert_world.class_id}"),
            ("download", f"class:{cert_world.class_id}"),
            ("print", "print_view"),
        ]
    page = client.get(f"/certificates/{nhung.id}").get_data(as_text=True)
    lines = [
        " ".join(item.split())
        for item in re.findall(r'<li class="cert-print-(?:download|print)">(.*?)</li>', page, re.S)
    ]
    assert len(lines) == 3
    assert lines[0].endswith("Organiser: đã in từ trình duyệt")
    assert all(line.endswith("Organiser: đã tải tệp PDF của cả lớp") for line in lines[1:])
    assert "Nhật ký tải về và in" in page


def test_the_english_page_names_downloads_and_prints_too(client, cert_world, issued):
    client.get(f"/certificates/{issued[NHUNG].id}.pdf")
    client.get(f"/certificates/{issued[NHUNG].id}/print")
    client.set_cookie("lang", "en")
    page = client.get(f"/certificates/{issued[NHUNG].id}").get_data(as_text=True)
    assert "Organiser:\n    printed from the browser" in page
    assert "Organiser:\n    downloaded the PDF" in page


def test_the_downloaded_pdf_prints_the_version_as_the_app_names_it(
    client, cert_world, issued, tmp_path
):
    response = client.get(f"/certificates/{issued[NHUNG].id}.pdf")
    path = tmp_path / "one.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Khung năng lực số: phiên bản 1" in text and "0.1-draft" not in text
    assert "CHỦ TỊCH" in text and "Y Blúp" in text  # the title has its signer under it
