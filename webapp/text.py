"""Vietnamese text: NFC normalisation, search folding and name order.

Some Vietnamese keyboards send decomposed accents (NFD), which break matching, sorting
and PDF rendering, so every piece of text that enters the system passes through
:func:`clean`.  Names are ordered the Vietnamese way: by given name (the last word),
then the rest, with ICU's Vietnamese collation (a < ă < â, d < đ, o < ô < ơ, u < ư;
tones ngang < huyền < hỏi < ngã < sắc < nặng).

:func:`clean` also drops what no one types on purpose and what breaks storage or exports
(PostgreSQL refuses NUL, openpyxl refuses C0 controls): control characters, lone
surrogates, non-characters (U+FFFE, U+FFFF…) and invisible format characters — zero-width
spaces, the byte-order mark, soft hyphens, bidirectional overrides and isolates (U+202E can
make a name read backwards on screen; Vietnamese is written left to right, so they have no
honest use here) and Unicode tag characters (invisible text).  Zero-width joiner (U+200D) is
kept: emoji sequences need it.  Line breaks survive only in multi-line text
(:func:`clean_lines`); everywhere else any whitespace becomes one space.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from typing import TypeVar

import icu

T = TypeVar("T")


def nfc(value: str) -> str:
    """Unicode NFC form of ``value``."""
    return unicodedata.normalize("NFC", value)


#: What :func:`strip_unwanted` drops: controls (Cc) but the whitespace ones, which separate
#: words; format characters (Cf) but the zero-width joiner; lone surrogates (Cs); the
#: non-characters U+FDD0–U+FDEF and U+xFFFE/U+xFFFF of every plane.  tests/test_text.py
#: checks this list against the Unicode database.
UNWANTED = re.compile(
    "["
    "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"  # C0 (but tab, line breaks, separators), DEL, C1
    "\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b\u200c\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"  # zero-width, bidi
    "\ud800-\udfff\ufdd0-\ufdef\ufeff\ufff9-\ufffb\ufffe\uffff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"  # language tags: invisible text
    + "".join(
        f"{chr(plane + 0xFFFE)}{chr(plane + 0xFFFF)}" for plane in range(0x10000, 0x110000, 0x10000)
    )
    + "]+"
)


def strip_unwanted(value: str) -> str:
    """``value`` without the characters :data:`UNWANTED` matches (whitespace is kept)."""
    return value if value.isprintable() else UNWANTED.sub("", value)


def clean(value: str | None) -> str:
    """One line of text: unwanted characters dropped, NFC, trimmed, whitespace collapsed to
    single spaces; None becomes ''."""
    if value is None:
        return ""
    return " ".join(nfc(strip_unwanted(str(value))).split())


_LINE_BREAK = re.compile("\r\n|[\r\n\v\f\x1c-\x1e\x85\u2028\u2029]")


def clean_lines(value: str | None) -> str:
    """Multi-line text: like :func:`clean` on each line; line breaks kept as ``\\n``, the
    blank lines at either end dropped."""
    if value is None:
        return ""
    lines = _LINE_BREAK.split(nfc(strip_unwanted(str(value))))
    return "\n".join(" ".join(line.split()) for line in lines).strip()


def fold(value: str) -> str:
    """Lower-case without diacritics, for search: 'Đặng Văn Ướt' -> 'dang van uot'."""
    decomposed = unicodedata.normalize("NFD", clean(value).replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(full_name: str) -> str:
    """Key for 'same name' matching: diacritics kept (Lê is not Lệ), case and spacing ignored."""
    return clean(full_name).casefold()


def split_name(full_name: str) -> tuple[str, str]:
    """Split a Vietnamese full name into (given name, the rest in written order)."""
    parts = clean(full_name).split(" ")
    return parts[-1], " ".join(parts[:-1])


@cache
def _collator() -> icu.Collator:
    return icu.Collator.createInstance(icu.Locale("vi_VN"))


def collation_key(text: str) -> bytes:
    """ICU Vietnamese sort key of ``text`` (bytes that compare in Vietnamese order)."""
    return bytes(_collator().getSortKey(clean(text)))


def name_sort_key(full_name: str) -> bytes:
    """Sort key for a person's name: given name first, then the rest.

    ICU sort keys end with a single 0x00 byte that appears nowhere else, so the
    concatenation compares exactly like the tuple (given, rest).
    """
    given, rest = split_name(full_name)
    return collation_key(given) + collation_key(rest)


def vietnamese_sorted(items: Iterable[T], key: Callable[[T], str] = str) -> list[T]:
    """Items sorted by name in Vietnamese order (see :func:`name_sort_key`)."""
    return sorted(items, key=lambda item: name_sort_key(key(item)))


def digits(value: str | None) -> str:
    """Only the digits of ``value`` (for phone numbers)."""
    return "".join(c for c in (value or "") if c.isdigit())
