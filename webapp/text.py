"""Vietnamese text: NFC normalisation, search folding and name order.

Some Vietnamese keyboards send decomposed accents (NFD), which break matching, sorting
and PDF rendering, so every piece of text that enters the system passes through
:func:`clean`.  Names are ordered the Vietnamese way: by given name (the last word),
then the rest, with ICU's Vietnamese collation (a < ă < â, d < đ, o < ô < ơ, u < ư;
tones ngang < huyền < hỏi < ngã < sắc < nặng).
"""

import unicodedata
from collections.abc import Callable, Iterable
from functools import cache
from typing import TypeVar

import icu

T = TypeVar("T")


def nfc(value: str) -> str:
    """Unicode NFC form of ``value``."""
    return unicodedata.normalize("NFC", value)


def clean(value: str | None) -> str:
    """NFC, trimmed, inner whitespace collapsed to single spaces; None becomes ''."""
    if value is None:
        return ""
    return " ".join(nfc(str(value)).split())


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
