"""`partners eval --corpus/--chunking`: foreign corpora in their own collection, reused; chunking A/B side by side."""

import json
import tempfile
from pathlib import Path

import pytest

from eval.corpora import (EXTERNAL_ROOT, corpus_collection, ensure_corpus_index, external_dataset, parse_chunking)
from eval.run import Question, evaluate, gold_match, load_questions, parse_fusion
from rag.errors import PartnersError
from rag.settings import Settings
from ui.cli import main

# Page-like documents as in AutoRAG-ko: no front matter, a `# file.pdf (p.N)` heading, Korean prose.
PAGES = {
    "finance__은행_인가__p001.md": "# 은행인가.pdf (p.1)\n\n지방은행이 시중은행으로 전환하려면 금융위원회의 본인가를 받아야 "
    "합니다. 예비인가 절차는 생략할 수 있으며, 대주주 적격성과 자본금 요건을 심사합니다. 인터넷은행은 별도의 인가 요건을 "
    "적용받고 최저 자본금이 250억 원입니다. 인가 신청서에는 사업계획과 내부통제 체계를 첨부해야 합니다.",
    "law__임대차__p002.md": "# 임대차판례.pdf (p.2)\n\n임차인이 주택을 인도받고 전입신고를 마친 다음 날부터 대항력이 생긴다. "
    "확정일자를 받은 임차인은 경매 절차에서 후순위 권리자보다 먼저 보증금을 변제받을 수 있다. 법원은 임대인이 수선 의무를 "
    "게을리한 경우 임차인의 차임 감액 청구를 인정하였다.",
    "commerce__물류__p003.md": "# 물류보고서.pdf (p.3)\n\n온라인 쇼핑 거래액이 늘면서 당일 배송과 새벽 배송 수요가 빠르게 "
    "증가했다. 풀필먼트 센터는 재고 보관, 포장, 출고를 한 곳에서 처리한다. 중소 판매자는 물류 대행 서비스를 이용해 배송 "
    "비용을 줄이고 반품 처리 시간을 단축할 수 있다.",
    "public__예산__p004.md": "# 예산안.pdf (p.4)\n\n정부는 내년 예산안에서 청년 일자리 사업에 3조 원을 배정했다. 지방자치단체의 "
    "재정자립도를 높이기 위해 지방소비세 비율을 올리고, 저출산 대응 예산으로 부모급여와 보육료 지원을 확대한다.",
}
QUESTIONS = [
    {"id": "1", "question": "지방은행이 시중은행으로 전환할 때 예비인가가 필요한가요?", "gold": ["finance__은행_인가__p001.md"],
     "domain": "finance"},
    {"id": "2", "question": "확정일자를 받은 임차인은 경매에서 보증금을 먼저 받을 수 있나요?", "gold": ["law__임대차__p002.md"],
     "domain": "law"},
    {"id": "3", "question": "풀필먼트 센터는 어떤 일을 하나요?", "gold": ["commerce__물류__p003.md"], "domain": "commerce"},
    {"id": "4", "question": "청년 일자리 예산은 얼마인가요?", "gold": ["public__예산__p004.md"], "domain": "public"},
]


@pytest.fixture
def pages(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "pages"
    folder.mkdir()
    for name, text in PAGES.items():
        (folder / name).write_text(text, encoding="utf-8")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in QUESTIONS), encoding="utf-8")
    return folder, questions


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def history(data: Path) -> list[dict]:
    return [json.loads(line) for line in (data / "eval" / "history.jsonl").read_text(encoding="utf-8").splitlines()]


def test_eval_on_a_foreign_corpus_then_reuses_its_collection(capsys, pages, tmp_path):
    folder, questions = pages
    data = tmp_path / "data"
    argv = ["--data-dir", str(data), "eval", "--questions", str(questions), "--corpus", str(folder), "--json"]
    code, out, _ = run(capsys, *argv)
    first = json.loads(out)
    assert code == 0 and first["dataset"] == "questions" and first["n"] == 4 and first["mode"] == "hybrid"
    assert {"hit@1", "hit@5", "hit@10", "mrr", "ndcg@10"} <= set(first["metrics"])
    assert set(first["latency_ms"]) == {"p50", "p95"}
    # gold entries are page file names; these pages have no front matter, so their title is the first heading
    assert first["metrics"]["hit@10"] == 1.0 and first["metrics"]["hit@1"] >= 0.75
    assert set(first["per_category"]) == {"finance", "law", "commerce", "public"}  # "domain" read as category
    config = first["config"]
    assert config["corpus"] == str(folder.resolve()) and config["collection"] == corpus_collection(folder)
    assert config["chunking"] == first["chunking"] == {"size": 1500, "overlap": 150}
    assert config["documents"] == 4 and first["ingest"]["chunks_embedded"] == config["chunks"] > 0

    code, out, _ = run(capsys, *argv[:-1], "--mode", "bm25", "--json")
    second = json.loads(out)
    assert code == 0 and second["config"]["collection"] == config["collection"]
    assert second["ingest"]["chunks_embedded"] == 0 and second["ingest"]["unchanged"] == 4  # reused, not re-embedded
    records = history(data)
    assert [r["mode"] for r in records] == ["hybrid", "bm25"]
    assert all(r["config"]["corpus"] == str(folder.resolve()) and r["chunking"]["size"] == 1500 for r in records)
    assert not (data / "collections" / "partners").exists()  # the default collection was never touched


def test_chunking_ab_reports_two_runs_and_removes_its_indexes(capsys, pages, tmp_path, monkeypatch):
    folder, questions = pages
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    data = tmp_path / "data"
    code, out, _ = run(capsys, "--data-dir", str(data), "eval", "--questions", str(questions), "--corpus", str(folder),
                       "--chunking", "size=100,overlap=20", "--chunking", "size=2000", "--mode", "bm25", "--json")
    result = json.loads(out)
    assert code == 0 and result["n"] == 4 and len(result["runs"]) == 2
    small, whole = result["runs"]
    assert small["chunking"] == {"size": 100, "overlap": 20} and whole["chunking"] == {"size": 2000, "overlap": 0}
    assert small["config"]["chunks"] > whole["config"]["chunks"] == 4  # a page under 2,000 characters stays whole
    assert small["config"]["temporary"] and small["config"]["collection"] != whole["config"]["collection"]
    assert all(r["metrics"]["hit@10"] == 1.0 for r in result["runs"])
    assert list(scratch.iterdir()) == []  # the temporary data dirs are gone
    assert not (data / "collections").exists()  # nothing was built in the real data dir
    assert [r["chunking"]["size"] for r in history(data)] == [100, 2000]

    code, out, _ = run(capsys, "--data-dir", str(data), "eval", "--questions", str(questions), "--corpus", str(folder),
                       "--chunking", "size=100,overlap=20", "--chunking", "size=2000", "--mode", "bm25")
    assert code == 0 and "100/20" in out and "2000/0" in out and "(4 ch)" in out  # the side-by-side table


@pytest.mark.parametrize("text", ["300,50", "size=300;overlap=50", "size=abc", "overlap=50", "size=300,size=400",
                                  "chunk=300", "size=50", "size=300,overlap=300", "size=9000"])
def test_bad_chunking_text_is_a_partners_error_with_the_right_form(text):
    with pytest.raises(PartnersError) as info:
        parse_chunking(text)
    assert "size=800,overlap=100" in str(info.value) and repr(text) in str(info.value)


def test_chunking_and_fusion_parse(capsys, tmp_path):
    assert parse_chunking("size=300,overlap=50").model_dump() == {"size": 300, "overlap": 50}
    assert parse_chunking(" size = 800 ").model_dump() == {"size": 800, "overlap": 0}
    fusion = parse_fusion("dense=0,rrf_k=30")
    assert (fusion.dense, fusion.rrf_k, fusion.bm25) == (0.0, 30, 1.0)
    with pytest.raises(PartnersError):
        parse_fusion("dense=0,cosine=1")
    code, out, err = run(capsys, "--data-dir", str(tmp_path), "eval", "--chunking", "300/50")
    assert code == 1 and out == "" and "size=800,overlap=100" in err and "Traceback" not in err


def test_foreign_corpus_never_lands_in_the_default_collection(pages, small_corpus, settings, use_embedder):
    from ingest.pipeline import run_ingest
    from rag.docstore import DocStore
    from rag.index import Index

    folder, _ = pages
    run_ingest([small_corpus], settings, embedder=use_embedder)
    ours = Index(settings)
    before = {d["doc_id"] for d in ours.docstore.list_docs()}
    target = ensure_corpus_index(folder, settings, embedder=use_embedder)
    assert target.settings.collection == corpus_collection(folder) != settings.collection
    assert target.settings.data_dir == settings.data_dir and target.report.added == 4
    ours = Index(settings)
    assert {d["doc_id"] for d in ours.docstore.list_docs()} == before
    assert not any("pages/" in d for d in before)
    theirs = DocStore(Index(target.settings).layout.docstore_path("g1"), readonly=True)
    assert sorted(d["doc_id"] for d in theirs.list_docs()) == sorted(f"pages/{n}" for n in PAGES)
    # the folder name is not ASCII or is long: the name still meets Chroma's rule
    for name in ("한글폴더", "x" * 80, "a b.c"):
        Settings(collection=corpus_collection(folder.parent / name), _env_file=None)


def test_corpus_collection_is_rebuilt_when_chunking_changes(pages, settings, use_embedder):
    folder, _ = pages
    first = ensure_corpus_index(folder, settings, embedder=use_embedder)
    again = ensure_corpus_index(folder, settings, embedder=use_embedder)
    assert again.report.chunks_embedded == 0 and again.report.chunks_total == first.report.chunks_total
    finer = settings.model_copy(update={"chunk_size": 100, "chunk_overlap": 0})
    rebuilt = ensure_corpus_index(folder, finer, embedder=use_embedder)
    assert rebuilt.settings.collection == first.settings.collection
    assert rebuilt.report.chunks_embedded == rebuilt.report.chunks_total > first.report.chunks_total


def test_page_titles_and_gold_by_file_name(pages, settings, use_embedder):
    from rag.index import Index
    from rag.retrieve import Retriever

    folder, questions = pages
    target = ensure_corpus_index(folder, settings, embedder=use_embedder)
    retriever = Retriever(Index(target.settings), use_embedder)
    hit = retriever.search("풀필먼트 센터 재고 보관", k=1, mode="bm25").hits[0]
    assert hit.chunk.title == "물류보고서.pdf (p.3)" and hit.chunk.source == "pages/commerce__물류__p003.md"
    assert gold_match(hit.chunk, ["commerce__물류__p003.md"]) == "commerce__물류__p003.md"
    assert gold_match(hit.chunk, ["law__임대차__p002.md"]) is None
    result = evaluate(retriever, load_questions(questions), mode="bm25", ks=(1, 5))
    assert result["metrics"]["hit@5"] == 1.0 and result["per_category"]["law"]["n"] == 1


def test_question_reads_domain_as_category():
    assert Question.model_validate({"id": "1", "question": "q", "domain": "law"}).category == "law"
    assert Question.model_validate({"id": "1", "question": "q", "category": "계약"}).category == "계약"


def test_autorag_alias_fails_clearly_without_its_folder(tmp_path, capsys):
    with pytest.raises(PartnersError) as info:
        external_dataset("autorag-ko", root=tmp_path)
    assert "--questions FILE.jsonl --corpus DIR" in str(info.value) and str(tmp_path) in str(info.value)
    assert external_dataset("terms") is None


@pytest.mark.skipif(not (EXTERNAL_ROOT / "autorag-ko").is_dir(), reason="AutoRAG-ko benchmark not beside the repo")
def test_autorag_alias_resolves_questions_and_corpus():
    questions, corpus = external_dataset("autorag-ko")
    qs = load_questions(questions)
    assert len(qs) == 114 and {q.category for q in qs} == {"finance", "public", "law", "commerce"}
    names = {p.name for p in corpus.glob("*.md")}
    assert all(g in names for q in qs for g in q.gold)  # every gold page exists, matched by file name
