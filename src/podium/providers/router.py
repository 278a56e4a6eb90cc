"""The router: one Provider in front of many deployments, and the only retry loop in Podium.

For each call it plans an order of deployments (the purpose's chain, ranked by what the call
prefers, with prompts too long for a window sent to a larger one before anything is sent,
and, in a health-checked chain, members known to be down skipped), then tries them in turn.
On each deployment it retries what may pass on a second try (timeouts, lost connections,
408, 409, 429, 5xx, malformed streams) with exponential backoff and jitter, or after the
server's Retry-After up to a cap, and never what cannot (bad requests, refused keys, quotas).
A 429 or an overload cools the deployment down and moves straight to the next one when there
is one; a deployment whose breaker is open is skipped. Rate limits, daily quotas and budgets
are taken before each attempt.

Streams: retries and fallbacks are invisible to the caller until the first chunk of an
attempt arrives. When an attempt fails after its chunks reached the caller, the next
attempt's output is preceded by one ``error`` chunk naming the withdrawn attempt, so a caller
never mistakes two attempts' text for one answer; within an attempt every chunk arrives once,
in order. ``complete`` applies the same rule and returns only the answer that finished.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_exponential_jitter

from podium.providers.base import Completion, CompletionRequest, Health, ToolCall
from podium.providers.breaker import BreakerState
from podium.providers.budgets import Budgets, Reservation
from podium.providers.chunks import Chunk, StreamAssembler
from podium.providers.connector import approx_tokens
from podium.providers.deployment import Deployment
from podium.providers.errors import BudgetExceeded, ProviderError
from podium.providers.loop import HomeLoop
from podium.providers.routing import Chain, Route, fit_context, rank
from podium.providers.timeouts import guard_stream, remaining

DEFAULT_CHAIN = "default"


class _PastDeadline(stop_base):
    """Stop retrying when the next wait would end past the call's deadline."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.monotonic() + retry_state.upcoming_sleep >= self.deadline


@dataclass(frozen=True)
class RetryPolicy:
    backoff_s: float = 0.5  # the first backoff; it doubles with each retry
    backoff_max_s: float = 8.0
    jitter_s: float = 0.5
    max_retry_after_s: float = 60.0  # a server asking for a longer wait is not waited for
    call_timeout_s: float = 900.0  # a call's deadline when the caller sets none


@dataclass
class CallRecord:
    """What happened during one call, filled in by the router as it goes."""

    deployment: Deployment | None = None
    attempt: int = 0  # attempts sent so far, over all deployments
    fallback: bool = False  # answered by a deployment after the first planned one
    route_reason: str = ""
    failures: list[str] = field(default_factory=list)
    ttft_s: float | None = None
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    usage_estimated: bool = False
    cost_usd: float = 0.0
    withdrawn: tuple[int, str] | None = None  # an attempt whose chunks must be withdrawn


@dataclass(frozen=True)
class DeploymentReport:
    name: str
    provider: str
    model: str
    health: Health
    models: list[str] | None
    context_window: int | None
    breaker: str
    requests_today: int | None


class Router:
    """A :class:`Provider` (``name``, ``model`` and ``style`` are those of the default
    chain's first deployment) that routes, limits, retries and falls back. Safe to call from
    any thread or event loop: its work runs on its own home loop (see ``loop.py``)."""

    def __init__(
        self,
        deployments: Sequence[Deployment],
        *,
        chains: Mapping[str, Chain] | None = None,
        routes: Mapping[str, Route] | None = None,
        context_chain: str | None = None,
        budgets: Budgets | None = None,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.deployments = {d.name: d for d in deployments}
        if not deployments or len(self.deployments) != len(deployments):
            raise ValueError("a router needs deployments with distinct names")
        self.chains = dict(chains or {})
        self.chains.setdefault(DEFAULT_CHAIN, Chain(DEFAULT_CHAIN, tuple(self.deployments)))
        self.routes = dict(routes or {})
        self.context_chain = context_chain
        self._validate()
        self.budgets = budgets or Budgets()
        self.policy = policy or RetryPolicy()
        self._home = HomeLoop()
        primary = self.deployments[self.chains[DEFAULT_CHAIN].deployments[0]]
        self.name, self.model = primary.provider, primary.model
        self.style = getattr(primary.connector, "style", "chat")

    def _validate(self) -> None:
        for chain in self.chains.values():
            if not chain.deployments:
                raise ValueError(f"chain {chain.name!r} is empty")
            unknown = [n for n in chain.deployments if n not in self.deployments]
            if unknown:
                raise ValueError(f"chain {chain.name!r} names unknown deployment(s) "
                                 f"{', '.join(unknown)}; known: {', '.join(self.deployments)}")
        named = [(f"purpose {p!r}", r.chain) for p, r in self.routes.items()]
        for owner, chain_name in [*named, ("context_chain", self.context_chain)]:
            if chain_name is not None and chain_name not in self.chains:
                raise ValueError(f"{owner} names unknown chain {chain_name!r}; known: "
                                 f"{', '.join(self.chains)}")

    def adopt_loop(self) -> None:
        """Make the running loop the router's home (for a long-lived loop such as a
        server's): calls made on it then run directly, with no hand-over to a thread. Must
        be called before the router's first call."""
        self._home.adopt(asyncio.get_running_loop())

    # --- the Provider interface -----------------------------------------------------------

    async def complete(self, request: CompletionRequest) -> Completion:
        """The answer of the first deployment that gives one, with how it was obtained."""
        return await self._home.run(self._complete(request))

    def stream(self, request: CompletionRequest,
               record: CallRecord | None = None) -> AsyncIterator[Chunk]:
        """The answer as chunks; ``record``, if given, is filled in as the call proceeds."""
        record = record if record is not None else CallRecord()
        return self._home.iterate(lambda: self._run(request, record))

    async def _complete(self, request: CompletionRequest) -> Completion:
        record, answer = CallRecord(), StreamAssembler()
        async for chunk in self._run(request, record):
            answer.add(chunk)
        deployment = record.deployment
        assert deployment is not None
        return Completion(
            text=answer.text, provider=deployment.provider, model=deployment.model,
            tokens_in=record.tokens_in, tokens_out=record.tokens_out,
            usage_estimated=record.usage_estimated, latency_s=record.latency_s,
            finish_reason=answer.finish_reason or "unknown",
            tool_calls=tuple(ToolCall(id=i, name=n, arguments=a)
                             for i, n, a in answer.tool_calls()),
            deployment=deployment.name, attempt=record.attempt, fallback=record.fallback,
            cost_usd=record.cost_usd, ttft_s=record.ttft_s, route_reason=record.route_reason,
        )

    # --- one call -------------------------------------------------------------------------

    async def _run(self, request: CompletionRequest, record: CallRecord) -> AsyncIterator[Chunk]:
        deadline = time.monotonic() + (request.timeout_s or self.policy.call_timeout_s)
        tokens_in = approx_tokens(request.system + request.prompt + request.prefill)
        candidates = await self._plan(request, record, tokens_in)
        last: ProviderError | None = None
        for position, deployment in enumerate(candidates):
            more = position + 1 < len(candidates)
            try:
                async for chunk in self._on(deployment, request, record, deadline, more,
                                            tokens_in):
                    yield chunk
            except ProviderError as exc:
                last = exc
                record.failures.append(f"{deployment.name}: {exc.detail}{self._note(exc)}")
                continue
            record.fallback = position > 0
            if record.failures:
                record.route_reason += "; failed first: " + "; ".join(record.failures)
            return
        assert last is not None
        summary = (f"no deployment could answer ({record.attempt} attempt(s)): "
                   + "; ".join(record.failures))
        if last.kind == "budget":
            raise BudgetExceeded(summary)
        raise ProviderError("router", summary, kind=last.kind, status=last.status,
                            retry_after_s=last.retry_after_s)

    def _note(self, exc: ProviderError) -> str:
        wait = exc.retry_after_s
        if wait is not None and wait > self.policy.max_retry_after_s:
            return f" (asked to wait {wait:g} s, more than the {self.policy.max_retry_after_s:g}" \
                   " s cap)"
        return ""

    async def _plan(self, request: CompletionRequest, record: CallRecord,
                    tokens_in: int) -> list[Deployment]:
        route = self.routes.get(request.purpose, Route())
        chain = self.chains[route.chain or DEFAULT_CHAIN]
        prefer = request.prefer or route.prefer
        members = [self.deployments[n] for n in chain.deployments]
        larger = ([self.deployments[n] for n in self.chains[self.context_chain].deployments]
                  if self.context_chain else [])
        hinted = ""
        if request.provider is not None or request.model is not None:
            # Hints are requirements: the chain's matching members first, then the others.
            allowed = self.matching(request.provider, request.model)
            names = {d.name for d in allowed}
            in_chain = {d.name for d in members}
            members = ([d for d in members if d.name in names]
                       + [d for d in allowed if d.name not in in_chain])
            larger = [d for d in larger if d.name in names]
            hinted = f"hinted {_hint(request)}"
            if not members:
                raise ProviderError("router", f"no deployment serves {_hint(request)}",
                                    kind="bad_request")
        windows = {d.name: await d.window() for d in {*members, *larger}}
        ordered, why = rank(members, prefer, tokens_in, request.max_tokens, windows)
        candidates, context = fit_context(ordered, larger, tokens_in + request.max_tokens,
                                          windows)
        if not candidates:
            raise ProviderError("router", context, kind="context_length")
        reasons = [f"purpose {request.purpose!r} via chain {chain.name!r} {why}", hinted,
                   context]
        if chain.check_health:
            checked = [(d, await d.cached_health()) for d in candidates]
            healthy = [d for d, health in checked if health.ok]
            reasons += [f"skipped {d.name} (health check: {h.detail})" for d, h in checked
                        if not h.ok]
            candidates = healthy or candidates  # all down: try them anyway, in order
        record.route_reason = "; ".join(r for r in reasons if r)
        return candidates

    async def _on(self, deployment: Deployment, request: CompletionRequest,
                  record: CallRecord, deadline: float, more: bool,
                  tokens_in: int) -> AsyncIterator[Chunk]:
        """Attempts on one deployment, retried as the policy allows."""
        policy = self.policy
        backoff = wait_exponential_jitter(multiplier=policy.backoff_s, max=policy.backoff_max_s,
                                          jitter=policy.jitter_s)

        def wait(state: RetryCallState) -> float:
            assert state.outcome is not None
            asked = getattr(state.outcome.exception(), "retry_after_s", None)
            base = asked if asked is not None else backoff(state)
            return max(base, deployment.breaker.open_remaining_s())

        def retry(exc: BaseException) -> bool:
            if not isinstance(exc, ProviderError) or not exc.retryable:
                return False
            if exc.retry_after_s is not None and exc.retry_after_s > policy.max_retry_after_s:
                return False
            # Cooling down (429, overload, repeated failures): go to the next one if any.
            return not (more and deployment.breaker.state is not BreakerState.CLOSED)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(deployment.retries + 1) | _PastDeadline(deadline),
            wait=wait, retry=retry_if_exception(retry), reraise=True)
        async for attempt in retrying:
            with attempt:
                async for chunk in self._attempt(deployment, request, record, deadline, more,
                                                 tokens_in):
                    yield chunk

    async def _attempt(self, deployment: Deployment, request: CompletionRequest,
                       record: CallRecord, deadline: float, more: bool,
                       tokens_in: int) -> AsyncIterator[Chunk]:
        """One request to one deployment."""
        await self._admit(deployment, deadline, more)
        if deployment.limits is not None:
            await deployment.limits.acquire(tokens_in + request.max_tokens, deadline)
        reservation = await self._reserve(deployment, request, tokens_in)
        record.attempt += 1
        number, started = record.attempt, time.monotonic()
        attempt_deadline = min(deadline, started + deployment.timeouts.total_s)
        if deployment.stream:
            source = guard_stream(deployment.connector.stream(request), deployment.provider,
                                  deployment.timeouts, attempt_deadline)
        else:
            source = self._one_shot(deployment, request, attempt_deadline)
        answer = StreamAssembler()
        first_at: float | None = None
        try:
            async for chunk in source:
                if first_at is None:
                    first_at = time.monotonic()
                    if record.withdrawn is not None:
                        withdrawn, why = record.withdrawn
                        record.withdrawn = None
                        yield Chunk.error(f"attempt {withdrawn} failed after sending output, "
                                          f"which is withdrawn: {why}", withdrawn)
                answer.add(chunk)
                yield chunk
        except BaseException as exc:
            if reservation is not None:
                self.budgets.release(reservation)
            if isinstance(exc, ProviderError):
                deployment.breaker.record_failure(exc)
                if first_at is not None:
                    record.withdrawn = (number, exc.detail)
            raise
        deployment.breaker.record_success()
        try:  # the cost is recorded before the reservation goes, so no one spends it twice
            await self._account(deployment, request, record, answer, tokens_in)
        finally:
            if reservation is not None:
                self.budgets.release(reservation)
        record.deployment = deployment
        record.latency_s = time.monotonic() - started
        record.ttft_s = first_at - started if deployment.stream and first_at else None
        deployment.observe_latency(record.latency_s)

    async def _admit(self, deployment: Deployment, deadline: float, more: bool) -> None:
        """Let an attempt through the breaker: skip an open one (or, when it is the last
        option, wait out a short cool-down), and probe a half-open one first."""
        breaker = deployment.breaker
        if breaker.state is BreakerState.OPEN:
            wait = breaker.open_remaining_s()
            if more or wait > min(self.policy.max_retry_after_s, remaining(deadline)):
                raise ProviderError("router", f"deployment {deployment.name!r} is cooling down:"
                                    f" breaker {breaker.describe()}", kind="unavailable")
            await asyncio.sleep(wait)
        if breaker.state is BreakerState.HALF_OPEN and not await deployment.probe():
            raise ProviderError("router", f"deployment {deployment.name!r} failed its health "
                                f"probe: {breaker.reason}", kind="unavailable")

    async def _reserve(self, deployment: Deployment, request: CompletionRequest,
                       tokens_in: int) -> Reservation | None:
        limits = self.budgets.limits(request.task_id, request.budget_usd)
        if not limits:
            return None
        price = deployment.cost_rate()
        label = f"a call to {deployment.name} ({deployment.model})"
        if price is None:
            raise BudgetExceeded(f"{label} cannot be held to a budget: its price is unknown "
                                 "(add the model to the price table)")
        return await self.budgets.reserve(limits, price.cost(tokens_in, request.max_tokens),
                                          label)

    async def _account(self, deployment: Deployment, request: CompletionRequest,
                       record: CallRecord, answer: StreamAssembler, tokens_in: int) -> None:
        """Usage (estimated when the provider reported none) and cost of a finished call."""
        estimated = answer.tokens_in is None or answer.tokens_out is None
        record.tokens_in = answer.tokens_in if answer.tokens_in is not None else tokens_in
        written = answer.text + "".join(a for _, _, a in answer.tool_calls())
        record.tokens_out = (answer.tokens_out if answer.tokens_out is not None
                             else approx_tokens(written))
        price = deployment.cost_rate()
        record.usage_estimated = estimated or price is None
        record.cost_usd = price.cost(record.tokens_in, record.tokens_out) if price else 0.0
        await self.budgets.record(request.task_id, record.cost_usd)

    async def _one_shot(self, deployment: Deployment, request: CompletionRequest,
                        deadline: float) -> AsyncIterator[Chunk]:
        """A non-streamed call, as chunks; only the total timeout applies."""
        try:
            async with asyncio.timeout(remaining(deadline)):
                done = await deployment.connector.complete(request)
        except TimeoutError:
            raise ProviderError(deployment.provider, "no answer before the call's time ran "
                                "out", kind="timeout") from None
        if done.text:
            yield Chunk.delta(done.text)
        for index, call in enumerate(done.tool_calls):
            yield Chunk.tool_call(index, call_id=call.id, name=call.name,
                                  arguments=call.arguments)
        if not done.usage_estimated:
            yield Chunk.usage(done.tokens_in, done.tokens_out)
        yield Chunk.finish(done.finish_reason)

    # --- inspection and shutdown ----------------------------------------------------------

    async def health(self) -> Health:
        """Up when at least one deployment answers its health check (checked now)."""
        return await self._home.run(self._health())

    async def _health(self) -> Health:
        started = time.perf_counter()
        checks = [(d.name, await d.check_health()) for d in self.deployments.values()]
        detail = "; ".join(f"{name}: {'up' if h.ok else 'down'} ({h.detail})"
                           for name, h in checks)
        return Health(any(h.ok for _, h in checks), detail, time.perf_counter() - started)

    def matching(self, provider: str | None, model: str | None) -> list[Deployment]:
        """The deployments that hints allow, in configuration order (see
        Deployment.matches)."""
        return [d for d in self.deployments.values() if d.matches(provider, model)]

    async def models(self) -> list[str]:
        """The models of the deployments, in the order they are configured."""
        return list(dict.fromkeys(d.model for d in self.deployments.values()))

    @property
    def breaker_state(self) -> str:
        return "; ".join(f"{d.name}: {d.breaker.describe()}" for d in self.deployments.values())

    async def report(self) -> list[DeploymentReport]:
        """Each deployment's reachability, models, window and breaker, checked now."""
        return await self._home.run(self._report())

    async def _report(self) -> list[DeploymentReport]:
        reports = []
        for d in self.deployments.values():
            health = await d.check_health()
            models = await d.connector.models() if health.ok else None
            used = (await asyncio.to_thread(d.limits.used_today)) if d.limits else None
            reports.append(DeploymentReport(
                d.name, d.provider, d.model, health, models,
                await d.window() if health.ok else d.context_window, d.breaker.describe(),
                used))
        return reports

    def close(self) -> None:
        """Close every connector and the ledger, and stop the home loop (call from plain
        code)."""
        self._home.call(self._close_connectors)
        self._home.stop()
        self.budgets.close()

    async def _close_connectors(self) -> None:
        for deployment in self.deployments.values():
            await deployment.connector.aclose()


def _hint(request: CompletionRequest) -> str:
    return " and ".join(f"{what} {value!r}" for what, value in
                        (("provider", request.provider), ("model", request.model)) if value)
