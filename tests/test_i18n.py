"""Vietnamese first: the catalogue is complete and the pages really speak Vietnamese."""

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
VI = ROOT / "webapp/translations/vi/LC_MESSAGES/messages.po"


def _extracted_ids(tmp_path) -> set:
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "webapp/babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.fixture(scope="module")
def vietnamese():
    with VI.open("rb") as f:
        return read_po(f, locale="vi")


def test_every_vietnamese_entry_is_translated_and_not_fuzzy(vietnamese):
    untranslated = [
        m.id
        for m in vietnamese
        if m.id and (m.fuzzy or not (m.string if isinstance(m.string, str) else all(m.string)))
    ]
    assert untranslated == []


def test_catalogue_covers_every_string_in_the_code(vietnamese, tmp_path):
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in vietnamese if m.id}
    missing = _extracted_ids(tmp_path) - known
    assert missing == set(), "run `make extract-messages` and translate: " + repr(missing)


def test_placeholders_survive_translation(vietnamese):
    import re

    for m in vietnamese:
        if not m.id:
            continue
        source = m.id if isinstance(m.id, str) else m.id[0]
        target = m.string if isinstance(m.string, str) else m.string[0]
        assert sorted(re.findall(r"%\(\w+\)[sd]", source)) == sorted(
            re.findall(r"%\(\w+\)[sd]", target)
        ), source


def test_log_in_page_is_in_vietnamese(client):
    html = client.get("/").get_data(as_text=True)
    assert "Đăng nhập" in html
    assert "Tên đăng nhập" in html


def test_english_is_available(client):
    client.set_cookie("lang", "en")
    html = client.get("/").get_data(as_text=True)
    assert "Sign in" in html and 'lang="en"' in html
