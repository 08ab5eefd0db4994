"""Optional cross-encoder reranking (sentence-transformers CrossEncoder), off unless PARTNERS_RERANKER names a model."""

from rag.embed import resolve_model_path
from rag.errors import ConfigError, MissingExtraError, UnknownBackendError
from rag.types import Hit

VALID_FORMS = ["sentence-transformers:<cross-encoder id or local path>"]


class CrossEncoderReranker:
    """Scores (query, passage) pairs jointly; reorders the fused candidates best first."""

    def __init__(self, model: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import CrossEncoder
        except ImportError as exc:
            raise MissingExtraError("The cross-encoder reranker", "sentence-transformers") from exc
        try:
            self._model = CrossEncoder(resolve_model_path(model), device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"Cannot load cross-encoder {model!r} offline ({exc.__class__.__name__}). Point "
                              "PARTNERS_RERANKER at a local folder: sentence-transformers:/path/to/model.") from exc
        self.name = f"sentence-transformers:{model}"

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        if not hits:
            return hits
        scores = self._model.predict([(query, h.chunk.embed_text()) for h in hits], batch_size=16)
        ranked = sorted(zip(hits, scores), key=lambda pair: float(pair[1]), reverse=True)
        return [h.model_copy(update={"score": float(s)}) for h, s in ranked]


def get_reranker(spec: str | None):
    """None (off, the default) or a CrossEncoderReranker for `sentence-transformers:<id|path>`."""
    if not spec:
        return None
    kind, _, name = spec.partition(":")
    if kind == "sentence-transformers" and name:
        return CrossEncoderReranker(name)
    raise UnknownBackendError("reranker", spec, VALID_FORMS)
