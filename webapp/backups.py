"""Backups that restore: a consistent copy of the database taken while the app runs, optionally
encrypted, and its restore into an empty database of either engine.

Import files and uploaded course materials live in the database (``import_batches``,
``course_materials``), so the one copy holds them too.

A backup file is ``MAGIC``, one JSON header line (format version, engine, alembic revision,
created-at, encryption parameters), then the payload: a SQLite database file (taken with
SQLite's online backup API) or a ``pg_dump --format=custom`` archive. Encrypted payloads are
AES-256-GCM in 1 MiB frames under a key derived from the passphrase with scrypt (random salt in
the header); every frame authenticates the header, its index and whether it is the last, so a
changed, reordered or cut file is refused as well as a wrong passphrase.

Nothing here reads a Flask request or the app's configuration: functions take URLs and paths.
"""

import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from base64 import b64decode, b64encode
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import MetaData, Text, bindparam, cast, create_engine, inspect, select, text
from sqlalchemy import types as sqltypes
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

MAGIC = b"LOPSO-BACKUP\n"
FORMAT_VERSION = 1
PASSPHRASE_ENV = "LOPSO_BACKUP_PASSPHRASE"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
FRAME = 1 << 20
SCRYPT = {"n": 2**15, "r": 8, "p": 1}
BATCH = 1000


class BackupError(Exception):
    """A backup or restore that cannot go on; ``code`` is stable, the text says what to do."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Header:
    """What a backup file holds, readable without the passphrase."""

    engine: str  # "sqlite" or "postgresql"
    revisions: list[str]  # the alembic revision(s) of the copied database
    created_at: str  # ISO 8601, UTC
    encrypted: bool = False
    format: int = FORMAT_VERSION
    payload: str = ""  # "sqlite-file" or "pg_dump-custom"
    kdf: dict = field(default_factory=dict)  # scrypt parameters and salt (base64)

    def line(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode() + b"\n"


# --- engines and URLs -------------------------------------------------------------------------


def engine_name(url: str) -> str:
    """``sqlite`` or ``postgresql`` for a SQLAlchemy URL; anything else is refused."""
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError("engine", f"Unsupported database engine {backend!r}.")
    return backend


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("sqlite-memory", "An in-memory SQLite database cannot be backed up.")
    return Path(database)


def _engine(url: str) -> Engine:
    return create_engine(url, poolclass=NullPool)


def _libpq(url: str) -> tuple[str, dict]:
    """The URL for pg_dump/pg_restore, and an environment holding its password (a password
    on a command line is visible to every user of the host)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _revisions(conn: Connection) -> list[str]:
    if not inspect(conn).has_table("alembic_version"):
        raise BackupError("no-schema", "The database has no alembic_version table: not migrated.")
    return sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


def _run(command: list[str], env: dict) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(
            "no-" + command[0],
            f"{command[0]} is not installed (Debian/Ubuntu: apt-get install postgresql-client).",
        )
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(command[0], f"{command[0]} failed: {done.stderr.strip()}")


# --- encryption -------------------------------------------------------------------------------


def _key(passphrase: str, kdf: dict) -> bytes:
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    scrypt = Scrypt(salt=b64decode(kdf["salt"]), length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"])
    return scrypt.derive(passphrase.encode())


def _aad(header_line: bytes, index: int, last: bool) -> bytes:
    return header_line + struct.pack(">Q?", index, last)


def _write_encrypted(out, source: Path, header_line: bytes, key: bytes) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    with source.open("rb") as payload:
        chunk, index = payload.read(FRAME), 0
        while True:
            following = payload.read(FRAME)
            last = not following
            nonce = os.urandom(12)
            sealed = aead.encrypt(nonce, chunk, _aad(header_line, index, last))
            out.write(struct.pack(">I", len(sealed) + 12) + nonce + sealed)
            if last:
                return
            chunk, index = following, index + 1


def _read_encrypted(stream, target: Path, header_line: bytes, key: bytes) -> None:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aead = AESGCM(key)
    index = 0
    with target.open("wb") as out:
        while True:
            size = stream.read(4)
            if len(size) < 4:
                raise BackupError("truncated", "The backup file is cut short: nothing restored.")
            frame = stream.read(struct.unpack(">I", size)[0])
            following = stream.peek(1)[:1] if hasattr(stream, "peek") else b""
            last = not following
            try:
                chunk = aead.decrypt(frame[:12], frame[12:], _aad(header_line, index, last))
            except InvalidTag:
                if index == 0:
                    raise BackupError(
                        "passphrase",
                        "Wrong passphrase (or a changed file): the backup cannot be decrypted. "
                        "Nothing was restored.",
                    ) from None
                raise BackupError(
                    "damaged", "The backup file is damaged or cut short: nothing restored."
                ) from None
            out.write(chunk)
            if last:
                return
            index += 1


# --- the file ---------------------------------------------------------------------------------


def _write_file(out_path: Path, header: Header, payload: Path, passphrase: str | None) -> None:
    """Write header and payload to a private temporary file, then move it into place: a
    reader never finds a half-written backup under the final name."""
    out_path.parent.mkdir(parents=True, exist_ok=True)
    if passphrase is not None:
        if not passphrase:
            raise BackupError("passphrase-empty", "The passphrase is empty.")
        header.encrypted = True
        header.kdf = {**SCRYPT, "salt": b64encode(os.urandom(16)).decode()}
    line = header.line()
    fd, tmp = tempfile.mkstemp(dir=out_path.parent, prefix=f".{out_path.name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(MAGIC + line)
            if passphrase is not None:
                _write_encrypted(out, payload, line, _key(passphrase, header.kdf))
            else:
                with payload.open("rb") as source:
                    shutil.copyfileobj(source, out, FRAME)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_header(path: Path) -> Header:
    """The header of a backup file (no passphrase needed)."""
    with Path(path).open("rb") as stream:
        return _read_header(stream)[0]


def _read_header(stream) -> tuple[Header, bytes]:
    if stream.read(len(MAGIC)) != MAGIC:
        raise BackupError("not-a-backup", "This is not a Lớp Số backup file.")
    line = stream.readline(64 * 1024)
    try:
        fields = json.loads(line)
    except ValueError:
        raise BackupError("header", "The backup file's header is damaged.") from None
    if fields.get("format") != FORMAT_VERSION:
        raise BackupError(
            "format", f"Backup format {fields.get('format')} is not known to this version."
        )
    return Header(**fields), line


def _extract(path: Path, target: Path, passphrase: str | None) -> Header:
    """Write the payload of the backup at ``path`` to ``target`` (decrypted)."""
    with Path(path).open("rb") as stream:
        header, line = _read_header(stream)
        if header.encrypted:
            if not passphrase:
                raise BackupError(
                    "passphrase-missing",
                    f"The backup is encrypted: give its passphrase ({PASSPHRASE_ENV} or "
                    "--passphrase-file).",
                )
            _read_encrypted(stream, target, line, _key(passphrase, header.kdf))
        else:
            with target.open("wb") as out:
                shutil.copyfileobj(stream, out, FRAME)
    return header


# --- backup -----------------------------------------------------------------------------------


def backup(
    database_url: str,
    out_path: Path,
    *,
    now: datetime,
    passphrase: str | None = None,
    as_sqlite: bool = False,
) -> Header:
    """Write a consistent copy of the database at ``database_url`` to ``out_path``.

    SQLite: the online backup API (one snapshot; writers carry on). PostgreSQL: ``pg_dump``,
    or with ``as_sqlite`` a copy of every table read in one repeatable-read transaction into a
    SQLite file (a backup that restores into either engine)."""
    engine = engine_name(database_url)
    created = now.astimezone(UTC).isoformat(timespec="seconds")
    with tempfile.TemporaryDirectory(prefix="lopso-backup-") as work:
        payload = Path(work) / "payload"
        if engine == "sqlite":
            revisions = _sqlite_snapshot(_sqlite_path(database_url), payload)
            header = Header("sqlite", revisions, created, payload="sqlite-file")
        elif as_sqlite:
            source = _engine(database_url)
            try:
                with source.connect() as conn:
                    revisions = _revisions(conn)
                target_url = f"sqlite:///{payload}"
                migrate(target_url, revisions)
                copy_rows(source, _engine(target_url))
                with closing(sqlite3.connect(payload)) as copy:  # one file, no WAL beside it
                    copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                source.dispose()
            header = Header("sqlite", revisions, created, payload="sqlite-file")
        else:
            source = _engine(database_url)
            try:
                with source.connect() as conn:
                    revisions = _revisions(conn)
            finally:
                source.dispose()
            url, env = _libpq(database_url)
            _run(
                [
                    "pg_dump",
                    "--format=custom",
                    "--no-owner",
                    "--no-privileges",
                    f"--file={payload}",
                    f"--dbname={url}",
                ],
                env,
            )
            header = Header("postgresql", revisions, created, payload="pg_dump-custom")
        _write_file(Path(out_path), header, payload, passphrase)
    return header


def _sqlite_snapshot(source_path: Path, target: Path) -> list[str]:
    """Copy a live SQLite database with its online backup API, into one self-contained file
    (rollback journal, not WAL), and return its alembic revision(s)."""
    if not source_path.exists():
        raise BackupError("no-database", f"No SQLite database at {source_path}.")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        # All pages in one step, under one read transaction: a consistent snapshot, and
        # writers in WAL mode are not held up.
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")
        tables = {row[0] for row in copy.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise BackupError("no-schema", "The database has no alembic_version table.")
        return sorted(row[0] for row in copy.execute("SELECT version_num FROM alembic_version"))
    finally:
        copy.close()
        source.close()


# --- restore ----------------------------------------------------------------------------------


def restore(path: Path, target_url: str, *, passphrase: str | None = None) -> Header:
    """Restore the backup at ``path`` into the empty database at ``target_url``.

    The payload is decrypted and checked before the target is touched; a non-empty target is
    refused. A SQLite backup restores into SQLite (a file copy) or PostgreSQL (migrated to the
    backup's revision, then every table copied in one transaction); a pg_dump backup restores
    only into PostgreSQL (``pg_restore``)."""
    header = read_header(path)
    target = engine_name(target_url)
    if header.engine == "postgresql" and target == "sqlite":
        raise BackupError(
            "cross-engine",
            "This is a PostgreSQL backup (a pg_dump archive): it restores only into PostgreSQL. "
            "To move to SQLite, take the backup with `flask backup --as-sqlite` on the "
            "PostgreSQL deployment, and restore that file.",
        )
    ensure_empty(target_url)
    with tempfile.TemporaryDirectory(prefix="lopso-restore-") as work:
        payload = Path(work) / "payload"
        _extract(path, payload, passphrase)
        if header.engine == "sqlite":
            _check_sqlite(payload)
        if header.engine == "sqlite" and target == "sqlite":
            _restore_sqlite_file(payload, _sqlite_path(target_url))
        elif header.engine == "postgresql":
            url, env = _libpq(target_url)
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    f"--dbname={url}",
                    str(payload),
                ],
                env,
            )
        else:
            migrate(target_url, header.revisions)
            source = _engine(f"sqlite:///{payload}")
            try:
                copy_rows(source, _engine(target_url))
            finally:
                source.dispose()
    return header


def ensure_empty(url: str) -> None:
    """Refuse a target database that holds any table (or, on PostgreSQL, function)."""
    engine = engine_name(url)
    if engine == "sqlite":
        path = _sqlite_path(url)
        if not path.exists() or path.stat().st_size == 0:
            return
    conn_engine = _engine(url)
    try:
        with conn_engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            functions = 0
            if engine == "postgresql":
                functions = conn.execute(
                    text(
                        "SELECT count(*) FROM pg_proc"
                        " WHERE pronamespace = current_schema()::regnamespace"
                    )
                ).scalar_one()
    except OperationalError as error:
        raise BackupError(
            "target-unreachable",
            f"Cannot open the target database: {error.orig}. Create it first (an empty one).",
        ) from None
    finally:
        conn_engine.dispose()
    if tables or functions:
        shown = ", ".join(tables[:5]) + (", …" if len(tables) > 5 else "")
        raise BackupError(
            "target-not-empty",
            f"The target database is not empty ({len(tables)} tables: {shown or 'functions'}). "
            "Restore only into a new, empty database: create one (do not migrate it) and "
            "point --database (or DATABASE_URL) at it.",
        )


def _check_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as error:
        raise BackupError("damaged", f"The backup's database is damaged: {error}.") from None
    finally:
        conn.close()
    if verdict != "ok":
        raise BackupError("damaged", f"The backup's database is damaged: {verdict}.")


def _restore_sqlite_file(payload: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(payload)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=WAL")
    finally:
        copy.close()
        source.close()


# --- the generic copy (across engines) --------------------------------------------------------


def migrate(url: str, revisions: list[str]) -> None:
    """Build the schema of ``url`` with the app's migrations, up to ``revisions``."""
    from alembic.script import ScriptDirectory
    from flask import Flask
    from flask_migrate import Migrate, upgrade
    from flask_sqlalchemy import SQLAlchemy

    from webapp.extensions import db as app_db

    known = {script.revision for script in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
    if not set(revisions) <= known:
        raise BackupError(
            "unknown-revision",
            f"The backup's schema ({', '.join(revisions)}) is not one this release of Lớp Số "
            "knows: restore it with the release that made it, or a newer one.",
        )

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"poolclass": NullPool}
    target_db = SQLAlchemy(metadata=app_db.metadata)
    target_db.init_app(app)
    Migrate(app, target_db, directory=str(MIGRATIONS), render_as_batch=True)
    with app.app_context():
        try:
            for revision in revisions:
                upgrade(revision=revision)
        finally:
            target_db.engine.dispose()


def copy_rows(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row of every table (``alembic_version`` aside) from ``source`` into the
    migrated, empty ``target``, in foreign-key order and one transaction; return the counts.

    Triggers stay off during the copy (their tables, like ``report_dirty``, are copied as they
    are); PostgreSQL's sequences are moved past the copied ids afterwards."""
    src_meta, tgt_meta = MetaData(), MetaData()
    src_meta.reflect(source)
    tgt_meta.reflect(target)
    tables = [t for t in tgt_meta.sorted_tables if t.name != "alembic_version"]
    missing = sorted(set(src_meta.tables) - set(tgt_meta.tables))
    if missing:
        raise BackupError("schema-differs", f"Tables missing from the target: {missing}.")
    counts: dict[str, int] = {}
    try:
        with _reading(source) as read, _writing(target) as write:
            # Some migrations seed rows (a first consent notice…): the backup's rows, which
            # hold them as they were, replace them.
            for table in reversed(tables):
                write.execute(table.delete())
            for table in tables:
                counts[table.name] = _copy_table(read, write, src_meta.tables[table.name], table)
            if target.dialect.name == "postgresql":
                _fix_sequences(write, tables)
    except DBAPIError as error:
        raise BackupError(
            "copy-failed",
            f"Copying the rows failed, so none was written: {error.orig}. The target keeps "
            "the empty schema the migrations built: drop it and create it again before retrying.",
        ) from None
    finally:
        target.dispose()
    return counts


@contextmanager
def _reading(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        options = {"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
        with engine.connect().execution_options(**options) as conn, conn.begin():
            yield conn
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("BEGIN")  # one read snapshot for every table
            yield conn
            conn.rollback()


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            with conn.begin():
                conn.execute(text("SET LOCAL timezone = 'UTC'"))
                _postgresql_triggers_off(conn)
                yield conn
            return
        # SQLite: a real transaction from the first statement (the driver would commit the
        # DDL below on its own), foreign keys checked at commit, triggers dropped and rebuilt.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).all()
        try:
            for name, _sql in triggers:
                conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            yield conn
            for _name, sql in triggers:
                conn.exec_driver_sql(sql)
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _postgresql_triggers_off(conn: Connection) -> None:
    """Triggers off for this transaction: ``session_replication_role = replica`` (a
    superuser's right); otherwise the table owner's ``ALTER TABLE … DISABLE TRIGGER USER``
    (the migration just made us the owner), switched back on in :func:`_fix_sequences`."""
    superuser = conn.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
    if superuser:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.info["lopso_triggers_disabled"] = []
    else:
        names = inspect(conn).get_table_names()
        for name in names:
            conn.execute(text(f'ALTER TABLE "{name}" DISABLE TRIGGER USER'))
        conn.info["lopso_triggers_disabled"] = names


def _copy_table(read: Connection, write: Connection, source, target) -> int:
    names = [c.name for c in target.columns]
    if set(names) != set(source.columns.keys()):
        raise BackupError("schema-differs", f"Columns of {target.name} differ between databases.")
    json_columns = {c.name for c in target.columns if isinstance(c.type, sqltypes.JSON)}
    # JSON travels as its text: SQL NULL and JSON null stay what they were.
    query = select(
        *[cast(source.c[n], Text).label(n) if n in json_columns else source.c[n] for n in names]
    )
    statement = target.insert()
    if json_columns and write.dialect.name == "postgresql":
        statement = statement.values(
            {n: cast(bindparam(n, type_=Text), target.c[n].type) for n in json_columns}
        )
    elif json_columns:
        statement = statement.values({n: bindparam(n, type_=Text) for n in json_columns})
    to_sqlite = write.dialect.name == "sqlite"
    count = 0
    result = read.execution_options(yield_per=BATCH).execute(query)
    for part in result.partitions():
        rows = [{n: _value(v, to_sqlite) for n, v in zip(names, row, strict=True)} for row in part]
        write.execute(statement, rows)
        count += len(rows)
    return count


def _value(value, to_sqlite: bool):
    """A value as the target's driver wants it: bytes, and UTC datetimes (naive on SQLite)."""
    if isinstance(value, memoryview):
        return bytes(value)
    if isinstance(value, datetime):
        if to_sqlite and value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        if not to_sqlite and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
    return value


def _fix_sequences(write: Connection, tables) -> None:
    for table in tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, sqltypes.Integer):
                continue
            write.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:t, :c), coalesce(max_id, 0) + 1, false)"
                    f' FROM (SELECT max("{column.name}") AS max_id FROM "{table.name}") m'
                    " WHERE pg_get_serial_sequence(:t, :c) IS NOT NULL"
                ),
                {"t": f'"{table.name}"', "c": column.name},
            )
    for name in write.info.pop("lopso_triggers_disabled", []):
        write.execute(text(f'ALTER TABLE "{name}" ENABLE TRIGGER USER'))
