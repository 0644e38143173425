"""Personal data rights in a real browser, on a desktop and on a 360×740 phone: a village lead
records a paper consent; an organiser logs an access request, downloads the PDF (read back
with pdftotext) and marks it done, then logs and carries out an erasure request; the
certificate's public page still verifies and says the holder's data was erased. Screenshots in
test-artifacts/."""

import subprocess

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.people.test_privacy import NAME, pw  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_consent_access_and_erasure_then_the_certificate_verifies(app, pw, page):  # noqa: F811
    person_id = pw.person.id
    # The village lead: the signed form came back.
    login(page, "lead")
    page.goto(f"/people/{person_id}")
    page.get_by_role("link", name="Dữ liệu cá nhân và quyền").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dữ liệu cá nhân và quyền")
    page.get_by_label("Ngày ký").fill("03/11/2025")
    page.get_by_role("button", name="Đã nhận phiếu ký: ghi nhận đồng ý").click()
    expect(page.locator("#consent-status")).to_contain_text("03/11/2025")
    expect(page.get_by_role("status").first).to_contain_text("Đã ghi nhận đồng ý")
    page.screens.shot("01-lead-consent")
    page.context.clear_cookies()

    # The organiser: an access request, the PDF downloaded and read back, done.
    login(page, "organiser")
    page.goto(f"/people/{person_id}/privacy")
    page.get_by_label("Người đó yêu cầu").select_option("access")
    page.get_by_role("button", name="Ghi nhận yêu cầu").click()
    expect(page.locator("#requests")).to_contain_text("Xem toàn bộ dữ liệu")
    with page.expect_download() as download:
        page.get_by_role("link", name="Toàn bộ dữ liệu đang lưu (PDF)").click()
    text = subprocess.run(
        ["pdftotext", "-layout", download.value.path(), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert NAME in text and "Điểm danh" in text and "Ai đã xem" in text
    page.get_by_role("button", name="Đánh dấu đã thực hiện").click()
    expect(page.get_by_role("status").first).to_contain_text("Đã thực hiện yêu cầu")
    page.screens.shot("02-access-done")

    # The erasure request, carried out.
    page.get_by_label("Người đó yêu cầu").select_option("erasure")
    page.get_by_role("button", name="Ghi nhận yêu cầu").click()
    page.get_by_role("button", name="Xoá ngay").click()
    expect(page.locator("#not-processed")).to_contain_text("đã được xoá")
    expect(page.locator("main")).not_to_contain_text(NAME)
    page.screens.shot("03-erased")
    page.context.clear_cookies()

    # Anyone: the certificate still verifies, without the holder.
    page.goto("/v/verify-privacy-1")
    expect(page.locator("#holder-erased")).to_contain_text("đã được xoá")
    expect(page.locator("main, body").first).not_to_contain_text(NAME)
    expect(page.get_by_role("status").first).to_contain_text("còn hiệu lực")
    page.screens.shot("04-verify")
