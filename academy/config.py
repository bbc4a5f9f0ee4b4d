from __future__ import annotations

import enum
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER_SECRET = "change-me-in-production"


class Environment(enum.StrEnum):
    development = "development"
    testing = "testing"
    production = "production"


class EmailBackend(enum.StrEnum):
    outbox = "outbox"
    smtp = "smtp"


class PaymentBackend(enum.StrEnum):
    local = "local"
    stripe = "stripe"


class StorageBackend(enum.StrEnum):
    local = "local"
    s3 = "s3"


class TelegramBackend(enum.StrEnum):
    auto = "auto"
    recording = "recording"
    bot_api = "bot_api"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACADEMY_", env_file=".env", extra="ignore")

    environment: Environment = Environment.development
    base_url: str = "http://127.0.0.1:8000"
    secret_key: str = PLACEHOLDER_SECRET
    data_dir: Path = ROOT / "var"
    database_url: str = ""
    redis_url: str = ""

    access_token_minutes: int = 15
    refresh_token_days: int = 30
    session_days: int = 14
    email_token_hours: int = 24
    password_reset_minutes: int = 60

    rate_limit_default: str = "100/minute"
    rate_limit_login: str = "10/minute"
    rate_limit_signup: str = "5/minute"
    rate_limit_reset: str = "5/minute"
    rate_limit_enabled: bool = True

    email_backend: EmailBackend = EmailBackend.outbox
    email_from: str = "Academy <no-reply@academy.school>"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_tls: bool = False
    smtp_timeout: float = 10.0

    payment_backend: PaymentBackend = PaymentBackend.local

    # Local files live in data_dir/media, served at /media. S3 means any S3-compatible service;
    # an empty endpoint is AWS, empty keys use boto3's own credential chain.
    storage_backend: StorageBackend = StorageBackend.local
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key: str = ""
    s3_secret_key: str = ""
    # Set when the bucket (or a CDN in front of it) is public; otherwise links are presigned for an hour.
    s3_public_base_url: str = ""

    telegram_bot_token: str = ""
    telegram_bot_username: str = ""
    telegram_auth_max_age_seconds: int = 86400
    # The token also signs Login Widget and Mini App data, so development and tests set it without
    # meaning to message anyone: "auto" sends through the Bot API only in production with a token,
    # and otherwise records messages for /dev/telegram. Telegram is optional, so production does not
    # refuse to start without it (with no token nobody can link a Telegram account to message).
    telegram_backend: TelegramBackend = TelegramBackend.auto
    # A local Bot API server (or a test double) instead of Telegram's own.
    telegram_api_url: str = "https://api.telegram.org"
    telegram_timeout: float = 10.0

    # The AI coach. With an empty LLM base URL the embedded grounded answerer answers; with one, any
    # OpenAI-compatible server (OpenAI, Ollama, vLLM…) does, and the embedded answerer takes over when
    # it fails or times out.
    llm_base_url: str = ""
    llm_api_key: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_timeout: float = 20.0
    # "auto": the local MiniLM model when the `semantic` extra is installed, else full-text only;
    # "openai": the embeddings endpoint below; "none": full-text only.
    embeddings: str = "auto"
    embeddings_base_url: str = ""
    embeddings_api_key: str = ""
    embeddings_model: str = "text-embedding-3-small"
    # Below this retrieval confidence (0..1) a question goes to the curators instead of being answered.
    coach_confidence_threshold: float = 0.35
    # Questions a student may ask per day (UTC) until billing plans set it per tier; staff are not limited.
    coach_daily_messages: int = 50

    # Homework: files students may upload (checked by content, not by name).
    homework_max_file_bytes: int = Field(default=5 * 1024 * 1024)
    # Retention: students at or above this risk score (0..100) are "at risk".
    risk_threshold: int = 60
    # Automatic nudges to students who cross into "at risk" (curators can always nudge by hand).
    nudge_auto: bool = True
    nudge_channel: str = "auto"  # "auto" (Telegram when linked, else email), "email" or "telegram"
    # At most this many nudges per student in `nudge_cap_days` days, manual and automatic together.
    nudge_cap: int = 1
    nudge_cap_days: int = 7
    # No automatic nudge between these hours of the student's own day (22 → 8 wraps midnight).
    nudge_quiet_start: int = 22
    nudge_quiet_end: int = 8
    # Share (0..1) of at-risk episodes held out from automatic nudges, to measure what nudging does.
    nudge_holdout_share: float = 0.2
    # Curator hours saved: minutes a human would have spent per answered question and per grading.
    minutes_per_question: float = 6.0
    minutes_per_grading: float = 12.0

    # Jobs run through Celery; "inline" runs them after commit in the same process (tests only).
    jobs_inline: bool = False
    worker_concurrency: int = 2

    log_json: bool | None = None
    log_level: str = "INFO"
    sentry_dsn: str = ""
    metrics_token: str = ""
    default_locale: str = "en"
    default_timezone: str = "UTC"
    max_avatar_bytes: int = Field(default=2 * 1024 * 1024)
    # Whole request bodies, checked before anything parses them (forms are read for the CSRF check).
    max_request_bytes: int = Field(default=8 * 1024 * 1024)

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'academy.sqlite'}"
        # Migrations (FTS5 / tsvector search) and upserts are written for these two only.
        if not self.database_url.startswith(("sqlite", "postgresql")):
            raise ValueError("ACADEMY_DATABASE_URL must be a SQLite or PostgreSQL URL")
        if self.secret_key == PLACEHOLDER_SECRET and not self.is_production:
            self.secret_key = _local_secret(self.data_dir)
        if self.telegram_backend is TelegramBackend.bot_api and not self.telegram_bot_token:
            raise ValueError("ACADEMY_TELEGRAM_BACKEND=bot_api needs ACADEMY_TELEGRAM_BOT_TOKEN")
        return self

    def url(self, path: str) -> str:
        """An absolute link to `path` on this site, for emails and other places outside a request."""
        return self.base_url.rstrip("/") + path

    @property
    def is_production(self) -> bool:
        return self.environment is Environment.production

    @property
    def telegram_sends(self) -> TelegramBackend:
        """The Telegram backend in effect once "auto" is resolved."""
        if self.telegram_backend is not TelegramBackend.auto:
            return self.telegram_backend
        if self.is_production and self.telegram_bot_token:
            return TelegramBackend.bot_api
        return TelegramBackend.recording

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def broker_dir(self) -> Path:
        return self.data_dir / "broker"

    def production_problems(self) -> list[str]:
        """Reasons production must refuse to start; empty when the configuration is safe."""
        problems: list[str] = []
        if not self.is_production:
            return problems
        if self.secret_key == PLACEHOLDER_SECRET or len(self.secret_key) < 32:
            problems.append("ACADEMY_SECRET_KEY is a placeholder or shorter than 32 characters")
        if self.email_backend is EmailBackend.outbox:
            problems.append("ACADEMY_EMAIL_BACKEND=outbox only stores mail; configure smtp")
        if self.payment_backend is PaymentBackend.local:
            problems.append("ACADEMY_PAYMENT_BACKEND=local is the offline gateway; configure stripe")
        if not self.redis_url:
            problems.append("ACADEMY_REDIS_URL is required: the filesystem job broker is single-machine")
        if self.is_sqlite:
            problems.append("ACADEMY_DATABASE_URL must point to PostgreSQL in production")
        return problems


def _local_secret(data_dir: Path) -> str:
    """Outside production, a random key kept in the data folder, shared by the app and its workers."""
    path = data_dir / ".secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


class UnsafeConfiguration(RuntimeError):
    pass


def check_production(settings: Settings) -> None:
    problems = settings.production_problems()
    if problems:
        raise UnsafeConfiguration("refusing to start in production: " + "; ".join(problems))


@lru_cache
def get_settings() -> Settings:
    return Settings()
