"""A check-in address whose token no check-in point has: a plain not-found page that says
the code is not known and offers to type the code shown by the trainer; it names no class
and no learner."""

from tests.checkin.checkin_world import build

UNKNOWN = "Không tìm thấy mã điểm danh này."  # "This check-in code is not known."
TYPE_THE_CODE = 'href="/c"'  # the link to the page where the code is typed


def test_an_unknown_token_is_a_plain_not_found_page(app, world, client):
    with app.app_context():
        cw = build(world)
    refused = client.get("/c/nope")
    assert refused.status_code == 404
    html = refused.get_data(as_text=True)
    assert UNKNOWN in html and TYPE_THE_CODE in html
    assert "Nguyễn Thị Hồng Nhung" not in html and "Bạn là ai?" not in html
    known = client.get(f"/c/{cw.token}").get_data(as_text=True)
    assert UNKNOWN not in known and "Bạn là ai?" in known
