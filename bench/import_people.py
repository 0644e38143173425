"""Benchmark: import a 30,000-row .xlsx list of persons (upload, check, then commit).

Prints the time of each step and its ratio to a baseline measured in the same run: merely
reading the same workbook with openpyxl (the floor any importer pays). The file is read once,
at upload; the preview and the commit check the rows kept in the database. Then the peak
memory (VmHWM of a fresh process) of reading the same list and of reading hostile files
(a cell at XFD1048576, one at Z1000000, a sheet that unpacks to 2 GB). The last line is JSON.

    .venv/bin/python bench/import_people.py                 # temporary SQLite database
    .venv/bin/python bench/import_people.py --database postgresql://postgres@127.0.0.1/test
      (the PostgreSQL database is emptied: use a scratch database)
"""

import argparse
import io
import json
import random
import subprocess
import sys
import tempfile
import textwrap
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

        upgrade(revision="heads")
        commune = Commune(code="BENCH", name="Xã Bench", province="Quảng Ngãi")
        db.session.add(commune)
        db.session.add_all(
            Village(commune=commune, name=v, position=i) for i, v in enumerate(VILLAGES)
        )
        db.session.flush()
        user = User(
            username="bench",
            full_name="Bench",
            password_hash="x",
            role=Role.ORGANISER,
            commune_id=commune.id,
            active=True,
            created_at=NOW,
        )
        db.session.add(user)
        db.session.commit()

        def read_only():
            book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
            book.close()
            return count

        baseline, read_rows = timed(read_only)
        stage_s, batch = timed(
            lambda: importer.stage(
                actor=user, now=NOW, commune_id=commune.id, filename="bench.xlsx", content=content
            )
        )
        db.session.commit()
        check_s, report = timed(lambda: importer.check(batch, now=NOW))
        assert report.ok, report.problem_rows[:3]
        commit_s, written = timed(lambda: importer.commit(actor=user, now=NOW, batch=batch))
        db.session.commit()
        stored = db.session.scalar(select(func.count()).select_from(Person))
        assert written == stored == args.rows, (written, stored)
        dialect = db.engine.dialect.name
    total = stage_s + check_s + commit_s
    memory = peak_memory(content, tmp.name)
    print(f"database            {dialect}")
    size = len(content) / 1e6
    print(f"rows                {args.rows:,} ({size:.1f} MB .xlsx, {read_rows - 1:,} read)")
    print(f"baseline: read xlsx {baseline:7.2f} s   (openpyxl, read-only)")
    print(f"upload (read once)  {stage_s:7.2f} s   x{stage_s / baseline:.2f} of baseline")
    print(f"preview (check)     {check_s:7.2f} s   x{check_s / baseline:.2f} of baseline")
    print(f"commit              {commit_s:7.2f} s   x{commit_s / baseline:.2f} of baseline")
    print(f"upload+preview+commit {total:5.2f} s   x{total / baseline:.2f} of baseline")
    for name, figure in memory.items():
        print(f"peak memory {name:<24} {figure['peak_mb']:6.0f} MB  {figure['result']}")
    print(
        json.dumps(
            {
                "bench": "import_people",
                "database": dialect,
                "rows": args.rows,
                "baseline_read_s": round(baseline, 3),
                "stage_s": round(stage_s, 3),
                "check_s": round(check_s, 3),
                "commit_s": round(commit_s, 3),
                "total_s": round(total, 3),
                "ratio_total_to_baseline": round(total / baseline, 2),
                "peak_memory_mb": {k: v["peak_mb"] for k, v in memory.items()},
            }
        )
    )


def peak_memory(content: bytes, folder: str) -> dict:
    """Peak resident memory (VmHWM) of a fresh process reading each file (``importer.parse``),
    against that of the same process importing the code and reading nothing."""
    from tests.people.test_import_limits import xlsx_with_cells, zip_bomb

    files = {
        "nothing": None,
        f"this list ({len(content) / 1e6:.1f} MB)": content,
        "cell at XFD1048576": xlsx_with_cells("XFD1048576"),
        "cell at Z1000000": xlsx_with_cells("Z1000000"),
        "sheet unpacking to 2 GB": zip_bomb(None),
    }
    script = textwrap.dedent(
        """
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from webapp.people import importer
        result = "-"
        if sys.argv[2] != "-":
            try:
                content = open(sys.argv[2], "rb").read()
                parsed = importer.parse("x.xlsx", content, max_rows=50_000)
                result = f"{len(parsed['rows'])} rows"
            except importer.FileProblem as problem:
                result = f"refused: {problem.code}"
        # VmHWM, not ru_maxrss: after exec, Linux keeps the forking parent's ru_maxrss.
        status = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
        print(json.dumps({"peak_mb": round(int(status) / 1024), "result": result}))
        """
    )
    figures = {}
    for i, (name, data) in enumerate(files.items()):
        path = "-"
        if data is not None:
            path = f"{folder}/memory-{i}.xlsx"
            Path(path).write_bytes(data)
        root = str(Path(__file__).resolve().parent.parent)
        done = subprocess.run(
            [sys.executable, "-c", script, root, path],
            capture_output=True,
            text=True,
            timeout=600,
            check=True,
        )
        figures[name] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    main()
