from anyio import to_thread
from pwdlib import PasswordHash

_hasher = PasswordHash.recommended()  # argon2id
# A fixed hash to verify against when the email is unknown, so timing doesn't reveal accounts.
_DUMMY = _hasher.hash("academy-timing-equaliser")


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await to_thread.run_sync(_hasher.verify, password, password_hash or _DUMMY) and bool(password_hash)
