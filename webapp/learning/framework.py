"""The framework file: reading it (with the line of every mistake), importing it as a new
version, and looking versions up.

File format (see framework-draft.yaml, the draft that becomes version 1)::

    meta: {version: "0.1-draft", ...}            # optional; `version` becomes the label
    areas:
      - code: "1"                                # required: code, name_vi, name_en
        name_vi: ...
        name_en: ...
        competencies:
          - {code: "1.1", name_vi: ..., name_en: ..., description: ...}   # description optional
    target_groups:
      - id: nguoi_dan                            # a draft id or a TargetGroup value
        basic_certificate:
          required_competencies: ["0.1", "1.1"]  # or all_24: every competency of areas 1-6
          min_attendance_pct: 80                 # optional (here or next to `id`)
          min_hours: 8                           # optional

Every mapping the importer reads (the file, an area, a competency, a target group, its
basic_certificate) accepts only the keys it knows (KNOWN_KEYS): a misspelt key such as
``min_attendence_pct`` is refused with its line instead of silently falling back to a
default. The draft's descriptive keys (source, notes, name_vi_variants, levels,
recommended…) are known and ignored; only ``meta`` is kept, as the version's ``meta``.

Refused too, each with its line and nothing written: YAML anchors and aliases (``&a``,
``*a``: a self-referencing alias would loop for ever), codes longer than the database
column (20 characters) and names longer than theirs (300 characters). Texts are stored in
Unicode NFC (webapp.text.clean), whatever the editor saved.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import yaml
from flask_babel import get_locale
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.learning.models import Area, CertificateRule, Competency, FrameworkVersion
from webapp.people.models import TargetGroup
from webapp.text import clean

DRAFT_FILE = Path(__file__).with_name("framework-draft.yaml")

#: The draft's target-group ids and our TargetGroup values (which the file may also use).
GROUP_IDS = {
    "cbccvc": TargetGroup.PUBLIC_SECTOR,
    "hoc_sinh": TargetGroup.STUDENT,
    "nld_doanh_nghiep_htx": TargetGroup.ENTERPRISE_WORKER,
    "nguoi_dan": TargetGroup.CITIZEN,
    **{group.value: group for group in TargetGroup},
}

#: Attendance and hours a group needs when the file does not say (`min_attendance_pct`,
#: `min_hours`). INFERRED, not from a source: 80 % attendance is the usual rule of thumb for
#: short courses; the hours are two to three sessions of a basic course; students are
#: assessed at school (TT02, CV 3456), so the commune asks no hours of them.
DEFAULT_MIN_ATTENDANCE_PCT = {
    TargetGroup.PUBLIC_SECTOR: 80,
    TargetGroup.STUDENT: 80,
    TargetGroup.ENTERPRISE_WORKER: 80,
    TargetGroup.CITIZEN: 80,
}
DEFAULT_MIN_HOURS = {
    TargetGroup.PUBLIC_SECTOR: 12.0,
    TargetGroup.STUDENT: 0.0,
    TargetGroup.ENTERPRISE_WORKER: 8.0,
    TargetGroup.CITIZEN: 8.0,
}

#: Keywords allowed instead of a list of required competencies.
ALL_24 = "all_24"  # every competency of areas 1-6 (the 24 of Thông tư 02/2025)
ALL_24_AREAS = {"1", "2", "3", "4", "5", "6"}


#: The keys each mapping of the file may have. Those the importer does not use are the
#: draft's descriptive ones (framework-draft.yaml): they are accepted and ignored.
KNOWN_KEYS = {
    "the file": {
        "meta",
        "levels",
        "areas",
        "target_groups",
        "assessment_policy",
        "community_models",
    },
    "area": {"code", "name_vi", "name_en", "competencies", "source", "notes"},
    "competency": {"code", "name_vi", "name_en", "description", "name_vi_variants", "notes"},
    "group": {
        "id",
        "name_vi",
        "basic_certificate",
        "min_attendance_pct",
        "min_hours",
        "source_group_in_757",
        "notes",
        "elderly_topics_mapping",
        "target_from_source",
        "extra_track",
    },
    "basic_certificate": {
        "required_competencies",
        "min_attendance_pct",
        "min_hours",
        "min_level",
        "required_areas",
        "recommended",
        "notes",
    },
}

#: Column lengths (codes and names longer than these cannot be stored).
CODE_MAX = Competency.__table__.c.code.type.length  # 20
NAME_MAX = Competency.__table__.c.name_vi.type.length  # 300
assert Area.__table__.c.code.type.length == CODE_MAX
assert Area.__table__.c.name_vi.type.length == Area.__table__.c.name_en.type.length == NAME_MAX


class FrameworkFileError(ValueError):
    """A mistake in a framework file, with the line (1-based) where it is."""

    def __init__(self, line: int | None, reason: str):
        super().__init__(f"line {line}: {reason}" if line else reason)
        self.line = line
        self.reason = reason


# --- reading the file ---------------------------------------------------------------------


@dataclass
class ParsedRule:
    target_group: str
    required_codes: list[str]
    min_attendance_pct: int
    min_hours: float


@dataclass
class ParsedArea:
    code: str
    name_vi: str
    name_en: str
    competencies: list[dict] = field(default_factory=list)


@dataclass
class ParsedFramework:
    label: str
    meta: dict
    areas: list[ParsedArea]
    rules: list[ParsedRule]

    @property
    def competency_count(self) -> int:
        return sum(len(a.competencies) for a in self.areas)


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _mapping(
    node: yaml.Node, what: str, known: str | None = None
) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    """The mapping's entries by key (key node, value node); duplicate keys are mistakes, and
    so are keys not in ``KNOWN_KEYS[known]`` when ``known`` is given."""
    if not isinstance(node, yaml.MappingNode):
        raise FrameworkFileError(_line(node), f"{what} must be a mapping (key: value)")
    allowed = KNOWN_KEYS[known] if known else None
    entries: dict[str, tuple[yaml.Node, yaml.Node]] = {}
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise FrameworkFileError(_line(key), f"a key in {what} must be a text")
        name = str(key.value)
        if name in entries:
            raise FrameworkFileError(_line(key), f"duplicate key '{name}' in {what}")
        if allowed is not None and name not in allowed:
            raise FrameworkFileError(
                _line(key),
                f"unknown key '{name}' in {what} (known: {', '.join(sorted(allowed))})",
            )
        entries[name] = (key, value)
    return entries


def _sequence(node: yaml.Node, what: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise FrameworkFileError(_line(node), f"{what} must be a list")
    return node.value


def _required(entries: dict, key: str, parent: yaml.Node, what: str) -> yaml.Node:
    if key not in entries:
        raise FrameworkFileError(_line(parent), f"missing key '{key}' in {what}")
    return entries[key][1]


def _text(
    node: yaml.Node, what: str, *, empty_ok: bool = False, max_length: int | None = None
) -> str:
    """The scalar as NFC text, trimmed (inner whitespace collapsed)."""
    if not isinstance(node, yaml.ScalarNode):
        raise FrameworkFileError(_line(node), f"{what} must be a text")
    text = clean(node.value)
    if not text and not empty_ok:
        raise FrameworkFileError(_line(node), f"{what} is empty")
    if max_length is not None and len(text) > max_length:
        raise FrameworkFileError(
            _line(node),
            f"{what} is too long ({len(text)} characters; at most {max_length})",
        )
    return text


def _no_aliases(text: str) -> None:
    """Refuse YAML anchors and aliases (``&a`` / ``*a``): a framework file has no need of
    them, and an alias inside its own anchor would loop for ever."""
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise FrameworkFileError(
                event.start_mark.line + 1,
                f"YAML aliases (*{event.anchor}) are not allowed: write the value out",
            )
        if getattr(event, "anchor", None):
            raise FrameworkFileError(
                event.start_mark.line + 1,
                f"YAML anchors (&{event.anchor}) are not allowed: write the value out",
            )


def _number(node: yaml.Node, what: str, low: float, high: float) -> float:
    try:
        value = float(_text(node, what))
    except ValueError:
        raise FrameworkFileError(_line(node), f"{what} must be a number") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise FrameworkFileError(_line(node), f"{what} must be between {low:g} and {high:g}")
    return value


def _plain(node: yaml.Node):
    """A node as plain JSON data (scalars stay text)."""
    if isinstance(node, yaml.MappingNode):
        return {str(k.value): _plain(v) for k, v in node.value}
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v) for v in node.value]
    return node.value


def parse(text: str) -> ParsedFramework:
    """Read and check a framework file; FrameworkFileError names the first mistake's line."""
    try:
        _no_aliases(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise FrameworkFileError(line, f"not valid YAML: {error.problem or error}") from None
    except yaml.YAMLError as error:
        raise FrameworkFileError(None, f"not valid YAML: {error}") from None
    if root is None:
        raise FrameworkFileError(1, "the file is empty")
    top = _mapping(root, "the file", "the file")
    meta = _plain(top["meta"][1]) if "meta" in top else {}
    if not isinstance(meta, dict):
        raise FrameworkFileError(_line(top["meta"][1]), "meta must be a mapping (key: value)")
    label = clean(str(meta.get("version") or ""))[:100]

    areas: list[ParsedArea] = []
    codes: dict[str, int] = {}  # competency code -> line
    area_codes: set[str] = set()
    for area_node in _sequence(_required(top, "areas", root, "the file"), "areas"):
        entries = _mapping(area_node, "an area", "area")
        code_node = _required(entries, "code", area_node, "an area")
        code = _text(code_node, "the area code", max_length=CODE_MAX)
        if code in area_codes:
            raise FrameworkFileError(_line(code_node), f"duplicate area code '{code}'")
        area_codes.add(code)
        area = ParsedArea(
            code,
            _text(
                _required(entries, "name_vi", area_node, f"area {code}"),
                f"name_vi of area {code}",
                max_length=NAME_MAX,
            ),
            _text(
                _required(entries, "name_en", area_node, f"area {code}"),
                f"name_en of area {code}",
                max_length=NAME_MAX,
            ),
        )
        comp_nodes = _required(entries, "competencies", area_node, f"area {code}")
        for comp_node in _sequence(comp_nodes, f"the competencies of area {code}"):
            c = _mapping(comp_node, f"a competency of area {code}", "competency")
            c_code_node = _required(c, "code", comp_node, f"a competency of area {code}")
            c_code = _text(c_code_node, "the competency code", max_length=CODE_MAX)
            if c_code in codes:
                raise FrameworkFileError(
                    _line(c_code_node),
                    f"duplicate competency code '{c_code}' (first on line {codes[c_code]})",
                )
            codes[c_code] = _line(c_code_node)
            what = f"competency {c_code}"
            description = c["description"][1] if "description" in c else None
            area.competencies.append(
                {
                    "code": c_code,
                    "name_vi": _text(
                        _required(c, "name_vi", comp_node, what),
                        f"name_vi of {what}",
                        max_length=NAME_MAX,
                    ),
                    "name_en": _text(
                        _required(c, "name_en", comp_node, what),
                        f"name_en of {what}",
                        max_length=NAME_MAX,
                    ),
                    "description": _text(description, "description", empty_ok=True)
                    if description is not None
                    else "",
                }
            )
        areas.append(area)
    if not codes:
        raise FrameworkFileError(_line(top["areas"][1]), "the framework has no competency")

    ordered = [c["code"] for a in areas for c in a.competencies]
    all_24 = [c["code"] for a in areas if a.code in ALL_24_AREAS for c in a.competencies]
    rules: list[ParsedRule] = []
    seen_groups: set[str] = set()
    groups_node = top["target_groups"][1] if "target_groups" in top else None
    for group_node in _sequence(groups_node, "target_groups") if groups_node is not None else []:
        g = _mapping(group_node, "a target group", "group")
        id_node = _required(g, "id", group_node, "a target group")
        group_id = _text(id_node, "the group id")
        if group_id not in GROUP_IDS:
            known = ", ".join(sorted(GROUP_IDS))
            raise FrameworkFileError(
                _line(id_node), f"unknown target group '{group_id}' (known: {known})"
            )
        group = GROUP_IDS[group_id]
        if group in seen_groups:
            raise FrameworkFileError(_line(id_node), f"target group '{group_id}' appears twice")
        seen_groups.add(group)
        cert_node = _required(g, "basic_certificate", group_node, f"group {group_id}")
        cert = _mapping(cert_node, f"the basic_certificate of {group_id}", "basic_certificate")
        req_node = _required(cert, "required_competencies", cert_node, f"group {group_id}")
        if isinstance(req_node, yaml.ScalarNode):
            keyword = _text(req_node, "required_competencies")
            if keyword != ALL_24:
                raise FrameworkFileError(
                    _line(req_node), f"required_competencies must be a list or '{ALL_24}'"
                )
            required = set(all_24)
        else:
            required = set()
            for item in _sequence(req_node, "required_competencies"):
                code = _text(item, "a required competency")
                if code not in codes:
                    raise FrameworkFileError(
                        _line(item), f"group {group_id} requires unknown competency '{code}'"
                    )
                required.add(code)

        def option(key, low, high, default, entries=(cert, g)):
            for place in entries:
                if key in place:
                    return _number(place[key][1], key, low, high)
            return default

        pct = option("min_attendance_pct", 0, 100, DEFAULT_MIN_ATTENDANCE_PCT[group])
        rules.append(
            ParsedRule(
                group,
                [code for code in ordered if code in required],
                round(pct),
                option("min_hours", 0, 1000, DEFAULT_MIN_HOURS[group]),
            )
        )
    return ParsedFramework(label, meta, areas, rules)


# --- versions -----------------------------------------------------------------------------


def next_number() -> int:
    return (db.session.scalar(select(func.max(FrameworkVersion.number))) or 0) + 1


def create_version(
    parsed: ParsedFramework, *, actor, now: datetime, note: str = "", source: str = ""
) -> FrameworkVersion:
    """Add the parsed framework as a new version (flushed, not committed)."""
    version = FrameworkVersion(
        number=next_number(),
        label=parsed.label,
        meta={**parsed.meta, "source_file": source} if source else dict(parsed.meta),
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
        note=note,
    )
    db.session.add(version)
    position = 0
    for a_pos, parsed_area in enumerate(parsed.areas):
        area = Area(
            version=version,
            code=parsed_area.code,
            name_vi=parsed_area.name_vi,
            name_en=parsed_area.name_en,
            position=a_pos,
        )
        db.session.add(area)
        for comp in parsed_area.competencies:
            db.session.add(Competency(version=version, area=area, position=position, **comp))
            position += 1
    for rule in parsed.rules:
        db.session.add(
            CertificateRule(
                version=version,
                target_group=str(rule.target_group),
                required_codes=rule.required_codes,
                min_attendance_pct=rule.min_attendance_pct,
                min_hours=rule.min_hours,
            )
        )
    db.session.flush()
    return version


def import_file(path: str | Path, *, actor=None, now: datetime, note: str = "") -> FrameworkVersion:
    """Check the file, then add it as a new version; nothing is added when it has a mistake."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise FrameworkFileError(None, f"the file is not UTF-8 text ({error.reason})") from None
    parsed = parse(text)
    return create_version(parsed, actor=actor, now=now, note=note, source=path.name)


def seed_framework(now: datetime) -> FrameworkVersion | None:
    """Import the draft as version 1 when there is no version yet (for `flask seed-demo`).

    Returns the new version, or None when a version already exists. Commits.
    """
    if db.session.scalar(select(FrameworkVersion.id).limit(1)) is not None:
        return None
    version = import_file(DRAFT_FILE, now=now, note="Draft framework (framework-draft.yaml)")
    db.session.commit()
    return version


def current_version() -> FrameworkVersion | None:
    """The version in force: the highest number."""
    return db.session.scalar(
        select(FrameworkVersion).order_by(FrameworkVersion.number.desc()).limit(1)
    )


def get_version(number: int) -> FrameworkVersion | None:
    return db.session.scalar(select(FrameworkVersion).where(FrameworkVersion.number == number))


def all_versions() -> list[FrameworkVersion]:
    return list(
        db.session.scalars(select(FrameworkVersion).order_by(FrameworkVersion.number.desc()))
    )


def in_english() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "en"


def name_of(item: Area | Competency) -> str:
    """The name in the page's language (Vietnamese unless the page is in English)."""
    return item.name_en if in_english() else item.name_vi


def competency_names(version: FrameworkVersion | None) -> dict[str, str]:
    """Code -> name in the current locale (Vietnamese by default), in framework order."""
    if version is None:
        return {}
    english = in_english()
    rows = db.session.execute(
        select(Competency.code, Competency.name_vi, Competency.name_en)
        .where(Competency.version_id == version.id)
        .order_by(Competency.position)
    )
    return {code: (en if english else vi) for code, vi, en in rows}
