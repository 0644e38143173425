"""The PDF read back: exact Vietnamese names and serial (pdftotext), the QR decoded from the
rendered page image (pdftoppm + zxing-cpp)."""

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
        "framework_version": "0.1-draft",
    }
    return SimpleNamespace(snapshot=snapshot, verify_code=code)


def _text(path, page: int) -> str:
    done = subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(path),
                           "-"], capture_output=True, check=True, text=True)  # fmt: skip
    return unicodedata.normalize("NFC", done.stdout)


def test_names_serials_and_qr_read_back(tmp_path):
    # The second name arrives decomposed (NFD), as some keyboards send it.
    certificates = [
        _certificate(NHUNG, "NGOKBAY-2025-000123", "AbCdEfGhIjKlMnOp"),
        _certificate(unicodedata.normalize("NFD", UOT), "NGOKBAY-2025-000124", "q-R_sTuVwXyZ0123"),
    ]
    path = tmp_path / "certs.pdf"
    path.write_bytes(pdf.render(certificates, base_url=BASE))

    first, second = _text(path, 1), _text(path, 2)
    assert NHUNG in first and "NGOKBAY-2025-000123" in first
    assert UOT in second and "NGOKBAY-2025-000124" in second
    for page in (first, second):
        assert "GIẤY CHỨNG NHẬN" in page and "UBND XÃ NGỌK BAY" in page
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in page
        assert "Ngọk Bay, ngày 25 tháng 11 năm 2025" in page and "CHỦ TỊCH" in page
        assert "Y Blúp" in page and "0.1-draft" in page and "7,5 giờ" in page

    subprocess.run(["pdftoppm", "-r", "150", "-png", str(path), str(tmp_path / "page")],
                   check=True)  # fmt: skip
    for page, code in ((1, "AbCdEfGhIjKlMnOp"), (2, "q-R_sTuVwXyZ0123")):
        image = Image.open(tmp_path / f"page-{page}.png")
        assert image.width > image.height  # landscape
        found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
        assert [b.text for b in found] == [f"{BASE}/v/{code}"]


def test_the_page_is_a4_landscape_with_the_fonts_embedded(tmp_path):
    path = tmp_path / "one.pdf"
    path.write_bytes(pdf.render([_certificate(NHUNG, "X-2025-000001", "abc")], base_url=BASE))
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "841.89 x 595.28 pts (A4)" in info.stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True)
    assert "BeVietnamPro" in fonts.stdout and " yes " in fonts.stdout  # embedded
