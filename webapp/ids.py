"""Integers (and words) that come from addresses, query strings and forms.

Row ids are 32-bit integers in the database (PostgreSQL ``integer``). A larger number in a
crafted address must never reach the database — SQLite cannot even bind a number beyond 64
bits, PostgreSQL refuses one beyond 32 — so it is simply not found (paths) or ignored
(query strings). Likewise a token or code in an address never holds a control character
(PostgreSQL refuses NUL in a query): such an address matches no route.
"""

from flask import request
from werkzeug.routing import IntegerConverter, UnicodeConverter

from webapp.text import UNWANTED

#: The largest row id (a PostgreSQL ``integer``).
MAX_ID = 2**31 - 1


def row_id(value) -> int | None:
    """``value`` as a row id (1 … MAX_ID), or None for anything else."""
    return bounded_int(value, 1, MAX_ID)


def bounded_int(value, low: int, high: int) -> int | None:
    """``value`` (a str or int) as an integer within [low, high], or None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip() if value is not None else ""
        if not text.isascii() or not text.lstrip("+-").isdigit() or len(text) > 12:
            return None
        number = int(text)
    return number if low <= number <= high else None


def query_int(name: str, default: int | None = None, *, low: int = 1, high: int = MAX_ID):
    """The value ``name`` of the query string (of the posted form, for a POST) as an integer
    within [low, high]; ``default`` when it is missing, not a plain integer or out of range
    (``?page=abc``, ``?page=-5``, ``?village=99999999999999999999``, ``?village=1e9``)."""
    values = request.form if request.method == "POST" else request.args
    number = bounded_int(values.get(name), low, high)
    return default if number is None else number


class RowIdConverter(IntegerConverter):
    """The app's ``int`` URL converter: 1 to 10 ASCII digits, 1 … MAX_ID; anything else is 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map, fixed_digits=0, min=1, max=MAX_ID, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=False)


class WordConverter(UnicodeConverter):
    """The app's default URL converter (``<token>``, ``<code>``…): any text without a slash,
    a control character or an invisible one (see :data:`webapp.text.UNWANTED`)."""

    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        repeat = self.regex[self.regex.index("]") + 1 :]  # "+", "{1,}", "{6}"…
        self.regex = f"[^/\\x00-\\x1f\\x7f{UNWANTED.pattern[1:-2]}]{repeat}"
