"""QR codes as SVG, drawn server-side (no script needed to show them)."""

import base64

import qrcode
import qrcode.constants
import qrcode.image.svg
from markupsafe import Markup


def make(text: str, *, border: int = 2) -> qrcode.QRCode:
    """The QR code of ``text`` at error level M, in the smallest version that holds it."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(text)
    code.make(fit=True)
    return code


def svg(text: str, *, border: int = 2) -> bytes:
    return (
        make(text, border=border)
        .make_image(image_factory=qrcode.image.svg.SvgPathImage)
        .to_string()
    )


def data_uri(text: str, *, border: int = 2) -> str:
    """An SVG data URI for an ``<img>`` (the CSP allows data: images)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg(text, border=border)).decode()


def inline_svg(text: str, *, label: str, border: int = 2) -> Markup:
    """The QR as inline ``<svg>`` with an accessible name (scales to its container)."""
    body = svg(text, border=border).decode()
    body = body[body.index("<svg") :]
    body = body.replace("<svg ", f'<svg role="img" aria-label="{Markup.escape(label)}" ', 1)
    return Markup(body)
