"""The htmx script the pages load is pinned: version 2.0.x and the SRI of the npm package."""

import os
import urllib.error

import pytest

from tests.htmx_package import htmx_min_js, sri
from webapp.config import HTMX_SRI, HTMX_URL, HTMX_VERSION


def test_pinned_version_is_htmx_2_0():
    assert HTMX_VERSION.startswith("2.0.")
    assert f"htmx.org@{HTMX_VERSION}/dist/htmx.min.js" in HTMX_URL


def test_sri_matches_the_npm_package():
    try:
        body = htmx_min_js()
    except (urllib.error.URLError, TimeoutError) as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"npm registry unreachable: {error}")
    assert sri(body) == HTMX_SRI


def test_pages_load_htmx_with_integrity(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert f'src="{HTMX_URL}" integrity="{HTMX_SRI}" crossorigin="anonymous"' in html
