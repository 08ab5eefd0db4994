"""Settings from PARTNERS_* environment variables and .env; read once at the entry points."""

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the app. Precedence: CLI flag > environment / .env > default."""

    model_config = SettingsConfigDict(env_prefix="PARTNERS_", env_file=".env", extra="forbid")

    data_dir: Path = Field(Path(".partners"), description="All state (index, caches, eval history) lives here.")
    corpus_dir: Path = Field(Path("corpus"), description="Default ingest path: the shipped Korean corpus.")
    collection: str = Field("partners", description="Chroma collection name.")
    chroma_host: str | None = Field(None, description="Use a Chroma server (HttpClient) instead of the local index.")
    chroma_port: int = Field(8000, description="Port of the Chroma server.")
    embedder: str = Field("use-multilingual", description="`use-multilingual` or `sentence-transformers:<id|path>`.")
    chunk_size: int = Field(1500, ge=100, le=8000, description="Characters per chunk (a shorter document stays whole).")
    chunk_overlap: int = Field(150, ge=0, le=2000, description="Characters shared by neighbouring chunks.")
    max_file_mb: float = Field(20.0, gt=0, description="Files larger than this are refused at ingest.")
    hnsw_ef_search: int = Field(500, ge=10, description="HNSW search breadth: high so ANN agrees with exact search.")
    hnsw_ef_construction: int = Field(200, ge=10)
    hnsw_max_neighbors: int = Field(32, ge=4)
    top_k: int = Field(5, ge=1, le=50)
    ground_threshold: float = Field(0.6, description="Below this grounding score a question is refused (calibrated).")
    reranker: str | None = Field(None, description="Optional cross-encoder: `sentence-transformers:<id|path>`.")
    llm: str = Field("extractive", description="`extractive` (offline) or `openai:<model>`.")
    llm_base_url: str | None = Field(None, description="OpenAI-compatible endpoint: vLLM, Ollama /v1, OpenAI.")
    llm_api_key: str | None = Field(None, description="API key for the LLM endpoint (any text for local servers).")
    llm_timeout: float = Field(20.0, gt=0, description="Seconds before the extractive answer is shown instead "
                                                    "(a chat turn's rewrite and answer together).")
    llm_retries: int = Field(2, ge=0, le=10, description="Retries (exponential backoff) on connection errors and 5xx.")
    llm_cache: str = Field("sqlite", description="`sqlite`, `memory`, `off`, or a `redis://` URL.")
    llm_condense: bool = Field(True, description="With an LLM, rewrite a chat turn to stand alone before searching.")
    admin_password: SecretStr | None = Field(
        None, description="Required for the app's document actions; unset, they work only on a loopback server.")

    @field_validator("collection")
    @classmethod
    def _collection_name(cls, value: str) -> str:
        import re

        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{1,60}[A-Za-z0-9]", value):
            raise ValueError("use 3-62 characters from A-Z a-z 0-9 . _ - (Chroma's rule)")
        return value

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def index_dir(self) -> Path:
        """Docstore, keyword index and lock of the configured collection."""
        return self.data_dir / "collections" / self.collection

    @property
    def uploads_dir(self) -> Path:
        """Files content owners upload in the app; ingested together with the corpus."""
        return self.data_dir / "uploads"

    @property
    def trash_dir(self) -> Path:
        """Deleted or replaced files are moved here, never destroyed."""
        return self.data_dir / "trash"

    def ingest_roots(self) -> list[Path]:
        """What `partners ingest` and the app's re-ingest read by default."""
        return [self.corpus_dir] + ([self.uploads_dir] if self.uploads_dir.is_dir() else [])

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_file_mb * 1024 * 1024)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment with CLI overrides (None means "not given")."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
