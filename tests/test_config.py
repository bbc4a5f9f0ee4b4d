import pytest

from academy.config import Settings, UnsafeConfiguration, check_production


def test_production_refuses_placeholders_and_embedded_providers(tmp_path):
    s = Settings(environment="production", data_dir=tmp_path)
    with pytest.raises(UnsafeConfiguration) as err:
        check_production(s)
    text = str(err.value)
    for needle in ("SECRET_KEY", "EMAIL_BACKEND", "PAYMENT_BACKEND", "REDIS_URL", "DATABASE_URL"):
        assert needle in text


def test_production_starts_with_real_services(tmp_path):
    s = Settings(
        environment="production",
        data_dir=tmp_path,
        secret_key="x" * 48,
        email_backend="smtp",
        payment_backend="stripe",
        redis_url="redis://127.0.0.1:6379/0",
        database_url="postgresql+asyncpg://u@localhost/academy",
    )
    check_production(s)


def test_development_generates_and_keeps_a_local_secret(tmp_path):
    a = Settings(data_dir=tmp_path)
    b = Settings(data_dir=tmp_path)
    assert a.secret_key == b.secret_key and len(a.secret_key) >= 32
    assert a.secret_key != Settings(data_dir=tmp_path / "other").secret_key


def test_create_app_refuses_unsafe_production(tmp_path, monkeypatch):
    from academy.main import create_app

    with pytest.raises(UnsafeConfiguration):
        create_app(Settings(environment="production", data_dir=tmp_path))
