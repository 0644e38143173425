"""people: an import keeps the rows it read (the file is read once); phone numbers in one
canonical form

``import_batches.parsed_rows`` holds the rows of the uploaded file, read once at upload, so
the preview and the commit never read the file again. Phone numbers already stored (persons,
sign-up requests) are rewritten in the canonical form of ``webapp/phone.py`` (``0905123456``
for ``905123456``, ``+84 905 123 456``…); a value that is not a Vietnamese number is left as
it is. The rule is copied here, frozen, so this migration does the same thing forever.

Revision ID: b1import0001
Revises: a5e4fast0004
Create Date: 2026-12-02 16:00:00

"""

import re

import sqlalchemy as sa
from alembic import op

revision = "b1import0001"
down_revision = "a5e4fast0004"
branch_labels = None
depends_on = None

_SEPARATORS = re.compile(r"[\s.\-()/]+")
_CANONICAL = re.compile(r"0[35789]\d{8}|02\d{9}")


def _normalise(text):
    """webapp.phone.normalise_phone as of this revision; None when not a number."""
    raw = _SEPARATORS.sub("", text or "")
    if not raw:
        return ""
    if raw.startswith("+"):
        raw = raw[1:]
        if not raw.startswith("84"):
            return None
    if not raw.isdigit() or not raw.isascii():
        return None
    if raw.startswith("84") and len(raw) in (11, 12):
        raw = "0" + raw[2:]
    elif not raw.startswith("0") and len(raw) in (9, 10):
        raw = "0" + raw
    return raw if _CANONICAL.fullmatch(raw) else None


def upgrade():
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("parsed_rows", sa.JSON(), nullable=True))

    conn = op.get_bind()
    persons = sa.table(
        "persons",
        sa.column("id", sa.Integer),
        sa.column("phone", sa.String),
        sa.column("search_text", sa.String),
    )
    rows = conn.execute(
        sa.select(persons.c.id, persons.c.phone, persons.c.search_text).where(
            persons.c.phone.is_not(None), persons.c.phone != ""
        )
    ).all()
    for person_id, phone, search_text in rows:
        canonical = _normalise(phone)
        if canonical is None or canonical == phone:
            continue
        # The search text ends with the number's digits (Person.refresh_search_text).
        old_digits = "".join(c for c in phone if c.isdigit())
        text = search_text or ""
        if old_digits and text.endswith(old_digits):
            text = text[: -len(old_digits)] + canonical
        else:
            text = f"{text} {canonical}".strip()
        conn.execute(
            persons.update()
            .where(persons.c.id == person_id)
            .values(phone=canonical or None, search_text=text)
        )

    signups = sa.table("signup_requests", sa.column("id", sa.Integer), sa.column("phone", sa.String))
    for signup_id, phone in conn.execute(
        sa.select(signups.c.id, signups.c.phone).where(signups.c.phone != "")
    ).all():
        canonical = _normalise(phone)
        if canonical is not None and canonical != phone:
            conn.execute(
                signups.update().where(signups.c.id == signup_id).values(phone=canonical)
            )


def downgrade():
    # The canonical numbers stay (they are what people dial); only the column goes.
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("parsed_rows")
