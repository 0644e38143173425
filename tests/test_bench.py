"""The benchmarks still run (a small size), so their figures can be trusted when asked for."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
