"""The server side of a staff phone's offline queue (docs/offline.md): a fresh CSRF token and
the server's time before a sync, and the sync itself (JSON in, one answer per action out)."""

from flask import Blueprint, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from webapp.checkin import offline
from webapp.forms import attempt
from webapp.permissions import ALL_STAFF, roles_required
from webapp.timeutil import utcnow

bp = Blueprint("checkin_offline", __name__)


@bp.get("/offline/token")
@roles_required(*ALL_STAFF)
def token():
    """A fresh CSRF token for the queued upload, and the server's clock."""
    response = jsonify(csrf=generate_csrf(), now=utcnow().isoformat())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/offline/sync")
@roles_required(*ALL_STAFF)
def sync():
    """Apply the phone's queued actions (CSRF checked from ``X-CSRFToken``); each is answered."""
    body = request.get_json(silent=True)
    actions = body.get("actions") if isinstance(body, dict) else None
    if not isinstance(actions, list):
        return _error(400, "invalid", _("The upload could not be read."))
    if len(actions) > offline.MAX_ACTIONS:
        message = _("At most %(num)d actions at once.", num=offline.MAX_ACTIONS)
        return _error(413, "too_many", message)
    now = utcnow()
    with attempt():
        results = offline.sync(actions, actor=current_user, now=now)
    response = jsonify(results=results, server_time=now.isoformat())
    response.headers["Cache-Control"] = "no-store"
    return response


def _error(status: int, code: str, message: str):
    response = jsonify(error=code, message=message)
    response.headers["Cache-Control"] = "no-store"
    return response, status
