from typing import Any

from pydantic import BaseModel


class ErrorBody(BaseModel):
    """The one error envelope of the JSON API."""

    error: str
    detail: Any


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "Not signed in, or the token is invalid"),
        (403, "Signed in, but not allowed"),
        (404, "Not found (also for objects that belong to someone else)"),
        (409, "Conflicts with the current state"),
        (422, "Invalid input"),
        (429, "Rate limit exceeded; see Retry-After"),
    )
}
