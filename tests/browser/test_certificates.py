"""The organiser's journey in a real browser: the demo's finished class, who is eligible and
what the others lack, issue all, the bulk PDF read back, a verification page opened by an
anonymous visitor, which shows the certificate revoked once it is."""

import re
import subprocess

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import VIEWPORTS
from webapp.extensions import db
from webapp.scheduling.models import CourseClass

pytestmark = pytest.mark.browser


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
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

    # The bulk PDF, fetched with the organiser's session (the browser would show it inline).
    link = page.get_by_role("link", name="Tải tất cả giấy chứng nhận (PDF)").first
    response = page.request.get(link.get_attribute("href"))
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "class.pdf"
    pdf.write_bytes(response.body())
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "GIẤY CHỨNG NHẬN" in text
    assert re.search(r"NGOKBAY-\d{4}-000001", text)

    # The first certificate's verification page, opened by somebody who is not signed in.
    page.get_by_role("link", name=re.compile(r"NGOKBAY-\d{4}-000001")).click()
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
