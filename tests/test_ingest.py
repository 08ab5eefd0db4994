"""Incremental ingest into a real on-disk Chroma with the real bundled embedder."""

import shutil

import pytest
from filelock import FileLock

import ingest.pipeline as pipeline
from ingest.pipeline import run_ingest
from rag.docstore import DocStore
from rag.errors import EmbedderMismatchError, IngestLockedError
from rag.index import Index
from rag.keyword import KeywordIndex
from rag.retrieve import Retriever
from tests.fakes import HashEmbedder


def index_state(settings):
    """(docstore ids, Chroma ids, keyword-index ids) of the live index."""
    index = Index(settings)
    return index.docstore.all_chunk_ids(), index.vectors.ids(), set(index.keyword.chunk_ids)


def search_titles(settings, embedder, query, k=5, mode="hybrid"):
    return [h.chunk.title for h in Retriever(Index(settings), embedder).search(query, k=k, mode=mode).hits]


def test_first_ingest_then_unchanged_costs_nothing(small_corpus, settings, use_embedder, monkeypatch):
    first = run_ingest([small_corpus], settings, embedder=use_embedder)
    n_docs = sum(1 for _ in small_corpus.rglob("*.md"))
    assert first.failed == [] and first.added == n_docs
    assert first.chunks_embedded == first.chunks_total > 0
    docs, vectors, keywords = index_state(settings)
    assert docs == vectors == keywords and len(docs) == first.chunks_total

    def no_model(_spec):
        raise AssertionError("a model was loaded although nothing changed")

    def no_chroma(*_a, **_k):
        raise AssertionError("Chroma was opened although nothing changed")

    monkeypatch.setattr(pipeline, "get_embedder", no_model)
    monkeypatch.setattr(pipeline, "open_client", no_chroma)
    again = run_ingest([small_corpus], settings)
    assert (again.added, again.updated, again.deleted, again.chunks_embedded) == (0, 0, 0, 0)
    assert again.unchanged == n_docs and again.chunks_total == first.chunks_total


def test_editing_one_file_reembeds_only_its_chunks(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    before_docs, _, _ = index_state(settings)
    target = small_corpus / "terms" / "면책기간.md"
    sentence = "파트너 교육용 표식 문장: 면책기간 달력 계산표는 보라색 카드에 정리되어 있다."
    target.write_text(target.read_text(encoding="utf-8") + f"\n{sentence}\n", encoding="utf-8")
    counting = CountingEmbedder(use_embedder)
    report = run_ingest([small_corpus], settings, embedder=counting)
    assert (report.updated, report.added, report.deleted) == (1, 0, 0)
    own_chunks = Index(settings).docstore.chunk_ids_of(f"{small_corpus.name}/terms/면책기간.md")
    assert report.chunks_embedded == counting.count >= 1
    assert report.chunks_embedded <= len(own_chunks)
    after_docs, vectors, keywords = index_state(settings)
    assert after_docs == vectors == keywords
    assert len(before_docs - after_docs) == report.chunks_embedded  # the replaced chunk(s) are gone
    hits = Retriever(Index(settings), use_embedder).search("보라색 카드에 정리된 면책기간 달력 계산표", k=3).hits
    assert hits[0].chunk.title == "면책기간" and sentence in hits[0].chunk.text


def test_ingesting_one_edited_file_updates_that_document_in_place(small_corpus, settings, use_embedder):
    """`partners ingest corpus/terms/x.md` after an edit: the same document (same source, still a term) is updated;
    nothing is added or deleted."""
    settings = settings.model_copy(update={"corpus_dir": small_corpus})
    run_ingest([small_corpus], settings, embedder=use_embedder)
    target = small_corpus / "terms" / "면책기간.md"
    target.write_text(target.read_text(encoding="utf-8") + "\n면책기간 달력 계산표는 보라색 카드에 있다.\n", encoding="utf-8")
    report = run_ingest([target], settings, embedder=use_embedder)
    assert (report.updated, report.added, report.deleted, report.failed) == (1, 0, 0, [])
    chunks = Index(settings).docstore.chunk_ids_of("corpus/terms/면책기간.md")
    assert chunks and {c.doc_type for c in Index(settings).docstore.get_chunks(list(chunks)).values()} == {"term"}


def test_deleted_document_disappears_from_every_index(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    gone = small_corpus / "guidelines" / "G11_특별이익_제공_금지.md"
    doc_id = f"{small_corpus.name}/guidelines/{gone.name}"
    old_ids = set(Index(settings).docstore.chunk_ids_of(doc_id))
    assert old_ids
    gone.unlink()
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    assert report.deleted == 1 and report.chunks_embedded == 0
    docs, vectors, keywords = index_state(settings)
    assert not (old_ids & docs) and not (old_ids & vectors) and not (old_ids & keywords)
    for mode in ("dense", "bm25", "hybrid"):
        hits = Retriever(Index(settings), use_embedder).search("특별이익 제공 금지 보험료 대납 리베이트", k=10, mode=mode).hits
        assert all(h.chunk.doc_id != doc_id for h in hits)


def test_ingesting_another_path_does_not_delete_the_first(small_corpus, settings, use_embedder, tmp_path):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "memo.md").write_text("# 메모\n\n사내 메모: 해피콜 재통화는 이틀 안에 한다.", encoding="utf-8")
    report = run_ingest([extra], settings, embedder=use_embedder)
    assert report.added == 1 and report.deleted == 0


def test_bad_files_are_reported_and_everything_else_is_ingested(small_corpus, settings, use_embedder):
    bad = small_corpus / "uploads"
    bad.mkdir()
    (bad / "empty.md").write_text("", encoding="utf-8")
    (bad / "binary.txt").write_bytes(b"\x00\x01\x02PK" * 100)
    (bad / "front.md").write_text("---\ntitle: [broken\n---\n본문", encoding="utf-8")
    (bad / "big.txt").write_text("가" * 400_000, encoding="utf-8")
    (bad / "legacy.txt").write_bytes("고령 고객 상담은 녹취하고 가족 동석을 권한다.".encode("cp949"))
    settings = settings.model_copy(update={"max_file_mb": 1.0})
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    failed = {f.source.split("/")[-1]: f.error for f in report.failed}
    assert set(failed) == {"empty.md", "binary.txt", "front.md", "big.txt"}
    assert "empty" in failed["empty.md"] and "binary" in failed["binary.txt"]
    assert "front matter" in failed["front.md"] and "MB" in failed["big.txt"]
    assert report.added == sum(1 for _ in small_corpus.rglob("*.md")) - 2 + 1  # good .md files + legacy.txt
    titles = search_titles(settings, use_embedder, "고령 고객 상담 녹취 가족 동석", k=3)
    assert "legacy" in titles


def test_a_file_that_turns_bad_keeps_its_previous_version(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    target = small_corpus / "terms" / "청약철회.md"
    target.write_bytes(b"\x00\x00garbage")
    report = run_ingest([small_corpus], settings, embedder=use_embedder)
    assert [f.source.split("/")[-1] for f in report.failed] == ["청약철회.md"]
    assert report.deleted == 0
    assert "청약철회" in search_titles(settings, use_embedder, "청약철회 기간은 보험증권을 받은 날부터 며칠인가요", k=3)


def test_second_concurrent_ingest_stops_with_a_clear_message(small_corpus, settings, use_embedder):
    settings.index_dir.mkdir(parents=True)
    with FileLock(str(settings.index_dir / "ingest.lock")):
        with pytest.raises(IngestLockedError, match="Another ingest is running"):
            run_ingest([small_corpus], settings, embedder=use_embedder)


def test_rebuild_gives_the_same_chunks_in_a_new_generation(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    first = Index(settings)
    ids, gen = first.docstore.all_chunk_ids(), first.gen
    report = run_ingest([small_corpus], settings, embedder=use_embedder, rebuild=True)
    second = Index(settings)
    assert second.gen != gen and report.added == len(list(small_corpus.rglob("*.md")))
    assert second.docstore.all_chunk_ids() == ids == second.vectors.ids()
    names = {c.name for c in second.vectors.client.list_collections()}
    assert names == {f"{settings.collection}-{second.gen}"}  # the old generation was dropped


def test_other_embedder_is_refused_with_the_rebuild_command(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    with pytest.raises(EmbedderMismatchError, match="partners ingest --rebuild"):
        Retriever(Index(settings), HashEmbedder(name="hash"))
    (small_corpus / "terms" / "new.md").write_text("# 새 문서\n\n새 내용", encoding="utf-8")
    with pytest.raises(EmbedderMismatchError):
        run_ingest([small_corpus], settings, embedder=HashEmbedder(name="hash"))
    report = run_ingest([small_corpus], settings, embedder=HashEmbedder(name="hash"), rebuild=True)
    assert report.failed == [] and Index(settings).embedder_name == "hash"


def test_keyword_index_missing_on_disk_is_rebuilt_without_a_model(small_corpus, settings, use_embedder, monkeypatch):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    index = Index(settings)
    folder = index.layout.gen_dir(index.gen) / index.docstore.get_meta("bm25_dir")
    shutil.rmtree(folder)
    monkeypatch.setattr(pipeline, "get_embedder", lambda _s: (_ for _ in ()).throw(AssertionError("model loaded")))
    run_ingest([small_corpus], settings)
    rebuilt = Index(settings)
    assert len(rebuilt.keyword) == rebuilt.docstore.chunk_count()
    assert isinstance(rebuilt.keyword, KeywordIndex)


def test_a_keyword_index_of_an_older_format_is_rebuilt_by_the_next_ingest(small_corpus, settings, use_embedder):
    """An index built before the character terms marked word starts (format 1) is rebuilt when nothing changed."""
    from ingest.store import KEYWORD_FORMAT

    run_ingest([small_corpus], settings, embedder=use_embedder)
    index = Index(settings)
    writable = DocStore(index.layout.docstore_path(index.gen))
    writable.set_meta_now("bm25_format", 1)
    writable.close()
    before = index.docstore.get_meta("bm25_dir")
    run_ingest([small_corpus], settings)
    rebuilt = Index(settings)
    assert rebuilt.docstore.get_meta("bm25_format") == str(KEYWORD_FORMAT)
    assert rebuilt.docstore.get_meta("bm25_dir") != before and "^비급" in rebuilt.chars._vocab


class CountingEmbedder:
    """Wraps a real embedder and counts passages embedded."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim, self.count = inner, inner.name, inner.dim, 0

    def embed_documents(self, texts):
        self.count += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def test_edited_questions_are_reembedded_and_searchable_but_not_shown(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    target = small_corpus / "terms" / "면책기간.md"
    text = target.read_text(encoding="utf-8")
    question = "보라색 달력 카드로 보장 대기일을 세는 방법이 있나요, 쿨링플랜?"
    assert "questions:" in text and question not in text
    target.write_text(text.replace("questions:\n", f'questions:\n  - "{question}"\n', 1), encoding="utf-8")
    counting = CountingEmbedder(use_embedder)
    report = run_ingest([small_corpus], settings, embedder=counting)
    assert (report.updated, report.chunks_embedded, counting.count) == (1, 1, 1)  # the question changes the vector
    docs, vectors, keywords = index_state(settings)
    assert docs == vectors == keywords
    hit = Retriever(Index(settings), use_embedder).search("쿨링플랜 보라색 달력", k=1).hits[0]
    assert hit.chunk.title == "면책기간" and question in hit.chunk.questions
    assert question not in hit.chunk.text  # questions steer search; answers quote only the body
