"""Our own models at the boundary: framework objects become these at once."""

from typing import Literal, Protocol, Sequence

from pydantic import BaseModel, Field

DocType = Literal["term", "script", "guideline", "other"]


class Document(BaseModel):
    """One logical document (a file, or one row of a CSV/JSON file)."""

    doc_id: str
    source: str  # path as shown to people, e.g. corpus/terms/해지환급금.md (with #row for tabular files)
    title: str
    text: str
    doc_type: DocType = "other"
    category: str = ""
    version: str = ""
    updated: str = ""
    aliases: list[str] = Field(default_factory=list)
    related: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)  # questions it answers, in users' words (search only)
    section_questions: dict[str, list[str]] = Field(default_factory=dict)  # heading (or rule code) -> its questions
    extra: dict[str, str] = Field(default_factory=dict)  # other front matter (scenario, product, code …)


class Chunk(BaseModel):
    """A retrievable piece of a document, with everything a citation needs."""

    chunk_id: str
    doc_id: str
    text: str
    title: str
    source: str
    doc_type: DocType = "other"
    category: str = ""
    section: str = ""
    version: str = ""
    updated: str = ""
    aliases: list[str] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list)  # the document's questions on its first chunk; a section's
    # questions on the section's first chunk
    content_hash: str = ""
    chunk_index: int = 0
    ingested_at: str = ""

    def embed_text(self) -> str:
        """What the dense model sees: title and section give a short chunk its context."""
        head = f"{self.title} - {self.section}" if self.section and self.section != self.title else self.title
        return "\n".join([head, self.text, *self.questions])

    def keyword_text(self) -> str:
        """What the keyword index sees: title, aliases and the questions it answers count as words of the chunk."""
        return "\n".join([self.title, " ".join(self.aliases), self.section, self.text, *self.questions])

    def char_text(self) -> str:
        """What the character n-gram index sees: the keyword text, less a script's questions. Those tell customers'
        situations in everyday words, and on n-grams such words match chunks of every kind (measured: term questions
        hit@1 .695 with them, .718 without; script and guideline questions .819 / .806)."""
        if self.doc_type == "script":
            return "\n".join([self.title, " ".join(self.aliases), self.section, self.text])
        return self.keyword_text()


class Hit(BaseModel):
    """A retrieved chunk with its score (higher is better) and 1-based rank."""

    chunk: Chunk
    score: float
    rank: int = 0

    @property
    def chunk_id(self) -> str:
        return self.chunk.chunk_id


class FailedSource(BaseModel):
    source: str
    error: str


class IngestReport(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: list[FailedSource] = Field(default_factory=list)
    chunks_embedded: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    recovered: bool = False  # an interrupted earlier run was repaired first

    def summary(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.unchanged} unchanged, {self.deleted} deleted, "
            f"{len(self.failed)} failed; {self.chunks_embedded} chunks embedded, {self.chunks_total} in the index "
            f"({self.seconds:.2f} s)"
        )


class Embedder(Protocol):
    """Turns text into vectors; queries and passages are embedded separately (e5/bge prefixes differ)."""

    name: str
    dim: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...
