"""Shared fixtures: offline env, temp settings, small corpora copied from the shipped one."""

import os
import shutil
from pathlib import Path

import pytest

from ui.cli import QUIET_ENV

for _key, _value in QUIET_ENV.items():
    os.environ.setdefault(_key, _value)

from rag.settings import Settings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SMALL_CORPUS = {
    "terms": ["해지환급금.md", "갱신형.md", "비갱신형.md", "비급여.md", "급여.md", "면책기간.md", "청약철회.md"],
    "guidelines": ["G03_부당권유_금지_표현.md", "G11_특별이익_제공_금지.md"],
    "scripts": ["S05_*.md"],
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", collection="test-corpus", _env_file=None)


@pytest.fixture(scope="session")
def use_embedder():
    """The real bundled multilingual USE model, loaded once per test session."""
    from rag.embed import get_embedder

    return get_embedder("use-multilingual")


def copy_small_corpus(dest: Path) -> Path:
    """A few real corpus files (terms, guidelines, one script) in the corpus folder layout."""
    for folder, patterns in SMALL_CORPUS.items():
        (dest / folder).mkdir(parents=True, exist_ok=True)
        for pattern in patterns:
            matches = sorted((CORPUS / folder).glob(pattern))
            assert matches, f"corpus/{folder}/{pattern} is missing"
            for src in matches:
                shutil.copy(src, dest / folder / src.name)
    return dest


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    return copy_small_corpus(tmp_path / "corpus")


@pytest.fixture(scope="module")
def small_index(tmp_path_factory, use_embedder):
    """The small corpus ingested once per module; returns Services bound to it (real USE, Chroma, Kiwi)."""
    from ingest.pipeline import run_ingest
    from rag.service import Services

    root = tmp_path_factory.mktemp("small")
    corpus = copy_small_corpus(root / "corpus")
    settings = Settings(data_dir=root / "data", collection="small", llm_cache="memory", _env_file=None)
    run_ingest([corpus], settings, embedder=use_embedder)
    services = Services(settings)
    from rag.index import Index
    from rag.retrieve import Retriever

    services.retriever = Retriever(Index(settings), use_embedder, ground_threshold=settings.ground_threshold)
    return services
