"""The organiser's journey in a real browser: the demo's finished class, who is eligible and
what the others lack, issue all, the bulk PDF downloaded (twice) as a file with a Vietnamese
name and read back, the print log saying so, a verification page opened by an anonymous
visitor, which shows the certificate revoked once it is. And without a signer's name, the
page says why nothing can be issued."""

import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import ARTIFACTS, VIEWPORTS
from webapp.certificates import cli
from webapp.extensions import db
from webapp.scheduling.models import CourseClass

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app, runner, monkeypatch):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    # Served as `make run` serves the demo: with the signer `flask certificates signer` names.
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", "")
    signer = runner.invoke(args=["certificates", "signer"]).stdout.strip()
    assert signer
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", signer)
    with app.app_context():
        finished = db.session.scalar(select(CourseClass).where(CourseClass.status == "finished"))
        return finished.name


def _login(page, username):
    page.goto("/auth/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill("lopso-demo-2025")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r"/$|/today"))


def test_organiser_issues_certificates_and_anyone_verifies(
    app, page, demo, tmp_path, request, live_server
):
    class_name = demo
    _login(page, "canbo.vhxh")
    page.goto("/classes")
    page.get_by_role("link", name=class_name).click()
    page.get_by_role("link", name="Ai đủ điều kiện nhận giấy chứng nhận").click()
    ready = re.compile(r"^Đủ điều kiện nhận chứng nhận \(\d+\)")
    expect(page.get_by_role("heading", name=ready)).to_be_visible()
    lacking = page.locator("table.lacking-list")
    expect(lacking).to_contain_text("Còn thiếu")
    expect(lacking).to_contain_text("buổi học")  # every fifth learner missed two sessions
    expect(lacking).to_contain_text("4.1")  # every fourth has not shown the last competency
    page.screens.shot("eligibility")

    page.get_by_role("button", name=re.compile("Cấp giấy chứng nhận cho cả")).click()
    expect(page.get_by_role("link", name=re.compile(r"NGOKBAY-\d{4}-000001"))).to_be_visible()
    page.screens.shot("issued")

    # The bulk PDF is a download with the class's name, in Vietnamese; downloaded twice.
    link = page.get_by_role("link", name="Tải tất cả giấy chứng nhận (PDF)").first
    downloads = []
    for _ in range(2):
        with page.expect_download() as info:
            link.click()
        downloads.append(info.value)
    assert [d.suggested_filename for d in downloads] == [f"Giấy chứng nhận - {class_name}.pdf"] * 2
    pdf = tmp_path / "class.pdf"
    downloads[0].save_as(pdf)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "GIẤY CHỨNG NHẬN" in text
    assert re.search(r"NGOKBAY-\d{4}-000001", text)
    assert "Khung năng lực số: phiên bản 1" in text and "0.1-draft" not in text
    assert "CHỦ TỊCH" in text and cli.DEMO_SIGNER_NAME in text
    first_page = ARTIFACTS / f"certificate-pdf-page1-{page.viewport_name}"
    render = ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"]
    subprocess.run([*render, str(pdf), str(first_page)], check=True)

    # The first certificate's verification page, opened by somebody who is not signed in.
    page.get_by_role("link", name=re.compile(r"NGOKBAY-\d{4}-000001")).click()
    # Two downloads are two downloads in its log, not two prints.
    log = page.locator("ul.cert-prints li")
    expect(log).to_have_count(2)
    for line in log.all_inner_texts():
        assert line.endswith("đã tải tệp PDF của cả lớp"), line
    verify_url = page.locator("a[href*='/v/']").first.get_attribute("href")
    holder = page.locator("main").inner_text()
    browser = request.getfixturevalue("_playwright_browser")
    visitor = browser.new_context(base_url=live_server, **VIEWPORTS["phone"])
    anonymous = visitor.new_page()
    path = re.sub(r"^https?://[^/]+", "", verify_url)
    anonymous.goto(path)
    genuine = "Giấy chứng nhận này là thật và còn hiệu lực."
    expect(anonymous.get_by_role("status")).to_have_text(genuine)
    assert anonymous.locator("dd").first.inner_text() in holder

    # Revoked with a reason: the same address now says so.
    page.get_by_label("Lý do thu hồi").fill("Ghi sai năm sinh")
    page.get_by_role("button", name="Thu hồi giấy chứng nhận này").click()
    page.screens.shot("revoked")
    anonymous.reload()
    expect(anonymous.get_by_role("status")).to_contain_text("đã bị thu hồi")
    assert "Ghi sai năm sinh" not in anonymous.content()
    anonymous.screenshot(path="test-artifacts/certificate-verify-revoked.png", full_page=True)
    visitor.close()


def test_without_a_signer_the_page_says_why_nothing_is_issued(app, page, runner, monkeypatch):
    # Served with no signer's name (a real commune's database before it is configured): the
    # page says why, and offers nothing to click that would fail.
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    monkeypatch.setitem(app.config, "CERTIFICATE_SIGNER_NAME", "")
    with app.app_context():
        finished = db.session.scalar(select(CourseClass).where(CourseClass.status == "finished"))
        class_id = finished.id
    _login(page, "canbo.vhxh")
    page.goto(f"/classes/{class_id}/certificates")
    banner = page.locator(".cert-signer-missing")
    expect(banner).to_contain_text("Chưa thể cấp giấy chứng nhận")
    expect(banner).to_contain_text("CERTIFICATE_SIGNER_NAME")
    expect(page.get_by_role("button", name=re.compile("Cấp giấy chứng nhận"))).to_have_count(0)
    page.screens.shot("no-signer")
