"""QR codes as SVG, drawn server-side (no script needed to show them)."""

import base64

import qrcode
import qrcode.constants
import qrcode.image.svg
from markupsafe import Markup
from qrcode.image.styles.moduledrawers.svg import SvgPathSquareDrawer


def make(text: str, *, border: int = 2) -> qrcode.QRCode:
    """The QR code of ``text`` at error level M, in the smallest version that holds it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(text)
    code.make(fit=True)
    return code


class _RowRunDrawer(SvgPathSquareDrawer):
    """The library's square path drawer, with the dark modules next to each other in a row
    drawn as one rectangle: half the size (a class's cards page draws dozens of QR codes)."""

    def initialize(self, *args, **kwargs) -> None:
        super().initialize(*args, **kwargs)
        self._run: tuple | None = None  # (start, end, y) of the rectangle drawn last

    def drawrect(self, box, is_active: bool):
        if not is_active:
            return
        x, y = box[0]
        start = x
        if self._run and self._run[1:] == (x, y):  # continues the last rectangle
            start = self._run[0]
            self.img._subpaths.pop()
        self._run = (start, x + self.img.box_size, y)
        width, height, start, y = (
            self.img.units(v, text=False)
            for v in (x + self.img.box_size - start, self.img.box_size, start, y)
        )
        self.img._subpaths.append(f"M{start},{y}h{width}v{height}h-{width}z")


def svg(text: str, *, border: int = 2) -> bytes:
    """The QR of ``text`` as an SVG document with one ``<path>`` (and no id: a page holds many)."""
    drawer = _RowRunDrawer()  # the finder squares too: one rule for every module
    image = make(text, border=border).make_image(
        image_factory=qrcode.image.svg.SvgPathImage, module_drawer=drawer, eye_drawer=drawer
    )
    image.path.attrib.pop("id", None)
    return image.to_string()


def data_uri(text: str, *, border: int = 2) -> str:
    """An SVG data URI for an ``<img>`` (the CSP allows data: images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg(text, border=border)).decode()


def inline_svg(text: str, *, label: str, border: int = 2) -> Markup:
    """The QR as inline ``<svg>`` with an accessible name (scales to its container)."""
    body = svg(text, border=border).decode()
    body = body[body.index("<svg") :]
    body = body.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(body)
