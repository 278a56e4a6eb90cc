"""The provider sections of the config file, validated: providers (where and how to connect),
deployments (a model on a provider, with its limits, timeouts, price and breaker), chains,
routing, budgets and prices. Keys never appear here: a provider names the environment
variable that holds its key.

```toml
[providers.local]
preset = "ollama"

[providers.cloud]
preset = "openai"            # the key comes from $OPENAI_API_KEY

[deployments.fast]
provider = "local"
model = "qwen2.5-coder:7b"
limits = { requests_per_s = 3, burst = 5, requests_per_day = 10000 }

[deployments.strong]
provider = "cloud"
model = "gpt-4.1"
quality = 5

[chains]
default = ["fast", "strong"]

[routing.purposes.plan]
prefer = "quality"

[budgets]
task_usd = 0.50
day_usd = 5.00
```
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from podium.providers.base import Preference, Style
from podium.providers.presets import PRESETS, ConnectorKind, Preset, for_kind

# Names that hold secrets wherever they appear in the config file.
SECRET_NAMES = frozenset({"api_key", "key", "token", "secret", "password", "authorization"})
_SECRET_SUFFIXES = ("_api_key", "_secret", "_password", "_token")


def find_secrets(values: Mapping[str, Any], where: str = "") -> list[str]:
    """Dotted paths of the text entries of ``values`` (at any depth) whose names say they hold
    a secret, e.g. ``providers.cloud.api_key``."""
    found = []
    for name, value in values.items():
        path = f"{where}{name}"
        secret_name = name.lower() in SECRET_NAMES or name.lower().endswith(_SECRET_SUFFIXES)
        if secret_name and isinstance(value, str):
            found.append(path)
        elif isinstance(value, Mapping):
            found += find_secrets(value, f"{path}.")
    return found


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ProviderSettings(_Section):
    """Where a provider is and how to talk to it: a preset, or a kind, plus overrides."""

    preset: str | None = None
    kind: ConnectorKind | None = None
    base_url: str | None = None
    api_key_env: str | None = None  # the name of the environment variable holding the key
    local: bool | None = None
    model_path: Path | None = None  # embedded: a GGUF file instead of the packaged model

    @model_validator(mode="after")
    def _known(self) -> ProviderSettings:
        if self.preset is None and self.kind is None:
            raise ValueError("a provider needs a `preset` (one of "
                             f"{', '.join(sorted(PRESETS))}) or a `kind`")
        if self.preset is not None and self.preset not in PRESETS:
            raise ValueError(f"unknown preset {self.preset!r}; known presets: "
                             f"{', '.join(sorted(PRESETS))}")
        return self

    def resolved(self) -> Preset:
        """The preset with this provider's overrides applied."""
        base = PRESETS[self.preset] if self.preset else for_kind(self.kind or "openai")
        return Preset(
            name=base.name,
            kind=self.kind or base.kind,
            base_url=self.base_url or base.base_url,
            api_key_env=self.api_key_env or base.api_key_env,
            local=base.local if self.local is None else self.local,
            max_tokens_param=base.max_tokens_param,
        )


class TimeoutSettings(_Section):
    connect_s: float = Field(default=10.0, gt=0)
    first_token_s: float = Field(default=60.0, gt=0)
    idle_s: float = Field(default=30.0, gt=0)
    total_s: float = Field(default=600.0, gt=0)


class LimitSettings(_Section):
    requests_per_s: float | None = Field(default=None, gt=0)
    burst: int | None = Field(default=None, ge=1)
    tokens_per_min: int | None = Field(default=None, ge=1)
    requests_per_day: int | None = Field(default=None, ge=0)


class BreakerSettings(_Section):
    failure_threshold: int = Field(default=3, ge=1)
    cooldown_s: float = Field(default=30.0, gt=0)
    max_cooldown_s: float = Field(default=300.0, gt=0)


class PriceSettings(_Section):
    input: float = Field(ge=0)  # US dollars per million tokens
    output: float = Field(ge=0)


class DeploymentSettings(_Section):
    provider: str
    model: str | None = None  # required except for the embedded model
    quality: int = Field(default=3, ge=1, le=5)
    context_window: int | None = Field(default=None, gt=0)
    style: Style | None = None  # default: completion for the embedded model, else chat
    stream: bool | None = None  # default: true, except for the embedded model
    retries: int = Field(default=2, ge=0, le=10)
    health_ttl_s: float = Field(default=30.0, gt=0)
    timeouts: TimeoutSettings = TimeoutSettings()
    limits: LimitSettings = LimitSettings()
    breaker: BreakerSettings = BreakerSettings()
    price: PriceSettings | None = None


class ChainSettings(_Section):
    deployments: list[str] = Field(min_length=1)
    check_health: bool = False  # skip members whose cached health check fails

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        return {"deployments": value} if isinstance(value, list) else value


class RouteSettings(_Section):
    chain: str | None = None
    prefer: Preference | None = None


class RoutingSettings(_Section):
    context_chain: str | None = None  # where prompts too long for the chosen model go
    purposes: dict[str, RouteSettings] = {}
    max_retry_after_s: float = Field(default=60.0, gt=0)
    backoff_s: float = Field(default=0.5, gt=0)
    call_timeout_s: float = Field(default=900.0, gt=0)


class BudgetSettings(_Section):
    task_usd: float | None = Field(default=None, gt=0)
    day_usd: float | None = Field(default=None, gt=0)


class ProvidersConfig(_Section):
    """Everything the router is built from (the matching fields of the settings model)."""

    providers: dict[str, ProviderSettings] = {}
    deployments: dict[str, DeploymentSettings] = {}
    chains: dict[str, ChainSettings] = {}
    routing: RoutingSettings = RoutingSettings()
    budgets: BudgetSettings = BudgetSettings()
    prices: dict[str, PriceSettings] = {}
    prices_file: Path | None = None
