"""Per-query fusion of the dense and the sparse candidate lists: how much each retriever counts depends on
whether its list says anything for this query and on how much the two lists agree.

Fixed equal-weight RRF lets a weak retriever pull good results of the other down (a BM25 list whose top
scores are flat, because the query's words are common, counts as much as a sharp dense list). The fusion
here is a convex combination of per-query min-max normalised scores (Bruch, Gai & Ingber, "An Analysis of
Fusion Functions for Hybrid Retrieval", ACM TOIS 2023: a convex combination of normalised scores beats RRF
and needs only a few training queries to fit its weight) with a dense-dominant prior, whose weight moves
per query (dynamic alpha, as in Hsu & Tzeng, "DAT: Dynamic Alpha Tuning for Hybrid Retrieval in RAG",
2025, here from list statistics instead of an LLM judge): a flat list (its top scores alike: a
query-performance signal in the spirit of Shtok et al., "Predicting Query Performance by Query-Drift
Estimation", TOIS 2012) leaves the other list alone, and the weight shifts with the overlap of the two
top lists. Scores are scaled by the list's top score with 0 as the floor (the theoretical-minimum scaling
Bruch et al. recommend: 0 is what a chunk sharing no term scores under BM25 and, for the cosine, where
unrelated text lies), so a list keeps its own spread: a dense list whose 100th candidate still scores 0.8
of its top says that candidate is nearly as good, where min-max would call it worthless. A candidate one
list did not return gets that list's last score, the most it can have scored (the list would have returned
it otherwise). The constants were fit on training queries only (bench/fusion_tuning.py,
docs/benchmarks.md): the fit set the score-gap term to 0 (it did not help on either training set), and
its best top-scale setting beat its best min-max one on both training sets.
"""

from __future__ import annotations

from dataclasses import dataclass

# One retriever's candidates for one query, best first: (point id, raw score).
Ranked = list[tuple[str, float]]


@dataclass(frozen=True)
class FusionWeights:
    """The constants of the adaptive fusion (fit on SciFact train and the MS MARCO subset's train half)."""

    dense_prior: float = 0.65  # the dense weight when both lists are alike (a dense-dominant prior)
    confidence: float = 0.0  # how far the difference of the two lists' confidence moves the weight
    disagreement: float = -0.05  # how far the weight moves as the two top lists disagree (< 0: to sparse)
    floor: float = 0.1  # neither retriever's weight goes below this (unless its list is flat) ...
    flat: float = 0.05  # ... a list whose confidence is at most this is flat: the other one decides alone
    depth: int = 10  # the rank whose score measures confidence, and the depth of the overlap
    scale: str = "top"  # "top": score / top score, floor 0 (TM2C2); "range": min-max over the list

    @property
    def ceiling(self) -> float:
        return 1.0 - self.floor


def normalised(ranked: Ranked, scale: str = "top") -> dict[str, float]:
    """Scores on [0, 1], the top at 1. "top": each score's share of the top score, negatives at 0 (the
    floor is what no match scores, so the last candidate keeps its distance from nothing); "range":
    min-max over the list, the last at 0. A list with nothing above its floor gets 0 everywhere."""
    if not ranked:
        return {}
    top = ranked[0][1]
    bottom = 0.0 if scale == "top" else min(s for _, s in ranked)
    span = top - bottom
    return {pid: max(0.0, (s - bottom) / span) if span > 0 else 0.0 for pid, s in ranked}


def confidence(ranked: Ranked, depth: int) -> float:
    """How sharply the list's top stands out: 1 - (normalised score at rank `depth`), in [0, 1]. A flat top
    (many candidates scoring alike) is near 0; a list of fewer than two candidates has no confidence."""
    if len(ranked) < 2:
        return 0.0
    top, bottom = ranked[0][1], min(s for _, s in ranked)
    if top <= bottom:
        return 0.0
    return (top - ranked[min(depth, len(ranked)) - 1][1]) / (top - bottom)


def overlap(a: Ranked, b: Ranked, depth: int) -> float:
    """The share of the top `depth` ids two lists have in common, in [0, 1]."""
    if not a or not b:
        return 0.0
    top_a, top_b = {pid for pid, _ in a[:depth]}, {pid for pid, _ in b[:depth]}
    return len(top_a & top_b) / min(depth, len(top_a), len(top_b))


def dense_weight(dense: Ranked, sparse: Ranked, w: FusionWeights) -> float:
    """The per-query weight of the dense list (the sparse list gets 1 minus it), bounded to
    [floor, 1 - floor]; a missing or flat list (its top scores all alike) leaves the other one alone."""
    if not sparse or confidence(sparse, w.depth) <= w.flat:
        return 1.0
    if not dense or confidence(dense, w.depth) <= w.flat:
        return 0.0
    gap = confidence(dense, w.depth) - confidence(sparse, w.depth)
    alpha = w.dense_prior + w.confidence * gap + w.disagreement * (1.0 - overlap(dense, sparse, w.depth))
    return min(w.ceiling, max(w.floor, alpha))


def adaptive_fusion(dense: Ranked, sparse: Ranked, w: FusionWeights) -> Ranked:
    """The union of both lists, scored alpha * dense + (1 - alpha) * sparse on normalised scores (a
    candidate missing from a list gets that list's last score), best first; ties keep dense order."""
    alpha = dense_weight(dense, sparse, w)
    nd, ns = normalised(dense, w.scale), normalised(sparse, w.scale)
    last_d, last_s = min(nd.values(), default=0.0), min(ns.values(), default=0.0)
    order = list(dict.fromkeys([pid for pid, _ in dense] + [pid for pid, _ in sparse]))
    scored = [(pid, alpha * nd.get(pid, last_d) + (1 - alpha) * ns.get(pid, last_s)) for pid in order]
    return sorted(scored, key=lambda x: -x[1])


def rrf_fusion(lists: list[Ranked], k: int) -> Ranked:
    """Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): sum of 1/(k + rank)."""
    scores: dict[str, float] = {}
    for ranked in lists:
        for rank, (pid, _) in enumerate(ranked, start=1):
            scores[pid] = scores.get(pid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda x: -x[1])
