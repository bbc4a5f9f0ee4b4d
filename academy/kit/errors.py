from __future__ import annotations

from typing import Any


class AppError(Exception):
    """An expected failure; transports turn it into its status with a clear message."""

    status_code = 400
    default_detail = "Bad request"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        self.detail = detail if detail is not None else self.default_detail
        self.headers = headers or {}
        super().__init__(str(self.detail))


class BadRequest(AppError):
    pass


class Unauthorized(AppError):
    status_code = 401
    default_detail = "Authentication required"

    def __init__(self, detail: Any = None, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer", **(headers or {})})


class Forbidden(AppError):
    status_code = 403
    default_detail = "You are not allowed to do this"


class NotFound(AppError):
    status_code = 404
    default_detail = "Not found"


class Conflict(AppError):
    status_code = 409
    default_detail = "Conflict"


class Unprocessable(AppError):
    status_code = 422
    default_detail = "Invalid input"


class TooManyRequests(AppError):
    status_code = 429
    default_detail = "Too many requests"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many requests; try again in {retry_after} s", headers={"Retry-After": str(retry_after)}
        )


class ServiceUnavailable(AppError):
    status_code = 503
    default_detail = "Service unavailable"


class PayloadTooLarge(AppError):
    status_code = 413
    default_detail = "The upload is too large"
