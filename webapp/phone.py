"""Vietnamese phone numbers in one canonical form: the ten or eleven digits people dial.

Numbers reach Lớp Số typed on phones (``0905 123 456``), pasted from Zalo (``+84 905…``),
from spreadsheets whose "General" cells dropped the leading zero (``905123456``), or with
dots and dashes. Every entry point stores :func:`normalise_phone`'s answer, so a search or
a check-in by number finds the person whichever way it was written.

Canonical forms: mobile ``0`` + 9 digits starting 3, 5, 7, 8 or 9 (``0905123456``);
landline ``02`` + 9 digits (``02553822123``, Quảng Ngãi's area code 255).
"""

import re

_SEPARATORS = re.compile(r"[\s.\-()/]+")
MOBILE = re.compile(r"0[35789]\d{8}")
LANDLINE = re.compile(r"02\d{9}")


class PhoneError(ValueError):
    """The text is not a Vietnamese phone number."""


def normalise_phone(text: str | None) -> str:
    """The canonical form of a Vietnamese number ('' for no number); PhoneError otherwise.

    ``+84 905 123 456``, ``84905123456``, ``0905.123.456`` and ``905123456`` (a zero lost
    in a spreadsheet) all become ``0905123456``.
    """
    raw = _SEPARATORS.sub("", text or "")
    if not raw:
        return ""
    if raw.startswith("+"):
        raw = raw[1:]
        if not raw.startswith("84"):
            raise PhoneError(text)
    if not raw.isdigit() or not raw.isascii():
        raise PhoneError(text)
    if raw.startswith("84") and len(raw) in (11, 12):
        raw = "0" + raw[2:]
    elif not raw.startswith("0") and len(raw) in (9, 10):
        raw = "0" + raw  # Excel turned 0905123456 into the number 905123456
    if MOBILE.fullmatch(raw) or LANDLINE.fullmatch(raw):
        return raw
    raise PhoneError(text)


def phone_or_none(text: str | None) -> str | None:
    """The canonical number, '' for none, or None when the text is not a number."""
    try:
        return normalise_phone(text)
    except PhoneError:
        return None
