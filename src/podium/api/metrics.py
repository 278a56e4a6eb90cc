"""Prometheus metrics for one server: its own registry, so several apps can share a process.

Counters about models (requests, latency, tokens, cost) are fed from the LLM_CALL events the
server's event hub sees, so they count every call recorded in the log while the server runs,
whichever process made it. Task and queue figures are read when scraped.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from podium.events import Event
from podium.services import TASK_STATUSES, TaskService
from podium.store import SqliteEventStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAST_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = PromCounter("podium_http_requests", "HTTP requests answered",
                                         ["method", "route", "status"], registry=r)
        self.http_latency = Histogram("podium_http_request_seconds", "HTTP request latency",
                                      ["method", "route"], buckets=_FAST_BUCKETS, registry=r)
        self.ws_connections = Gauge("podium_websocket_connections", "open WebSocket streams",
                                    registry=r)
        self.events = PromCounter("podium_events", "events seen by the server", ["type"],
                                  registry=r)
        self.append_latency = Histogram("podium_event_append_seconds",
                                        "time to append a batch of events to the store",
                                        buckets=_FAST_BUCKETS, registry=r)
        labels = ["provider", "model"]
        self.llm_requests = PromCounter("podium_llm_requests", "model calls", labels, registry=r)
        self.llm_latency = Histogram("podium_llm_latency_seconds", "model call latency", labels,
                                     buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120), registry=r)
        self.llm_tokens = PromCounter("podium_llm_tokens", "tokens", [*labels, "direction"],
                                      registry=r)
        self.llm_cost = PromCounter("podium_llm_cost_usd", "model cost in US dollars", labels,
                                    registry=r)

    def observe_event(self, event: Event) -> None:
        self.events.labels(event.type).inc()
        if event.type != "LLM_CALL":
            return
        data: Any = event.data
        provider, model = data.provider, data.model
        self.llm_requests.labels(provider, model).inc()
        self.llm_latency.labels(provider, model).observe(data.latency_s)
        self.llm_tokens.labels(provider, model, "in").inc(data.tokens_in)
        self.llm_tokens.labels(provider, model, "out").inc(data.tokens_out)
        self.llm_cost.labels(provider, model).inc(data.cost_usd)

    def watch_service(self, service: TaskService) -> None:
        """Report tasks by status and the queue when scraped."""
        self.registry.register(_ServiceCollector(service))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _ServiceCollector(Collector):
    def __init__(self, service: TaskService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        summaries = self.service.store.task_summaries(limit=2**31, prompt_chars=0)
        counts = Counter(s.status for s in summaries)
        tasks = GaugeMetricFamily("podium_tasks", "tasks by status", labels=["status"])
        for status in TASK_STATUSES:
            tasks.add_metric([status], counts.get(status, 0))
        yield tasks
        queue = self.service.queue_status()
        waiting = GaugeMetricFamily("podium_queue_waiting", "tasks waiting to start",
                                    labels=["priority"])
        for priority, count in queue.waiting.items():
            waiting.add_metric([priority], count)
        yield waiting
        yield GaugeMetricFamily("podium_queue_running", "tasks running", value=queue.running)


class InstrumentedEventStore(SqliteEventStore):
    """The event store, timing each append for the append-latency histogram."""

    def __init__(self, *args: object, observe: Callable[[float], None], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._observe = observe

    def append(self, events: Sequence[Event], *,
               expected_version: int | None = None) -> list[Event]:
        started = time.perf_counter()
        try:
            return super().append(events, expected_version=expected_version)
        finally:
            self._observe(time.perf_counter() - started)
