"""No certificate without its signer's name: the pages say why nothing can be issued, the
refusal is shown in Vietnamese and English, and `make run` learns whom to print (the demo's
made-up signer on the demo database, a warning elsewhere)."""

from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.certificates.conftest import NHUNG, UOT
from webapp.certificates import cli
from webapp.certificates.models import Certificate
from webapp.extensions import db

MESSAGES = {
    "vi": "Chưa thể cấp giấy chứng nhận: chưa cấu hình họ tên người ký giấy "
    "(CERTIFICATE_SIGNER_NAME). Hãy đề nghị quản trị viên nhập họ tên người ký.",
    "en": "Certificates cannot be issued yet: the name of the person who signs them is not "
    "configured (CERTIFICATE_SIGNER_NAME). Ask the administrator to set it.",
}


def _page(cw) -> str:
    return f"/classes/{cw.class_id}/certificates"


def _certificates(app) -> list[Certificate]:
    with app.app_context():
        return db.session.scalars(select(Certificate)).all()


def _unset(app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", "")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_class_page_says_why_nothing_can_be_issued(
    app, client, actions, cert_world, monkeypatch, lang
):
    _unset(app, monkeypatch)
    client.set_cookie("lang", lang)
    actions.login("organiser")
    page = client.get(_page(cert_world)).get_data(as_text=True)
    message = str(escape(MESSAGES[lang]))
    assert message in page
    assert "/issue-all" not in page and 'name="person_id"' not in page  # no button that fails
    # A form posted anyway (an old tab) is refused with the same words, and issues nothing.
    for url, data in (
        (f"{_page(cert_world)}/issue-all", {}),
        (f"{_page(cert_world)}/issue", {"person_id": cert_world.people[NHUNG]}),
    ):
        response = actions.post(url, data, token_from=_page(cert_world), follow_redirects=True)
        assert message in response.get_data(as_text=True), url
    assert _certificates(app) == []


def test_re_issuing_waits_for_the_signer_too(app, client, actions, cert_world, monkeypatch):
    actions.login("organiser")
    actions.post(f"{_page(cert_world)}/issue-all", token_from=_page(cert_world))
    old = next(c for c in _certificates(app) if c.snapshot["full_name"] == UOT)
    _unset(app, monkeypatch)
    detail = f"/certificates/{old.id}"
    page = client.get(detail).get_data(as_text=True)
    assert str(escape(MESSAGES["vi"])) in page and f"{detail}/reissue" not in page
    response = actions.post(
        f"{detail}/reissue", {"reason": "Sửa tên"}, token_from=detail, follow_redirects=True
    )
    assert str(escape(MESSAGES["vi"])) in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Certificate, old.id).revoked_at is None
    assert len(_certificates(app)) == 2


def test_once_configured_the_buttons_are_back(app, client, actions, cert_world):
    actions.login("organiser")  # the signer fixture configures "Y Blúp"
    page = client.get(_page(cert_world)).get_data(as_text=True)
    assert "/issue-all" in page and MESSAGES["vi"] not in page


# --- what `make run` serves with (flask certificates signer) --------------------------------


def test_a_database_that_is_not_the_demo_gets_a_warning(app, runner, world, monkeypatch):
    # The test world's commune has the demo's code (NGOKBAY), like a real Ngọk Bay could, but
    # not the demo's accounts on their published password.
    _unset(app, monkeypatch)
    result = runner.invoke(args=["certificates", "signer"])
    assert result.exit_code == 0
    assert result.stdout == "\n"  # no name: make run serves with none
    assert "WARNING: CERTIFICATE_SIGNER_NAME is not configured" in result.stderr


def test_the_demo_database_is_signed_by_the_demo_signer(app, runner, monkeypatch):
    _unset(app, monkeypatch)
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["certificates", "signer"])
    assert result.exit_code == 0 and result.stdout == f"{cli.DEMO_SIGNER_NAME}\n"
    assert "WARNING" not in result.stderr and "Demo database" in result.stderr


def test_a_configured_name_wins_even_on_the_demo(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", " Đinh Văn Thắm ")
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    result = runner.invoke(args=["certificates", "signer"])
    assert result.stdout == "Đinh Văn Thắm\n" and result.stderr == ""


def test_make_run_serves_with_the_signer_the_command_prints():
    # The run target passes the command's answer to the server's configuration (LOPSO_ prefix).
    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    recipe = makefile[makefile.index("\nrun:") :].split("\n\n")[0]
    assert "$$($(BIN)/flask certificates signer)" in recipe
    assert 'LOPSO_CERTIFICATE_SIGNER_NAME="$$signer" $(BIN)/flask run' in recipe
