"""The certificate benchmark still runs (a small size) and ends with its JSON line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent

pytestmark = pytest.mark.slow  # runs bench/certificates.py in a subprocess


def test_certificate_benchmark_runs_and_prints_json(tmp_path):
    out = tmp_path / "bench.pdf"
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "certificates.py"), "--n", "20", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert {
        "certificates",
        "seconds",
        "per_s",
        "bare_per_s",
        "ratio",
        "peak_mib",
        "pdf_bytes",
    } <= set(figures)
    assert figures["certificates"] == 20 and figures["per_s"] > 0 and figures["bare_per_s"] > 0
    assert figures["pdf_bytes"] == out.stat().st_size and out.read_bytes().startswith(b"%PDF")
