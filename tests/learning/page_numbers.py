"""How numbers read on a learning page: hours are "8" and "1,5", never "8.0"."""

import re


def decimal_point_zero(html: str) -> list[str]:
    """Numbers such as "8.0" in the page's main content (hours must read "8", "1,5")."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    return re.findall(r"(?<![\w.@/-])\d+\.0(?![\d.])", main)
