"""Import pages (placeholder until the importer lands)."""

from flask import Blueprint

from webapp.permissions import MANAGERS, roles_required

bp = Blueprint("imports", __name__, url_prefix="/people/import")


@bp.get("")
@roles_required(*MANAGERS)
def upload():
    """Upload form."""
    return "todo"
