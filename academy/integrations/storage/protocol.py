from __future__ import annotations

from typing import Protocol


class StorageError(Exception):
    """The storage backend failed (I/O error, refused request, unreachable service)."""


class StoredFileMissing(StorageError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no stored file under {key!r}")
        self.key = key


def check_key(key: str) -> str:
    """Keys are relative POSIX paths like `avatars/7-ab12.png`, the same rule for every backend.

    Refusing `..`, absolute paths and backslashes keeps a key from escaping the local root, and
    keeps keys portable: one that works on S3 also works on disk.
    """
    if not key or "\\" in key or "\x00" in key or key.startswith("/"):
        raise ValueError(f"invalid storage key: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"invalid storage key: {key!r}")
    return key


class Storage(Protocol):
    name: str

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes; raises `StoredFileMissing` when nothing is stored under `key`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the file; deleting a missing key is not an error."""
        ...

    async def exists(self, key: str) -> bool: ...

    # Synchronous on purpose: building a URL is local work for every backend (S3 presigning is an
    # HMAC, no request), and it is called while rendering responses and templates.
    def url(self, key: str) -> str:
        """A URL a browser can fetch the file from (absolute, or relative to this site)."""
        ...
