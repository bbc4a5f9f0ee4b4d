from typing import Annotated, Any

from pydantic import BaseModel, Field


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


# Database ids are signed 64-bit; anything outside must be a 422, not a driver overflow.
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
