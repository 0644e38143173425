"""Benchmark: import a 30,000-row .xlsx list of persons (check, then commit).

Prints the time of each step and its ratio to a baseline measured in the same run: merely
reading the same workbook with openpyxl (the floor any importer pays). The last line is JSON.

    .venv/bin/python bench/import_people.py                 # temporary SQLite database
    .venv/bin/python bench/import_people.py --database postgresql://postgres@127.0.0.1/test
      (the PostgreSQL database is emptied: use a scratch database)
"""

import argparse
import io
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import openpyxl
from sqlalchemy import create_engine, func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import create_app
from webapp.config import database_url
from webapp.extensions import db
from webapp.people import importer
from webapp.people.demo import FEMALE_GIVEN, KINH_SURNAMES, MALE_GIVEN
from webapp.people.models import Commune, Person, Village
from webapp.permissions import Role

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
VILLAGES = [f"Thôn {i}" for i in range(1, 9)]


def workbook(rows: int) -> bytes:
    rng = random.Random(7)
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append([c.header for c in importer.COLUMNS])
    for n in range(rows):
        female = n % 2
        name = " ".join(
            [
                rng.choice(KINH_SURNAMES),
                "Thị" if female else "Văn",
                rng.choice(FEMALE_GIVEN if female else MALE_GIVEN),
                f"{n:05d}",  # unique, so no row is a duplicate of another
            ]
        )
        village = n % len(VILLAGES)
        household = n // 24  # three people per household, all in one village
        values = {
            "full_name": name,
            "birth_year": 1940 + n % 70,
            "sex": "Nữ" if female else "Nam",
            "phone": f"09{n:08d}",
            "village": VILLAGES[village],
            "household_code": f"T{village + 1}-{household:05d}",
            "poor_household": "Có" if household % 10 == 0 else "",
            "target_group": "Người dân",
            "trader_farmer": "Có" if n % 4 == 0 else "",
            "vneid_level2": "12/03/2025" if n % 3 else "",
            "consent_on": "01/11/2025",
        }
        sheet.append([values.get(c.key, "") for c in importer.COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=30_000)
    parser.add_argument("--database", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = database_url(args.database) if args.database else f"sqlite:///{tmp.name}/bench.sqlite3"
    if url.startswith("postgresql"):
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "IMPORT_MAX_ROWS": args.rows}
    )
    content = workbook(args.rows)
    with app.app_context():
        from flask_migrate import upgrade

        from webapp.accounts.models import User

        upgrade()
        commune = Commune(code="BENCH", name="Xã Bench", province="Quảng Ngãi")
        db.session.add(commune)
        db.session.add_all(
            Village(commune=commune, name=v, position=i) for i, v in enumerate(VILLAGES)
        )
        db.session.flush()
        user = User(username="bench", full_name="Bench", password_hash="x", role=Role.ORGANISER,
                    commune_id=commune.id, active=True, created_at=NOW)  # fmt: skip
        db.session.add(user)
        db.session.commit()

        def read_only():
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
            book.close()
            return count

        baseline, read_rows = timed(read_only)
        batch = importer.stage(actor=user, now=NOW, commune_id=commune.id, filename="bench.xlsx",
                               content=content)  # fmt: skip
        db.session.commit()
        check_s, report = timed(lambda: importer.check(batch, now=NOW))
        assert report.ok, report.problem_rows[:3]
        commit_s, written = timed(lambda: importer.commit(actor=user, now=NOW, batch=batch))
        db.session.commit()
        stored = db.session.scalar(select(func.count()).select_from(Person))
        assert written == stored == args.rows, (written, stored)
        dialect = db.engine.dialect.name
    total = check_s + commit_s
    print(f"database            {dialect}")
    size = len(content) / 1e6
    print(f"rows                {args.rows:,} ({size:.1f} MB .xlsx, {read_rows - 1:,} read)")
    print(f"baseline: read xlsx {baseline:7.2f} s   (openpyxl, read-only)")
    print(f"preview (check)     {check_s:7.2f} s   x{check_s / baseline:.2f} of baseline")
    print(f"commit              {commit_s:7.2f} s   x{commit_s / baseline:.2f} of baseline")
    print(f"preview + commit    {total:7.2f} s   x{total / baseline:.2f} of baseline")
    print(json.dumps({"bench": "import_people", "database": dialect, "rows": args.rows,
                      "baseline_read_s": round(baseline, 3), "check_s": round(check_s, 3),
                      "commit_s": round(commit_s, 3), "total_s": round(total, 3),
                      "ratio_total_to_baseline": round(total / baseline, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
