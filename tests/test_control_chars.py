"""Control and invisible characters: cleaned at every entry point, never a 500 on export.

A public sign-up name with a bell (``\\x07``), a NUL in a session topic (PostgreSQL refuses
NUL; openpyxl refuses C0 controls), an ANSI escape, a right-to-left override… are typed
through the forms, then the register and the attendance grid are downloaded; and the same
values are written straight into the database (data kept from before input was cleaned)
and exported again — spreadsheets and certificate PDFs.
"""

import io
from urllib.parse import quote_from_bytes

import openpyxl
import pytest
from flask import url_for
from sqlalchemy import select, update
from werkzeug.routing import UnicodeConverter

from tests.conftest import CSRF_RE
from tests.test_route_roles import samples  # noqa: F401 — the records every route needs
from webapp.certificates.models import Certificate
from webapp.extensions import db
from webapp.people.models import Person, Village
from webapp.scheduling.models import ClassSession, CourseClass, SignupRequest
from webapp.text import UNWANTED

HOSTILE = [
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\u202e",
    "\ufeff",
    "\u200b",
    "\x9b",
    "\U000e0041",
    "\ufffe",
    "x" * 10_000,
]
# Bytes a browser could send that are not text: a lone surrogate (CESU-8), broken UTF-8.
HOSTILE_BYTES = [b"\xed\xa0\x80", b"\xff\xfe", b"\xc0\x80"]
#: Saved (302) or the form shown again with its errors.
SHOWN = {200, 302, 400, 409, 422}


def _body(fields: dict) -> bytes:
    """An urlencoded body from str or raw-bytes values (the test client would refuse bytes
    that are not UTF-8)."""
    parts = []
    for key, value in fields.items():
        raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "surrogatepass")
        parts.append(f"{key}={quote_from_bytes(raw)}")
    return "&".join(parts).encode()


def _post(client, url, fields, **kwargs):
    return client.post(
        url, data=_body(fields), content_type="application/x-www-form-urlencoded", **kwargs
    )


def _token(client, url) -> str:
    return CSRF_RE.search(client.get(url).get_data(as_text=True)).group(1)


def _clean_everywhere(app, *columns) -> None:
    with app.app_context():
        for column in columns:
            for value in db.session.scalars(select(column)):
                assert not UNWANTED.search(value or ""), (column, value[:40])


def _assert_opens(response) -> openpyxl.Workbook:
    assert response.status_code == 200, response.status_code
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _variants():
    for i, hostile in enumerate(HOSTILE):
        yield f"Lê{hostile}Văn Thử {i}"
    for i, raw in enumerate(HOSTILE_BYTES):
        yield "Lê Văn ".encode() + raw + f" {i}".encode()


def test_public_sign_up_stores_names_without_control_characters(app, client, samples):  # noqa: F811
    with app.app_context():
        token = db.session.get(CourseClass, samples["class_id"]).public_token
    url = f"/lop/{token}"
    for n, name in enumerate(_variants()):
        client.environ_base["REMOTE_ADDR"] = f"10.0.{n}.1"  # not the sign-up throttle
        fields = {
            "full_name": name,
            "birth_year": "1957",
            "village_id": samples["village_id"],
            "phone": "",
            "consent": "y",
            "csrf_token": _token(client, url),
        }
        response = _post(client, url, fields)
        assert response.status_code in SHOWN, (name[:30], response.status_code)
        print(
            n,
            response.status_code,
            response.get_data(as_text=True)[-3000:] if response.status_code != 302 else "",
        )
    with app.app_context():
        names = db.session.scalars(select(SignupRequest.full_name)).all()
    assert len(names) == 1 + len(HOSTILE) - 1 + len(HOSTILE_BYTES)  # not the 10,000 characters
    assert {"LêVăn Thử 0", "LêVăn Thử 1", "Lê[31mVăn Thử 2", "Lê Văn Thử 4", "LêVăn Thử 5"} <= set(
        names
    )  # \x85 is a line break: a space in a name
    _clean_everywhere(app, SignupRequest.full_name)


def test_session_and_person_forms_clean_text_then_exports_open(app, actions, samples):  # noqa: F811
    actions.login("organiser")
    session_url = f"/sessions/{samples['session_id']}/edit"
    person_url = f"/people/{samples['person_id']}/edit"
    with app.app_context():
        session = db.session.get(ClassSession, samples["session_id"])
        person = db.session.get(Person, samples["person_id"])
        day = session.starts_at.strftime("%d/%m/%Y")  # 01:00 UTC is 08:00 the same day
        start = (session.starts_at.hour + 7) % 24
        person_fields = {
            "birth_year": str(person.birth_year),
            "village_id": person.village_id,
            "target_group": person.target_group,
        }
    for text in _variants():
        fields = {
            "day": day,
            "start": f"{start:02d}:00",
            "end": f"{start + 1:02d}:00",
            "topic": text,
            "note": text,
            "venue_id": samples["venue_id"],
            "csrf_token": _token(actions.client, session_url),
        }
        response = _post(actions.client, session_url, fields)
        assert response.status_code in SHOWN, (text[:30], response.status_code)
        fields = person_fields | {
            "full_name": text,
            "note": f"dòng 1{text}\ndòng 2",
            "csrf_token": _token(actions.client, person_url),
        }
        response = _post(actions.client, person_url, fields)
        assert response.status_code in SHOWN, (text[:30], response.status_code)
        _clean_everywhere(app, ClassSession.topic, ClassSession.note, Person.full_name, Person.note)
        register = f"/sessions/{samples['session_id']}/register.xlsx"
        _assert_opens(actions.client.get(register))
        _assert_opens(actions.client.get(f"/classes/{samples['class_id']}/attendance.xlsx"))


def _stored_hostile(app) -> list[str]:
    """The hostile texts this database can hold (PostgreSQL refuses NUL in text)."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
    return [h for h in HOSTILE if not (postgres and "\x00" in h)]


@pytest.mark.parametrize("role", ["organiser", "trainer"])
def test_exports_open_whatever_old_data_holds(app, actions, samples, role):  # noqa: F811
    texts = _stored_hostile(app)
    actions.login(role)
    with app.app_context():
        for i, hostile in enumerate(texts):
            value = f"=cmd|{hostile}|{i}"[:200]
            db.session.execute(update(Person).values(full_name=f"Lê{hostile}Văn"[:120]))
            db.session.execute(update(ClassSession).values(topic=value))
            db.session.execute(update(CourseClass).values(name=value))
            db.session.execute(
                update(Village)
                .where(Village.id == samples["village_id"])
                .values(name=f"Thôn{hostile}{i}"[:120])
            )
            snapshot = {
                "full_name": f"Lê{hostile}Văn",
                "course": value,
                "village": value,
                "committee": value,
                "competencies": [{"code": hostile, "name": value}],
            }
            db.session.execute(update(Certificate).values(snapshot=snapshot))
            db.session.commit()
            register = _assert_opens(
                actions.client.get(f"/sessions/{samples['session_id']}/register.xlsx")
            )
            topic = next(r[1] for r in register.active.iter_rows() if r[0].value == "Chủ đề")
            assert topic.data_type == "s" and topic.value.startswith("=cmd|")  # text, not a formula
            grid = _assert_opens(
                actions.client.get(f"/classes/{samples['class_id']}/attendance.xlsx")
            )
            names = [r[0].value for r in grid.active.iter_rows()]
            assert names[names.index("Họ và tên") + 1].startswith("Lê")
            pdf = actions.client.get(f"/certificates/{samples['certificate_id']}.pdf")
            assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")


def _text_rules(app):
    for rule in app.url_map.iter_rules():
        texts = [n for n, c in rule._converters.items() if isinstance(c, UnicodeConverter)]
        if texts and rule.endpoint != "static":
            yield rule, texts


@pytest.mark.parametrize("role", [None, "organiser"])
def test_control_characters_in_addresses_are_not_found(app, actions, samples, role):  # noqa: F811
    """A token, code or competency in the path with a NUL (PostgreSQL refuses it in a query)
    or another control character matches no route."""
    if role:
        actions.login(role)
    token = actions.csrf_token()
    checked = 0
    with app.test_request_context():
        urls = []
        for rule, texts in _text_rules(app):
            for name in texts:
                values = {a: samples.get(a, 1) for a in rule.arguments} | {name: "SENTINEL"}
                if "decision" in rule.arguments:
                    values["decision"] = "confirm"
                url = url_for(rule.endpoint, **values)
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    for bad in ("%00", "a%00b", "%07", "%1B%5B31m", "%C2%85", "%E2%80%AE"):
                        urls.append((method, url.replace("SENTINEL", bad)))
    for method, url in urls:
        response = actions.client.open(url, method=method, data={"csrf_token": token})
        assert response.status_code < 500, (method, url, response.status_code)
        checked += 1
    assert checked > 50


# --- text read from the request outside a form --------------------------------------------------

#: The values views read straight from ``request.form``/``args``/``values`` without a form or a
#: cleaning function around them, each with why that is safe. Free text must go through a
#: form or ``webapp.text.clean`` (a NUL in an undo reason reached the database this way).
RAW_READS_ALLOWED = {
    ("webapp/site.py", "lang"): "compared with the configured languages",
    ("webapp/scheduling/views.py", "status"): "compared with the status labels",
    ("webapp/learning/views.py", "version"): "compared with the version numbers",
    ("webapp/learning/views.py", "code"): "looked up among the course's competency codes",
    ("webapp/checkin/learner_views.py", "ticket"): "a signed ticket, verified",
    ("webapp/checkin/learner_views.py", "action"): "dispatched on known action names",
    ("webapp/scheduling/public_views.py", "village"): "read as an ASCII integer or ignored",
}
#: Calls that turn a raw value into something that cannot carry free text.
SANITISERS = {
    "clean",
    "clean_lines",
    "row_id",
    "query_int",
    "bounded_int",
    "safe_next",
    "_parse",
    "loads",
}


def _raw_request_reads():
    """(file, key, line) of every ``request.form/args/values.get(key)`` whose value is neither
    compared, nor passed straight to a sanitiser."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for path in sorted((root / "webapp").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            func = getattr(node, "func", None)
            if not (
                isinstance(node, ast.Call)
                and isinstance(func, ast.Attribute)
                and func.attr == "get"
                and isinstance(func.value, ast.Attribute)
                and func.value.attr in {"form", "args", "values"}
                and isinstance(func.value.value, ast.Name)
                and func.value.value.id == "request"
            ):
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.BoolOp):  # request.args.get("x") or default
                parent = parents.get(parent)
            if isinstance(parent, ast.Compare):
                continue
            if isinstance(parent, ast.Call) and node in parent.args:
                called = parent.func
                name = called.attr if isinstance(called, ast.Attribute) else called.id
                if name in SANITISERS:
                    continue
            key = (
                node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
            )
            yield str(path.relative_to(root)), key, node.lineno


def test_text_read_from_the_request_outside_a_form_is_cleaned():
    found = {(file, key): line for file, key, line in _raw_request_reads()}
    unexpected = {k: v for k, v in found.items() if k not in RAW_READS_ALLOWED}
    assert not unexpected, f"raw request text not cleaned (use a form or clean()): {unexpected}"
    stale = set(RAW_READS_ALLOWED) - set(found)
    assert not stale, f"allowed raw reads no longer in the code: {stale}"
