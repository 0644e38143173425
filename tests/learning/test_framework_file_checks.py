"""`flask framework import` checks the file before writing: unknown keys (misspellings),
codes and names longer than their columns and YAML anchors or aliases are refused with the
file's line, and nothing is imported; the draft's descriptive keys, names and codes exactly
at the column length and decomposed accents import (names stored in NFC)."""

import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.framework import DRAFT_FILE
from webapp.learning.models import Area, CertificateRule, Competency, FrameworkVersion

DRAFT = DRAFT_FILE.read_text(encoding="utf-8")


def _counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (FrameworkVersion, Area, Competency, CertificateRule)
    )


def _line_of(text: str, needle: str) -> int:
    return next(i + 1 for i, line in enumerate(text.splitlines()) if needle in line)


def _import(runner, tmp_path: Path, text: str):
    path = tmp_path / "framework.yaml"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["framework", "import", str(path)])


def _refused(app, runner, tmp_path: Path, text: str) -> str:
    """The command's output for a file it refuses, having imported nothing."""
    with app.app_context():
        before = _counts()
    result = _import(runner, tmp_path, text)
    assert result.exit_code != 0, result.output
    with app.app_context():
        assert _counts() == before == (0, 0, 0, 0)
    return result.output


# --- refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        (
            "      min_level: CB\n",
            "      min_attendence_pct: 90\n      min_level: CB\n",
            "min_attendence_pct",
        ),
        ('  - code: "1"\n', '  - code: "1"\n    nmae_vi: x\n', "nmae_vi"),
        ('      - code: "1.1"\n', '      - code: "1.1"\n        descripton: x\n', "descripton"),
        ("  - id: nguoi_dan\n", "  - id: nguoi_dan\n    min_hour: 3\n", "min_hour"),
        ("target_groups:", "target_group:", "target_group"),
    ],
)
def test_unknown_keys_are_refused_with_their_line(app, runner, tmp_path, old, new, key):
    assert old in DRAFT, old
    text = DRAFT.replace(old, new, 1)
    output = _refused(app, runner, tmp_path, text)
    assert f":{_line_of(text, key + ':')}: unknown key '{key}'" in output


def _with_name(what: str, name: str) -> tuple[str, int]:
    """The draft with the first name_vi / name_en of competency 1.1 or area 1 replaced."""
    lines = DRAFT.splitlines(keepends=True)
    start = _line_of(DRAFT, 'code: "1.1"' if "competency" in what else '- code: "1"')
    key = "name_vi:" if "name_vi" in what else "name_en:"
    index = next(i for i in range(start - 1, len(lines)) if key in lines[i])
    indent = lines[index][: lines[index].index(key)]
    lines[index] = f"{indent}{key} {name}\n"
    return "".join(lines), index + 1


@pytest.mark.parametrize(
    ("what", "old", "new"),
    [
        ("the competency code", 'code: "1.1"', 'code: "1.' + "1" * 20 + '"'),
        ("the area code", '- code: "1"', '- code: "' + "1" * 21 + '"'),
        ("name_vi of competency 1.1", None, "x" * 301),
        ("name_en of area 1", None, "y" * 301),
    ],
)
def test_too_long_codes_and_names_are_refused(app, runner, tmp_path, what, old, new):
    if old is None:
        text, line = _with_name(what, new)
    else:
        text = DRAFT.replace(old, new, 1)
        line = _line_of(text, new)
    output = _refused(app, runner, tmp_path, text)
    assert f":{line}: {what} is too long" in output


@pytest.mark.parametrize(
    "text",
    [
        "meta: &a [*a]\nareas: []\n",
        "meta: {version: x}\nareas:\n  - &area {code: '1', name_vi: a, name_en: a, "
        "competencies: [{code: '1.1', name_vi: b, name_en: b}]}\n  - *area\n",
        "meta: {x: 1}\nareas: []\nlevels: *nothing\n",
    ],
)
def test_yaml_anchors_and_aliases_are_refused(app, runner, tmp_path, text):
    output = _refused(app, runner, tmp_path, text)
    assert "not allowed" in output or "undefined alias" in output
    assert "framework.yaml:" in output and "Traceback" not in output


# --- accepted --------------------------------------------------------------------------------


def test_the_drafts_descriptive_keys_stay_accepted():
    parsed = framework.parse(DRAFT)
    assert parsed.competency_count == 26 and len(parsed.rules) == 4


def test_names_and_codes_at_the_column_length_import(app, runner, tmp_path):
    text, _ = _with_name("name_vi of competency 1.1", "ạ" * 300)
    text = text.replace('code: "1.1"', 'code: "1.' + "1" * 18 + '"', 1)
    text = text.replace('"1.1",', '"1.' + "1" * 18 + '",')  # the rules that require it
    result = _import(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    with app.app_context():
        competency = framework.current_version().competencies[2]
        assert competency.code == "1." + "1" * 18 and competency.name_vi == "ạ" * 300


def test_names_are_stored_in_nfc(app, runner, tmp_path):
    nfd = unicodedata.normalize("NFD", "Sử dụng thiết bị")
    text = DRAFT.replace("Sử dụng thiết bị", nfd, 1)
    assert text != DRAFT
    result = _import(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    with app.app_context():
        names = [c.name_vi for c in framework.current_version().competencies]
        assert "Sử dụng thiết bị" in names
        assert all(unicodedata.is_normalized("NFC", n) for n in names)
