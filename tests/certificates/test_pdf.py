"""The PDF read back: exact Vietnamese names and serial (pdftotext), the QR decoded from the
rendered page image (pdftoppm + zxing-cpp)."""

import html
import re
import shutil
import subprocess
import unicodedata
from types import SimpleNamespace

import pytest
import zxingcpp
from PIL import Image

from tests.certificates.conftest import NHUNG, UOT
from webapp.certificates import pdf

pytestmark = pytest.mark.skipif(
    not shutil.which("pdftotext") or not shutil.which("pdftoppm"), reason="poppler-utils missing"
)
BASE = "https://lopso.example.vn"


def _certificate(name: str, serial: str, code: str) -> SimpleNamespace:
    snapshot = {
        "full_name": name,
        "birth_year": 1962,
        "village": "Thôn 2",
        "course": "Kỹ năng số cho người cao tuổi",
        "competencies": [{"code": "0.1", "name": "Sử dụng thiết bị số cơ bản"}],
        "hours": 7.5,
        "date_text": "Ngọk Bay, ngày 25 tháng 11 năm 2025",
        "committee": "UBND xã Ngọk Bay",
        "signer_title": "Chủ tịch",
        "signer_name": "Y Blúp",
        "serial": serial,
        "framework_version_number": 1,
        "framework_version": "0.1-draft",
    }
    return SimpleNamespace(snapshot=snapshot, verify_code=code)


def _text(path, page: int) -> str:
    """The page's text as pdftotext reads it, not normalised: an NFD name must come out NFC."""
    done = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path), "-"],
        capture_output=True,
        check=True,
        text=True,
    )
    return done.stdout


def test_names_serials_and_qr_read_back(tmp_path):
    # The second name arrives decomposed (NFD), as some keyboards send it.
    certificates = [
        _certificate(NHUNG, "NGOKBAY-2025-000123", "AbCdEfGhIjKlMnOp"),
        _certificate(unicodedata.normalize("NFD", UOT), "NGOKBAY-2025-000124", "q-R_sTuVwXyZ0123"),
    ]
    path = tmp_path / "certs.pdf"
    path.write_bytes(pdf.render(certificates, base_url=BASE))

    first, second = _text(path, 1), _text(path, 2)
    assert unicodedata.normalize("NFD", UOT) not in second
    assert NHUNG in first and "NGOKBAY-2025-000123" in first
    assert UOT in second and "NGOKBAY-2025-000124" in second
    for page in (first, second):
        assert "GIẤY CHỨNG NHẬN" in page and "UBND XÃ NGỌK BAY" in page
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page
        assert "Ngọk Bay, ngày 25 tháng 11 năm 2025" in page and "CHỦ TỊCH" in page
        assert "Y Blúp" in page and "7,5 giờ" in page
        # The version as the app names it ("Phiên bản 1"), not its source file's label.
        assert "Khung năng lực số: phiên bản 1" in page and "0.1-draft" not in page

    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")], check=True)
    for page, code in ((1, "AbCdEfGhIjKlMnOp"), (2, "q-R_sTuVwXyZ0123")):
        image = Image.open(tmp_path / f"page-{page}.png")
        assert image.width > image.height  # landscape
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [b.text for b in found] == [f"{BASE}/v/{code}"]


@pytest.mark.parametrize(
    ("village", "printed"),
    [
        ("Thôn 2", "Thôn 2"),
        ("Thôn Kon Rờ Bàng 1", "Thôn Kon Rờ Bàng 1"),
        ("Làng Mới", "Làng Mới"),
        ("Kon Rờ Bàng", "Thôn: Kon Rờ Bàng"),
    ],
)
def test_the_village_is_named_once(tmp_path, village, printed):
    certificate = _certificate(NHUNG, "NGOKBAY-2025-000123", "AbCdEfGhIjKlMnOp")
    certificate.snapshot["village"] = village
    path = tmp_path / "one.pdf"
    path.write_bytes(pdf.render([certificate], base_url=BASE))
    line = next(line for line in _text(path, 1).splitlines() if "Năm sinh" in line)
    assert " ".join(line.split()) == f"Năm sinh: 1962 {printed}"


def test_a_snapshot_without_a_version_number_prints_no_label(tmp_path):
    certificate = _certificate(NHUNG, "NGOKBAY-2025-000123", "AbCdEfGhIjKlMnOp")
    del certificate.snapshot["framework_version_number"]  # issued before any framework
    path = tmp_path / "one.pdf"
    path.write_bytes(pdf.render([certificate], base_url=BASE))
    page = _text(path, 1)
    assert "Khung năng lực" not in page and "0.1-draft" not in page and NHUNG in page


@pytest.mark.parametrize(
    ("parts", "name", "ascii_name"),
    [
        (
            ("Giấy chứng nhận", "Thôn Kon Rờ Bàng 1"),
            "Giấy chứng nhận - Thôn Kon Rờ Bàng 1.pdf",
            "Giay chung nhan - Thon Kon Ro Bang 1.pdf",
        ),
        (  # đ/Đ has no decomposition: it becomes d/D instead of disappearing
            ("Giấy chứng nhận", unicodedata.normalize("NFD", UOT), "NGOKBAY-2025-000001"),
            "Giấy chứng nhận - Đặng Văn Ướt - NGOKBAY-2025-000001.pdf",
            "Giay chung nhan - Dang Van Uot - NGOKBAY-2025-000001.pdf",
        ),
        (  # what no file system takes (a slash, quotes, a control) is left out
            ("Giấy chứng nhận", 'Lớp "A/B"\x07:  sáng'),
            "Giấy chứng nhận - Lớp A B sáng.pdf",
            "Giay chung nhan - Lop A B sang.pdf",
        ),
        (
            ("Giấy chứng nhận", "Lớp " + "x" * 300),
            "Giấy chứng nhận - Lớp " + "x" * 94 + ".pdf",
            None,
        ),
    ],
)
def test_download_names_are_vietnamese_with_an_ascii_fallback(parts, name, ascii_name):
    assert pdf.download_name(*parts) == name and len(name) <= pdf.NAME_MAX
    if ascii_name:
        assert pdf.ascii_name(name) == ascii_name


def test_the_page_is_a4_landscape_with_the_fonts_embedded(tmp_path):
    path = tmp_path / "one.pdf"
    path.write_bytes(pdf.render([_certificate(NHUNG, "X-2025-000001", "abc")], base_url=BASE))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "841.89 x 595.28 pts (A4)" in info.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert "BeVietnamPro" in fonts.stdout and " yes " in fonts.stdout  # embedded


COMPETENCY_NAMES = [
    "Sử dụng thiết bị số cơ bản",
    "Tìm kiếm, đánh giá và quản lý thông tin trên mạng",
    "Giao tiếp và hợp tác trong môi trường số",
    "Bảo vệ thiết bị, dữ liệu cá nhân và quyền riêng tư",
    "Giao dịch và thanh toán trực tuyến an toàn",
    "Sử dụng dịch vụ công trực tuyến",
]
#: 120 characters: about the longest course title a commune writes.
LONG_TITLE = (
    "Kỹ năng số cho cán bộ, công chức và người lao động: dịch vụ công trực tuyến, chữ ký số, "
    "thanh toán và an toàn thông tin."
)


def _words(path) -> tuple[tuple[float, float], list[tuple[str, float, float, float, float]]]:
    """(page width, height) and every word with its box, in points (pdftotext -bbox)."""
    done = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    )
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', done.stdout)
    words = [
        (html.unescape(m[5]), float(m[1]), float(m[2]), float(m[3]), float(m[4]))
        for m in re.finditer(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" '
            r'yMax="([\d.]+)">([^<]*)</word>',
            done.stdout,
        )
    ]
    return (float(page[1]), float(page[2])), words


@pytest.mark.parametrize("count", [4, 12, 21, 24, 60])
def test_many_competencies_and_a_long_title_stay_inside_the_frame(tmp_path, count):
    assert len(LONG_TITLE) == 120
    certificate = _certificate(NHUNG, "NGOKBAY-2025-000123", "AbCdEfGhIjKlMnOp")
    certificate.snapshot["course"] = LONG_TITLE
    certificate.snapshot["competencies"] = [
        {"code": f"{i // 4 + 1}.{i % 4 + 1}", "name": COMPETENCY_NAMES[i % len(COMPETENCY_NAMES)]}
        for i in range(count)
    ]
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf.render([certificate], base_url=BASE))

    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert re.search(r"^Pages:\s+1$", info.stdout, re.M)
    (width, height), words = _words(path)
    assert (round(width, 2), round(height, 2)) == (841.89, 595.28)
    # The outer frame is drawn 10 mm inside the page edge: every word lies within it.
    frame = 10 * 72 / 25.4
    for text, x0, y0, x1, y1 in words:
        assert frame <= x0 < x1 <= width - frame, (text, x0, x1)
        assert frame <= y0 < y1 <= height - frame, (text, y0, y1)
    # Nothing overlaps the signature block: the competencies end above its first line.
    date_top = min(y0 for text, _x0, y0, _x1, _y1 in words if text == "ngày")
    above = [w for w in words if w[2] < date_top]
    assert all(y1 <= date_top for _text, _x0, _y0, _x1, y1 in above)

    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    flowing = " ".join(text.split())
    for word in LONG_TITLE.split():
        assert word in flowing
    codes = [f"{i // 4 + 1}.{i % 4 + 1}" for i in range(count)]
    if count <= 24:  # all of them printed, none left out
        assert all(f"{code} " in flowing for code in codes) and "năng lực khác" not in flowing
    else:  # far too many: the last ones give way to a count, never off the page
        assert re.search(r"… và \d+ năng lực khác", flowing)
    assert NHUNG in text and "NGOKBAY-2025-000123" in text
