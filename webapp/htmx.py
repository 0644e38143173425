"""One URL, two renderings: the whole page, or only its fragment for htmx requests."""

from flask import Response, make_response, render_template, request


def is_htmx() -> bool:
    """True for a request made by htmx that wants a fragment.

    Not for a boosted navigation, nor for a history restore: after Back, htmx asks for the
    URL again to rebuild the whole page, and a fragment would leave it without header,
    menu or form.
    """
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page_template: str, fragment_template: str, /, **context) -> Response:
    """Render the fragment for htmx requests and the page (which includes it) otherwise."""
    template = fragment_template if is_htmx() else page_template
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response
