"""Backups that restore: ``flask backup`` / ``flask restore`` (webapp/backups.py).

Each test builds its own databases with the real migrations (a SQLite file; PostgreSQL scratch
databases beside TEST_DATABASE_URL's), fills them, backs up, restores into an empty database
and compares every table row by row — import files and course materials byte for byte.
"""

import json
import os
import random
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, Text, cast, create_engine, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests.conftest import IN_CI, TEST_DATABASE_URL
from tests.factories import NOW, build_world, make_course
from webapp import backups, create_app
from webapp.config import database_url
from webapp.extensions import db
from webapp.people.models import Person

MATERIAL = random.Random(17).randbytes(1_500_000)  # more than one encrypted frame
IMPORT_FILE = b"PK\x03\x04" + random.Random(6).randbytes(40_000) + bytes(range(256))
PASSPHRASE = "mật khẩu sao lưu 2026"
PG_BASE = database_url(TEST_DATABASE_URL or "postgresql://postgres@127.0.0.1:5432/test_h5")


# --- building and reading databases -----------------------------------------------------------


@contextmanager
def _app(url: str) -> Iterator[Flask]:
    """An app on ``url`` with its schema built by the migrations."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "SQLALCHEMY_DATABASE_URI": url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SERVER_NAME": None,
        }
    )
    with app.app_context():
        upgrade(revision="heads")
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _tables(engine: Engine) -> MetaData:
    meta = MetaData()
    meta.reflect(engine)
    return meta


def _fill(app: Flask, people: int = 5) -> dict[str, int]:
    """A commune with users, people, a course with an uploaded file and an import batch."""
    with app.app_context():
        world = build_world()
        course = make_course(world.commune_id, world.users["organiser"])
        db.session.commit()
        meta = _tables(db.engine)
        rows = []
        for i in range(people):
            person = Person()
            person.set_name(f"Nguyễn Thị Ngọc {i}")
            person.refresh_search_text()
            rows.append(
                {
                    "commune_id": world.commune_id,
                    "village_id": world.village_ids[i % 2],
                    "full_name": person.full_name,
                    "sort_key": person.sort_key,
                    "name_key": person.name_key,
                    "search_text": person.search_text,
                    "birth_year": 1950 + i,
                    "target_group": "citizen",
                    "trader_farmer": False,
                    "ethnic_minority": i % 2 == 0,
                    "vneid_level2": True,
                    "digital_signature": False,
                    "note": "",
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
        with db.engine.begin() as conn:
            conn.execute(meta.tables["persons"].insert(), rows)
            conn.execute(
                meta.tables["course_materials"].insert(),
                {
                    "course_id": course.id,
                    "title": "Hướng dẫn dùng VNeID",
                    "filename": "huong-dan.pdf",
                    "content_type": "application/pdf",
                    "size": len(MATERIAL),
                    "data": MATERIAL,
                    "uploaded_by_id": world.users["organiser"],
                    "uploaded_at": NOW,
                },
            )
            batch = meta.tables["import_batches"]
            common = {"commune_id": world.commune_id, "uploaded_by_id": world.users["organiser"]}
            conn.execute(
                batch.insert(),
                [
                    {
                        **common,
                        "token": "a" * 43,
                        "filename": "danh-sách.xlsx",
                        "content": IMPORT_FILE,
                        "parsed_rows": {"rows": [["Nguyễn Văn A", "1960", "Thôn 1"]]},
                        "created_at": NOW,
                    },
                    # SQL NULL (not JSON null) must stay NULL.
                    {
                        **common,
                        "token": "b" * 43,
                        "filename": "x.csv",
                        "content": b"",
                        "parsed_rows": None,
                        "created_at": NOW,
                    },
                ],
            )
            conn.execute(
                text("UPDATE import_batches SET parsed_rows = NULL WHERE filename = 'x.csv'")
            )
            person_id = conn.execute(text("SELECT min(id) FROM persons")).scalar_one()
        return {"person_id": person_id, "trainer_id": world.users["trainer"]}


def _norm(value):
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value


def _rows(engine: Engine) -> dict[str, list[tuple]]:
    """Every table's rows (columns by name, JSON as its text), read in one transaction."""
    meta = _tables(engine)
    found = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            columns = sorted(table.columns, key=lambda c: c.name)
            query = select(
                *[cast(c, Text) if isinstance(c.type, sqltypes.JSON) else c for c in columns]
            )
            rows = [tuple(_norm(v) for v in row) for row in conn.execute(query)]
            found[table.name] = sorted(rows, key=repr)
    engine.dispose()
    return found


def _counts(engine: Engine) -> dict[str, int]:
    meta = _tables(engine)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # one snapshot for every count
        return {
            t.name: conn.execute(text(f'SELECT count(*) FROM "{t.name}"')).scalar_one()
            for t in meta.sorted_tables
        }


def _blobs(engine: Engine) -> tuple[list[bytes], list[bytes]]:
    with engine.connect() as conn:
        materials = conn.execute(text("SELECT data FROM course_materials")).scalars().all()
        files = conn.execute(text("SELECT content FROM import_batches ORDER BY token")).scalars()
        result = [bytes(m) for m in materials], [bytes(f) for f in files]
    engine.dispose()
    return result


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


# --- PostgreSQL scratch databases -------------------------------------------------------------


def _need_postgresql() -> None:
    server = _engine(make_url(PG_BASE).set(database="postgres"))
    try:
        with server.connect():
            pass
    except OperationalError:
        if IN_CI:
            raise
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL)")
    finally:
        server.dispose()


@pytest.fixture
def scratch_pg() -> Iterator:
    """Make empty PostgreSQL databases named after the test database (test_h5_restore…),
    dropped afterwards."""
    _need_postgresql()
    base = make_url(PG_BASE)
    server = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    made = []

    def make(suffix: str) -> str:
        name = f"{base.database}_{suffix}"
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return base.set(database=name).render_as_string(hide_password=False)

    yield make
    with server.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    server.dispose()


def _need_pg_dump() -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if IN_CI:
            pytest.fail("pg_dump/pg_restore missing: install postgresql-client")
        pytest.skip("pg_dump is not installed")


# --- the tests --------------------------------------------------------------------------------


def test_sqlite_backup_while_checkins_are_committed(tmp_path):
    """A backup taken while check-ins are being committed holds every check-in committed
    before it started, no half of one, and a database that passes its integrity check."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    with _app(url) as app:
        made = _fill(app)
        with app.app_context():
            engine = db.engine
            meta = _tables(engine)
            attendance, changes = meta.tables["attendance"], meta.tables["attendance_changes"]
            committed: list[int] = []

            def check_in() -> None:
                for i in range(200):
                    # One check-in, two rows, one transaction (and a trigger's row besides).
                    with engine.begin() as conn:
                        row = conn.execute(
                            attendance.insert(),
                            {
                                "occasion_kind": "session",
                                "occasion_id": i + 1,
                                "person_id": made["person_id"],
                                "status": "present",
                                "method": "qr",
                                "recorded_at": NOW,
                                "updated_at": NOW,
                            },
                        ).inserted_primary_key[0]
                        conn.execute(
                            changes.insert(),
                            {
                                "attendance_id": row,
                                "changed_at": NOW,
                                "changed_by_id": made["trainer_id"],
                                "old_status": "absent",
                                "new_status": "present",
                                "method": "qr",
                                "reason": f"check-in {row}",
                            },
                        )
                    committed.append(row)
                    time.sleep(0.003)

            writer = threading.Thread(target=check_in)
            writer.start()
            while len(committed) < 30:
                time.sleep(0.001)
            before = set(committed)
            counts_before = _counts(engine)
            header = backups.backup(url, tmp_path / "live.lsb", now=NOW)
            counts_after = _counts(engine)
            after = set(committed)
            writer.join()
            source = _rows(engine)

    assert len(before) < 200, "the writer finished before the backup started"
    assert header.engine == "sqlite" and not header.encrypted
    assert header.revisions and header.created_at.startswith("2025-11-25T03:00")

    restored = f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    backups.restore(tmp_path / "live.lsb", restored)
    with closing(sqlite3.connect(tmp_path / "restored.sqlite3")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        ids = {r[0] for r in conn.execute("SELECT id FROM attendance")}
        pairs = conn.execute(
            "SELECT a.id, count(c.id) FROM attendance a"
            " LEFT JOIN attendance_changes c ON c.attendance_id = a.id GROUP BY a.id"
        ).fetchall()
        orphans = conn.execute(
            "SELECT count(*) FROM attendance_changes"
            " WHERE attendance_id NOT IN (SELECT id FROM attendance)"
        ).fetchone()[0]
    assert before <= ids <= after
    assert all(n == 1 for _, n in pairs) and orphans == 0, "a check-in restored by half"
    copy = _rows(_engine(restored))
    for name, rows in copy.items():
        if name == "alembic_version":
            continue
        assert counts_before[name] <= len(rows) <= counts_after[name], name
        assert set(rows) <= set(source[name]), f"{name}: rows that were never written"
    assert copy["alembic_version"] == source["alembic_version"]
    assert _blobs(_engine(restored)) == ([MATERIAL], [IMPORT_FILE, b""])


def test_encrypted_round_trip_and_wrong_passphrase(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'src.sqlite3'}"
    out = tmp_path / "enc.lsb"
    with _app(url) as app:
        _fill(app)
        monkeypatch.setenv(backups.PASSPHRASE_ENV, PASSPHRASE)
        result = app.test_cli_runner().invoke(args=["backup", str(out)])
        assert result.exit_code == 0, result.output
        assert "encrypted" in result.output and "NOT" not in result.output
        source = _rows(_engine(url))
    monkeypatch.delenv(backups.PASSPHRASE_ENV)
    header = backups.read_header(out)
    assert header.encrypted and header.engine == "sqlite" and header.kdf["salt"]
    raw = out.read_bytes()
    assert MATERIAL[:64] not in raw and IMPORT_FILE[:64] not in raw
    assert "Ngọc".encode() not in raw and b"SQLite format 3" not in raw

    target = tmp_path / "dst.sqlite3"
    with pytest.raises(backups.BackupError) as refused:
        backups.restore(out, f"sqlite:///{target}", passphrase="not the passphrase")
    assert refused.value.code == "passphrase" and "Wrong passphrase" in str(refused.value)
    assert not target.exists(), "a wrong passphrase wrote something"
    with pytest.raises(backups.BackupError) as missing:
        backups.restore(out, f"sqlite:///{target}")
    assert missing.value.code == "passphrase-missing"

    # A changed byte in the last frame: refused, nothing written.
    damaged = tmp_path / "damaged.lsb"
    damaged.write_bytes(raw[:-100] + bytes([raw[-100] ^ 1]) + raw[-99:])
    with pytest.raises(backups.BackupError) as broken:
        backups.restore(damaged, f"sqlite:///{target}", passphrase=PASSPHRASE)
    assert broken.value.code == "damaged" and not target.exists()
    cut = tmp_path / "cut.lsb"
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(backups.BackupError):
        backups.restore(cut, f"sqlite:///{target}", passphrase=PASSPHRASE)
    assert not target.exists()

    secret = tmp_path / "passphrase.txt"
    secret.write_text(PASSPHRASE + "\n", encoding="utf-8")
    with _app(f"sqlite:///{tmp_path / 'other.sqlite3'}") as other:
        result = other.test_cli_runner().invoke(
            args=[
                "restore",
                str(out),
                "--database",
                f"sqlite:///{target}",
                "--passphrase-file",
                str(secret),
            ]
        )
    assert result.exit_code == 0, result.output
    assert _rows(_engine(f"sqlite:///{target}")) == source
    assert _blobs(_engine(f"sqlite:///{target}")) == ([MATERIAL], [IMPORT_FILE, b""])


def test_restore_refuses_a_database_that_is_not_empty(tmp_path):
    url = f"sqlite:///{tmp_path / 'src.sqlite3'}"
    with _app(url) as app:
        _fill(app)
        backups.backup(url, tmp_path / "b.lsb", now=NOW)
        # The app's own (migrated, filled) database is the default target.
        result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "b.lsb")])
    assert result.exit_code != 0
    assert "not empty" in result.output and "empty database" in result.output
    with _app(f"sqlite:///{tmp_path / 'migrated.sqlite3'}"):
        pass  # migrated, no rows: still not empty (its schema would clash)
    before = (tmp_path / "migrated.sqlite3").read_bytes()
    with pytest.raises(backups.BackupError) as refused:
        backups.restore(tmp_path / "b.lsb", f"sqlite:///{tmp_path / 'migrated.sqlite3'}")
    assert refused.value.code == "target-not-empty"
    assert (tmp_path / "migrated.sqlite3").read_bytes() == before


def test_sqlite_backup_restores_into_postgresql_and_back(tmp_path, scratch_pg):
    url = f"sqlite:///{tmp_path / 'src.sqlite3'}"
    with _app(url) as app:
        _fill(app, people=30)
    backups.backup(url, tmp_path / "b.lsb", now=NOW, passphrase=PASSPHRASE)
    source = _rows(_engine(url))
    target = database_url(scratch_pg("restore"))
    backups.restore(tmp_path / "b.lsb", target, passphrase=PASSPHRASE)
    assert _rows(_engine(target)) == source
    assert _blobs(_engine(target)) == ([MATERIAL], [IMPORT_FILE, b""])

    # The sequences follow the copied ids, and the triggers are on again.
    pg = _engine(target)
    with pg.begin() as conn:
        dirty = conn.execute(text("SELECT count(*) FROM report_dirty")).scalar_one()
        new_id = conn.execute(
            text(
                "INSERT INTO persons (commune_id, village_id, full_name, sort_key, name_key,"
                " search_text, birth_year, target_group, trader_farmer, ethnic_minority,"
                " vneid_level2, digital_signature, note, created_at, updated_at)"
                " SELECT commune_id, village_id, 'Mới', sort_key, 'mới', 'moi', 1970,"
                " target_group, false, false, false, false, '', now(), now()"
                " FROM persons LIMIT 1 RETURNING id"
            )
        ).scalar_one()
        assert new_id == 31
        assert conn.execute(text("SELECT count(*) FROM report_dirty")).scalar_one() == dirty + 1
        conn.rollback()
    pg.dispose()

    # A schema this code does not know cannot be rebuilt: said so, nothing copied.
    plain = tmp_path / "plain.lsb"
    backups.backup(url, plain, now=NOW)
    raw = plain.read_bytes()
    revision = backups.read_header(plain).revisions[0].encode()
    (tmp_path / "future.lsb").write_bytes(raw.replace(revision, b"f0future0001", 1))
    with pytest.raises(backups.BackupError) as unknown:
        backups.restore(tmp_path / "future.lsb", database_url(scratch_pg("future")))
    assert unknown.value.code == "unknown-revision"

    # PostgreSQL -> SQLite: a table-by-table backup of the PostgreSQL database.
    header = backups.backup(target, tmp_path / "as-sqlite.lsb", now=NOW, as_sqlite=True)
    assert header.engine == "sqlite"
    back = f"sqlite:///{tmp_path / 'back.sqlite3'}"
    backups.restore(tmp_path / "as-sqlite.lsb", back)
    assert _rows(_engine(back)) == source
    with closing(sqlite3.connect(tmp_path / "back.sqlite3")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        triggers = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert triggers.fetchone()[0] > 0


def test_postgresql_backup_with_pg_dump_restores_into_another_database(tmp_path, scratch_pg):
    _need_pg_dump()
    url = database_url(scratch_pg("bsrc"))
    with _app(url) as app:
        _fill(app)
        result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "pg.lsb")])
        assert result.exit_code == 0, result.output
        assert "NOT encrypted" in result.output
    header = backups.read_header(tmp_path / "pg.lsb")
    assert header.engine == "postgresql" and header.payload == "pg_dump-custom"
    source = _rows(_engine(url))
    target = database_url(scratch_pg("restore"))
    backups.restore(tmp_path / "pg.lsb", target)
    assert _rows(_engine(target)) == source
    assert _blobs(_engine(target)) == ([MATERIAL], [IMPORT_FILE, b""])
    with pytest.raises(backups.BackupError) as refused:
        backups.restore(tmp_path / "pg.lsb", f"sqlite:///{tmp_path / 'x.sqlite3'}")
    assert refused.value.code == "cross-engine" and "--as-sqlite" in str(refused.value)
    with pytest.raises(backups.BackupError) as again:
        backups.restore(tmp_path / "pg.lsb", target)
    assert again.value.code == "target-not-empty"


def test_a_file_that_is_not_a_backup_is_refused(tmp_path):
    path = tmp_path / "x.lsb"
    path.write_bytes(b"SQLite format 3\x00" + os.urandom(100))
    with pytest.raises(backups.BackupError) as refused:
        backups.restore(path, f"sqlite:///{tmp_path / 'y.sqlite3'}")
    assert refused.value.code == "not-a-backup"
    assert json.loads(backups.Header("sqlite", ["r"], "t").line())["format"] == 1
