"""Row ids that come from addresses and forms.

Ids are 32-bit integers in the database. A larger number in a crafted address must not reach
the database (SQLite cannot even bind a number beyond 64 bits): it is simply not found.
"""

from flask import Blueprint, abort

#: The largest row id (a PostgreSQL ``integer``).
MAX_ID = 2**31 - 1


def row_id(value) -> int | None:
    """``value`` as a row id (1 … MAX_ID), or None for anything else."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def ids_beyond_range_not_found(bp: Blueprint) -> None:
    """Answer 404 for any integer in the blueprint's URLs that cannot be a row id."""

    @bp.url_value_preprocessor
    def _check_ids(endpoint, values) -> None:
        for value in (values or {}).values():
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                abort(404)
