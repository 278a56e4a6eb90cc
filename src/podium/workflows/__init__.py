"""Durable workflows (DBOS) and the runtime their steps use."""

from podium.workflows.engine import launch_engine, shutdown_engine
from podium.workflows.runtime import Runtime

__all__ = ["Runtime", "launch_engine", "shutdown_engine"]
