"""`podium doctor`: every configured deployment, checked now: reachable or not, its models,
context window, breaker state and today's use of its quota.

Exit codes: 0 every deployment answered, 1 at least one did not, 2 bad configuration.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import typer
from rich.table import Table

from podium.cli.app import (
    EXIT_DONE,
    EXIT_FAILED,
    BadInput,
    HomeOption,
    JsonOption,
    app,
    fail,
    out,
    settings_from,
)
from podium.config import Settings
from podium.providers import ProvidersConfig, Router, provider_for_run

_MODELS_SHOWN = 5


@dataclass(frozen=True)
class Row:
    deployment: str
    provider: str
    model: str
    reachable: bool
    detail: str
    models: list[str] | None = None
    context_window: int | None = None
    breaker: str = ""
    requests_today: int | None = None


def _rows(settings: Settings) -> list[Row]:
    config = ProvidersConfig(**{n: getattr(settings, n) for n in ProvidersConfig.model_fields})
    names: list[str | None] = list(config.deployments) or [settings.provider]
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    rows = []
    for name in names:
        try:
            router = provider_for_run(config, pick=name, model=settings.model,
                                      database=settings.database, script=settings.script,
                                      openai_base_url=settings.openai_base_url,
                                      openai_api_key=key)
        except ValueError as exc:  # e.g. a missing key: report it, check the others
            rows.append(Row(name or "default", "?", "?", False, str(exc)))
            continue
        if not isinstance(router, Router):
            rows.append(Row(name or "default", router.name, router.model, True,
                            "recorded responses: nothing to reach"))
            continue
        try:
            reports = asyncio.run(router.report())
        finally:
            router.close()
        rows += [Row(r.name, r.provider, r.model, r.health.ok, r.health.detail, r.models,
                     r.context_window, r.breaker, r.requests_today) for r in reports]
    return rows


@app.command()
def doctor(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Check each configured provider: reachability, models, context lengths, breaker."""
    try:
        rows = _rows(settings_from(home=home))
    except BadInput as exc:
        raise fail(str(exc)) from None
    if as_json:
        for row in rows:
            out.print(json.dumps(row.__dict__), soft_wrap=True)
    else:
        table = Table("deployment", "provider", "model", "reachable", "context", "models",
                      "breaker", "today")
        for row in rows:
            models = row.models or []
            shown = ", ".join(models[:_MODELS_SHOWN]) + (" ..." if len(models) > _MODELS_SHOWN
                                                          else "")
            table.add_row(row.deployment, row.provider, row.model,
                          ("[green]yes[/green] " if row.reachable else "[red]no[/red] ")
                          + row.detail,
                          f"{row.context_window:,}" if row.context_window else "?", shown,
                          row.breaker, "" if row.requests_today is None
                          else str(row.requests_today))
        out.print(table)
    raise typer.Exit(EXIT_DONE if all(r.reachable for r in rows) else EXIT_FAILED)
