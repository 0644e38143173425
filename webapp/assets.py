"""Static files under content-hashed addresses, kept by browsers for a year.

``url_for('static', filename='css/app.css')`` gives ``/static/<hash>/css/app.css``, where
``<hash>`` is the first 12 hex digits of the file's SHA-256: a changed file gets a new address,
so the old one may be cached for ever (``immutable``). No build step and no generated files:
the hash is computed when a URL is built (and again only when the file's size or time
changes), and every ``url_for('static', …)`` of every template gets it without a change.

The file's own address (``/static/css/app.css``) keeps Flask's default (``no-cache``: checked
each time), and so does a hashed address whose hash is not today's (an older page asking).
"""

import hashlib
import os
import re
from pathlib import Path

from flask import Flask, current_app, send_from_directory
from werkzeug.security import safe_join

YEAR = 365 * 24 * 3600
FAVICON = "favicon.ico"
_HASHED = re.compile(r"([0-9a-f]{12})/(.+)")
#: path -> ((size, mtime), hash), for every file a URL was built for.
_digests: dict[str, tuple[tuple[int, int], str]] = {}


def digest(folder: str, filename: str) -> str | None:
    """The short content hash of a static file (None: no such file)."""
    path = safe_join(folder, filename)  # an address with "..", an absolute path: None
    if path is None or not os.path.isfile(path):
        return None
    stat = os.stat(path)
    key = (stat.st_size, stat.st_mtime_ns)
    known = _digests.get(path)
    if known is None or known[0] != key:
        known = (key, hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12])
        _digests[path] = known
    return known[1]


def _hash_static_urls(endpoint: str, values: dict) -> None:
    """``url_defaults``: put the file's hash in front of its name in a static URL (except the
    favicon: browsers ask for /favicon.ico whatever a page links, so pages link that too)."""
    if endpoint != "static" or values.get("filename") in (None, FAVICON):
        return
    filename = values["filename"]
    found = digest(current_app.static_folder, filename)
    if found:
        values["filename"] = f"{found}/{filename}"


def _send(folder: str, filename: str, **kwargs):
    response = send_from_directory(folder, filename, **kwargs)
    # Read whole (the files are small), so the response can be compressed like a page and
    # the file is closed when the response is; a streamed file would be neither.
    response.direct_passthrough = False
    response.make_sequence()
    return response


def _static(filename: str):
    """Flask's static view, reading a hashed address too (a year, immutable, if current)."""
    folder = current_app.static_folder
    hashed = _HASHED.fullmatch(filename)
    if hashed is None or digest(folder, filename) is not None:  # a file of that very name
        return _send(folder, filename)
    asked, filename = hashed.groups()
    if digest(folder, filename) != asked:  # changed since, or none: today's file, checked
        return _send(folder, filename)  # (NotFound when there is none)
    response = _send(folder, filename, max_age=YEAR)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


def init_app(app: Flask) -> None:
    """Hash every static URL; serve the hashed addresses; answer /favicon.ico."""
    app.url_defaults(_hash_static_urls)
    app.view_functions["static"] = _static
    # Browsers and apps ask for /favicon.ico whatever the page says: the same static view
    # (the endpoint stays "static", public like every static file), and
    # url_for('static', filename='favicon.ico') is "/favicon.ico".
    app.add_url_rule("/favicon.ico", endpoint="static", defaults={"filename": FAVICON})
