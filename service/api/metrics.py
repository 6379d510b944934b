"""Prometheus metrics: decisions by jurisdiction, program and status; request latency.

With several worker processes ``eligibility serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start, and ``/metrics`` then adds up every worker's figures.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

DECISIONS = Counter(
    "eligibility_decisions",
    "Recorded decisions, by jurisdiction, program and status",
    ["jurisdiction", "program", "status"],
)
EVALUATIONS = Counter(
    "eligibility_evaluations",
    "Evaluations answered without being recorded (POST /v1/evaluate)",
    ["jurisdiction", "program", "status"],
)
REQUESTS = Counter(
    "eligibility_http_requests",
    "HTTP requests, by method, route template and status code",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "eligibility_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
BATCH_SIZE = Histogram(
    "eligibility_record_batch_size",
    "Decisions committed per database transaction (group commit)",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)

CONTENT_TYPE = CONTENT_TYPE_LATEST
disable_created_metrics()


# Label children, looked up once: ``labels()`` validates and locks on every call.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def count_decisions(
    counter: Counter, jurisdiction: str, programs: Mapping[str, Mapping[str, object]]
) -> None:
    for program, result in programs.items():
        _child(counter, jurisdiction, program, str(result.get("status"))).inc()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    _child(LATENCY, method, route).observe(seconds)
    _child(REQUESTS, method, route, str(status)).inc()


def render() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest()
