"""`podium serve`, `podium mcp` and `podium keys`: Podium over the network and for agents.

Without API keys the server answers anyone who can reach it, so it listens on loopback only
unless told otherwise with --allow-no-auth. With keys, every request needs one.

The server's libraries (FastAPI, uvicorn, MCP) are imported by these commands only, so that
the other commands start as fast as before.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from podium.api.keys import LOOPBACK_HOSTS, SCOPES, KeyStore
from podium.cli.app import BadInput, HomeOption, app, console, fail, out, settings_from
from podium.config import Settings

if TYPE_CHECKING:
    from podium.api.metrics import Metrics
    from podium.services import TaskService

ProviderOption = Annotated[str | None, typer.Option(help="embedded, openai, scripted, or a "
                                                    "configured provider")]
ModelOption = Annotated[str | None, typer.Option(help="model name (or .gguf path)")]
BaseUrlOption = Annotated[str | None, typer.Option(help="OpenAI-compatible server URL")]
ScriptOption = Annotated[Path | None, typer.Option(help="recorded responses (scripted)")]
ConcurrencyOption = Annotated[int | None, typer.Option(min=1, help="tasks running at once")]

keys_app = typer.Typer(help="Create, list and revoke API keys (stored hashed).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="address to listen on (default 127.0.0.1)")]
    = None,
    port: Annotated[int | None, typer.Option(min=0, max=65535, help="default 8000")] = None,
    provider: ProviderOption = None, model: ModelOption = None, base_url: BaseUrlOption = None,
    script: ScriptOption = None, concurrency: ConcurrencyOption = None,
    max_waiting: Annotated[int | None, typer.Option(min=1, help="tasks waiting at most")] = None,
    grace: Annotated[float | None, typer.Option(min=0, help="seconds running tasks get to "
                                                "finish at shutdown")] = None,
    allow_no_auth: Annotated[bool, typer.Option(
        "--allow-no-auth", help="listen on a non-loopback address although no API key exists: "
                                "anyone who can reach it may use it")] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error")] = "info",
    home: HomeOption = None,
) -> None:
    """Serve the REST API, live streams (WebSocket, SSE) and MCP at /mcp."""
    import uvicorn

    from podium.api import create_app
    from podium.api.app import WS_DEFLATE
    from podium.logs import configure_logging

    try:
        settings = settings_from(host=host, port=port, provider=provider, model=model,
                                 openai_base_url=base_url, script=script, home=home,
                                 queue_concurrency=concurrency, queue_max_waiting=max_waiting,
                                 shutdown_grace_s=grace)
        _check_exposure(settings, allow_no_auth)
        configure_logging(level=log_level)
        service, metrics = _build(settings)
    except BadInput as exc:
        raise fail(str(exc)) from None
    console.print(f"podium serving on http://{settings.host}:{settings.port} "
                  f"(REST /v1, docs /docs, MCP /mcp)")
    try:
        # On SIGTERM uvicorn shuts down (the app's shutdown gives running tasks their grace
        # period and stops the engine), then ends the process with the signal.
        uvicorn.run(create_app(service, metrics, host=settings.host), host=settings.host,
                    port=settings.port, log_level="warning", access_log=False, lifespan="on",
                    ws_per_message_deflate=WS_DEFLATE)
        code = 0
    except KeyboardInterrupt:
        code = 130
    except SystemExit as exc:  # uvicorn could not start, e.g. the port is taken
        code = exc.code if isinstance(exc.code, int) else 1
    # A task still running after the grace period is left to its worker thread, which would
    # hold the process open; it resumes at the next start, so exit without waiting for it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@app.command()
def mcp(
    provider: ProviderOption = None, model: ModelOption = None, base_url: BaseUrlOption = None,
    script: ScriptOption = None, concurrency: ConcurrencyOption = None,
    home: HomeOption = None,
) -> None:
    """Serve MCP over stdio (for an agent's client); tasks run in this process."""
    from podium.api import build_mcp
    from podium.logs import configure_logging

    try:
        settings = settings_from(provider=provider, model=model, openai_base_url=base_url,
                                 script=script, home=home, queue_concurrency=concurrency)
        configure_logging(level="warning")  # stdout carries the protocol: logs go to stderr
        service, _metrics = _build(settings)
    except BadInput as exc:
        raise fail(str(exc)) from None
    try:
        build_mcp(service).run("stdio")
    finally:
        service.close()


@keys_app.command("create")
def keys_create(
    scope: Annotated[list[str], typer.Option(help=f"one of {', '.join(SCOPES)}; repeat or "
                                             "separate with commas")],
    tenant: Annotated[str, typer.Option(help="the tenant whose tasks the key sees")]
    = "default",
    name: Annotated[str, typer.Option(help="a label to recognise the key by")] = "",
    home: HomeOption = None,
) -> None:
    """Create a key and print it: it is stored hashed and cannot be shown again."""
    scopes = [s.strip() for item in scope for s in item.split(",") if s.strip()]
    keys = _keys(home)
    try:
        key, secret = keys.create(name=name, tenant=tenant, scopes=scopes)
    except ValueError as exc:
        raise fail(str(exc)) from None
    console.print(f"created key {key.key_id} for tenant {key.tenant} with scopes "
                  f"{' '.join(sorted(key.scopes))}; it is shown once, store it now:")
    out.print(secret, soft_wrap=True)


@keys_app.command("list")
def keys_list(home: HomeOption = None,
              as_json: Annotated[bool, typer.Option("--json", help="JSON lines")] = False) -> None:
    """List keys (never their secrets)."""
    for key in _keys(home).list():
        row = {"key_id": key.key_id, "name": key.name, "tenant": key.tenant,
               "scopes": sorted(key.scopes), "created_at": key.created_at,
               "revoked_at": key.revoked_at}
        if as_json:
            out.print(json.dumps(row), soft_wrap=True)
        else:
            state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
            out.print(f"{key.key_id}  {key.tenant}  {' '.join(sorted(key.scopes))}  {state}  "
                      f"{key.name}")


@keys_app.command("revoke")
def keys_revoke(key_id: str, home: HomeOption = None) -> None:
    """Revoke a key: requests with it are refused from now on."""
    try:
        key = _keys(home).revoke(key_id)
    except KeyError as exc:
        raise fail(str(exc.args[0])) from None
    console.print(f"revoked key {key.key_id} (tenant {key.tenant})")


def _keys(home: Path | None) -> KeyStore:
    try:
        return KeyStore(settings_from(home=home).database)
    except BadInput as exc:
        raise fail(str(exc)) from None


def _check_exposure(settings: Settings, allow_no_auth: bool) -> None:
    if settings.host in LOOPBACK_HOSTS or allow_no_auth:
        return
    if not KeyStore(settings.database).any_active():
        raise BadInput(f"refusing to listen on {settings.host} without API keys: anyone who can "
                       "reach it could run code. Create a key with `podium keys create --scope "
                       "tasks:read,tasks:write`, listen on 127.0.0.1, or pass --allow-no-auth")


def _build(settings: Settings) -> tuple[TaskService, Metrics]:
    from podium.api import build_service

    try:
        return build_service(settings)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
