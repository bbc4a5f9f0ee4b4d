from __future__ import annotations

import json

from starlette.responses import Response


def toast(response: Response, message: str, level: str = "danger") -> Response:
    """Show a toast on the page without swapping anything (errors must not blank the target)."""
    response.headers["HX-Trigger"] = json.dumps({"academy:toast": {"message": message, "level": level}})
    response.headers["HX-Reswap"] = "none"
    return response


def redirect(response: Response, url: str) -> Response:
    response.headers["HX-Redirect"] = url
    return response
