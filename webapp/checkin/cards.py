"""A learner card read by staff: the learner code in a scanned text or in a photo of the card
(the trainer's card scanner, a mentor at a meeting)."""

from urllib.parse import urlsplit

import zxingcpp
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from webapp.checkin import services
from webapp.checkin.services import CheckinError

MAX_SIDE = 2000  # photos are scaled down to this before decoding: phones take 4000 px
MAX_PIXELS = 50_000_000  # larger pictures are refused before they are decoded


def learner_code_in(text: str) -> str | None:
    """The learner code in a scanned text: a card's address (``…/p/<code>``) or a bare code.
    None when the text is something else (a session QR, a web link)."""
    text = (text or "").strip()
    if "/" in text:
        _head, found, text = urlsplit(text).path.rstrip("/").rpartition("/p/")
        if not found or "/" in text:
            return None
    code = services.normalise_code(text)
    return code if len(code) == services.CODE_LENGTH else None


def read_photo(file) -> list[str]:
    """The texts of the QR codes in a photo; large photos are scaled down first."""
    try:
        image = Image.open(file)
        if image.width * image.height > MAX_PIXELS:
            raise _not_a_photo()
        image.draft("L", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a smaller scale, much faster
        image = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise _not_a_photo() from None
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    found = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return [barcode.text for barcode in found]


def _not_a_photo() -> CheckinError:
    return CheckinError("not_a_photo", _l("This file is not a photo. Take a photo of the card."))


def codes_in_photo(file) -> list[str]:
    """The learner codes of the cards in a photo (a card's QR), each once; refuses a photo
    with no QR or with no learner card in it."""
    texts = read_photo(file)
    if not texts:
        raise CheckinError(
            "no_qr_in_photo",
            _l(
                "No QR code could be read in this photo. Hold the card flat in good light, "
                "let it fill most of the picture and try again, or type the learner code."
            ),
        )
    codes = [code for code in dict.fromkeys(map(learner_code_in, texts)) if code]
    if not codes:
        raise CheckinError("not_a_card", _l("This QR code is not a learner card."))
    return codes
