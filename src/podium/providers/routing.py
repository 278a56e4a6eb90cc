"""Choosing the order in which deployments are tried for one call, and saying why.

Pure functions of what the router knows (no I/O), so each rule can be tested on its own:
``rank`` orders a chain by what the call prefers; ``fit_context`` drops the deployments whose
window cannot hold the prompt and brings in the context chain's larger ones, before anything
is sent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from podium.providers.base import Preference
from podium.providers.deployment import Deployment


@dataclass(frozen=True)
class Chain:
    """Deployments tried in order, each one the fallback of the one before. With
    ``check_health`` (a composite local-first chain), a member whose cached health check
    fails is skipped without sending it anything."""

    name: str
    deployments: tuple[str, ...]
    check_health: bool = False


@dataclass(frozen=True)
class Route:
    """How calls of one purpose are routed: through which chain, favouring what."""

    chain: str | None = None
    prefer: Preference | None = None


def _cost(deployment: Deployment, tokens_in: int, tokens_out: int) -> float:
    price = deployment.cost_rate()
    return math.inf if price is None else price.cost(tokens_in, tokens_out)


def rank(deployments: Sequence[Deployment], prefer: Preference | None, tokens_in: int,
         tokens_out: int, windows: Mapping[str, int | None]) -> tuple[list[Deployment], str]:
    """``deployments`` in the order ``prefer`` asks for (a stable sort, so the chain's order
    breaks ties; unknown values go last), and a sentence saying so."""
    if prefer is None:
        return list(deployments), "in chain order"
    if prefer == "quality":
        def key(d: Deployment) -> float:
            return -d.quality

        def shown(d: Deployment) -> str:
            return f"quality {d.quality}"
    elif prefer == "cost":
        def key(d: Deployment) -> float:
            return _cost(d, tokens_in, tokens_out)

        def shown(d: Deployment) -> str:
            cost = _cost(d, tokens_in, tokens_out)
            return "price unknown" if cost == math.inf else f"up to ${cost:.4f}"
    elif prefer == "latency":
        def key(d: Deployment) -> float:
            return math.inf if d.latency_s is None else d.latency_s

        def shown(d: Deployment) -> str:
            return "not measured yet" if d.latency_s is None else f"{d.latency_s:.2f} s"
    else:  # context
        def key(d: Deployment) -> float:
            window = windows.get(d.name)
            return math.inf if window is None else -window

        def shown(d: Deployment) -> str:
            window = windows.get(d.name)
            return "window unknown" if window is None else f"{window:,} tokens"
    ordered = sorted(deployments, key=key)
    return ordered, f"prefers {prefer}: " + ", ".join(f"{d.name} ({shown(d)})" for d in ordered)


def fit_context(ordered: Sequence[Deployment], larger: Sequence[Deployment], needed: int,
                windows: Mapping[str, int | None]) -> tuple[list[Deployment], str]:
    """The deployments of ``ordered`` whose window holds ``needed`` tokens (an unknown window
    is assumed to), then those of ``larger`` (the context chain) that do; and a sentence when
    a deployment was passed over for its window. Empty when none holds the prompt."""
    def fits(d: Deployment) -> bool:
        window = windows.get(d.name)
        return window is None or needed <= window

    kept = [d for d in ordered if fits(d)]
    dropped = [d for d in ordered if not fits(d)]
    if not dropped:
        return kept, ""
    kept += [d for d in larger if fits(d) and d not in kept]
    too_small = ", ".join(f"{d.name} holds {windows[d.name]:,}" for d in dropped)
    if not kept:
        return [], f"the prompt needs about {needed:,} tokens and no deployment holds it " \
                   f"({too_small})"
    target = kept[0]
    window = windows.get(target.name)
    holds = f"{window:,} tokens" if window is not None else "window unknown"
    return kept, (f"context: the prompt needs about {needed:,} tokens ({too_small}), "
                  f"so it goes to {target.name} ({holds})")
