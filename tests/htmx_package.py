"""The pinned htmx file, fetched from the htmx.org npm package at test time (never committed).

Browser tests serve it in place of the CDN, and a test checks that its SRI hash is the one
the pages pin, so the CDN and the package are the same bytes.
"""

import base64
import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

from webapp.config import HTMX_VERSION

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "htmx"
TARBALL_URL = f"https://registry.npmjs.org/htmx.org/-/htmx.org-{HTMX_VERSION}.tgz"


def htmx_min_js() -> bytes:
    """dist/htmx.min.js of htmx.org at the pinned version (downloaded once, then cached)."""
    path = CACHE / HTMX_VERSION / "htmx.min.js"
    if not path.exists():
        with urllib.request.urlopen(TARBALL_URL, timeout=60) as response:
            tarball = response.read()
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            member = archive.extractfile("package/dist/htmx.min.js")
            assert member is not None
            body = member.read()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return path.read_bytes()


def sri(body: bytes) -> str:
    """Subresource-integrity value (sha384) of ``body``."""
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()
