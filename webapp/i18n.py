"""Languages (Vietnamese first, English second) and the Jinja filters for dates."""

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale

from webapp import timeutil
from webapp.extensions import babel

LANG_COOKIE = "lang"


def select_locale() -> str:
    """The language chosen with the switcher (a cookie), else Vietnamese."""
    if not has_request_context():  # command line, background work
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    chosen = request.cookies.get(LANG_COOKIE)
    return chosen if chosen in current_app.config["LANGUAGES"] else "vi"


def init_app(app: Flask) -> None:
    """Bind Flask-Babel and register the template helpers."""
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )
    app.jinja_env.filters["date"] = timeutil.format_date
    app.jinja_env.filters["datetime"] = timeutil.format_datetime
    app.jinja_env.add_extension("jinja2.ext.do")

    @app.context_processor
    def language_context():
        return {"current_locale": str(get_locale()), "languages": app.config["LANGUAGES"]}
