"""One settings model: a TOML file, overridden by PODIUM_* environment variables.

Secrets (API keys) are read from the environment only; a config file that holds one is refused,
because config files get committed and shared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from podium.providers.settings import (
    BudgetSettings,
    ChainSettings,
    DeploymentSettings,
    PriceSettings,
    ProviderSettings,
    RoutingSettings,
    find_secrets,
)

SECRET_FIELDS = frozenset({"openai_api_key"})


def config_file() -> Path:
    return Path(os.environ.get("PODIUM_CONFIG", "podium.toml"))


class _TomlWithoutSecrets(TomlConfigSettingsSource):
    def __call__(self) -> dict[str, Any]:
        values = super().__call__()
        leaked = SECRET_FIELDS & values.keys()
        if leaked:
            name = sorted(leaked)[0]
            raise ValueError(
                f"{name} must not be in the config file; set PODIUM_{name.upper()} in the "
                "environment instead"
            )
        nested = find_secrets(values)
        if nested:
            raise ValueError(
                f"{nested[0]} must not be in the config file: keys come only from the "
                "environment (a provider names its variable with api_key_env)"
            )
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="forbid")

    home: Path = Field(default=Path(".podium"), description="database and workspaces live here")
    # embedded, openai, scripted, or a configured provider or deployment; None: the router
    # over the configured deployments (the embedded model when none are configured).
    provider: str | None = None
    model: str | None = None  # model name for the picked provider; a .gguf path for embedded
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    script: Path | None = None  # JSON file of recorded responses for the scripted provider
    max_rounds: int = Field(default=3, ge=1, le=20)
    test_timeout_s: float = Field(default=60.0, gt=0)
    test_memory_mb: int = Field(default=1024, ge=64)
    max_event_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # The provider layer (see podium.providers.settings for the shape of each section).
    providers: dict[str, ProviderSettings] = {}
    deployments: dict[str, DeploymentSettings] = {}
    chains: dict[str, ChainSettings] = {}
    routing: RoutingSettings = RoutingSettings()
    budgets: BudgetSettings = BudgetSettings()
    prices: dict[str, PriceSettings] = {}
    prices_file: Path | None = None  # the user's price table, over the packaged one
    # The task queue (a DBOS queue in the same database).
    queue_concurrency: int = Field(default=5, ge=1, description="tasks running at once")
    queue_max_waiting: int = Field(default=100, ge=1, description="tasks waiting at most")
    queue_poll_s: float = Field(default=1.0, gt=0, le=60, description="queue polling interval")
    queue_full_retry_after_s: int = Field(default=30, ge=1)
    task_timeout_s: float = Field(default=3600.0, gt=0, description="default per-task timeout")
    # The server (`podium serve`).
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    shutdown_grace_s: float = Field(default=30.0, ge=0)
    requests_per_minute: int = Field(default=600, ge=1, description="per API key")
    ws_max_connections: int = Field(default=1000, ge=1)
    ws_messages_per_minute: int = Field(default=100, ge=1, description="per connection")
    ws_send_buffer: int = Field(default=1000, ge=1, description="messages queued per client")

    @property
    def database(self) -> Path:
        return self.home / "podium.db"

    @property
    def workspaces(self) -> Path:
        return self.home / "workspaces"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Earlier sources win: explicit arguments, then the environment, then the file.
        return (init_settings, env_settings, _TomlWithoutSecrets(settings_cls, config_file()))
