"""A hostile or careless spreadsheet cannot exhaust a worker: the sheet's extent and the
archive's unpacked size are bounded before anything is materialised, the file is read once
(at upload), and a refused file gets a message that says what to do."""

import io
import json
import struct
import subprocess
import sys
import textwrap
import time
import zipfile
import zlib
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from tests.factories import NOW
from tests.people.test_import import stage
from webapp.extensions import db
from webapp.people import importer
from webapp.people.models import ImportBatch, Person

ROOT = Path(__file__).resolve().parents[2]
HEADER = ["Họ và tên", "Năm sinh", "Thôn"]
MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def xlsx_with_cells(*refs: str) -> bytes:
    """A small, valid list plus one value at each of ``refs`` (openpyxl writes it cheaply)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADER)
    sheet.append(["Nguyễn Văn Một", 1960, "Thôn 1"])
    for ref in refs:
        sheet[ref] = "x"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def xlsx_with_sheet_xml(sheet_xml: str) -> bytes:
    """A workbook whose first sheet is exactly ``sheet_xml`` (for hand-written positions)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx_with_cells()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml.encode()
            target.writestr(info.filename, data)
    return buffer.getvalue()


HEADER_ROW = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>Họ và tên</t></is></c>'
    '<c r="B1" t="inlineStr"><is><t>Năm sinh</t></is></c>'
    '<c r="C1" t="inlineStr"><is><t>Thôn</t></is></c></row>'
)


def sheet(rows: str, root="worksheet", prefix="") -> str:
    ns = f'xmlns:{prefix[:-1]}="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    header = HEADER_ROW.replace("<", f"<{prefix}").replace(f"<{prefix}/", f"</{prefix}")
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{prefix}{root} {ns if prefix else MAIN}>'
        f"<{prefix}sheetData>{header}{rows}</{prefix}sheetData></{prefix}{root}>"
    )


def zip_bomb(declared_size: int | None) -> bytes:
    """An .xlsx whose sheet XML unpacks to 2 GB of one repeated byte, written without
    compressing 2 GB: deflate blocks after a full flush are identical, so one is repeated.
    ``declared_size``: the size the archive claims (None: the true one)."""
    chunk = b"<!-- " + b"x" * (1024 * 1024 - 10) + b" -->\n"
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    copies = 2048
    body = first + block * (copies - 1) + compressor.flush()
    true_size = len(chunk) * copies
    size = true_size if declared_size is None else declared_size
    crc = 0 if declared_size is not None else _repeated_crc(chunk, copies)
    parts = [(n, d) for n, d in _parts_of(xlsx_with_cells()) if not n.endswith("sheet1.xml")]
    return _raw_zip(
        [
            *((n, zlib.compress(d)[2:-4], zlib.crc32(d), len(d)) for n, d in parts),
            ("xl/worksheets/sheet1.xml", body, crc, size),
        ]
    )


def _repeated_crc(chunk: bytes, copies: int) -> int:
    crc = 0
    for _ in range(copies):
        crc = zlib.crc32(chunk, crc)
    return crc


def _parts_of(content: bytes):
    archive = zipfile.ZipFile(io.BytesIO(content))
    return [(info.filename, archive.read(info)) for info in archive.infolist()]


def _raw_zip(members) -> bytes:
    """A zip archive from already deflated members: (name, deflated, crc, size)."""
    out, directory = io.BytesIO(), []
    for name, data, crc, size in members:
        offset = out.tell()
        encoded = name.encode()
        header = struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0
        )
        out.write(header + encoded + data)
        central = struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            0,
            8,
            0,
            0,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        directory.append(central + encoded)
    start = out.tell()
    out.write(b"".join(directory))
    out.write(
        struct.pack(
            "<4s4H2LH",
            b"PK\x05\x06",
            0,
            0,
            len(directory),
            len(directory),
            out.tell() - start,
            start,
            0,
        )
    )
    return out.getvalue()


FAR = "sheet_too_wide"
HOSTILE = {
    "one cell at XFD1048576": (lambda: xlsx_with_cells("XFD1048576"), FAR),
    "one cell at Z1000000": (lambda: xlsx_with_cells("Z1000000"), FAR),
    "a column beyond AN": (lambda: xlsx_with_cells("AO2"), FAR),
    "a row beyond the limit and its slack": (lambda: xlsx_with_cells("A52002"), FAR),
    "a far row with no position on its cells": (
        lambda: xlsx_with_sheet_xml(sheet('<row r="1048576"><c><v>1</v></c></row>')),
        FAR,
    ),
    "cells without positions running far right": (
        lambda: xlsx_with_sheet_xml(sheet("<row>" + "<c><v>1</v></c>" * 100 + "</row>")),
        FAR,
    ),
    "a position written with a character reference": (
        lambda: xlsx_with_sheet_xml(sheet('<row r="2"><c r="&#88;FD2"><v>1</v></c></row>')),
        FAR,
    ),
    "a position in single quotes": (
        lambda: xlsx_with_sheet_xml(sheet("<row r='2'><c r='XFD2'><v>1</v></c></row>")),
        FAR,
    ),
    "elements with a namespace prefix": (
        lambda: xlsx_with_sheet_xml(
            sheet('<x:row r="2"><x:c r="XFD1048576"><x:v>1</x:v></x:c></x:row>', prefix="x:")
        ),
        FAR,
    ),
    "a sheet that unpacks to 2 GB": (lambda: zip_bomb(None), "file_too_big"),
    "a sheet that unpacks to 2 GB but claims 1 KB": (lambda: zip_bomb(1024), "file_unreadable"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_workbooks_are_refused_quickly_with_a_message(organiser, case):
    build, code = HOSTILE[case]
    content = build()
    assert len(content) < 3_000_000
    started = time.perf_counter()
    with pytest.raises(importer.FileProblem) as refused:
        stage(organiser, content)
    assert time.perf_counter() - started < 10
    assert refused.value.code == code
    message = refused.value.message  # Vietnamese: what is wrong and what to do
    if code == FAR:
        assert "xa ngoài danh sách" in message and "CSV" in message and "xoá" in message
    elif code == "file_too_big":
        assert "quá lớn" in message and "CSV" in message
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0


def test_a_lying_dimension_tag_is_not_trusted(organiser):
    """<dimension> says A1:XFD1048576, the cells say A1:C2: the cells are what count."""
    rows = (
        '<row r="2"><c r="A2" t="inlineStr"><is><t>Lê Văn Hai</t></is></c><c r="B2"><v>1970</v>'
        '</c><c r="C2" t="inlineStr"><is><t>Thôn 1</t></is></c></row>'
    )
    xml = sheet(rows).replace("<sheetData>", '<dimension ref="A1:XFD1048576"/><sheetData>')
    batch = stage(organiser, xlsx_with_sheet_xml(xml))
    assert importer.check(batch, now=NOW).ok


def test_memory_stays_bounded_whatever_the_file():
    """Read each hostile file in a process whose address space is capped at 400 MB: the old
    reader (calamine's dense range) aborts or fails; now each is refused, and a normal file
    is read under the same cap."""
    files = ROOT / "instance" / "test-import-limits"
    files.mkdir(parents=True, exist_ok=True)
    names = {}
    for i, (case, (build, _)) in enumerate(HOSTILE.items()):
        (files / f"{i}.xlsx").write_bytes(build())
        names[f"{i}.xlsx"] = case
    (files / "normal.xlsx").write_bytes(_normal_xlsx(3000))  # a normal list, 3,000 people
    script = textwrap.dedent(
        f"""
        import json, resource, sys
        sys.path.insert(0, {str(ROOT)!r})
        from pathlib import Path
        from webapp.people import importer
        resource.setrlimit(resource.RLIMIT_AS, (400 * 1024 * 1024, 400 * 1024 * 1024))
        results = {{}}
        for path in sorted(Path({str(files)!r}).glob("*.xlsx")):
            try:
                parsed = importer.parse(path.name, path.read_bytes(), max_rows=50_000)
                results[path.name] = len(parsed["rows"])
            except importer.FileProblem as problem:
                results[path.name] = problem.code
        print(json.dumps(results))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert results.pop("normal.xlsx") == 3000
    for name, result in results.items():
        assert result == HOSTILE[names[name]][1], names[name]


def _normal_xlsx(rows: int) -> bytes:
    book = openpyxl.Workbook(write_only=True)
    sheet_ = book.create_sheet()
    sheet_.append([*HEADER, "Số điện thoại"])
    for n in range(rows):
        sheet_.append([f"Người Số {n:05d}", 1940 + n % 70, "Thôn 1", f"09{n:08d}"])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_too_many_rows_within_the_sheet_slack(app, organiser, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_ROWS", 20)
    with pytest.raises(importer.FileProblem) as refused:
        stage(organiser, _normal_xlsx(21))
    assert refused.value.code == "too_many_rows"
    with pytest.raises(importer.FileProblem) as refused:
        stage(organiser, _csv(21), "list.csv")
    assert refused.value.code == "too_many_rows"
    assert stage(organiser, _normal_xlsx(20)).parsed_rows["rows"][-1][0] == 21


def _csv(rows: int, extra: str = "") -> bytes:
    lines = [",".join(HEADER)] + [f"Người Số {n:05d},1960,Thôn 1" for n in range(rows)]
    return ("\r\n".join(lines) + extra).encode("utf-8")


@pytest.mark.parametrize(
    ("tail", "code"),
    [
        ("\r\n" + "," * 200_000, "csv_line_too_long"),  # one line of 200,000 empty cells
        ("\r\n" + "x" * 150_000, "csv_line_too_long"),
        # A quoted cell over many short lines: longer than csv.field_size_limit().
        ('\r\n"' + ("y" * 50_000 + "\n") * 4 + '",1960,Thôn 1', "file_unreadable_csv"),
    ],
)
def test_hostile_csv_files_are_refused(organiser, tail, code):
    with pytest.raises(importer.FileProblem) as refused:
        stage(organiser, _csv(3, tail), "list.csv")
    assert refused.value.code == code
    assert "CSV" in refused.value.message


# --- read once -----------------------------------------------------------------------------


def upload(actions, content, filename="danh-sach.xlsx"):
    token = actions.csrf_token("/people/import")
    return actions.client.post(
        "/people/import",
        data={"csrf_token": token, "file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def test_the_file_is_read_once_and_thirty_rows_go_end_to_end(app, actions, world, monkeypatch):
    reads = []
    real = importer._rows
    monkeypatch.setattr(importer, "_rows", lambda *a: reads.append(a[0]) or real(*a))
    actions.login("organiser")
    response = upload(actions, _normal_xlsx(30))
    assert response.status_code == 302, response.get_data(as_text=True)[-3000:]
    assert len(reads) == 1
    location = response.headers["Location"]
    for _ in range(2):  # a reload does not read the file again
        preview = actions.client.get(location).get_data(as_text=True)
        assert "Nhập tất cả 30 người" in preview
    assert len(reads) == 1
    done = actions.post(f"{location}/commit", token_from=location, follow_redirects=True)
    assert "30 người đã được thêm" in done.get_data(as_text=True)
    assert len(reads) == 1, "the commit checks the kept rows, not the file"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Person)) == 30
        batch = db.session.scalars(select(ImportBatch)).one()
        assert batch.content == b"" and batch.parsed_rows is None, "no second copy is kept"


def test_a_refused_workbook_is_explained_on_the_upload_page(app, actions, world):
    actions.login("organiser")
    response = upload(actions, xlsx_with_cells("XFD1048576"))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "xa ngoài danh sách" in html and "XFD1048576" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
