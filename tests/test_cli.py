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
