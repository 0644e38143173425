"""Configuration layering: defaults -> instance/config.py -> environment -> test mapping.

No insecure secret is ever used silently: when no SECRET_KEY is configured, the first run
writes a random one to ``instance/secret_key`` and every later run reuses it.
"""

import os
import secrets
import tempfile
from pathlib import Path

from flask import Flask

HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
# Subresource integrity of dist/htmx.min.js in the htmx.org npm package (the CDN serves that file).
HTMX_SRI = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def defaults(app: Flask) -> dict:
    """Built-in defaults; everything here is safe for a developer machine."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(app.instance_path) / 'lopso.sqlite3'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "BASE_URL": "http://127.0.0.1:5000",
        "BABEL_DEFAULT_LOCALE": "vi",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "LANGUAGES": {"vi": "Tiếng Việt", "en": "English"},
        "HTMX_URL": HTMX_URL,
        "HTMX_SRI": HTMX_SRI,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        # CSRF tokens live as long as the session: volunteers leave a form open for long.
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
        "PEOPLE_PER_PAGE": 25,
        # Failed log-ins (see accounts.services.authenticate). Per user name from one address:
        # after LOGIN_MAX_FAILURES the next try waits LOGIN_BACKOFF_SECONDS, doubling up to
        # LOGIN_BACKOFF_MAX_SECONDS. Per address (any names): the same after
        # LOGIN_MAX_FAILURES_PER_ADDRESS. Per user name from all addresses: at most
        # LOGIN_MAX_FAILURES_PER_NAME in LOGIN_NAME_WINDOW_SECONDS (a distributed guess).
        "LOGIN_MAX_FAILURES": 5,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 30,
        "LOGIN_BACKOFF_SECONDS": 30,
        "LOGIN_BACKOFF_MAX_SECONDS": 15 * 60,
        "LOGIN_MAX_FAILURES_PER_NAME": 100,
        "LOGIN_NAME_WINDOW_SECONDS": 60 * 60,
        "PASSWORD_HASH_METHOD": "scrypt",
        "IMPORT_MAX_ROWS": 50_000,
        "MATERIAL_MAX_BYTES": 10 * 1024 * 1024,  # course materials (PDF, JPEG, PNG)
        # Public sign-ups per client address per hour; generous, as a village may share one
        # mobile-network address.
        "SIGNUP_MAX_PER_ADDRESS": 30,
        # Check-in window around a session, and when an arrival counts as late.
        "CHECKIN_OPENS_BEFORE_MINUTES": 30,
        "CHECKIN_CLOSES_AFTER_MINUTES": 30,
        "CHECKIN_LATE_AFTER_MINUTES": 15,
        # Learners' check-in requests per client address per 10 minutes (a class may share
        # one mobile-network address) and per remembered phone.
        "CHECKIN_MAX_PER_ADDRESS": 300,
        "CHECKIN_MAX_PER_DEVICE": 30,
        # Failed identifications (phone + birth year, learner code, typed session code) per
        # address per 10 minutes: guessing is slow.
        "CHECKIN_MAX_FAILURES_PER_ADDRESS": 30,
        # Wrong birth years tried for one phone number at one session (its whole check-in
        # window, from any address): then the learner asks the trainer (class list).
        "CHECKIN_MAX_FAILURES_PER_PHONE": 5,
        # How long a phone stays remembered for a learner.
        "CHECKIN_DEVICE_DAYS": 730,
        # Days the audit trail (who viewed, exported, printed or changed personal data) is
        # kept; `flask prune` removes older events (webapp.people.audit.DEFAULT_RETENTION_DAYS).
        "AUDIT_RETENTION_DAYS": 730,
        # Certificates: who signs (printed under the title), and the place in the date line
        # (empty: the commune's name). Frozen into each certificate when it is issued.
        "CERTIFICATE_SIGNER_TITLE": "Chủ tịch",
        "CERTIFICATE_SIGNER_NAME": "",
        "CERTIFICATE_PLACE": "",
        "CERTIFICATE_VERIFY_MAX_PER_ADDRESS": 60,  # public verifications per 10 minutes
        # Quizzes: the share of right answers that passes, and attempts per person per day.
        "QUIZ_PASS_MARK": 0.67,
        "QUIZ_MAX_PER_DAY": 20,
        # Mentoring (Đại sứ số): active mentees a mentor should have, and the days a mentee may
        # go without a held contact before being flagged, per target group ("default": others).
        "MENTORING_MIN_MENTEES": 5,
        "MENTORING_CONTACT_DAYS": {"default": 14},
        # … and how many days after a meeting it may still be logged (marked entered later).
        "MENTORING_LATE_DAYS": 3,
        # Flask-Compress: pages, CSS and SVG compressed as the browser accepts (zstd, Brotli,
        # gzip); never a streamed response (none is text, and a stream would stay open).
        "COMPRESS_STREAMS": False,
        # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto/-Host
        # headers are trusted (0: none, the app faces the clients itself).
        "PROXY_COUNT": 0,
    }


def database_url(url: str) -> str:
    """Accept the usual postgres:// and postgresql:// forms and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` from every layer, then derive the dependent settings."""
    app.config.from_mapping(defaults(app))
    app.config.from_pyfile("config.py", silent=True)
    for name in ("SECRET_KEY", "BASE_URL"):
        if os.environ.get(name):
            app.config[name] = os.environ[name]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    app.config.from_prefixed_env("LOPSO")
    if test_config:
        app.config.update(test_config)

    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    app.config["BASE_URL"] = app.config["BASE_URL"].rstrip("/")
    if app.config["BASE_URL"].startswith("https://"):
        # Served over TLS (behind the reverse proxy): cookies never travel in clear text.
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(Path(app.instance_path))


def instance_secret(instance: Path) -> str:
    """Read ``instance/secret_key``, creating it with a random key (mode 0600) on first use."""
    path = instance / "secret_key"
    if not path.exists():
        instance.mkdir(parents=True, exist_ok=True)
        # Written whole to a private temporary file, then linked into place: a second
        # process never reads a half-written key, and the first key to land wins.
        fd, tmp = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:  # another process was first: use its key
            pass
        finally:
            os.unlink(tmp)
    return path.read_text().strip()
