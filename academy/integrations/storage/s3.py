from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from academy.integrations.storage.protocol import StorageError, StoredFileMissing, check_key

URL_SECONDS = 3600
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Storage:
    """Any S3-compatible service (AWS, MinIO, R2, …); boto3 blocks, so every call runs in a thread."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        public_base_url: str | None = None,
    ) -> None:
        self.bucket = bucket
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        # Empty credentials fall through to boto3's own chain (environment, instance role).
        # Path-style addressing for custom endpoints: MinIO and most self-hosted services need it.
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if endpoint_url else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
        )
        # A boto3 client (unlike a session) is safe to share between threads.
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            config=config,
        )

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await self._call(
            key,
            self.client.put_object,
            Bucket=self.bucket,
            Key=check_key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes:
        response = await self._call(key, self.client.get_object, Bucket=self.bucket, Key=check_key(key))
        body = response["Body"]
        try:
            return await asyncio.to_thread(body.read)
        except (BotoCoreError, OSError) as exc:
            raise StorageError(f"s3 read of {key!r} failed: {exc}") from exc
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        # S3 answers 204 for a key that does not exist, so this is idempotent as it is.
        await self._call(key, self.client.delete_object, Bucket=self.bucket, Key=check_key(key))

    async def exists(self, key: str) -> bool:
        try:
            await self._call(key, self.client.head_object, Bucket=self.bucket, Key=check_key(key))
        except StoredFileMissing:
            return False
        return True

    def url(self, key: str) -> str:
        check_key(key)
        if self.public_base_url:
            return f"{self.public_base_url}/{quote(key)}"
        url: str = self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=URL_SECONDS
        )
        return url

    async def _call(self, key: str, method: Any, **params: Any) -> Any:
        try:
            return await asyncio.to_thread(method, **params)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise StoredFileMissing(key) from exc
            raise StorageError(f"s3 {method.__name__} of {key!r} failed: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"s3 {method.__name__} of {key!r} failed: {exc}") from exc
