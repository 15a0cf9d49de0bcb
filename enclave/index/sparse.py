"""Sparse term vectors for hybrid search: stemmed BM25 term weights; Qdrant applies IDF at query time."""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass

import Stemmer

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# A small English stop list: these terms carry no signal and only inflate the posting lists.
_STOP = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have
    having he her here hers herself him himself his how i if in into is it its itself just me more most
    my myself no nor not now of off on once only or other our ours ourselves out over own same she
    should so some such than that the their theirs them themselves then there these they this those
    through to too under until up very was we were what when where which while who whom why will with
    would you your yours yourself yourselves
    """.split()
)


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


class SparseEncoder:
    """BM25 document weights tf*(k1+1)/(tf+k1*(1-b+b*len/avg_len)); queries weigh each term 1.

    With Qdrant's IDF modifier on the sparse vector, the dot product is the BM25 score.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, avg_len: float = 200.0) -> None:
        self.k1, self.b, self.avg_len = k1, b, avg_len
        self._stemmer = Stemmer.Stemmer("english")

    def terms(self, text: str) -> list[str]:
        words = [w for w in _TOKEN.findall(text.lower()) if w not in _STOP and len(w) < 40]
        return self._stemmer.stemWords(words)

    @staticmethod
    def _index(term: str) -> int:
        return zlib.crc32(term.encode())

    def count(self, text: str) -> tuple[Counter[int], int]:
        """Term counts (by index) and the number of terms."""
        terms = self.terms(text)
        return Counter(self._index(t) for t in terms), len(terms)

    def weigh(self, counts: Counter[int], length: int, avg_len: float | None = None) -> SparseVector:
        """BM25 term weights for counted terms of a text `length` terms long."""
        norm = self.k1 * (1 - self.b + self.b * length / (avg_len or self.avg_len))
        items = sorted(counts.items())
        return SparseVector(
            indices=[i for i, _ in items],
            values=[tf * (self.k1 + 1) / (tf + norm) for _, tf in items],
        )

    def encode_document(self, text: str) -> SparseVector:
        return self.weigh(*self.count(text))

    def encode_query(self, text: str) -> SparseVector:
        idx = sorted({self._index(t) for t in self.terms(text)})
        return SparseVector(indices=idx, values=[1.0] * len(idx))
