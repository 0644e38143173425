"""Vietnamese text handling: NFC, search folding, and name order."""

import random
import unicodedata

import pytest

from webapp.text import clean, fold, name_sort_key, split_name, vietnamese_sorted


def test_clean_turns_decomposed_accents_into_nfc():
    decomposed = unicodedata.normalize("NFD", "  Đặng   Văn Ướt ")
    assert decomposed != "Đặng Văn Ướt"
    assert clean(decomposed) == "Đặng Văn Ướt"
    assert unicodedata.is_normalized("NFC", clean(decomposed))


def test_fold_drops_accents_and_case_including_d_stroke():
    assert fold("Đặng Văn Ướt") == "dang van uot"
    assert fold(unicodedata.normalize("NFD", "Nguyễn Thị Hồng Nhung")) == "nguyen thi hong nhung"


def test_split_name_takes_the_last_word_as_given_name():
    assert split_name("Nguyễn Thị Hồng Nhung") == ("Nhung", "Nguyễn Thị Hồng")
    assert split_name("Y Hoa") == ("Hoa", "Y")
    assert split_name("Lan") == ("Lan", "")


# Given names in correct Vietnamese order: letters a < ă < â, d < đ, e < ê, o < ô < ơ,
# u < ư; tones ngang < huyền < hỏi < ngã < sắc < nặng.
LETTER_ORDER = ["Anh", "Ăn", "Ân", "Dung", "Đào", "Em", "Êm", "Oanh", "Ông", "Ơn", "Uyên", "Ưng"]
TONE_ORDER = ["Ba", "Bà", "Bả", "Bã", "Bá", "Bạ"]


@pytest.mark.parametrize("expected", [LETTER_ORDER, TONE_ORDER])
def test_given_names_sort_in_vietnamese_alphabet_order(expected):
    shuffled = expected[:]
    random.Random(7).shuffle(shuffled)
    assert vietnamese_sorted(shuffled) == expected


def test_python_default_sort_would_be_wrong():
    # Guards the test above: plain code-point order puts Đ and Ư after Z.
    assert sorted(["Đào", "Dung", "Xuân"]) != vietnamese_sorted(["Đào", "Dung", "Xuân"])


def test_people_sort_by_given_name_then_the_rest():
    names = [
        "Trần Văn Bình",
        "Nguyễn Thị An",
        "Lê Văn Bình",
        "Đặng Văn Ướt",
        "Phạm Thị Ánh",
        "Bùi Văn Đạt",
        "Hồ Văn Dũng",
    ]
    assert vietnamese_sorted(names) == [
        "Nguyễn Thị An",
        "Phạm Thị Ánh",
        "Lê Văn Bình",
        "Trần Văn Bình",
        "Hồ Văn Dũng",
        "Bùi Văn Đạt",
        "Đặng Văn Ướt",
    ]


def test_sort_key_ignores_decomposed_input():
    assert name_sort_key(unicodedata.normalize("NFD", "Đặng Văn Ướt")) == name_sort_key(
        "Đặng Văn Ướt"
    )


def test_sort_key_bytes_order_matches_tuple_order():
    # The database orders by the stored bytes; a short given name must still sort before
    # a longer one that starts with it, whatever the family names are.
    assert name_sort_key("Zô An") < name_sort_key("A Anh")


# --- control and invisible characters ----------------------------------------------------------

# (typed, one-line field, multi-line field)
DIRTY = [
    ("Lê\x00Văn", "LêVăn", "LêVăn"),
    ("a\x07b", "ab", "ab"),
    ("\x1b[31mđỏ", "[31mđỏ", "[31mđỏ"),
    ("d\x7fe\x9b", "de", "de"),
    ("dòng 1\x85dòng 2", "dòng 1 dòng 2", "dòng 1\ndòng 2"),
    (
        "dòng 1\r\ndòng 2\rdòng 3\u2028dòng 4",
        "dòng 1 dòng 2 dòng 3 dòng 4",
        "dòng 1\ndòng 2\ndòng 3\ndòng 4",
    ),
    ("\u202eHoa\u202c", "Hoa", "Hoa"),
    ("\u2066Hoa\u2069\u200e", "Hoa", "Hoa"),
    ("\ufeffHoa", "Hoa", "Hoa"),
    ("H\u200bo\u00ada", "Hoa", "Hoa"),
    ("\ud800Hoa\udfff", "Hoa", "Hoa"),
    ("Hoa\ufffe\uffff\U0010ffff\ufdd0", "Hoa", "Hoa"),
    ("Hoa\U000e0041\U000e007f", "Hoa", "Hoa"),
    ("a\tb", "a b", "a b"),
    ("  \x00  ", "", ""),
    ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # emoji keep their joiner
    (unicodedata.normalize("NFD", "Ướt\x07"), "Ướt", "Ướt"),
]


@pytest.mark.parametrize(("typed", "one_line", "multi_line"), DIRTY)
def test_clean_drops_controls_and_invisible_characters(typed, one_line, multi_line):
    from webapp.text import clean_lines

    assert clean(typed) == one_line
    assert clean_lines(typed) == multi_line


def test_unwanted_covers_every_control_format_and_non_character():
    """The hand-written class of webapp.text.UNWANTED against the Unicode database: every
    control (but the whitespace ones), format character (but the zero-width joiner), surrogate
    and non-character; nothing printable (so the isprintable() shortcut is exact)."""
    import sys

    from webapp.text import UNWANTED

    kept = set("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u200d")
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        unwanted = (
            unicodedata.category(char) in ("Cc", "Cf", "Cs")
            or 0xFDD0 <= code <= 0xFDEF
            or code & 0xFFFE == 0xFFFE
        ) and char not in kept
        matched = UNWANTED.fullmatch(char) is not None
        assert matched or not unwanted, hex(code)
        assert not (matched and char.isprintable()), hex(code)


def test_spreadsheet_cells_take_any_text():
    import io

    import openpyxl

    from webapp.spreadsheet import append, cell_value, to_bytes

    book = openpyxl.Workbook()
    for typed, _, _ in DIRTY:
        append(book.active, [typed, cell_value(typed), 1, None])
    append(book.active, ['=HYPERLINK("http://x")', "+1", "-1", "@a"])
    sheet = openpyxl.load_workbook(io.BytesIO(to_bytes(book))).active
    assert sheet.max_row == len(DIRTY) + 1
    assert sheet["A1"].value == "LêVăn"
    assert [c.data_type for c in sheet[sheet.max_row]] == ["s"] * 4
