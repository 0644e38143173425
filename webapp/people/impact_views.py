"""The impact-assessment annex (/privacy/impact): a printable A4 page for the commune's or the
province's personal-data impact assessment file, generated from live data. Admins only."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from webapp.people import impact, queries
from webapp.people.impact import COUNTS
from webapp.permissions import ROLE_LABELS, Role, roles_required
from webapp.timeutil import utcnow

bp = Blueprint("privacy_impact", __name__)


@bp.get("/privacy/impact")
@roles_required(Role.ADMIN)
def index():
    """The annex for the admin's commune, or for every commune of a province-wide admin."""
    annex = impact.build(
        queries.communes_for(current_user),
        now=utcnow(),
        https=current_app.config["BASE_URL"].startswith("https://"),
        province=current_user.province_wide,
    )
    return render_template(
        "people/impact.html",
        annex=annex,
        counts=COUNTS,
        roles=ROLE_LABELS,
        access=impact.access_rows(),
        retention=impact.retention(current_app.config),
        categories=impact.CATEGORIES,
        subjects=impact.SUBJECTS,
        purposes=impact.PURPOSES,
        security=impact.SECURITY,
    )
