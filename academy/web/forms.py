"""Forms validate with the same Pydantic schemas as the API; errors come back per field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from academy.kit.errors import Forbidden
from academy.kit.security import same
from academy.web.templating import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER

M = TypeVar("M", bound=BaseModel)
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


async def csrf_protect(request: Request) -> None:
    """Double-submit check: the token in the form or header must equal the browser's CSRF cookie."""
    if request.method not in UNSAFE:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        sent = str((await request.form()).get(CSRF_FIELD, ""))
    if not cookie or not sent or not same(cookie, sent):
        raise Forbidden("The form has expired or was not sent from this site; reload the page and try again")


async def form_data(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if k != CSRF_FIELD and isinstance(v, str)}


def parse(model: type[M], data: dict[str, Any]) -> tuple[M | None, dict[str, str]]:
    try:
        return model.model_validate(data), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "__all__"
            errors.setdefault(field, err["msg"].removeprefix("Value error, "))
        return None, errors


def quiz_answers(form: FormData, questions: Iterable[Any]) -> dict[int, Any]:
    """A quiz form (fields `q<question id>`) as the quiz service reads it: lists for multiple choice."""
    answers: dict[int, Any] = {}
    for question in questions:
        key = f"q{question.id}"
        if question.kind == "multiple":
            answers[question.id] = [v for v in form.getlist(key) if isinstance(v, str)]
        else:
            value = form.get(key)
            answers[question.id] = value if isinstance(value, str) else None
    return answers
