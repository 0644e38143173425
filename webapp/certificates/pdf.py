"""The certificate as PDF: A4 landscape, one page per certificate, fonts embedded.

Everything printed comes from the certificate's snapshot, NFC-normalised (decomposed
accents come out garbled). The font is Be Vietnam Pro (OFL, designed for Vietnamese), from
the ``fontpkg-be-vietnam-pro`` package installed with the app (found with
importlib.resources; no font file is kept in the repository), embedded as a subset. The QR
code is drawn as vector rectangles straight from the QR matrix (one per run of dark
modules): sharp at any printer resolution and far faster than a PNG image per page.

The wording is Vietnamese whatever the interface language: it is an official document of
the commune.
"""

import re
from collections.abc import Iterable
from importlib import resources
from typing import Protocol

import zxingcpp
from fpdf import FPDF

from webapp.text import nfc

FONT = "BeVietnamPro"
FONT_FILES = {"": "Regular", "B": "Bold", "I": "Italic"}

PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
MARGIN = 15.0  # office printers leave about 5 mm unprinted; 15 mm leaves room for a frame
QR_SIZE = 32.0  # mm, border included: phones read it from arm's length
INK = (20, 20, 20)
ACCENT = (150, 20, 20)


class Printable(Protocol):
    snapshot: dict
    verify_code: str


def font_path(style: str = "") -> str:
    """Path of the installed Be Vietnam Pro file for ``style`` ("", "B" or "I")."""
    files = resources.files("fontpkg_be_vietnam_pro") / "files"
    return str(files / f"BeVietnamPro-{FONT_FILES[style]}.ttf")


def new_document(title: str = "Giấy chứng nhận") -> FPDF:
    """An empty A4 landscape document with the fonts loaded.

    The fonts are loaded for each document (about 30 ms for the three styles, once for a
    bulk PDF of any size): fpdf2 shares a font object between copies of a document and
    subsets it in place when writing, so a cached, pre-loaded document cannot be reused.
    """
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    for style in FONT_FILES:
        pdf.add_font(FONT, style, font_path(style))
    pdf.set_creator("Lớp Số")
    pdf.set_title(nfc(title))
    return pdf


def render(certificates: Iterable[Printable], *, base_url: str | None = None) -> bytes:
    """One PDF with one page per certificate, in the order given."""
    if base_url is None:
        from flask import current_app

        base_url = current_app.config["BASE_URL"]
    pdf = new_document()
    for certificate in certificates:
        draw_page(pdf, certificate.snapshot)
        draw_qr(pdf, verify_url(base_url, certificate.verify_code), *QR_POSITION)
    return bytes(pdf.output())


def verify_url(base_url: str, verify_code: str) -> str:
    """What the certificate's QR holds: its public verification page."""
    return f"{base_url.rstrip('/')}/v/{verify_code}"


QR_POSITION = (MARGIN + 8, PAGE_H - MARGIN - 8 - QR_SIZE, QR_SIZE)


def qr_modules(text: str) -> tuple[bytes, int]:
    """The QR code of ``text`` (error level M, no quiet zone) as one byte per module, row by
    row (0 dark, 255 light), and its width in modules.

    zxing-cpp's C++ encoder takes about 0.2 ms where the pure-Python ``qrcode`` package takes
    15 ms (it tries all eight masks in Python); both write standard QR codes.
    """
    barcode = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    image = barcode.to_image(scale=1, add_quiet_zones=False)
    width = image.shape[1]
    return bytes(memoryview(image)), width


_DARK_RUN = re.compile(rb"\x00+")


def draw_qr(pdf: FPDF, text: str, x: float, y: float, size: float) -> None:
    """The QR code of ``text`` in a ``size`` mm square (quiet zone included) at (x, y).

    Drawn as one filled path of rectangles, one per horizontal run of dark modules: vector,
    so sharp on any printer, and written as raw PDF operators because three hundred
    ``FPDF.rect`` calls a page cost more than the whole rest of the page.
    """
    modules, width = qr_modules(text)
    module = size / (width + 8)  # a quiet zone of four modules on each side
    k, page_h = pdf.k, pdf.h
    x0, y0 = (x + 4 * module) * k, (page_h - y - 4 * module) * k
    m = module * k
    h = -m * 1.02  # a hair taller, so rows leave no hairline gaps between them
    ops = ["q 0 g"]
    for row in range(width):
        top = y0 - row * m
        for run in _DARK_RUN.finditer(modules, row * width, (row + 1) * width):
            start = run.start() - row * width
            ops.append(f"{x0 + start * m:.2f} {top:.2f} {(run.end() - run.start()) * m:.2f} "
                       f"{h:.2f} re")  # fmt: skip
    ops.append("f Q")
    pdf._out("\n".join(ops))


def _text(value) -> str:
    return nfc(str(value)) if value is not None else ""


def _line(pdf: FPDF, y: float, text: str, *, size: float, style: str = "", x: float = MARGIN,
          w: float = PAGE_W - 2 * MARGIN, align: str = "C", color=INK) -> None:  # fmt: skip
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*color)
    pdf.set_xy(x, y)
    pdf.cell(w, size * 0.5, _text(text), align=align)


def draw_page(pdf: FPDF, s: dict) -> None:
    """One certificate page from its snapshot (the QR is drawn by the caller)."""
    pdf.add_page()
    # A double frame inside the printable area.
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(1.2)
    pdf.rect(MARGIN - 5, MARGIN - 5, PAGE_W - 2 * MARGIN + 10, PAGE_H - 2 * MARGIN + 10)
    pdf.set_line_width(0.3)
    pdf.rect(MARGIN - 3, MARGIN - 3, PAGE_W - 2 * MARGIN + 6, PAGE_H - 2 * MARGIN + 6)

    half = (PAGE_W - 2 * MARGIN) / 2
    left, right = MARGIN, MARGIN + half
    # Heading: the issuing committee on the left, the national motto on the right.
    _line(pdf, MARGIN + 2, _text(s.get("committee", "")).upper(), size=11, style="B", x=left,
          w=half - 20)  # fmt: skip
    _line(pdf, MARGIN + 2, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=11, style="B", x=right,
          w=half)  # fmt: skip
    _line(pdf, MARGIN + 8, "Độc lập - Tự do - Hạnh phúc", size=11, style="B", x=right, w=half)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.3)
    centre = right + half / 2
    pdf.line(centre - 27, MARGIN + 14, centre + 27, MARGIN + 14)
    pdf.line(left + (half - 20) / 2 - 15, MARGIN + 8.5, left + (half - 20) / 2 + 15, MARGIN + 8.5)
    _line(pdf, MARGIN + 10, f"Số: {s.get('serial', '')}", size=9, x=left, w=half - 20)

    _line(pdf, 48, "GIẤY CHỨNG NHẬN", size=30, style="B", color=ACCENT)
    _line(pdf, 63, "HOÀN THÀNH KHÓA HỌC KỸ NĂNG SỐ", size=13, style="B")
    _line(pdf, 74, "Chứng nhận ông/bà:", size=12, style="I")
    _line(pdf, 82, s.get("full_name", ""), size=24, style="B")
    place = f"Năm sinh: {s.get('birth_year', '')}      Thôn: {s.get('village', '')}"
    _line(pdf, 96, place, size=12)
    _line(pdf, 104, f"Đã hoàn thành khóa học: {s.get('course', '')}", size=13, style="B")
    _line(pdf, 112, f"Số giờ học: {_hours(s.get('hours'))}", size=12)
    _competency_lines(pdf, s.get("competencies", []))

    # Signature block, bottom right: date and place, title, room for signature and seal, name.
    sign_x, sign_w = right + 10, half - 10
    _line(pdf, 150, s.get("date_text", ""), size=11, style="I", x=sign_x, w=sign_w)
    _line(pdf, 157, _text(s.get("signer_title", "")).upper(), size=12, style="B", x=sign_x,
          w=sign_w)  # fmt: skip
    _line(pdf, 184, s.get("signer_name", ""), size=12, style="B", x=sign_x, w=sign_w)

    # Bottom left, beside the QR: serial and framework version.
    text_x = QR_POSITION[0] + QR_SIZE + 3
    _line(pdf, PAGE_H - MARGIN - 32, f"Số hiệu: {s.get('serial', '')}", size=10, style="B",
          x=text_x, w=80, align="L")  # fmt: skip
    version = s.get("framework_version", "")
    if version:
        _line(pdf, PAGE_H - MARGIN - 26, f"Khung năng lực số: phiên bản {version}", size=8.5,
              x=text_x, w=80, align="L")  # fmt: skip
    _line(pdf, PAGE_H - MARGIN - 20, "Quét mã QR để kiểm tra giấy chứng nhận", size=8.5,
          style="I", x=text_x, w=80, align="L")  # fmt: skip


def _competency_lines(pdf: FPDF, competencies: list[dict]) -> None:
    """The competencies achieved, one a line (two a line beyond four), under a heading.

    Lines are laid out here rather than with ``multi_cell``, whose line breaking measures
    the line again for every character (it took most of the page's time).
    """
    items = [f"{_text(c.get('code'))} {_text(c.get('name'))}".strip() for c in competencies]
    if not items:
        return
    per_line = -(-len(items) // 4)  # at most four lines, under the signature block
    lines = ["; ".join(items[i : i + per_line]) for i in range(0, len(items), per_line)]
    size = {1: 10.5, 2: 9.5}.get(per_line, 8)
    _line(pdf, 119, "Năng lực số đạt được:", size=size, style="I")
    for i, line in enumerate(lines):
        _line(pdf, 124.5 + i * 5, line, size=size)


def _hours(value) -> str:
    if value is None:
        return ""
    number = float(value)
    text = f"{number:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text} giờ"
