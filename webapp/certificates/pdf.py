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
import unicodedata
from collections.abc import Iterable
from importlib import resources
from typing import Protocol
from urllib.parse import quote

import zxingcpp
from fpdf import FPDF
from werkzeug.http import dump_options_header

from webapp.text import nfc, strip_unwanted

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


#: What no file name may hold on the usual systems (Windows is the strictest), and controls.
_UNSAFE_IN_NAMES = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
NAME_MAX = 120


def download_name(*parts: str) -> str:
    """The PDF's file name, in Vietnamese, from its parts:
    "Giấy chứng nhận - Thôn Kon Rờ Bàng 1.pdf" (characters a file system refuses are left out,
    at most ``NAME_MAX`` characters)."""
    cleaned = (" ".join(_UNSAFE_IN_NAMES.sub(" ", _text(part)).split()) for part in parts)
    stem = " - ".join(part for part in cleaned if part) or "Giấy chứng nhận"
    return f"{stem[: NAME_MAX - 4].rstrip(' .-')}.pdf"


def ascii_name(name: str) -> str:
    """The name without diacritics for clients that do not read RFC 5987's ``filename*``:
    "Giay chung nhan - Dang Van Uot.pdf" (đ becomes d instead of disappearing)."""
    decomposed = unicodedata.normalize("NFKD", name.replace("đ", "d").replace("Đ", "D"))
    return decomposed.encode("ascii", "ignore").decode("ascii")


def attachment(name: str) -> str:
    """A Content-Disposition that saves the file as ``name``: an ASCII ``filename`` and the
    UTF-8 ``filename*`` (RFC 6266 / 5987), which browsers prefer."""
    quoted = quote(name, safe="!#$&+-.^_`|~")
    return dump_options_header(
        "attachment", {"filename": ascii_name(name), "filename*": f"UTF-8''{quoted}"}
    )


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
            ops.append(
                f"{x0 + start * m:.2f} {top:.2f} {(run.end() - run.start()) * m:.2f} {h:.2f} re"
            )
    ops.append("f Q")
    pdf._out("\n".join(ops))


def _text(value) -> str:
    # strip_unwanted: controls and invisible characters have no glyph (old records may hold them)
    return nfc(strip_unwanted(str(value))) if value is not None else ""


def _fit_size(pdf: FPDF, text: str, w: float, size: float, style: str, floor: float) -> float:
    """The largest size from ``size`` down to ``floor`` at which ``text`` fits in ``w`` mm (the
    floor when even that is too wide: the caller wraps)."""
    pdf.set_font(FONT, style, size)
    width = pdf.get_string_width(text)
    if width <= w:
        return size
    return max(floor, size * w / width * 0.995)


def _line(
    pdf: FPDF,
    y: float,
    text: str,
    *,
    size: float,
    style: str = "",
    x: float = MARGIN,
    w: float = PAGE_W - 2 * MARGIN,
    align: str = "C",
    color=INK,
    floor: float | None = None,
) -> float:
    """One line of text, shrunk (down to ``floor``, by default half the size) so it stays
    inside ``w``; returns the size used."""
    text = _text(text)
    size = _fit_size(pdf, text, w, size, style, floor if floor is not None else size / 2)
    pdf.set_font(FONT, style, size)
    pdf.set_text_color(*color)
    pdf.set_xy(x, y)
    pdf.cell(w, size * 0.5, text, align=align)
    return size


def _wrap(pdf: FPDF, words: list[str], w: float) -> list[str]:
    """Greedy line breaking of ``words`` into lines at most ``w`` mm wide, at the current font
    (a single word wider than ``w`` gets a line of its own; the caller shrinks to avoid it)."""
    space = pdf.get_string_width(" ")
    lines: list[str] = []
    line: list[str] = []
    width = 0.0
    for word in words:
        word_w = pdf.get_string_width(word)
        if line and width + space + word_w > w:
            lines.append(" ".join(line))
            line, width = [word], word_w
        else:
            width += (space if line else 0.0) + word_w
            line.append(word)
    if line:
        lines.append(" ".join(line))
    return lines


def _widest(pdf: FPDF, lines: list[str]) -> float:
    return max((pdf.get_string_width(line) for line in lines), default=0.0)


def _block(
    pdf: FPDF,
    y: float,
    text: str,
    *,
    sizes: Iterable[float],
    style: str = "",
    max_lines: int,
    w: float = PAGE_W - 2 * MARGIN,
    x: float = MARGIN,
    leading: float = 0.5,
) -> float:
    """``text`` centred over at most ``max_lines`` lines at the first size in ``sizes`` at which
    it fits (the last size, shrunk further to fit, otherwise); returns the y below it."""
    words = _text(text).split()
    for size in sizes:
        pdf.set_font(FONT, style, size)
        lines = _wrap(pdf, words, w)
        if len(lines) <= max_lines and _widest(pdf, lines) <= w:
            break
    else:
        lines = _wrap(pdf, words, w)
        while len(lines) > max_lines or _widest(pdf, lines) > w:
            size *= 0.92
            pdf.set_font(FONT, style, size)
            lines = _wrap(pdf, words, w)
    pdf.set_text_color(*INK)
    for line in lines:
        pdf.set_xy(x, y)
        pdf.cell(w, size * leading, line, align="C")
        y += size * leading
    return y


def draw_page(pdf: FPDF, s: dict) -> None:
    """One certificate page from its snapshot (the QR is drawn by the caller).

    Every line is measured: a long name, course title or committee is shrunk (and the
    course title wrapped over two lines) so nothing leaves the frame; the competencies flow
    over as many lines as the space above the signature block allows, at a smaller size if
    need be (see :func:`_competency_lines`).
    """
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
    _line(
        pdf,
        MARGIN + 2,
        _text(s.get("committee", "")).upper(),
        size=11,
        style="B",
        x=left,
        w=half - 20,
    )
    _line(
        pdf, MARGIN + 2, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", size=11, style="B", x=right, w=half
    )
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
    _line(pdf, 82, s.get("full_name", ""), size=24, style="B", floor=12)
    place = f"Năm sinh: {s.get('birth_year', '')}      {village_text(s.get('village', ''))}"
    _line(pdf, 96, place, size=12, floor=8)
    course = _text(f"Đã hoàn thành khóa học: {s.get('course', '')}")
    pdf.set_font(FONT, "B", 13)
    if pdf.get_string_width(course) <= PAGE_W - 2 * MARGIN:
        _line(pdf, 104, course, size=13, style="B")
        y = 112.0
    else:  # a long title: two lines, smaller
        y = _block(pdf, 103, course, sizes=(12, 11, 10), style="B", max_lines=2, leading=0.45)
        y += 1.5
    _line(pdf, y, f"Số giờ học: {_hours(s.get('hours'))}", size=12)
    _competency_lines(pdf, s.get("competencies", []), top=y + 7)

    # Signature block, bottom right: date and place, title, room for signature and seal, name.
    sign_x, sign_w = right + 10, half - 10
    _line(pdf, 150, s.get("date_text", ""), size=11, style="I", x=sign_x, w=sign_w)
    _line(
        pdf, 157, _text(s.get("signer_title", "")).upper(), size=12, style="B", x=sign_x, w=sign_w
    )
    _line(pdf, 184, s.get("signer_name", ""), size=12, style="B", x=sign_x, w=sign_w)

    # Bottom left, beside the QR: serial and framework version.
    text_x = QR_POSITION[0] + QR_SIZE + 3
    text_w = sign_x - text_x - 3
    _line(
        pdf,
        PAGE_H - MARGIN - 32,
        f"Số hiệu: {s.get('serial', '')}",
        size=10,
        style="B",
        x=text_x,
        w=text_w,
        align="L",
    )
    version = version_text(s)
    if version:
        _line(
            pdf,
            PAGE_H - MARGIN - 26,
            version,
            size=8.5,
            x=text_x,
            w=text_w,
            align="L",
        )
    _line(
        pdf,
        PAGE_H - MARGIN - 20,
        "Quét mã QR để kiểm tra giấy chứng nhận",
        size=8.5,
        style="I",
        x=text_x,
        w=text_w,
        align="L",
    )


#: The competencies end above the signature block's first line (y = 150 mm).
COMPETENCIES_BOTTOM = 148.5
#: Sizes tried in turn for the competencies, largest first; the last is the floor.
COMPETENCY_SIZES = (10.5, 9.5, 8.5, 8, 7.5, 7)
COMPETENCY_LEADING = 0.45  # line height, mm per point of font size


def _competency_lines(pdf: FPDF, competencies: list[dict], *, top: float = 119.0) -> None:
    """The competencies achieved, "1.1 Name; 1.2 Name; …", flowing over as many lines as fit
    between ``top`` and the signature block, under a heading, at the largest size that holds
    them all (down to 7 pt). Only if even that is too long do the last ones give way to
    "… và K năng lực khác".

    Lines are broken here rather than with ``multi_cell``, whose line breaking measures the
    line again for every character (it took most of the page's time).
    """
    items = [f"{_text(c.get('code'))} {_text(c.get('name'))}".strip() for c in competencies]
    items = [item for item in items if item]
    if not items:
        return
    w = PAGE_W - 2 * MARGIN

    def lay_out(size: float, shown: list[str], rest: int) -> list[str] | None:
        pdf.set_font(FONT, "", size)
        parts = shown + ([f"… và {rest} năng lực khác"] if rest else [])
        lines = _wrap(pdf, "; ".join(parts).split(), w)
        height = size * COMPETENCY_LEADING * (len(lines) + 1) + 1
        fits = top + height <= COMPETENCIES_BOTTOM and _widest(pdf, lines) <= w
        return lines if fits else None

    chosen = None
    for size in COMPETENCY_SIZES:
        if (lines := lay_out(size, items, 0)) is not None:
            chosen = size, lines
            break
    if chosen is None:  # last resort: as many as fit at the floor, then how many are left out
        size = COMPETENCY_SIZES[-1]
        for keep in range(len(items) - 1, -1, -1):
            if (lines := lay_out(size, items[:keep], len(items) - keep)) is not None:
                chosen = size, lines
                break
        else:
            return
    size, lines = chosen
    step = size * COMPETENCY_LEADING
    _line(pdf, top, "Năng lực số đạt được:", size=size, style="I")
    pdf.set_font(FONT, "", size)
    pdf.set_text_color(*INK)
    y = top + step + 1
    for line in lines:
        pdf.set_xy(MARGIN, y)
        pdf.cell(w, step, line, align="C")
        y += step


#: Words a village's name may already start with ("Thôn Kon Rờ Bàng 1", "Làng Mới").
SETTLEMENT_WORDS = ("thôn", "làng", "buôn", "bản", "xóm", "ấp", "plei", "tổ", "khu")


def village_text(name: str) -> str:
    """ "Thôn: Kon Rờ Bàng" — or the name alone when it already says what it is
    ("Thôn Kon Rờ Bàng 1", not "Thôn: Thôn Kon Rờ Bàng 1")."""
    name = _text(name).strip()
    first = name.split(" ", 1)[0].casefold()
    return name if first in SETTLEMENT_WORDS else f"Thôn: {name}"


def version_text(s: dict) -> str:
    """ "Khung năng lực số: phiên bản 1": the framework version by its number, the way the app
    names versions (never the label of its source file, e.g. "0.1-draft"); empty without one."""
    number = s.get("framework_version_number")
    return f"Khung năng lực số: phiên bản {number}" if number else ""


def _hours(value) -> str:
    if value is None:
        return ""
    number = float(value)
    text = f"{number:.1f}".rstrip("0").rstrip(".").replace(".", ",")
    return f"{text} giờ"
