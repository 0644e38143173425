"""The certificate pages: issue from the class page, PDFs and the print log, revoke and
re-issue, and the public verification page."""

import re
import subprocess
from html.parser import HTMLParser

from flask_babel import gettext
from markupsafe import escape
from sqlalchemy import select

from tests.certificates.conftest import AN, NHUNG, UOT
from webapp.certificates.models import Certificate, PrintLog
from webapp.extensions import db
from webapp.scheduling.models import CourseClass


def _class_page(cw) -> str:
    return f"/classes/{cw.class_id}/certificates"


def _issue_all(actions, cw):
    return actions.post(f"{_class_page(cw)}/issue-all", token_from=_class_page(cw))


def _certificates(app) -> dict[str, Certificate]:
    with app.app_context():
        rows = db.session.scalars(select(Certificate).order_by(Certificate.id)).all()
        return {c.snapshot["full_name"]: c for c in rows}


def test_organiser_sees_who_is_eligible_and_issues_all(app, client, actions, cert_world):
    actions.login("organiser")
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    assert NHUNG in page and UOT in page and AN in page
    assert "còn thiếu: 2 buổi học" in page
    assert f'action="{_class_page(cert_world)}/issue-all"' in page

    response = _issue_all(actions, cert_world)
    assert response.status_code == 302
    issued = _certificates(app)
    assert set(issued) == {NHUNG, UOT}
    assert all(c.serial.startswith("NGOKBAY-") for c in issued.values())
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    assert issued[NHUNG].serial in page and "/issue-all" not in page  # nobody left waiting


def test_issue_one_and_refusals_are_flashed(app, client, actions, cert_world):
    actions.login("organiser")
    url = f"{_class_page(cert_world)}/issue"
    actions.post(url, {"person_id": cert_world.people[NHUNG]}, token_from=_class_page(cert_world))
    assert set(_certificates(app)) == {NHUNG}
    response = actions.post(
        url,
        {"person_id": cert_world.people[AN]},
        token_from=_class_page(cert_world),
        follow_redirects=True,
    )
    assert "còn thiếu: 2 buổi học" in response.get_data(as_text=True)
    assert set(_certificates(app)) == {NHUNG}


def test_trainer_reads_but_does_not_issue(app, client, actions, cert_world):
    actions.login("trainer")
    page = client.get(_class_page(cert_world))
    assert page.status_code == 200 and "/issue-all" not in page.get_data(as_text=True)
    token = actions.csrf_token(_class_page(cert_world))
    response = client.post(f"{_class_page(cert_world)}/issue-all", data={"csrf_token": token})
    assert response.status_code == 403
    assert _certificates(app) == {}


def test_other_commune_gets_not_found(client, actions, cert_world):
    actions.login("other_organiser")
    assert client.get(_class_page(cert_world)).status_code == 404


def _pdf_text(body: bytes, tmp_path) -> str:
    path = tmp_path / "c.pdf"
    path.write_bytes(body)
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout  # as printed: not normalised, so an NFD name would not match


def _print_log(client, certificate) -> list[str]:
    """The lines of the certificate page's print log, without their date and time."""
    page = client.get(f"/certificates/{certificate.id}").get_data(as_text=True)
    items = re.findall(r'<li class="cert-print-[a-z]+">(.*?)</li>', page, re.S)
    return [re.sub(r"^\S+ \S+ — ", "", " ".join(item.split())) for item in items]


def test_pdfs_are_logged_and_sorted_by_village_then_name(
    app, client, actions, cert_world, tmp_path
):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    issued = _certificates(app)

    one = client.get(f"/certificates/{issued[NHUNG].id}.pdf")
    assert one.status_code == 200 and one.mimetype == "application/pdf"
    assert NHUNG in _pdf_text(one.data, tmp_path)

    bulk = client.get(f"/classes/{cert_world.class_id}/certificates.pdf")
    text = _pdf_text(bulk.data, tmp_path)
    assert text.index(UOT) < text.index(NHUNG)  # Thôn 1 before Thôn 2
    assert text.count("GIẤY CHỨNG NHẬN") == 2

    thon2 = client.get(f"/villages/{cert_world.village_ids[1]}/certificates.pdf")
    text = _pdf_text(thon2.data, tmp_path)
    assert NHUNG in text and UOT not in text

    with app.app_context():
        logs = db.session.scalars(select(PrintLog).order_by(PrintLog.id)).all()
        assert [(log.kind, log.scope) for log in logs] == [
            ("download", "certificate"),
            ("download", f"class:{cert_world.class_id}"),
            ("download", f"class:{cert_world.class_id}"),
            ("download", f"village:{cert_world.village_ids[1]}"),
        ]
    # Nhung's page, newest first: with Thôn 2, with the class, alone; every one a download.
    assert _print_log(client, issued[NHUNG]) == [
        "Organiser: đã tải tệp PDF của cả thôn",
        "Organiser: đã tải tệp PDF của cả lớp",
        "Organiser: đã tải tệp PDF",
    ]


def _village_pdf(cw, index: int) -> str:
    return f"/villages/{cw.village_ids[index]}/certificates.pdf"


def test_village_lead_prints_only_their_village(client, actions, app, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    actions.logout()
    actions.login("lead")  # lead of Thôn 1
    assert client.get(f"/villages/{cert_world.village_ids[1]}/certificates.pdf").status_code == 404
    assert client.get(f"/villages/{cert_world.village_ids[0]}/certificates.pdf").status_code == 200
    assert client.get(f"/certificates/{_certificates(app)[NHUNG].id}").status_code == 404
    # The class PDF holds Nhung of Thôn 2: planners only, and no link to it for the lead,
    # who is offered their own village's PDF instead.
    assert client.get(f"/classes/{cert_world.class_id}/certificates.pdf").status_code == 403
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    assert "/certificates.pdf" not in page.replace(_village_pdf(cert_world, 0), "")
    assert f'href="{_village_pdf(cert_world, 0)}"' in page
    actions.logout()
    actions.login("trainer")  # a trainer of the commune prints the whole class
    assert client.get(f"/classes/{cert_world.class_id}/certificates.pdf").status_code == 200


def test_print_view_is_a_page_with_the_qr(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    cert = _certificates(app)[UOT]
    page = client.get(f"/certificates/{cert.id}/print").get_data(as_text=True)
    assert UOT in page and cert.serial in page and "<svg" in page and "certificates.css" in page
    with app.app_context():
        log = db.session.scalars(select(PrintLog)).one()
        assert (log.kind, log.scope, log.certificate_id) == ("print", "print_view", cert.id)


def test_verification_page_then_revoked(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    cert = _certificates(app)[NHUNG]
    actions.logout()

    page = client.get(f"/v/{cert.verify_code}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["X-Robots-Tag"] == "noindex"
    assert NHUNG in text and "Kỹ năng số cho người cao tuổi" in text and "UBND xã Ngọk Bay" in text
    assert "1962" not in text and "Thôn 2" not in text  # only what a verifier needs

    actions.login("organiser")
    detail = f"/certificates/{cert.id}"
    response = actions.post(f"{detail}/revoke", {"reason": ""}, token_from=detail)
    assert response.status_code == 302 and _certificates(app)[NHUNG].revoked_at is None
    actions.post(f"{detail}/revoke", {"reason": "Cấp nhầm lớp"}, token_from=detail)
    actions.logout()
    text = client.get(f"/v/{cert.verify_code}").get_data(as_text=True)
    status = re.search(r'class="cert-status cert-revoked" role="status">([^<]*)<', text)[1]
    assert re.fullmatch(
        r"Giấy chứng nhận này đã bị thu hồi ngày \S+ và không còn hiệu lực\.", status
    ), status
    assert "Cấp nhầm lớp" not in text  # the reason stays inside


def test_unknown_code_is_a_clear_not_found(client):
    page = client.get("/v/not-a-real-code")
    assert page.status_code == 404
    assert "<h1>Không tìm thấy giấy chứng nhận</h1>" in page.get_data(as_text=True)


def test_verification_is_rate_limited_per_address(app, client):
    app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"] = 3
    try:
        statuses = [client.get(f"/v/guess{i}").status_code for i in range(5)]
        other = client.get("/v/guess", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code
    finally:
        del app.config["CERTIFICATE_VERIFY_MAX_PER_ADDRESS"]
    assert statuses == [404, 404, 404, 429, 429] and other == 404


def test_reissue_from_the_detail_page(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    old = _certificates(app)[UOT]
    detail = f"/certificates/{old.id}"
    response = actions.post(f"{detail}/reissue", {"reason": "Sửa tên"}, token_from=detail)
    with app.app_context():
        new = db.session.scalar(select(Certificate).where(Certificate.replaces_id == old.id))
        assert response.headers["Location"].endswith(f"/certificates/{new.id}")
        assert db.session.get(Certificate, old.id).revoked_at is not None
    page = client.get(detail).get_data(as_text=True)
    assert new.serial in page  # "replaced by"


def _revoke(actions, cert, reason="Cấp nhầm lớp"):
    detail = f"/certificates/{cert.id}"
    return actions.post(f"{detail}/revoke", {"reason": reason}, token_from=detail)


def test_a_revoked_certificate_is_not_printed(app, client, actions, cert_world, tmp_path):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    cert = _certificates(app)[NHUNG]
    _revoke(actions, cert)
    with app.test_request_context():
        refusal = gettext("This certificate has been revoked and cannot be printed.")
    for url in (f"/certificates/{cert.id}.pdf", f"/certificates/{cert.id}/print"):
        response = client.get(url)
        text = response.get_data(as_text=True)
        assert response.status_code == 410 and response.mimetype == "text/html", url
        assert refusal in text and cert.serial in text and "<svg" not in text
    detail = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    assert f"/certificates/{cert.id}.pdf" not in detail and refusal in detail
    # The bulk PDFs leave it out.
    for url in (
        f"/classes/{cert_world.class_id}/certificates.pdf",
        f"/villages/{cert_world.village_ids[1]}/certificates.pdf",
    ):
        response = client.get(url)
        if response.status_code == 200:
            assert NHUNG not in _pdf_text(response.data, tmp_path), url
        else:
            assert response.status_code == 404, url  # Thôn 2 has no valid certificate left
    with app.app_context():
        printed = set(db.session.scalars(select(PrintLog.certificate_id)))
        assert cert.id not in printed


def test_revoking_sticks_on_the_class_page(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    cert = _certificates(app)[NHUNG]
    _revoke(actions, cert)
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    assert "/issue-all" not in page and f'name="person_id" value="{cert.person_id}"' not in page
    assert f'href="/certificates/{cert.id}"' in page
    response = _issue_all(actions, cert_world)
    assert response.status_code == 302
    with app.app_context():
        rows = db.session.scalars(
            select(Certificate).where(Certificate.person_id == cert.person_id)
        )
        assert [c.id for c in rows] == [cert.id]  # not issued again
    response = actions.post(
        f"{_class_page(cert_world)}/issue",
        {"person_id": cert.person_id},
        token_from=_class_page(cert_world),
        follow_redirects=True,
    )
    with app.test_request_context():
        message = gettext(
            "The certificate of %(name)s for this class was revoked. To give a new one, "
            "re-issue it from the revoked certificate's page.",
            name=NHUNG,
        )
    assert str(escape(message)) in response.get_data(as_text=True)


def test_an_unfinished_class_explains_instead_of_offering_to_issue(
    app, client, actions, cert_world
):
    with app.app_context():
        db.session.get(CourseClass, cert_world.class_id).status = "running"
        db.session.commit()
    actions.login("organiser")
    with app.test_request_context():
        hint = gettext(
            "Certificates are issued only after the class has finished. Mark the "
            "class as finished when its last session is over."
        )
        refusal = gettext("Certificates are issued only after the class has finished.")
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    assert hint in page and "/issue-all" not in page and 'name="person_id"' not in page
    response = _issue_all(actions, cert_world)
    assert response.status_code == 302
    assert refusal in client.get(_class_page(cert_world)).get_data(as_text=True)
    response = actions.post(
        f"{_class_page(cert_world)}/issue",
        {"person_id": cert_world.people[NHUNG]},
        token_from=_class_page(cert_world),
        follow_redirects=True,
    )
    assert refusal in response.get_data(as_text=True)
    assert _certificates(app) == {}
    # The day it is finished, the button is there.
    with app.app_context():
        db.session.get(CourseClass, cert_world.class_id).status = "finished"
        db.session.commit()
    assert "/issue-all" in client.get(_class_page(cert_world)).get_data(as_text=True)


class _Ids(HTMLParser):
    """Every id of a page, and every label's ``for`` with its text."""

    def __init__(self):
        super().__init__()
        self.ids: list[str] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "label":
            self._label = attrs.get("for")
            self.labels[self._label] = ""

    def handle_data(self, data):
        if self._label is not None:
            self.labels[self._label] += data

    def handle_endtag(self, tag):
        if tag == "label":
            self._label = None


def test_the_certificate_page_has_unique_ids_and_each_label_names_its_field(
    app, client, actions, cert_world
):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    cert = _certificates(app)[NHUNG]
    page = client.get(f"/certificates/{cert.id}").get_data(as_text=True)
    parsed = _Ids()
    parsed.feed(page)
    assert len(parsed.ids) == len(set(parsed.ids)), sorted(parsed.ids)
    with app.test_request_context():
        revoke, reissue = gettext("Reason for revoking"), gettext("Reason for re-issuing")
    assert parsed.labels["revoke-reason"].strip() == revoke
    assert parsed.labels["reissue-reason"].strip() == reissue
    # Each field is in its own form, posts as "reason", and its hint belongs to it.
    forms = re.findall(r"<form [^>]*action=\"([^\"]+)\"(.*?)</form>", page, re.S)
    fields = {action.rsplit("/", 1)[1]: body for action, body in forms if "reason" in body}
    for action, field_id in (("revoke", "revoke-reason"), ("reissue", "reissue-reason")):
        field = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', fields[action])[0]
        assert 'name="reason"' in field and f'aria-describedby="{field_id}-hint"' in field
        assert f'<p class="hint" id="{field_id}-hint">' in fields[action]


def test_the_certificate_page_names_the_version_as_the_app_does(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    page = client.get(f"/certificates/{_certificates(app)[NHUNG].id}").get_data(as_text=True)
    assert "<dd>Phiên bản 1 (0.1-draft)</dd>" in page


def test_learners_are_named_with_birth_year_and_village(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    _revoke(actions, _certificates(app)[UOT])
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    people = [
        " ".join(re.sub(r"<[^>]+>", " ", span).split())
        for span in re.findall(r'<span class="person">(.*?)</span>\s*</span>', page, re.S)
    ]
    assert f"{NHUNG} 1962 · Thôn 2" in people and f"{AN} 1970 · Thôn 1" in people
    assert f"{UOT} 1955 · Thôn 1" in people  # in the table
    revoked = page[page.index("<h2>Giấy chứng nhận đã thu hồi</h2>") :]
    assert re.search(rf"{UOT}</span>\s*<span class=\"person-meta\">1955 · Thôn 1 · ", revoked)


def test_the_class_page_links_each_village_pdf(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)  # Ướt of Thôn 1 and Nhung of Thôn 2
    page = client.get(_class_page(cert_world)).get_data(as_text=True)
    for index, village in ((0, "Thôn 1"), (1, "Thôn 2")):
        link = re.search(rf'href="{_village_pdf(cert_world, index)}" download>([^<]*)</a>', page)
        assert link and link[1] == f"Tất cả giấy chứng nhận của {village} (PDF)"
        assert client.get(_village_pdf(cert_world, index)).status_code == 200
    detail = client.get(f"/certificates/{_certificates(app)[NHUNG].id}").get_data(as_text=True)
    assert f'href="{_village_pdf(cert_world, 1)}"' in detail


def test_the_class_page_and_the_print_view_have_unique_ids(app, client, actions, cert_world):
    actions.login("organiser")
    _issue_all(actions, cert_world)
    _revoke(actions, _certificates(app)[UOT])
    cert = _certificates(app)[NHUNG]
    for url in (_class_page(cert_world), f"/certificates/{cert.id}/print"):
        parsed = _Ids()
        parsed.feed(client.get(url).get_data(as_text=True))
        assert parsed.ids and len(parsed.ids) == len(set(parsed.ids)), (url, sorted(parsed.ids))
