"""Deterministic test doubles that record their calls."""

import hashlib
import math
from typing import Sequence


class HashEmbedder:
    """Hashed character bigrams (works for Hangul): similar strings get similar vectors, no model needed."""

    def __init__(self, dim: int = 256, name: str = "hash") -> None:
        self.dim = dim
        self.name = name
        self.calls: list[int] = []

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dim
        compact = "".join(text.split())
        for a, b in zip(compact, compact[1:]):
            h = int.from_bytes(hashlib.blake2b((a + b).encode(), digest_size=4).digest(), "little")
            vec[h % self.dim] += 1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


class ScriptedGenerator:
    """A Generator that streams queued answers and records the questions it was asked and the context given."""

    name = "scripted"
    prompt_version = "scripted@1"

    def __init__(self, *answers: str, fail: Exception | None = None) -> None:
        self.answers = list(answers)
        self.fail = fail
        self.calls: list[str] = []
        self.contexts: list[str] = []

    def stream(self, question, hits, *, deadline=None, context=""):
        self.calls.append(question)
        self.contexts.append(context)
        if self.fail is not None:
            raise self.fail
        text = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        for i in range(0, len(text), 5):
            yield text[i : i + 5]
