import hashlib
import hmac
import secrets
from urllib.parse import urlparse


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256: they are random, so a slow hash adds nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def same_origin(origin: str | None, host: str | None) -> bool:
    """Whether an Origin/Referer header names this host; a missing header is not proof of anything."""
    return bool(origin) and urlparse(origin).netloc == (host or "")
