"""Weekly series: which days, how long, skipped days, Vietnam time stored as UTC."""

from datetime import UTC, date, time, timedelta

import pytest

from webapp.errors import DomainError
from webapp.scheduling.series import MAX_SESSIONS, SeriesRule, expand, parse_skip
from webapp.timeutil import LOCAL_TZ

TUE, THU, SAT = 1, 3, 5


def rule(**changes) -> SeriesRule:
    values = dict(
        first_day=date(2025, 12, 1), weekdays=[TUE, THU], start=time(8), end=time(10), weeks=2
    )
    values.update(changes)
    return SeriesRule(**values)


def days(planned) -> list[date]:
    return [p.local_day for p in planned]


def test_only_the_chosen_weekdays_in_order():
    planned = expand(rule(weekdays=[THU, TUE, THU]))  # order and repeats do not matter
    assert days(planned) == [
        date(2025, 12, 2),
        date(2025, 12, 4),
        date(2025, 12, 9),
        date(2025, 12, 11),
    ]
    assert all(p.ends_at - p.starts_at == timedelta(hours=2) for p in planned)


def test_weeks_count_from_the_first_day_and_until_is_inclusive():
    by_weeks = expand(rule(first_day=date(2025, 12, 4), weeks=2))  # a Thursday
    assert days(by_weeks) == [
        date(2025, 12, 4),
        date(2025, 12, 9),
        date(2025, 12, 11),
        date(2025, 12, 16),
    ]
    by_until = expand(rule(first_day=date(2025, 12, 4), weeks=None, until=date(2025, 12, 16)))
    assert days(by_until) == days(by_weeks)
    one_day_less = expand(rule(first_day=date(2025, 12, 4), weeks=None, until=date(2025, 12, 15)))
    assert days(one_day_less)[-1] == date(2025, 12, 11)


def test_skipped_days_are_left_out():
    planned = expand(rule(skip=[date(2025, 12, 4), date(2025, 12, 25)]))  # 25/12: not in range
    assert days(planned) == [date(2025, 12, 2), date(2025, 12, 9), date(2025, 12, 11)]


def test_local_time_stays_8_oclock_across_months_and_is_stored_as_1_utc():
    planned = expand(rule(first_day=date(2025, 10, 1), weekdays=[SAT], weeks=30))  # Oct..Apr
    assert len(planned) == 30
    assert {p.starts_at.astimezone(LOCAL_TZ).time() for p in planned} == {time(8)}
    assert {(p.starts_at.tzinfo, p.starts_at.time()) for p in planned} == {(UTC, time(1))}
    assert {p.ends_at.time() for p in planned} == {time(3)}
    assert {p.local_day.month for p in planned} == {10, 11, 12, 1, 2, 3, 4}


def test_a_series_of_exactly_the_maximum_is_fine():
    planned = expand(
        rule(
            weekdays=list(range(7)),
            weeks=None,
            until=date(2025, 12, 1) + timedelta(days=MAX_SESSIONS - 1),
        )
    )
    assert len(planned) == MAX_SESSIONS


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"end": time(8)}, "time_order"),
        ({"start": time(10), "end": time(8)}, "time_order"),
        ({"weekdays": []}, "series_no_weekday"),
        ({"weekdays": [7]}, "series_no_weekday"),
        ({"weeks": None}, "series_no_end"),
        ({"weeks": 0}, "series_no_end"),
        ({"weeks": None, "until": date(2025, 11, 30)}, "series_end_before_start"),
        ({"weeks": 2, "until": date(2025, 12, 20)}, "series_two_ends"),
        ({"weekdays": list(range(7)), "weeks": 15}, "series_too_long"),
        ({"weekdays": [TUE], "weeks": None, "until": date(2025, 12, 1)}, "series_empty"),
        ({"weekdays": [TUE], "weeks": 1, "skip": [date(2025, 12, 2)]}, "series_empty"),
    ],
)
def test_impossible_rules_are_refused_with_their_code(changes, code):
    with pytest.raises(DomainError) as refused:
        expand(rule(**changes))
    assert refused.value.code == code


def test_days_to_skip_are_read_as_dd_mm_with_an_optional_year():
    assert parse_skip("02/09, 15/09/2026", date(2026, 8, 1)) == [
        date(2026, 9, 2),
        date(2026, 9, 15),
    ]
    # without a year: the next such day on or after the first day (here: next January)
    assert parse_skip("05/01; 01/12", date(2025, 12, 1)) == [date(2026, 1, 5), date(2025, 12, 1)]
    assert parse_skip("  ", date(2025, 12, 1)) == []


@pytest.mark.parametrize("text", ["31/02", "hôm nay", "1/2/26", "1/2/3/2026", "32/01/2026"])
def test_days_to_skip_that_are_not_days_are_refused(text):
    with pytest.raises(DomainError) as refused:
        parse_skip(text, date(2025, 12, 1))
    assert refused.value.code == "series_skip_invalid"
    assert refused.value.params["text"] == text.split()[0]  # the first item that is not a day
