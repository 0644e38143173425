"""Security headers: a CSP that allows our own files and the pinned htmx script only; no
page of a signed-in user, and no learner's page reached by a token, is kept by a cache or
the browser's history."""

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import current_user

#: Pages that show one person's data to a visitor holding a token or a code (the learner's
#: phone, a printed card, a certificate's QR code): often opened on a shared or borrowed
#: phone, so they are never stored either ("private, no-cache" would still write them to disk
#: and show them again on Back).
TOKEN_PAGES = frozenset(
    {
        "checkin_learner.enter_code",
        "checkin_learner.scan",
        "checkin_learner.done",
        "checkin_cards.person_card",
        "quiz.home",
        "quiz.learner_start",
        "quiz.learner_question",
        "quiz.learner_result",
        "certificates.verify",
        "mentor.confirm",  # a mentee confirming a meeting on their remembered phone
        "phone_consent.agree",  # a learner consenting on their remembered phone
    }
)


#: Public pages without personal data: they keep the caching their views chose (none for the
#: HTML pages; 15 minutes for the calendar feeds; Flask's default for static files).
PUBLIC_PAGES = frozenset(
    {
        "static",
        "site.index",
        "site.healthz",
        "site.service_worker",  # the service worker script, no personal data
        "site.set_language",
        "accounts.login",
        "signup.class_page",
        "public.schedule",
        "public.schedule_print",
        "public.village_ics",
        "public.class_ics",
        "public.trainer_ics",
    }
)


def cache_headers(response) -> None:
    """``no-store`` for every response to a signed-in user and for token pages; public
    pages (schedule, feeds, static files) keep what their views chose."""
    if request.endpoint == "static":
        return
    response.vary.add("Cookie")  # the session and the language live in cookies
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    elif request.endpoint in TOKEN_PAGES:
        response.headers.setdefault("Cache-Control", "no-store")


def content_security_policy() -> str:
    """The CSP for every response."""
    htmx = current_app.config["HTMX_URL"]
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {htmx}",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "object-src 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    """Add the headers after each request."""

    @app.after_request
    def set_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", content_security_policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)")
        if app.config["BASE_URL"].startswith("https://"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        cache_headers(response)
        return response


def safe_next(target: str | None, fallback: str) -> str:
    """``target`` when it is a path on this site, else ``fallback`` (no open redirects)."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return fallback
