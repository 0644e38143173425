"""The app as the check-in benchmark serves it, plus the baseline route inside the same app.

``bench_app()`` is the real application (``create_app()``) with one more, bench-only
blueprint: a POST route that inserts one row into ``bench_bare`` (see bench/bare_app.py) and
commits. It runs through everything a check-in runs through (ProxyFix when configured, the
session cookie, Flask-Login, Flask-Babel, the security headers, the error handlers) except the
work of the check-in itself, so the throughput ratio of the two routes measures that work. It is
exempt from CSRF (the benchmark's client posts no token) and marked public; it exists only in
this module, never in the app that ``webapp:create_app()`` builds.

    gunicorn --pythonpath bench 'checkin_wsgi:bench_app()'
"""

from datetime import UTC, datetime

from bare_app import bench_bare
from flask import Blueprint, request
from sqlalchemy import insert

from webapp import create_app
from webapp.extensions import csrf, db
from webapp.permissions import public

bp = Blueprint("bench_bare", __name__)
_INSERT = insert(bench_bare)


@bp.post("/bench/insert")
@public
def insert_one():
    """One row, one commit: the floor of a check-in."""
    db.session.execute(_INSERT, {"n": request.form.get("n", 0, type=int), "at": datetime.now(UTC)})
    db.session.commit()
    return "", 204


csrf.exempt(bp)


def bench_app(test_config: dict | None = None):
    """The app with the baseline route."""
    app = create_app(test_config)
    app.register_blueprint(bp)
    return app
