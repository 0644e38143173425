"""`flask framework import`: the draft becomes version 1; a faulty file is refused with its
line and nothing is written."""

from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from tests.factories import NOW
from webapp.extensions import db
from webapp.learning import framework
from webapp.learning.framework import DRAFT_FILE, seed_framework
from webapp.learning.models import Area, CertificateRule, Competency, FrameworkVersion

DRAFT = DRAFT_FILE.read_text(encoding="utf-8")


def _counts():
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (FrameworkVersion, Area, Competency, CertificateRule)
    )


def _import(runner, tmp_path: Path, text: str):
    path = tmp_path / "framework.yaml"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["framework", "import", str(path)])


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = text.splitlines()
    hits = [i + 1 for i, line in enumerate(lines) if needle in line]
    return hits[occurrence - 1]


def test_the_draft_imports_as_version_1(app, runner):
    result = runner.invoke(args=["framework", "import", str(DRAFT_FILE)])
    assert result.exit_code == 0, result.output
    assert "Framework version 1 (0.1-draft): 7 areas, 26 competencies, 4 certificate rules" in (
        result.output
    )
    with app.app_context():
        version = framework.current_version()
        assert version.number == 1 and version.label == "0.1-draft"
        assert [a.code for a in version.areas] == ["0", "1", "2", "3", "4", "5", "6"]
        assert len(version.competencies) == 26
        assert version.competencies[0].name_en == "Device use"
        rules = {r.target_group: r for r in version.rules}
        assert rules["citizen"].required_codes == [
            "0.1",
            "0.2",
            "1.1",
            "1.2",
            "2.1",
            "2.3",
            "2.5",
            "4.1",
            "4.2",
            "6.1",
        ]
        student = rules["student"].required_codes  # all_24: every competency of areas 1-6
        assert len(student) == 24 and "0.1" not in student and "6.3" in student
        assert len(rules["public_sector"].required_codes) == 21
        assert {g: (r.min_attendance_pct, r.min_hours) for g, r in rules.items()} == {
            "public_sector": (80, 12.0),
            "student": (80, 0.0),
            "enterprise_worker": (80, 8.0),
            "citizen": (80, 8.0),
        }
        assert framework.competency_names(version)["2.3"].startswith("Sử dụng công nghệ số")


def test_a_second_import_is_version_2_and_leaves_version_1(app, runner, tmp_path):
    assert runner.invoke(args=["framework", "import", str(DRAFT_FILE)]).exit_code == 0
    changed = DRAFT.replace('version: "0.1-draft"', 'version: "0.2-draft"').replace(
        'name_vi: "Sử dụng thiết bị"\n', 'name_vi: "Dùng thiết bị"\n'
    )
    result = _import(runner, tmp_path, changed)
    assert result.exit_code == 0, result.output
    with app.app_context():
        v1, v2 = framework.get_version(1), framework.get_version(2)
        assert framework.current_version().id == v2.id and v2.label == "0.2-draft"
        assert v1.competencies[0].name_vi == "Sử dụng thiết bị"
        assert v2.competencies[0].name_vi == "Dùng thiết bị"
        assert _counts() == (2, 14, 52, 8)


def test_explicit_thresholds_in_the_file(app, runner, tmp_path):
    text = DRAFT.replace(
        "  - id: nguoi_dan\n", "  - id: nguoi_dan\n    min_attendance_pct: 70\n    min_hours: 6.5\n"
    ).replace(
        '      min_level: CB\n      required_areas: ["0", "1", "2", "4", "6"]\n',
        '      min_level: CB\n      min_hours: 4\n      required_areas: ["0"]\n',
    )
    result = _import(runner, tmp_path, text)
    assert result.exit_code == 0, result.output
    with app.app_context():
        rule = framework.current_version().rule_for("citizen")
        # basic_certificate wins over the group level
        assert (rule.min_attendance_pct, rule.min_hours) == (70, 4.0)


CASES = {
    "yaml syntax": (
        DRAFT.replace('    name_en: "Safety"\n', '    name_en: "Safety\n    : [\n', 1),
        None,
        "not valid YAML",
    ),
    "missing key": (
        DRAFT.replace('        name_vi: "Bảo vệ thiết bị"\n', "", 1),
        ('code: "4.1"', 1),
        "missing key 'name_vi' in competency 4.1",
    ),
    "duplicate code": (
        DRAFT.replace('code: "4.2"', 'code: "4.1"', 1),
        ('code: "4.1"', 2),
        "duplicate competency code '4.1'",
    ),
    "unknown competency in a rule": (
        DRAFT.replace('"4.1", "4.2", "6.1"]', '"4.1", "4.9", "6.1"]', 1),
        ('"4.1", "4.9", "6.1"]', 1),
        "requires unknown competency '4.9'",
    ),
    "unknown group": (
        DRAFT.replace("  - id: hoc_sinh\n", "  - id: sinh_vien\n", 1),
        ("id: sinh_vien", 1),
        "unknown target group 'sinh_vien'",
    ),
    "duplicate key": (
        DRAFT.replace(
            '    name_en: "Problem solving"\n',
            '    name_en: "Problem solving"\n    name_en: "Again"\n',
            1,
        ),
        ('name_en: "Again"', 1),
        "duplicate key 'name_en'",
    ),
    "attendance out of range": (
        DRAFT.replace("  - id: nguoi_dan\n", "  - id: nguoi_dan\n    min_attendance_pct: 180\n", 1),
        ("min_attendance_pct: 180", 1),
        "min_attendance_pct must be between 0 and 100",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_faulty_file_is_refused_with_its_line_and_nothing_is_written(app, runner, tmp_path, case):
    text, where, reason = CASES[case]
    result = _import(runner, tmp_path, text)
    assert result.exit_code != 0
    assert reason in result.output, result.output
    if where is not None:
        line = _line_of(text, *where)
        assert f"framework.yaml:{line}: " in result.output, (line, result.output)
    else:
        assert "framework.yaml:" in result.output and ": not valid YAML" in result.output
    with app.app_context():
        assert _counts() == (0, 0, 0, 0)


def test_a_yaml_syntax_error_gives_the_line_from_the_parser(app, runner, tmp_path):
    text = DRAFT.replace('  - code: "5"\n', "  - code: [5\n", 1)
    result = _import(runner, tmp_path, text)
    assert result.exit_code != 0
    with app.app_context():
        assert _counts() == (0, 0, 0, 0)
    with pytest.raises(yaml.MarkedYAMLError) as error:
        yaml.safe_load(text)
    assert f"framework.yaml:{error.value.problem_mark.line + 1}: " in result.output


def test_a_faulty_file_after_version_1_leaves_version_1_alone(app, runner, tmp_path):
    assert runner.invoke(args=["framework", "import", str(DRAFT_FILE)]).exit_code == 0
    result = _import(runner, tmp_path, DRAFT.replace('code: "4.2"', 'code: "4.1"', 1))
    assert result.exit_code != 0
    with app.app_context():
        assert _counts() == (1, 7, 26, 4)


def test_seed_framework_imports_the_draft_once(app):
    with app.app_context():
        first = seed_framework(NOW)
        assert first is not None and first.number == 1
        assert seed_framework(NOW) is None
        assert _counts() == (1, 7, 26, 4)
