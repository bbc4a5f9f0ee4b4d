from __future__ import annotations

from functools import lru_cache

from academy.config import Settings, StorageBackend, get_settings
from academy.integrations.storage.local import LocalStorage
from academy.integrations.storage.protocol import Storage, StorageError, StoredFileMissing
from academy.integrations.storage.s3 import S3Storage

__all__ = ["Storage", "StorageError", "StoredFileMissing", "storage"]


def storage(settings: Settings | None = None) -> Storage:
    settings = settings or get_settings()
    if settings.storage_backend is StorageBackend.s3:
        return _s3(
            settings.s3_bucket,
            settings.s3_endpoint_url,
            settings.s3_region,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_public_base_url,
        )
    return LocalStorage(settings.data_dir / "media")


# Building a boto3 client takes tens of milliseconds and url() runs once per listed user: share one.
@lru_cache(maxsize=4)
def _s3(
    bucket: str, endpoint_url: str, region: str, access_key: str, secret_key: str, public_base_url: str
) -> S3Storage:
    return S3Storage(
        bucket,
        endpoint_url or None,
        region or None,
        access_key or None,
        secret_key or None,
        public_base_url=public_base_url or None,
    )
