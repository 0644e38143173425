"""The periodic report: an organiser submits a period's figures (frozen), the province
reopens it, the organiser submits again; refusals write nothing; scope."""

from sqlalchemy import func, select

from tests.factories import NOW
from tests.reports.test_dashboard import _row, dash  # noqa: F401 (fixture)
from tests.reports.test_figures import DAY, certificate, fw, people  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.reports.models import Report


def _submit(actions, period="2025-Q4"):
    return actions.post("/reports/submit", {"period": period}, token_from="/reports/submit")


def _report_id(commune_id) -> int:
    return db.session.scalar(select(Report.id).where(Report.commune_id == commune_id))


def test_the_preview_shows_the_figures_then_submitting_freezes_them(dash, actions, clock):  # noqa: F811
    actions.login("organiser")
    preview = actions.client.get("/reports/submit?period=2025-Q4").get_data(as_text=True)
    assert _row(preview, "adults_basic", "Thôn 1")[:3] == ["1", "3", "33,3 %"]
    assert db.session.scalar(select(func.count(Report.id))) == 0  # a preview writes nothing
    response = _submit(actions)
    assert response.status_code == 302
    report_id = _report_id(dash.commune_id)
    # Someone certified after the submission: the dashboard moves, the report does not.
    clock.set(NOW + DAY)
    (b,) = people(dash.v1, "Lê Văn Mới Đỗ")
    certificate(b, NOW + DAY / 2, world=dash)
    db.session.commit()
    html = actions.client.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    assert _row(html, "adults_basic", "Thôn 1")[:3] == ["1", "3", "33,3 %"]
    assert "đã gửi" in html
    live = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert _row(live, "adults_basic", "Thôn 1")[:2] == ["2", "4"]
    listing = actions.client.get("/reports/submitted").get_data(as_text=True)
    assert "Quý 4/2025" in listing and "đã gửi" in listing


def test_a_period_already_submitted_is_refused(dash, actions):  # noqa: F811
    actions.login("organiser")
    _submit(actions)
    first = db.session.get(Report, _report_id(dash.commune_id)).submitted_at
    response = _submit(actions)
    assert response.status_code == 409
    assert "đã được gửi" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Report.id))) == 1
    assert db.session.get(Report, _report_id(dash.commune_id)).submitted_at == first
    preview = actions.client.get("/reports/submit?period=2025-Q4").get_data(as_text=True)
    assert "đã được gửi" in preview and "Gửi báo cáo" not in preview.split('id="problem"')[1]


def test_a_period_not_started_and_nonsense_are_refused(dash, actions):  # noqa: F811
    actions.login("organiser")
    response = _submit(actions, "2025-12")
    assert response.status_code == 400 and "chưa bắt đầu" in response.get_data(as_text=True)
    assert _submit(actions, "<script>").status_code == 400
    assert actions.client.get("/reports/submit?period=abc").status_code == 200
    assert db.session.scalar(select(func.count(Report.id))) == 0


def test_only_the_province_reopens_then_the_organiser_submits_again(dash, actions, clock):  # noqa: F811
    actions.login("organiser")
    _submit(actions)
    report_id = _report_id(dash.commune_id)
    url = f"/reports/submitted/{report_id}/reopen"
    reopening = {"token_from": "/reports/submitted"}
    assert actions.post(url, {"reason": "Sai số"}, **reopening).status_code == 403
    page = actions.client.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    assert url not in page  # no reopen form for the organiser
    actions.logout()
    actions.login("admin")
    assert url in actions.client.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    assert actions.post(url, {"reason": ""}, **reopening).status_code == 422
    assert actions.post(url, {"reason": "Thiếu số liệu Thôn 2"}, **reopening).status_code == 302
    actions.logout()
    clock.set(NOW + DAY)
    (b,) = people(dash.v1, "Lê Văn Mới Đỗ")
    certificate(b, NOW + DAY / 2, world=dash)
    db.session.commit()
    actions.login("organiser")
    assert _submit(actions).status_code == 302
    html = actions.client.get(f"/reports/submitted/{report_id}").get_data(as_text=True)
    assert _row(html, "adults_basic", "Thôn 1")[:2] == ["2", "4"]
    assert "Thiếu số liệu Thôn 2" in html  # the earlier submission, in the history
    db.session.expire_all()
    assert len(db.session.get(Report, report_id).figures["history"]) == 1


def test_an_organiser_of_another_commune_does_not_find_the_report(dash, actions):  # noqa: F811
    actions.login("organiser")
    _submit(actions)
    report_id = _report_id(dash.commune_id)
    actions.logout()
    actions.login("other_organiser", "password-123")
    assert actions.client.get(f"/reports/submitted/{report_id}").status_code == 404
    assert "Quý 4/2025" not in actions.client.get("/reports/submitted").get_data(as_text=True)


def test_the_province_lists_every_commune_and_village_leads_are_refused(dash, actions):  # noqa: F811
    actions.login("organiser")
    _submit(actions)
    actions.logout()
    actions.login("admin")
    listing = actions.client.get("/reports/submitted").get_data(as_text=True)
    assert "Quý 4/2025" in listing and "Ngọk Bay" in listing
    assert actions.client.get("/reports/submit").status_code == 302  # no commune of their own
    actions.logout()
    actions.login("lead")
    assert actions.client.get("/reports/submitted").status_code == 403
    assert actions.client.get("/reports/submit").status_code == 403
