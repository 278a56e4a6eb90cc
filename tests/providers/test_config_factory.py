"""The provider sections of the config file, and the provider a run gets from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.config import Settings
from podium.providers import Router, ScriptedProvider
from podium.services.tasks import build_provider
from tests.providers.fakes.harness import FakeServer

CONFIG = """
[providers.local]
preset = "ollama"
base_url = "{ollama}"

[providers.cloud]
preset = "openai"
base_url = "{openai}/v1"

[deployments.fast]
provider = "local"
model = "qwen2.5-coder:7b"
quality = 2
limits = {{ requests_per_s = 3, burst = 5, requests_per_day = 10000 }}
timeouts = {{ first_token_s = 5, idle_s = 5 }}

[deployments.strong]
provider = "cloud"
model = "gpt-4o"
quality = 5

[chains]
default = ["fast", "strong"]
everything = {{ deployments = ["strong", "fast"], check_health = true }}

[routing]
context_chain = "everything"

[routing.purposes.plan]
chain = "everything"
prefer = "quality"

[budgets]
task_usd = 0.5
day_usd = 5
"""


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, openai_fake: FakeServer,
               ollama_fake: FakeServer) -> Path:
    path = tmp_path / "podium.toml"
    path.write_text(CONFIG.format(ollama=ollama_fake.url, openai=openai_fake.url))
    monkeypatch.setenv("PODIUM_CONFIG", str(path))
    monkeypatch.setenv("PODIUM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment")
    return path


def test_the_config_file_builds_the_router(configured: Path) -> None:
    router = build_provider(Settings())
    try:
        assert isinstance(router, Router)
        assert list(router.deployments) == ["fast", "strong"]
        assert (router.name, router.model, router.style) == ("ollama", "qwen2.5-coder:7b", "chat")
        assert router.chains["everything"].check_health
        assert router.routes["plan"].prefer == "quality"
        assert router.budgets.per_task_usd == 0.5 and router.budgets.per_day_usd == 5
        fast, strong = router.deployments["fast"], router.deployments["strong"]
        assert fast.local and fast.price is None and fast.timeouts.first_token_s == 5
        assert fast.limits is not None and fast.limits.spec.requests_per_day == 10000
        assert not strong.local and strong.price is not None and strong.price.input == 2.5
    finally:
        router.close()


async def test_the_router_from_the_config_answers(configured: Path,
                                                  openai_fake: FakeServer) -> None:
    router = build_provider(Settings())
    try:
        from podium.providers import CompletionRequest

        plan = await router.complete(CompletionRequest(prompt="plan", purpose="plan"))
        code = await router.complete(CompletionRequest(prompt="code", purpose="code"))
        assert (plan.deployment, code.deployment) == ("strong", "fast")
        assert openai_fake.requests[0]["max_completion_tokens"] == 512  # OpenAI's own name
    finally:
        router.close()


def test_provider_and_model_pick_one_for_a_run(configured: Path) -> None:
    for pick, model, deployment in (("strong", None, "strong"), ("local", "tiny:1b", "local"),
                                    ("fast", "tiny:1b", "fast")):
        router = build_provider(Settings(provider=pick, model=model))
        try:
            assert isinstance(router, Router) and list(router.deployments) == [deployment]
            assert list(router.chains) == ["default"] and not router.routes
            if model:
                assert router.model == model
        finally:
            router.close()


def test_built_in_providers_still_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_CONFIG", str(tmp_path / "none.toml"))
    script = tmp_path / "script.json"
    script.write_text('{"*": ["ok"]}')
    assert isinstance(build_provider(Settings(provider="scripted", script=script)),
                      ScriptedProvider)
    default = build_provider(Settings(home=tmp_path))
    assert isinstance(default, Router)
    assert (default.name, default.style) == ("embedded", "completion")
    assert not default.deployments["embedded"].stream  # llama's token stream drops characters
    default.close()
    legacy = build_provider(Settings(provider="openai", openai_base_url="http://127.0.0.1:9/v1",
                                     model="m"))
    assert isinstance(legacy, Router) and legacy.name == "openai" and legacy.model == "m"
    legacy.close()
    with pytest.raises(ValueError, match="needs option\\(s\\): base_url"):
        build_provider(Settings(provider="openai", model="m"))


def test_an_unknown_provider_lists_the_known_ones(configured: Path) -> None:
    with pytest.raises(ValueError, match="unknown provider 'nonsense'; known providers and "
                                         "deployments: cloud, embedded, fast, local, openai, "
                                         "scripted, strong"):
        build_provider(Settings(provider="nonsense"))


def test_a_missing_key_names_its_environment_variable(
        configured: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ValueError, match="provider 'cloud' needs an API key: set the "
                                         "environment variable OPENAI_API_KEY"):
        build_provider(Settings())


@pytest.mark.parametrize("secret", [
    '[providers.cloud]\npreset = "openai"\napi_key = "sk-oops"\n',
    '[providers.cloud]\npreset = "openai"\nauth_token = "t"\n',
    '[deployments.x]\nprovider = "cloud"\nmodel = "m"\n[deployments.x.limits]\nsecret = "s"\n',
])
def test_a_key_anywhere_in_the_config_file_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    path = tmp_path / "podium.toml"
    path.write_text(secret)
    monkeypatch.setenv("PODIUM_CONFIG", str(path))
    with pytest.raises(ValueError, match="must not be in the config file: keys come only from "
                                         "the environment"):
        Settings()


@pytest.mark.parametrize(("toml", "message"), [
    ('[providers.x]\nbase_url = "http://h"\n', "needs a `preset`"),
    ('[providers.x]\npreset = "openia"\n', "unknown preset 'openia'"),
    ('[deployments.d]\nprovider = "p"\nmodel = "m"\nquality = 9\n', "less than or equal to 5"),
    ('[routing.purposes.plan]\nprefer = "speed"\n', "quality', 'cost', 'latency' or 'context'"),
])
def test_bad_provider_sections_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         toml: str, message: str) -> None:
    path = tmp_path / "podium.toml"
    path.write_text(toml)
    monkeypatch.setenv("PODIUM_CONFIG", str(path))
    with pytest.raises(ValueError, match=message):
        Settings()


def test_a_model_without_a_provider_is_refused_when_deployments_are_configured(
        configured: Path) -> None:
    with pytest.raises(ValueError, match="model 'm' was given without a provider"):
        build_provider(Settings(model="m"))
