"""Building providers: a connector by kind, a deployment from its settings, the router from
the config file, and the one provider a run uses.

Keys are read from the environment only, from the variable each provider names.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from podium.providers.anthropic_provider import AnthropicProvider
from podium.providers.base import Connector, Provider, Style
from podium.providers.breaker import CircuitBreaker
from podium.providers.budgets import Budgets
from podium.providers.costs import Price, PriceTable
from podium.providers.deployment import Deployment
from podium.providers.embedded import EmbeddedProvider
from podium.providers.gemini import GeminiProvider
from podium.providers.ledger import Ledger
from podium.providers.limits import LimitSpec, RateLimits
from podium.providers.ollama import OllamaProvider
from podium.providers.openai_compat import OpenAICompatProvider
from podium.providers.presets import Preset
from podium.providers.router import RetryPolicy, Router
from podium.providers.routing import Chain, Route
from podium.providers.scripted import ScriptedProvider
from podium.providers.settings import DeploymentSettings, ProvidersConfig, ProviderSettings
from podium.providers.timeouts import Timeouts

BUILT_IN = ("embedded", "openai", "scripted")


def api_key(preset: Preset, env: Mapping[str, str], provider: str) -> str | None:
    """The provider's key from the environment; a ValueError naming the variable when the
    provider needs one and it is not set."""
    if preset.api_key_env is None:
        return None
    key = env.get(preset.api_key_env)
    if not key:
        raise ValueError(f"provider {provider!r} needs an API key: set the environment "
                         f"variable {preset.api_key_env} (keys are never read from the "
                         "config file)")
    return key


def build_connector(preset: Preset, model: str, *, key: str | None, style: Style,
                    timeouts: Timeouts, context_window: int | None = None,
                    model_path: Path | None = None) -> Connector:
    """A connector of ``preset.kind`` for ``model``."""
    url, total, connect = preset.base_url, timeouts.total_s, timeouts.connect_s
    if preset.kind == "openai":
        if url is None:
            raise ValueError(f"preset {preset.name!r} needs a base_url")
        return OpenAICompatProvider(url, key, model, timeout_s=total, connect_s=connect,
                                    name=preset.name, max_tokens_param=preset.max_tokens_param,
                                    context_window=context_window)
    if preset.kind == "ollama":
        return OllamaProvider(model, url or "", style=style, timeout_s=total, connect_s=connect,
                              context_window=context_window)
    if preset.kind == "anthropic":
        return AnthropicProvider(model, key, url, timeout_s=total, connect_s=connect,
                                 context_window=context_window)
    if preset.kind == "gemini":
        return GeminiProvider(model, key, url, timeout_s=total, connect_s=connect,
                              context_window=context_window)
    return EmbeddedProvider(model_path=model_path)


def build_deployment(name: str, spec: DeploymentSettings, provider: ProviderSettings,
                     prices: PriceTable, ledger: Ledger | None,
                     env: Mapping[str, str], key: str | None = None) -> Deployment:
    """The deployment ``name``; ``key`` overrides the one from the environment."""
    preset = provider.resolved()
    embedded = preset.kind == "embedded"
    if spec.model is None and not embedded:
        raise ValueError(f"deployment {name!r} needs a `model`")
    timeouts = Timeouts(**spec.timeouts.model_dump())
    connector = build_connector(
        preset, spec.model or "", key=key or api_key(preset, env, spec.provider),
        style=spec.style or ("completion" if embedded else "chat"), timeouts=timeouts,
        context_window=spec.context_window,
        model_path=provider.model_path or (Path(spec.model) if embedded and spec.model else None))
    limits = LimitSpec(**spec.limits.model_dump())
    has_limits = any(v is not None for v in spec.limits.model_dump().values())
    return Deployment(
        name=name, connector=connector, local=preset.local, quality=spec.quality,
        stream=not embedded if spec.stream is None else spec.stream, retries=spec.retries,
        timeouts=timeouts, limits=RateLimits(name, limits, ledger) if has_limits else None,
        breaker=CircuitBreaker(**spec.breaker.model_dump()),
        price=Price(**spec.price.model_dump()) if spec.price else prices.price(connector.model),
        context_window=spec.context_window, health_ttl_s=spec.health_ttl_s,
    )


def build_router(config: ProvidersConfig, *, names: Sequence[str] | None = None,
                 ledger: Ledger | None = None, env: Mapping[str, str] | None = None,
                 keys: Mapping[str, str] | None = None) -> Router:
    """The router over ``config``'s deployments (only ``names`` when given: then its one
    chain is those, in that order, and no purpose routing or context chain applies)."""
    env = os.environ if env is None else env
    prices = PriceTable.load(config.prices_file, {m: Price(**p.model_dump())
                                                  for m, p in config.prices.items()})
    chosen = list(names) if names is not None else list(config.deployments)
    if not chosen:
        raise ValueError("no deployments are configured")
    deployments = []
    for name in chosen:
        spec = config.deployments[name]
        if spec.provider not in config.providers:
            raise ValueError(f"deployment {name!r} names unknown provider {spec.provider!r}; "
                             f"known: {', '.join(config.providers) or 'none'}")
        deployments.append(build_deployment(name, spec, config.providers[spec.provider],
                                            prices, ledger, env, (keys or {}).get(name)))
    routing = config.routing
    whole = names is None
    return Router(
        deployments,
        chains={n: Chain(n, tuple(c.deployments), c.check_health)
                for n, c in config.chains.items()} if whole else None,
        routes={p: Route(r.chain, r.prefer) for p, r in routing.purposes.items()}
        if whole else None,
        context_chain=routing.context_chain if whole else None,
        budgets=Budgets(per_task_usd=config.budgets.task_usd,
                        per_day_usd=config.budgets.day_usd, ledger=ledger),
        policy=RetryPolicy(backoff_s=routing.backoff_s,
                           max_retry_after_s=routing.max_retry_after_s,
                           call_timeout_s=routing.call_timeout_s),
    )


def provider_for_run(config: ProvidersConfig, *, pick: str | None, model: str | None,
                     database: Path | None, script: Path | None = None,
                     openai_base_url: str | None = None, openai_api_key: str | None = None,
                     env: Mapping[str, str] | None = None) -> Provider:
    """The provider a run uses: the configured router, or the one provider or deployment
    ``pick`` names (``model`` overriding its model), or a built-in: ``embedded`` (the
    default when nothing is configured), ``openai`` (``openai_base_url``), ``scripted``.

    Raises ValueError naming an unknown ``pick`` (and the known names) or what is missing.
    """
    if pick == "scripted":
        if script is None:
            raise ValueError("provider 'scripted' needs option: script")
        return ScriptedProvider.from_file(script)
    providers = dict(config.providers)
    deployments = dict(config.deployments)
    keys: dict[str, str] = {}
    if pick is None and not deployments:
        pick = "embedded"
    elif pick is None and model:
        raise ValueError(f"model {model!r} was given without a provider: with deployments "
                         "configured, name the provider or deployment it is for (--provider)")
    if pick in ("embedded", "openai") and pick not in providers and pick not in deployments:
        if pick == "openai" and not (openai_base_url and model):
            missing = [o for o, v in (("base_url", openai_base_url), ("model", model)) if not v]
            raise ValueError(f"provider 'openai' needs option(s): {', '.join(missing)}")
        providers[pick] = ProviderSettings(kind="openai" if pick == "openai" else "embedded",
                                           base_url=openai_base_url)
        if openai_api_key:
            keys[pick] = openai_api_key
    if pick in deployments:
        spec = deployments[pick]
        deployments = {pick: spec.model_copy(update={"model": model or spec.model})}
    elif pick in providers:
        deployments = {pick: DeploymentSettings(provider=pick, model=model)}
    elif pick is not None:
        known = sorted({*BUILT_IN, *config.providers, *config.deployments})
        raise ValueError(f"unknown provider {pick!r}; known providers and deployments: "
                         f"{', '.join(known)}")
    config = config.model_copy(update={"providers": providers, "deployments": deployments})
    wants_ledger = database is not None and (
        config.budgets.task_usd or config.budgets.day_usd
        or any(d.limits.requests_per_day is not None for d in deployments.values())
        or any(not providers[d.provider].resolved().local for d in deployments.values()
               if d.provider in providers))
    ledger = Ledger(database) if wants_ledger and database is not None else None
    return build_router(config, names=[pick] if pick else None, ledger=ledger, env=env,
                        keys=keys)
