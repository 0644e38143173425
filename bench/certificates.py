"""Benchmark: 1,000 certificates with their QR codes into one PDF.

Prints certificates per second, peak memory and PDF size, beside a bare fpdf2 loop measured in
the same run: the same page (same fonts, same text) without the QR code, written straight
with fpdf2 — the floor any certificate PDF pays. The ratio is bare / with QR (1.0: the QR
costs nothing). The last line is JSON.

    .venv/bin/python bench/certificates.py            # 1,000 certificates
    .venv/bin/python bench/certificates.py --n 50 --out /tmp/certs.pdf
"""

import argparse
import json
import random
import resource
import secrets
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp.certificates import pdf
from webapp.people.demo import FEMALE_GIVEN, KINH_SURNAMES, MALE_GIVEN

BASE_URL = "https://lopso.ngokbay.gov.vn"


def certificates(n: int) -> list[SimpleNamespace]:
    """``n`` certificates as the app stores them: a snapshot and a verification code."""
    rng = random.Random(5)
    made = []
    for i in range(1, n + 1):
        given = rng.choice(FEMALE_GIVEN + MALE_GIVEN)
        name = f"{rng.choice(KINH_SURNAMES)} {rng.choice(['Thị', 'Văn', 'Hữu', 'Ngọc'])} {given}"
        serial = f"NGOKBAY-2025-{i:06d}"
        snapshot = {
            "full_name": name,
            "birth_year": rng.randint(1940, 2008),
            "village": f"Thôn {rng.randint(1, 8)}",
            "course": "Kỹ năng số cho người cao tuổi",
            "competencies": [
                {"code": "0.1", "name": "Sử dụng thiết bị số cơ bản"},
                {"code": "1.1", "name": "Tìm kiếm và đánh giá thông tin"},
                {"code": "2.3", "name": "Giao dịch trực tuyến an toàn"},
                {"code": "4.1", "name": "Bảo vệ thiết bị và dữ liệu cá nhân"},
            ],
            "hours": 8.0,
            "date_text": "Ngọk Bay, ngày 25 tháng 11 năm 2025",
            "committee": "UBND xã Ngọk Bay",
            "signer_title": "Chủ tịch",
            "signer_name": "Y Blúp",
            "serial": serial,
            "framework_version": "0.1-draft",
        }
        made.append(SimpleNamespace(snapshot=snapshot, verify_code=secrets.token_urlsafe(12)))
    return made


def bare(certs: list[SimpleNamespace]) -> bytes:
    """The same pages without the QR code: only fpdf2's own work."""
    document = pdf.new_document()
    for certificate in certs:
        pdf.draw_page(document, certificate.snapshot)
    return bytes(document.output())


def timed(function, *args) -> tuple[float, bytes]:
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="certificates (default 1000)")
    parser.add_argument("--out", help="also write the PDF here")
    args = parser.parse_args()

    certs = certificates(args.n)
    pdf.render(certs[:3], base_url=BASE_URL)  # warm up: imports, font files in the page cache
    bare_s, bare_pdf = timed(bare, certs)
    seconds, body = timed(lambda: pdf.render(certs, base_url=BASE_URL))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    if args.out:
        Path(args.out).write_bytes(body)

    per_s, bare_per_s = args.n / seconds, args.n / bare_s
    print(
        f"bare fpdf2 loop (same page, no QR): {args.n} pages in {bare_s:.2f} s "
        f"= {bare_per_s:.0f}/s, {len(bare_pdf) / 1e6:.2f} MB"
    )
    print(
        f"certificates with QR:               {args.n} in {seconds:.2f} s "
        f"= {per_s:.0f}/s, {len(body) / 1e6:.2f} MB"
    )
    print(
        f"ratio (bare / with QR): {bare_per_s / per_s:.2f}; peak memory (max RSS): "
        f"{peak_mib:.0f} MiB"
    )
    print(
        json.dumps(
            {
                "bench": "certificates",
                "certificates": args.n,
                "seconds": round(seconds, 3),
                "per_s": round(per_s, 1),
                "bare_per_s": round(bare_per_s, 1),
                "ratio": round(bare_per_s / per_s, 3),
                "peak_mib": round(peak_mib, 1),
                "pdf_bytes": len(body),
            }
        )
    )


if __name__ == "__main__":
    main()
