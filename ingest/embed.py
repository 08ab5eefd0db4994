"""Embed chunks in batches, reporting progress."""

from typing import Callable, Sequence

from rag.types import Chunk, Embedder

Progress = Callable[[int, int, str], None]  # (done, total, what)


def embed_chunks(chunks: Sequence[Chunk], embedder: Embedder, *, batch_size: int = 64,
                 progress: Progress | None = None) -> list[list[float]]:
    """Passage vectors for `chunks`, in order."""
    vectors: list[list[float]] = []
    for start in range(0, len(chunks), batch_size):
        part = chunks[start : start + batch_size]
        vectors.extend(embedder.embed_documents([c.embed_text() for c in part]))
        if progress:
            progress(min(start + batch_size, len(chunks)), len(chunks), "embedding")
    return vectors
