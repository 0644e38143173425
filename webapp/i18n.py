"""Languages (Vietnamese first, English second), lazy messages, and the Jinja date filters."""

from flask import Flask, current_app, has_request_context, request
from flask_babel import get_locale, gettext
from flask_babel.speaklater import LazyString
from markupsafe import Markup, escape

from webapp import timeutil
from webapp.extensions import babel

LANG_COOKIE = "lang"


class LazyText(LazyString):
    """A message translated when it is shown, whose parameters stay plain text in HTML.

    Flask-Babel's ``LazyString.__html__`` returns the text unescaped, so Jinja trusts a
    ``lazy_gettext("Unknown village “%(value)s”.", value=cell)`` as markup and a spreadsheet
    cell became live HTML on the import preview. Here the whole text is escaped instead:
    messages hold no markup of their own, and a parameter can never turn into some.
    """

    def __html__(self) -> Markup:
        return escape(str(self))


def lazy_text(msgid: str, **params) -> LazyText:
    """``msgid`` translated when shown, with ``params`` filled in as text (escaped in HTML).

    Use it, not ``flask_babel.lazy_gettext``, whenever a lazy message takes parameters
    (tests/test_markup_safety.py fails on the other).
    """
    return LazyText(gettext, msgid, **params)


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
