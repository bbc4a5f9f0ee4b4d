"""The storage contract, run against the local folder and against S3 on a real moto server."""

import socket

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from academy.config import Settings, StorageBackend
from academy.integrations.storage import Storage, StoredFileMissing, storage
from academy.integrations.storage.local import LocalStorage
from academy.integrations.storage.s3 import S3Storage
from tests.fixtures.app import api_login, make_user
from tests.fixtures.db import reconfigure

BUCKET = "academy-test"
CREDENTIALS = {"access_key": "testing", "secret_key": "testing", "region": "us-east-1"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=_free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    yield endpoint
    server.stop()


@pytest.fixture
def s3_bucket(s3_endpoint, monkeypatch):
    # Keep boto3 away from any real credentials or config on the machine running the tests.
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name=CREDENTIALS["region"],
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    for obj in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture(params=["local", "s3"])
def files(request, tmp_path) -> Storage:
    if request.param == "local":
        return LocalStorage(tmp_path / "media")
    endpoint = request.getfixturevalue("s3_endpoint")
    request.getfixturevalue("s3_bucket")
    return S3Storage(BUCKET, endpoint, **CREDENTIALS)


async def test_put_then_get_returns_the_bytes(files):
    await files.put("notes/a.txt", b"hello", "text/plain")
    assert await files.get("notes/a.txt") == b"hello"
    assert await files.exists("notes/a.txt")


async def test_put_overwrites(files):
    await files.put("a.txt", b"first", "text/plain")
    await files.put("a.txt", b"second", "text/plain")
    assert await files.get("a.txt") == b"second"


async def test_delete_removes_and_is_idempotent(files):
    await files.put("gone.bin", b"x")
    await files.delete("gone.bin")
    assert not await files.exists("gone.bin")
    with pytest.raises(StoredFileMissing):
        await files.get("gone.bin")
    await files.delete("gone.bin")
    await files.delete("never/was/here.bin")


async def test_missing_key(files):
    assert not await files.exists("missing.txt")
    with pytest.raises(StoredFileMissing) as caught:
        await files.get("missing.txt")
    assert caught.value.key == "missing.txt"


async def test_binary_content_round_trips_exactly(files):
    data = bytes(range(256)) * 64 + b"\x00\r\n\x00"
    await files.put("blob.bin", data, "application/octet-stream")
    assert await files.get("blob.bin") == data
    await files.put("empty.bin", b"")
    assert await files.get("empty.bin") == b""


async def test_nested_keys_are_independent_files(files):
    await files.put("avatars/1/a.png", b"one", "image/png")
    await files.put("avatars/1/deeper/b.png", b"two", "image/png")
    await files.put("avatars/2/a.png", b"three", "image/png")
    assert await files.get("avatars/1/a.png") == b"one"
    assert await files.get("avatars/1/deeper/b.png") == b"two"
    assert await files.get("avatars/2/a.png") == b"three"
    # A "folder" is not a file.
    assert not await files.exists("avatars/1")
    with pytest.raises(StoredFileMissing):
        await files.get("avatars/1")


@pytest.mark.parametrize("key", ["../x", "a/../../x", "/etc/passwd", "a//b", "./a", "a\\..\\b", ""])
async def test_keys_that_could_escape_the_root_are_refused(files, key):
    with pytest.raises(ValueError):
        await files.put(key, b"nope")
    with pytest.raises(ValueError):
        await files.get(key)


def test_local_storage_keeps_writes_inside_its_root(tmp_path):
    root = tmp_path / "media"
    files = LocalStorage(root)
    for key in ("../x", "../../etc/passwd", "/tmp/x", "a/../../x"):
        with pytest.raises(ValueError):
            files.path(key)
    assert files.path("a/b.txt") == (root / "a" / "b.txt").resolve()
    # A symlink inside the root that points out of it is refused too.
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError):
        files.path("link/x")


async def test_local_writes_leave_no_temporary_files(tmp_path):
    files = LocalStorage(tmp_path / "media")
    await files.put("deep/nested/a.txt", b"one")
    await files.put("deep/nested/a.txt", b"two")
    assert sorted(p.name for p in (tmp_path / "media" / "deep" / "nested").iterdir()) == ["a.txt"]
    assert (tmp_path / "media" / "deep" / "nested" / "a.txt").stat().st_mode & 0o777 == 0o644
    assert files.url("deep/nested/a b.txt") == "/media/deep/nested/a%20b.txt"


async def test_s3_url_is_a_presigned_link_a_browser_can_fetch(s3_endpoint, s3_bucket):
    files = S3Storage(BUCKET, s3_endpoint, **CREDENTIALS)
    await files.put("avatars/7-abc.png", b"\x89PNG-bytes", "image/png")
    url = files.url("avatars/7-abc.png")
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
    async with httpx.AsyncClient() as client:
        r = await client.get(url)
    assert r.status_code == 200
    assert r.content == b"\x89PNG-bytes"
    assert r.headers["content-type"] == "image/png"


async def test_s3_public_base_url_gives_plain_links(s3_endpoint, s3_bucket):
    files = S3Storage(BUCKET, s3_endpoint, **CREDENTIALS, public_base_url="https://cdn.example.com/media/")
    assert files.url("avatars/7 a.png") == "https://cdn.example.com/media/avatars/7%20a.png"


def test_provider_chooses_by_settings(tmp_path):
    local = storage(Settings(data_dir=tmp_path, secret_key="x" * 40))
    assert isinstance(local, LocalStorage) and local.root == (tmp_path / "media").resolve()
    s3_settings = Settings(
        data_dir=tmp_path,
        secret_key="x" * 40,
        storage_backend=StorageBackend.s3,
        s3_bucket=BUCKET,
        s3_endpoint_url="http://127.0.0.1:9",
        s3_access_key="testing",
        s3_secret_key="testing",
    )
    remote = storage(s3_settings)
    assert isinstance(remote, S3Storage) and remote.bucket == BUCKET
    assert storage(s3_settings) is remote


PNG_1 = b"\x89PNG\r\n\x1a\n" + b"\x01" * 8
PNG_2 = b"\x89PNG\r\n\x1a\n" + b"\x02" * 8


async def _upload_avatar(client: httpx.AsyncClient, headers: dict[str, str], data: bytes) -> str:
    r = await client.put(
        "/api/v1/users/me/avatar", headers=headers, files={"file": ("a.png", data, "image/png")}
    )
    assert r.status_code == 200
    return r.json()["avatar_url"]


async def test_replacing_an_avatar_deletes_the_previous_file(client):
    user = await make_user()
    headers = await api_login(client, user.email)
    first = await _upload_avatar(client, headers, PNG_1)
    assert first.startswith("/media/avatars/")
    second = await _upload_avatar(client, headers, PNG_2)
    assert second != first
    assert (await client.get(second)).content == PNG_2
    assert (await client.get(first)).status_code == 404
    assert await _upload_avatar(client, headers, PNG_2) == second
    assert (await client.get(second)).content == PNG_2


async def test_avatars_go_to_s3_when_configured(client, monkeypatch, s3_endpoint, s3_bucket):
    reconfigure(
        monkeypatch,
        storage_backend="s3",
        s3_bucket=BUCKET,
        s3_endpoint_url=s3_endpoint,
        s3_access_key="testing",
        s3_secret_key="testing",
    )
    user = await make_user()
    headers = await api_login(client, user.email)
    first = await _upload_avatar(client, headers, PNG_1)
    second = await _upload_avatar(client, headers, PNG_2)
    keys = [o["Key"] for o in s3_bucket.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert len(keys) == 1 and keys[0].startswith(f"avatars/{user.id}-")
    assert first.startswith(s3_endpoint)
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(second)).content == PNG_2
