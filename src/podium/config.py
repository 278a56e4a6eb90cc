"""One settings model: a TOML file, overridden by PODIUM_* environment variables.

Secrets (API keys) are read from the environment only; a config file that holds one is refused,
because config files get committed and shared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
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
        return values


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="forbid")

    home: Path = Field(default=Path(".podium"), description="database and workspaces live here")
    provider: Literal["embedded", "openai", "scripted"] = "embedded"
    model: str | None = None  # model name for the openai provider; a .gguf path for embedded
    openai_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    script: Path | None = None  # JSON file of recorded responses for the scripted provider
    max_rounds: int = Field(default=3, ge=1, le=20)
    test_timeout_s: float = Field(default=60.0, gt=0)
    test_memory_mb: int = Field(default=1024, ge=64)
    max_event_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)

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
