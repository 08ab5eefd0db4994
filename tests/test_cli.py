"""The `partners` command in-process: output shapes, exit codes, errors without tracebacks."""

import json

import pytest

from ui.cli import main

REPORT_KEYS = {"added", "updated", "unchanged", "deleted", "failed", "chunks_embedded", "chunks_total", "seconds"}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and "partners 0." in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["--help"])
    help_text = capsys.readouterr().out
    for command in ("ingest", "search", "ask", "term", "conversation", "cache", "eval", "serve", "bench"):
        assert command in help_text
    assert "partners ask" in help_text and "partners term" in help_text  # the example runs


def test_ingest_json_report_then_unchanged(capsys, small_corpus, tmp_path):
    data = str(tmp_path / "d")
    code, out, err = run(capsys, "--data-dir", data, "ingest", str(small_corpus), "--json")
    report = json.loads(out)
    assert code == 0 and REPORT_KEYS <= set(report) and report["failed"] == []
    assert report["chunks_embedded"] == report["chunks_total"] > 0
    assert "added" in err  # the human summary goes to stderr
    code, out, _ = run(capsys, "--data-dir", data, "ingest", str(small_corpus), "--json")
    assert code == 0 and json.loads(out)["chunks_embedded"] == 0


def test_ingest_with_a_bad_file_exits_1_and_lists_it(capsys, small_corpus, tmp_path):
    (small_corpus / "broken.md").write_bytes(b"")
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "d"), "ingest", str(small_corpus), "--json")
    report = json.loads(out)
    assert code == 1 and [f["source"] for f in report["failed"]] == [f"{small_corpus.name}/broken.md"]
    assert report["added"] > 0 and "failed:" in err and "Traceback" not in err


def test_search_json_and_file_mode(capsys, small_corpus, tmp_path):
    data = str(tmp_path / "d")
    run(capsys, "--data-dir", data, "ingest", str(small_corpus))
    code, out, _ = run(capsys, "--data-dir", data, "search", "비급여 진료비는 누가 내요?", "--k", "3", "--json")
    result = json.loads(out)
    assert code == 0 and result["query"] == "비급여 진료비는 누가 내요?"
    assert len(result["results"]) == 3 and result["results"][0]["rank"] == 1
    assert {"rank", "chunk_id", "doc_id", "title", "category", "source", "score", "text"} <= set(result["results"][0])
    assert "total" in result["timings_ms"]
    queries = tmp_path / "q.txt"
    queries.write_text("청약철회 기간\n\n갱신형 보험료 인상\n특별이익 제공\n", encoding="utf-8")
    code, out, _ = run(capsys, "--data-dir", data, "search", "--file", str(queries), "--k", "2")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [r["query"] for r in lines] == ["청약철회 기간", "갱신형 보험료 인상", "특별이익 제공"]
    assert all(len(r["results"]) == 2 for r in lines)


def test_eval_on_a_mission_set_names_the_command_that_reads_it(capsys, tmp_path):
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "none"), "eval", "--dataset", "term_claims")
    assert code == 1 and "partners eval claims" in err and "terms_judged" in err and "term_claims," not in err
    assert "Traceback" not in err and out == ""


def test_search_without_index_says_what_to_run(capsys, tmp_path):
    code, out, err = run(capsys, "--data-dir", str(tmp_path / "none"), "search", "보험")
    assert code == 1 and "partners ingest" in err and "Traceback" not in err and out == ""


def test_bad_settings_and_unknown_embedder_are_clear(capsys, tmp_path, monkeypatch, small_corpus):
    monkeypatch.setenv("PARTNERS_CHUNK_SIZE", "abc")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "ingest", str(small_corpus))
    assert code == 1 and "chunk_size" in err
    monkeypatch.delenv("PARTNERS_CHUNK_SIZE")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "ingest", str(small_corpus), "--embedder", "word2vec")
    assert code == 1 and "use-multilingual" in err and "sentence-transformers:" in err


def test_missing_path_is_a_clear_error(capsys, tmp_path):
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "d"), "ingest", str(tmp_path / "nope"))
    assert code == 1 and "does not exist" in err


@pytest.fixture
def indexed(capsys, small_corpus, tmp_path):
    data = str(tmp_path / "d")
    assert main(["--data-dir", data, "ingest", str(small_corpus)]) == 0
    capsys.readouterr()
    return data


def test_ask_json_shape(capsys, indexed):
    code, out, _ = run(capsys, "--data-dir", indexed, "ask", "비급여가 뭐예요?", "--json")
    answer = json.loads(out)
    assert code == 0 and answer["grounded"] is True and "[1]" in answer["answer"]
    assert set(answer) >= {"question", "answer", "grounded", "citations", "generator", "prompt_version", "timings_ms"}
    assert set(answer["citations"][0]) >= {"n", "chunk_id", "title", "source", "version", "updated", "score", "quote"}
    assert set(answer["timings_ms"]) == {"retrieve", "generate", "total"}


def test_ask_and_search_say_how_a_misspelt_name_was_read(capsys, indexed):
    from ui import messages as M

    code, out, err = run(capsys, "--data-dir", indexed, "ask", "겡신형이 뭐예요?")
    assert code == 0 and f"({M.RESPELLED}: 겡신형 → 갱신형)" in err and "갱신형" in out.split("[1]")[0]
    code, out, _ = run(capsys, "--data-dir", indexed, "search", "겡신형이 뭐예요?")
    assert code == 0 and out.splitlines()[0].startswith("겡신형이 뭐예요?  → 갱신형이 뭐예요?")


def test_term_and_conversation_commands(capsys, indexed, tmp_path):
    from ui import messages as M

    code, out, _ = run(capsys, "--data-dir", indexed, "term", "비급여", "--explanation",
                       "건강보험이 적용되지 않아 환자가 전부 부담하는 진료비예요. 병원마다 가격이 달라요.", "--json")
    assert code == 0 and 0 <= json.loads(out)["score"] <= 100
    code, out, err = run(capsys, "--data-dir", indexed, "term", "면칙기간", "--explanation",
                         "가입하고 처음 90일 동안은 암 진단을 받아도 보험금이 안 나와요.")
    assert code == 0 and out.startswith("면책기간: ") and f"({M.RESPELLED}: 면칙기간 → 면책기간)" in err
    script = tmp_path / "s.txt"
    script.write_text("설계사: 안녕하세요. 이 저축보험은 원금 보장이라 손해 볼 일 없어요. 오늘 서명하시면 첫 달 "
                      "보험료는 제가 대신 내 드릴게요.\n고객: 네 할게요.", encoding="utf-8")
    code, out, _ = run(capsys, "--data-dir", indexed, "conversation", "--file", str(script), "--json")
    result = json.loads(out)
    assert code == 0 and {"guarantee", "special_benefit"} <= {f["code"] for f in result["findings"]}


def test_eval_claims_json_skips_terms_the_index_lacks_and_records_the_run(capsys, indexed, tmp_path, monkeypatch):
    import eval.missions as missions

    rows = [{"id": "c1", "term": "갱신형", "label": "wrong", "kind": "listed_myth", "claim": "갱신형은 보험료가 절대 안 올라요."},
            {"id": "c2", "term": "갱신형", "label": "right", "kind": "plain",
             "claim": "갱신형은 갱신할 때 나이와 위험률이 반영돼 보험료가 오를 수 있어요."},
            {"id": "c3", "term": "종신보험", "label": "right", "kind": "plain", "claim": "종신보험은 평생 사망을 보장해요."}]
    (tmp_path / "term_claims.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                                                encoding="utf-8")
    monkeypatch.setattr(missions, "DATASET_DIR", tmp_path)
    code, out, _ = run(capsys, "--data-dir", indexed, "eval", "claims", "--json")
    claims = json.loads(out)["term_claims"]
    assert code == 0 and claims["n"] == 2 and claims["skipped_terms"] == ["종신보험"]
    assert claims["wrong_caught"] == 1.0 and claims["right_flagged"] == 0.0
    history = (tmp_path / "d" / "eval" / "history.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(history[-1])["dataset"] == "term_claims"


@pytest.mark.parametrize("argv,message", [
    (["term", "해지환급금", "--explanation", "짧음"], "10-500"),
    (["term", "없는용어입니다", "--explanation", "열 글자가 넘는 설명입니다."], "Closest terms"),
    (["ask", "가" * 2001], "2,000"),
    (["conversation", "--file", "/nonexistent/script.txt"], "Cannot read"),
])
def test_mission_errors_exit_1_without_traceback(capsys, indexed, argv, message):
    code, out, err = run(capsys, "--data-dir", indexed, *argv)
    assert code == 1 and message in err and "Traceback" not in err
