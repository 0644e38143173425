"""Domain errors with a stable ``code``, and the app's error pages."""

from urllib.parse import urlsplit

from flask import Flask, render_template, request
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from webapp.extensions import db
from webapp.security import safe_next


class DomainError(Exception):
    """A business rule refused an action.

    ``code`` is stable (tests and logs use it); ``message`` is a lazily translated text
    for people, formatted with ``params``.
    """

    status = 400

    def __init__(self, code: str, message, /, *, status: int | None = None, **params):
        super().__init__(code)
        self.code = code
        self._message = message
        self.params = params
        if status is not None:
            self.status = status

    @property
    def message(self) -> str:
        """The translated message with its parameters filled in."""
        return str(self._message) % self.params if self.params else str(self._message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFound(DomainError):
    status = 404


TITLES = {
    400: lazy_gettext("The request could not be understood"),
    403: lazy_gettext("You do not have permission to open this page"),
    404: lazy_gettext("Page not found"),
    405: lazy_gettext("This action is not allowed here"),
    413: lazy_gettext("The file is too large"),
    429: lazy_gettext("Too many attempts"),
    500: lazy_gettext("Something went wrong on our side"),
}


def register(app: Flask) -> None:
    """Install the error handlers: friendly Vietnamese pages, fragments for htmx."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        title = TITLES.get(status, error.name)
        return _render(status, str(title), None)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        # Usually a form left open past a restart or a browser (e.g. Zalo's) that dropped
        # the session cookie: say so and bring the person back to the page to send again.
        message = gettext("The form has expired. Please fill it in and send it again.")
        return _render(400, str(TITLES[400]), message, back=_back_to())

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return _render(error.status, str(TITLES.get(error.status, "")), error.message)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _render(500, str(TITLES[500]), gettext("Nothing was saved. Please try again."))


def _render(status: int, title: str, message: str | None, back: str | None = None):
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    page = render_template(template, status=status, title=title, message=message, back=back)
    return page, status


def _back_to() -> str:
    """Where to send someone whose form could not be accepted: the page the form was on."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        query = f"?{referrer.query}" if referrer.query else ""
        return safe_next(referrer.path + query, "/")
    return "/"
