"""Reporting rules: the plan's indicators (seeded, edited as new versions), the populations the
organiser enters, periods, and submitting a commune's report (frozen figures) that only the
province reopens.

``actor=`` and ``now=`` explicit; flush, never commit; refusals are :class:`ReportsError`
with a stable ``code`` (docs/reports.md).
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.accounts.models import User
from webapp.extensions import db
from webapp.people.models import TargetGroup, Village
from webapp.permissions import MANAGERS, Role
from webapp.reports.models import (
    Denominator,
    Indicator,
    Measure,
    Population,
    Report,
    ReportsError,
    ReportStatus,
)
from webapp.timeutil import to_local

#: The plan's targets (PLAN.md "Targets the commune reports against", and the Gia đình số
#: and Đại sứ số models): code, group, measure, {year: target %}, Vietnamese, English, note.
PLAN_INDICATORS = [
    (
        "public_sector_trained",
        TargetGroup.PUBLIC_SECTOR,
        Measure.TRAINED,
        {2025: 80, 2026: 100},
        "Cán bộ, công chức, viên chức, người lao động khu vực công được bồi dưỡng kiến thức,"
        " kỹ năng số",
        "Public-sector staff trained in digital knowledge and skills",
        "",
    ),
    (
        "students_skills",
        TargetGroup.STUDENT,
        Measure.ALL_COMPETENCIES,
        {2025: 100, 2026: 100},
        "Học sinh được trang bị kỹ năng số",
        "Students equipped with digital skills",
        "2025: trung học; 2026: từ tiểu học",
    ),
    (
        "adults_basic",
        TargetGroup.CITIZEN,
        Measure.CERTIFIED,
        {2025: 80, 2026: 100},
        "Người trưởng thành có kiến thức, kỹ năng số cơ bản (có giấy chứng nhận)",
        "Adults with basic digital knowledge and skills (certified)",
        "",
    ),
    (
        "adults_vneid_confirmed",
        TargetGroup.CITIZEN,
        Measure.VNEID_CONFIRMED,
        {2025: 70, 2026: 80},
        "Người trưởng thành được xác nhận trên VNeID đạt chuẩn kỹ năng số",
        "Adults confirmed on VNeID as reaching the digital-skills standard",
        "",
    ),
    (
        "workers_basic",
        TargetGroup.ENTERPRISE_WORKER,
        Measure.ALL_COMPETENCIES,
        {2025: 80, 2026: 100},
        "Người lao động trong doanh nghiệp, hợp tác xã có kỹ năng số cơ bản",
        "Enterprise and cooperative workers with basic digital skills",
        "",
    ),
    (
        "adults_signature",
        TargetGroup.CITIZEN,
        Measure.DIGITAL_SIGNATURE,
        {2025: 50},
        "Người trưởng thành có chữ ký số hoặc chữ ký điện tử",
        "Adults with a digital or electronic signature",
        "Nghị quyết 13-NQ/TU: trên 50%",
    ),
    (
        "vneid_level2",
        None,
        Measure.VNEID_LEVEL2,
        {2025: 100},
        "Công dân từ 16 tuổi có định danh điện tử mức 2 (Mỗi công dân – Một định danh số)",
        "Citizens aged 16+ with a VNeID level 2 digital identity",
        "",
    ),
    (
        "digital_family",
        None,
        Measure.HOUSEHOLD_TRAINED,
        {2025: 100, 2026: 100},
        "Hộ gia đình có ít nhất một thành viên đã học kỹ năng số (Gia đình số)",
        "Households with at least one trained member (Digital Family)",
        "",
    ),
    (
        "digital_ambassadors",
        None,
        Measure.MENTOR_MINIMUM,
        {2025: 100, 2026: 100},
        "Đại sứ số hướng dẫn đủ ít nhất 5 người",
        "Digital ambassadors guiding at least 5 people",
        "",
    ),
]


def seed_indicators(*, now: datetime) -> int:
    """The plan's indicators for 2025 and 2026, when there are none yet (idempotent)."""
    if db.session.scalar(select(Indicator.id).limit(1)) is not None:
        return 0
    count = 0
    for position, (code, group, measure, targets, vi, en, note) in enumerate(PLAN_INDICATORS):
        for year, target in targets.items():
            db.session.add(
                Indicator(
                    code=code,
                    year=year,
                    version=1,
                    position=position,
                    target_group=group,
                    measure=measure,
                    denominator=Denominator.REGISTRY,
                    target_pct=float(target),
                    name_vi=vi,
                    name_en=en,
                    note=note,
                    created_at=now,
                )
            )
            count += 1
    db.session.flush()
    return count


def _require_manager(actor: User) -> None:
    if actor.role not in MANAGERS:
        raise ReportsError(
            "not_allowed", _l("Only the commune's organisers may do this."), status=403
        )


def update_indicator(
    *, actor: User, now: datetime, indicator: Indicator, target_pct: float, denominator: str
) -> Indicator:
    """A new version of the indicator with another target or denominator; the old one is
    kept (reports computed with it still name it)."""
    _require_manager(actor)
    if indicator.replaced_at is not None:
        raise ReportsError(
            "indicator_replaced", _l("This indicator was changed meanwhile."), status=409
        )
    if not 0 <= float(target_pct) <= 100:
        raise ReportsError("target_invalid", _l("The target is a percentage from 0 to 100."))
    try:
        denominator = Denominator(denominator)
    except ValueError:
        raise ReportsError(
            "denominator_invalid", _l("Choose where the denominator comes from.")
        ) from None
    if denominator == Denominator.ENTERED and indicator.target_group is None:
        raise ReportsError(
            "denominator_invalid",
            _l("Populations are entered per target group: this indicator counts the registry."),
        )
    indicator.replaced_at = now
    new = Indicator(
        code=indicator.code,
        year=indicator.year,
        version=indicator.version + 1,
        position=indicator.position,
        target_group=indicator.target_group,
        measure=indicator.measure,
        denominator=denominator,
        target_pct=float(target_pct),
        name_vi=indicator.name_vi,
        name_en=indicator.name_en,
        note=indicator.note,
        created_at=now,
        created_by_id=actor.id,
    )
    db.session.add(new)
    db.session.flush()
    return new


def set_population(
    *, actor: User, now: datetime, village: Village, year: int, target_group: str, count: int
) -> Population:
    """How many people of a group live in a village in a year (the organiser's denominator)."""
    _require_manager(actor)
    if not actor.works_in(village.commune_id):
        raise ReportsError("not_allowed", _l("This village is not in your commune."), status=403)
    try:
        TargetGroup(target_group)
    except ValueError:
        raise ReportsError("group_invalid", _l("Choose a target group.")) from None
    if count is None or not 0 <= int(count) <= 1_000_000:
        raise ReportsError("count_invalid", _l("Enter a number of people from 0 to 1,000,000."))
    found = db.session.scalar(
        select(Population).where(
            Population.village_id == village.id,
            Population.year == year,
            Population.target_group == target_group,
        )
    )
    if found is None:
        found = Population(
            commune_id=village.commune_id,
            village_id=village.id,
            year=year,
            target_group=target_group,
        )
        db.session.add(found)
    found.count, found.entered_at, found.entered_by_id = int(count), now, actor.id
    db.session.flush()
    return found


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """A year ("2026"), a quarter ("2026-Q2") or a month ("2026-05")."""

    key: str
    starts_on: date
    ends_on: date

    @property
    def year(self) -> int:
        return self.starts_on.year


def _month_end(year: int, month: int) -> date:
    return date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)


def period(key: str) -> Period:
    """The period a key names; ReportsError ``period_invalid`` otherwise."""
    key = (key or "").strip().upper()
    if m := re.fullmatch(r"(20\d\d)", key):
        year = int(m.group(1))
        return Period(key, date(year, 1, 1), date(year, 12, 31))
    if m := re.fullmatch(r"(20\d\d)-Q([1-4])", key):
        year, quarter = int(m.group(1)), int(m.group(2))
        first = 3 * quarter - 2
        return Period(key, date(year, first, 1), _month_end(year, first + 2))
    if m := re.fullmatch(r"(20\d\d)-(0[1-9]|1[0-2])", key):
        year, month = int(m.group(1)), int(m.group(2))
        return Period(key, date(year, month, 1), _month_end(year, month))
    raise ReportsError("period_invalid", _l("Choose a year, a quarter or a month."))


# --- submitted reports ----------------------------------------------------------------------


def check_submission(
    *, actor: User, now: datetime, commune_id: int, chosen: Period
) -> Report | None:
    """The refusals of :func:`submit`, writing nothing (the preview shows them before the
    organiser confirms): the commune's existing report for the period, if any."""
    _require_manager(actor)
    if not actor.works_in(commune_id):
        raise ReportsError("not_allowed", _l("This is not your commune."), status=403)
    if chosen.starts_on > to_local(now).date():
        raise ReportsError("period_not_started", _l("This period has not started yet."))
    report = db.session.scalar(
        select(Report).where(Report.commune_id == commune_id, Report.period == chosen.key)
    )
    if report is not None and report.status == ReportStatus.SUBMITTED:
        raise ReportsError(
            "already_submitted",
            _l("The report for this period was already submitted; the province can reopen it."),
            status=409,
        )
    return report


def _history(report: Report) -> list[dict]:
    """The earlier submissions of a reopened report, newest last (who, when, why reopened)."""
    return [
        *report.figures.get("history", []),
        {
            "submitted_at": report.submitted_at.isoformat(),
            "submitted_by_id": report.submitted_by_id,
            "reopened_at": report.reopened_at.isoformat() if report.reopened_at else None,
            "reopened_by_id": report.reopened_by_id,
            "reason": report.reopen_reason,
        },
    ]


def submit(*, actor: User, now: datetime, commune_id: int, chosen: Period, figures: dict) -> Report:
    """Submit the commune's report for the period with its figures frozen (computed by the
    caller with :func:`webapp.reports.figures.snapshot`). Once submitted it can be submitted
    again only after the province reopens it; the earlier submission is kept in
    ``figures["history"]``."""
    report = check_submission(actor=actor, now=now, commune_id=commune_id, chosen=chosen)
    if report is None:
        report = Report(commune_id=commune_id, period=chosen.key)
        db.session.add(report)
    else:
        figures = {**figures, "history": _history(report)}
    report.starts_on, report.ends_on = chosen.starts_on, chosen.ends_on
    report.status, report.figures = ReportStatus.SUBMITTED, figures
    report.submitted_at, report.submitted_by_id = now, actor.id
    db.session.flush()
    return report


def reopen(*, actor: User, now: datetime, report: Report, reason: str) -> Report:
    """The province (a province-wide administrator) reopens a submitted report."""
    if not (actor.role == Role.ADMIN and actor.province_wide):
        raise ReportsError(
            "not_allowed", _l("Only the province may reopen a submitted report."), status=403
        )
    if report.status != ReportStatus.SUBMITTED:
        raise ReportsError("not_submitted", _l("This report is not submitted."), status=409)
    reason = (reason or "").strip()
    if not reason:
        raise ReportsError("reason_missing", _l("Say why the report is reopened."))
    report.status, report.reopened_at, report.reopened_by_id = ReportStatus.REOPENED, now, actor.id
    report.reopen_reason = reason[:300]
    db.session.flush()
    return report


def report_for(user: User, report_id: int) -> Report | None:
    """The report if the user may read it (a manager of its commune, or the province)."""
    report = db.session.get(Report, report_id)
    if report is None or user.role not in MANAGERS or not user.works_in(report.commune_id):
        return None
    return report


def reports_for(user: User) -> list[Report]:
    """The submitted (and reopened) reports of the user's communes, newest period first."""
    stmt = (
        select(Report)
        .options(selectinload(Report.commune), selectinload(Report.submitted_by))
        .order_by(Report.starts_on.desc(), Report.period, Report.commune_id)
    )
    if not user.province_wide:
        stmt = stmt.where(Report.commune_id == user.commune_id)
    return list(db.session.scalars(stmt))


def periods_of(years: list[int]) -> list[Period]:
    """Every year, quarter and month of the years, each year's quarters and months after it."""
    keys = []
    for year in years:
        keys += [str(year), *(f"{year}-Q{q}" for q in range(1, 5))]
        keys += [f"{year}-{m:02d}" for m in range(1, 13)]
    return [period(key) for key in keys]


def save_populations(
    *, actor: User, now: datetime, villages: list[Village], year: int, counts: dict
) -> int:
    """Set the populations ``counts`` gives ({(village id, target group): count}, None: left
    empty) for the year; all or nothing (the caller commits once)."""
    by_id = {v.id: v for v in villages}
    saved = 0
    for (village_id, group), count in counts.items():
        if count is None:
            continue
        set_population(
            actor=actor,
            now=now,
            village=by_id[village_id],
            year=year,
            target_group=group,
            count=count,
        )
        saved += 1
    return saved


def populations_of(commune_id: int, year: int) -> dict[tuple[int, str], int]:
    """The populations entered for the commune's villages in a year."""
    rows = db.session.execute(
        select(Population.village_id, Population.target_group, Population.count).where(
            Population.commune_id == commune_id, Population.year == year
        )
    )
    return {(village_id, group): count for village_id, group, count in rows}


def save_indicators(*, actor: User, now: datetime, changes: list) -> list[Indicator]:
    """A new version of each indicator ``changes`` names ((indicator, target %, denominator)):
    all or nothing (the caller commits once)."""
    return [
        update_indicator(
            actor=actor, now=now, indicator=indicator, target_pct=target, denominator=denominator
        )
        for indicator, target, denominator in changes
    ]


def groups_of(year: int) -> set[str]:
    """The target groups the year's indicators concern (the populations grid's columns)."""
    stmt = select(Indicator.target_group).where(
        Indicator.year == year,
        Indicator.replaced_at.is_(None),
        Indicator.target_group.is_not(None),
    )
    return set(db.session.scalars(stmt))


def history_of(report: Report) -> list[dict]:
    """The report's earlier submissions, newest last, with their times and users resolved."""
    entries = report.figures.get("history", [])
    ids = {e[k] for e in entries for k in ("submitted_by_id", "reopened_by_id") if e.get(k)}
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))}
    when = lambda text: datetime.fromisoformat(text) if text else None  # noqa: E731
    return [
        {
            "submitted_at": when(e.get("submitted_at")),
            "submitted_by": users.get(e.get("submitted_by_id")),
            "reopened_at": when(e.get("reopened_at")),
            "reopened_by": users.get(e.get("reopened_by_id")),
            "reason": e.get("reason", ""),
        }
        for e in entries
    ]
