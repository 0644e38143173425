"""The organiser's denominators (the populations grid) and the indicators' targets: saved all
or nothing, a mistake named by its cell, the dashboard counting out of what was entered."""

from sqlalchemy import func, select

from tests.reports.test_dashboard import _row, dash  # noqa: F401 (fixture)
from tests.reports.test_figures import fw  # noqa: F401 (fixture)
from webapp.extensions import db
from webapp.reports.models import Indicator, Population

GRID = "/reports/populations?year=2025"
TARGETS = "/reports/indicators?year=2025"


def _adults_basic() -> Indicator:
    return db.session.scalar(
        select(Indicator).where(
            Indicator.code == "adults_basic",
            Indicator.year == 2025,
            Indicator.replaced_at.is_(None),
        )
    )


def _targets(**changes) -> dict:
    """The indicators' form as shown, with ``changes`` ({field name: value})."""
    data = {}
    for ind in db.session.scalars(
        select(Indicator).where(Indicator.year == 2025, Indicator.replaced_at.is_(None))
    ):
        data[f"t{ind.id}"] = f"{ind.target_pct:g}"
        if ind.target_group:
            data[f"d{ind.id}"] = ind.denominator
    return {**data, **changes, "year": "2025"}


def test_the_grid_saves_and_the_dashboard_counts_out_of_it(dash, actions):  # noqa: F811
    actions.login("organiser")
    ind = _adults_basic()
    response = actions.post(
        TARGETS, _targets(**{f"t{ind.id}": "90", f"d{ind.id}": "entered"}), token_from=TARGETS
    )
    assert response.status_code == 302
    db.session.expire_all()
    new = _adults_basic()
    assert (new.version, new.target_pct, new.denominator) == (2, 90.0, "entered")
    page = actions.client.get(TARGETS).get_data(as_text=True)
    assert "giữ phiên bản" in page
    cells = {f"c{dash.v1.id}_citizen": "10", f"c{dash.v2.id}_citizen": "4", "year": "2025"}
    assert actions.post(GRID, cells, token_from=GRID).status_code == 302
    html = actions.client.get("/reports?year=2025").get_data(as_text=True)
    assert "dân số do xã nhập" in html
    assert _row(html, "adults_basic", "Thôn 1")[:3] == ["1", "10", "10 %"]
    assert _row(html, "adults_basic", "Thôn 2")[:2] == ["0", "4"]
    grid = actions.client.get(GRID).get_data(as_text=True)
    assert 'value="10"' in grid and 'value="4"' in grid


def test_a_bad_number_is_named_and_nothing_is_written(dash, actions):  # noqa: F811
    actions.login("organiser")
    cells = {f"c{dash.v1.id}_citizen": "10", f"c{dash.v2.id}_citizen": "mười", "year": "2025"}
    response = actions.post(GRID, cells, token_from=GRID)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("Thôn 2, Người dân:") == 1  # the cell named, once
    cells[f"c{dash.v2.id}_citizen"] = "-3"
    assert actions.post(GRID, cells, token_from=GRID).status_code == 422
    assert db.session.scalar(select(func.count(Population.id))) == 0


def test_a_bad_target_changes_no_indicator(dash, actions):  # noqa: F811
    actions.login("organiser")
    ind = _adults_basic()
    other = db.session.scalar(
        select(Indicator).where(Indicator.code == "adults_signature", Indicator.year == 2025)
    )
    changes = {f"t{ind.id}": "95", f"t{other.id}": "150"}
    response = actions.post(TARGETS, _targets(**changes), token_from=TARGETS)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count(Indicator.id)).where(Indicator.version > 1)) == 0
    # a household indicator has no denominator to choose: always the registry
    page = actions.client.get(TARGETS).get_data(as_text=True)
    family = db.session.scalar(
        select(Indicator.id).where(Indicator.code == "digital_family", Indicator.year == 2025)
    )
    assert f'name="d{family}"' not in page and f'name="t{family}"' in page


def test_village_leads_and_the_province_without_a_commune(dash, actions):  # noqa: F811
    actions.login("lead")
    assert actions.client.get(GRID).status_code == 403
    assert actions.client.get(TARGETS).status_code == 403
    actions.logout()
    actions.login("admin")
    assert actions.client.get(GRID).status_code == 302  # no commune of their own
    assert actions.client.get(TARGETS).status_code == 200
