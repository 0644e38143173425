"""Row ids that come from addresses and forms.

Ids are 32-bit integers in the database. A larger number in a crafted address must not reach
the database (SQLite cannot even bind a number beyond 64 bits): it is simply not found.
"""

from flask import Blueprint, abort

from webapp.ids import MAX_ID, row_id

__all__ = ["MAX_ID", "ids_beyond_range_not_found", "row_id"]


def ids_beyond_range_not_found(bp: Blueprint) -> None:
    """Answer 404 for any integer in the blueprint's URLs that cannot be a row id."""

    @bp.url_value_preprocessor
    def _check_ids(endpoint, values) -> None:
        for value in (values or {}).values():
            if isinstance(value, int) and not 0 <= value <= MAX_ID:
                abort(404)
