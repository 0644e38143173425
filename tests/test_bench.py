"""The benchmarks still run (a small size), so their figures can be trusted when asked for."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import make_url

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow  # each runs a bench/ script in a subprocess


def test_import_benchmark_runs_and_prints_json():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_people.py"), "--rows", "300"],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["bench"] == "import_people" and figures["rows"] == 300
    assert figures["total_s"] > 0 and figures["baseline_read_s"] > 0


def test_checkin_benchmark_runs_and_prints_json():
    """A few phones through gunicorn: no check-in lost or doubled (PostgreSQL too when the
    tests run on it, in a scratch database beside the test database)."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "checkin.py"),
        "--n",
        "24",
        "--burst",
        "8",
        "--concurrency",
        "4",
        "--workers",
        "2",
        "--warm",
        "0.2",
        "--warm-phones",
        "8",
        "--phase-timeout",
        "60",
    ]
    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url:
        scratch = make_url(test_url).set(database="bench_smoke")
        command += ["--postgresql", scratch.render_as_string(hide_password=False)]
    else:
        command += ["--no-postgresql"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == ({"sqlite", "postgresql"} if test_url else {"sqlite"})
    for name, figure in figures.items():
        assert {
            "checkins_per_s",
            "bare_insert_per_s",
            "ratio",
            "p50_ms",
            "p99_ms",
            "lost",
            "duplicated",
        } <= set(figure), name
        assert figure["lost"] == 0 and figure["duplicated"] == 0, (name, figure)
        assert figure["failures"] == 0, (name, figure)
        assert figure["checkins_per_s"] > 0 and figure["bare_insert_per_s"] > 0


def test_reports_benchmark_runs_and_prints_json():
    """A tiny commune on SQLite (and a tiny province on the PostgreSQL server of the tests,
    in a scratch database the bench creates and drops): every figure is printed."""
    command = [
        sys.executable,
        str(ROOT / "bench" / "reports.py"),
        "--scale-factor",
        "0.005",
        "--repeat",
        "2",
        "--plan-lines",
        "5",
    ]
    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url:
        command += ["--postgresql", test_url, "--pg-database", "bench_reports_smoke"]
    else:
        command += ["--scales", "commune"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=True)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(figures) == ({"commune", "province"} if test_url else {"commune"})
    for scale, figure in figures.items():
        assert figure["complete"], scale
        for key in ("dashboard_ms", "dashboard_cold_ms", "refresh_ms", "heaviest_query_ms"):
            assert figure[key] > 0, (scale, key)
        assert figure["heaviest_query"].startswith(("SELECT", "WITH")), figure
        assert figure["rows"]["persons"] > 0 and figure["rows"]["attendance"] > 0
        assert "export_s" in figure
