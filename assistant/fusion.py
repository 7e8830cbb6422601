"""Reciprocal rank fusion: a pure function over rankings, no I/O.

RRF (Cormack, Clarke and Buettcher, SIGIR 2009) scores an item weight / (k + rank) in every ranking that
lists it and sums; k = 60 is the paper's constant. llama-index's QueryFusionRetriever uses the same form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def ranks(values: Mapping[str, float]) -> dict[str, int]:
    """1-based rank of each key by descending value (ties broken by key, for stable output)."""
    order = sorted(values, key=lambda key: (-values[key], key))
    return {key: rank for rank, key in enumerate(order, start=1)}


def fuse(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float],
    k: int = 60,
    prefer: Sequence[str] = (),
) -> dict[str, float]:
    """The fused score of every item listed by any ranking (or preferred).

    rankings: name -> items best first; weights: name -> weight (a ranking without a weight counts 1).
    prefer: items the caller favours, best first (the papers a conversation cited last), fused as one more
    ranking of weight 1.
    """
    scores: dict[str, float] = {}
    for name, ranking in [*rankings.items(), ("prefer", prefer)]:
        weight = weights.get(name, 1.0)
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def order(scores: Mapping[str, float]) -> list[str]:
    """Items by descending score, ties broken by item."""
    return sorted(scores, key=lambda item: (-scores[item], item))
