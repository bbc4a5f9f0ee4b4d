from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from urllib.parse import quote

from academy.integrations.storage.protocol import StorageError, StoredFileMissing, check_key


class LocalStorage:
    """Embedded default: files in a folder that the app serves itself (`/media`)."""

    name = "local"

    def __init__(self, root: Path, base_url: str = "/media") -> None:
        self.root = Path(root).resolve()
        self.base_url = base_url.rstrip("/")

    def path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        # Catches what the key rule cannot see, such as a symlink inside the root pointing out of it.
        if not path.is_relative_to(self.root):
            raise ValueError(f"storage key escapes the root: {key!r}")
        return path

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        path = self.path(key)
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            raise StorageError(f"cannot write {key!r}: {exc}") from exc

    async def get(self, key: str) -> bytes:
        path = self.path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise StoredFileMissing(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {key!r}: {exc}") from exc

    async def delete(self, key: str) -> None:
        path = self.path(key)
        try:
            if await asyncio.to_thread(path.is_file):
                await asyncio.to_thread(path.unlink, missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key!r}: {exc}") from exc

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path(key).is_file)

    def url(self, key: str) -> str:
        return f"{self.base_url}/{quote(check_key(key))}"


def _write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates 0600; a proxy serving /media from disk must be able to read the file.
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
