from __future__ import annotations

import uuid
from datetime import timedelta

import jwt

from academy.auth.errors import InvalidToken
from academy.config import get_settings
from academy.kit import clock

ALGORITHM = "HS256"


def create_access_token(user_id: int, role: str) -> str:
    settings = get_settings()
    issued = clock.now()
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": "access",
        "iat": issued,
        "exp": issued + timedelta(minutes=settings.access_token_minutes),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM)


def decode_access_token(token: str) -> int:
    """The user id of a valid access token. Only HS256 is accepted, so `alg: none` never verifies."""
    try:
        claims = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "sub", "typ"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("Access token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims.get("typ") != "access":
        raise InvalidToken("Not an access token")
    try:
        return int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken() from exc
