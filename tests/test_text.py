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
