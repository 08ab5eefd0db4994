"""The Markdown eval report and its history plot: synthetic history files and one real `run_eval` on the small index."""

import json
import warnings
from pathlib import Path

import pytest

from eval.report import ReportError, history_figure, load_history, plot_history, read_history, write_report
from rag.errors import PartnersError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def retrieval_record(time: str, commit: str, mode: str, hit1: float, hit5: float, mrr: float, p50: float,
                     dataset: str = "terms") -> dict:
    return {"time": time, "git_commit": commit, "embedder": "use-multilingual",
            "chunking": {"size": 1500, "overlap": 150}, "dataset": dataset, "n": 10, "mode": mode,
            "metrics": {"hit@1": hit1, "hit@5": hit5, "mrr": mrr, "ndcg@10": round(mrr + 0.05, 4)},
            "refusals": {"in_domain_refused": 0.1} if mode == "hybrid" else {},
            "per_category": {"보험료·납입": {"hit@5": hit5, "n": 6}, "해지·환급": {"hit@5": round(hit5 / 2, 4), "n": 4}},
            "latency_ms": {"p50": p50, "p95": p50 * 2}}


def current_run(mode: str, hit1: float, hit5: float, mrr: float, p50: float, failures: list[dict]) -> dict:
    run = retrieval_record("", "", mode, hit1, hit5, mrr, p50)
    for key in ("time", "git_commit", "embedder", "chunking"):
        del run[key]
    run["config"] = {"k": [1, 5], "embedder": "use-multilingual", "chunk_size": 1500, "chunk_overlap": 150,
                     "ground_threshold": 0.5, "fusion": {"dense": 0.25, "bm25": 1.0}}
    return run | {"failures": failures}


MISSIONS = {"time": "2026-01-03T09:00:00+00:00", "git_commit": "ccc3333", "dataset": "missions",
            "term_explanations": {"n": 96, "terms": 24, "mean_score": {"good": 94.8, "partial": 42.5, "wrong": 13.3},
                                  "ordered_triples": 0.8542, "triples": 48, "misconceptions_detected": 0.4583},
            "conversation_scripts": {"n": 36, "planted": 54, "violations_found": 0.9815, "clean_scripts_flagged": 0.0,
                                     "false_findings": 2, "misses": [{"id": "csb-04", "missed": ["pressure"],
                                                                      "false": ["guarantee"]}]}}


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Two earlier runs of `terms` (dense + hybrid), this run (appended like run_eval does), noise of every kind."""
    lines = [json.dumps(r, ensure_ascii=False) for r in [
        retrieval_record("2026-01-01T10:00:00+00:00", "aaa1111", "dense", 0.2, 0.4, 0.3, 2.5),
        retrieval_record("2026-01-01T10:00:00+00:00", "aaa1111", "hybrid", 0.5, 0.8, 0.62, 3.1),
        retrieval_record("2026-01-01T11:00:00+00:00", "aaa1111", "hybrid", 0.5, 0.8, 0.62, 3.1, dataset="other"),
        MISSIONS,
    ]]
    lines += ['{"time": "2026-01-02", "metrics": {"hit@1": 0.9', "[1, 2, 3]", "not json at all", ""]
    lines += [json.dumps(retrieval_record("2026-01-02T10:00:00+00:00", "bbb2222", m, *v), ensure_ascii=False)
              for m, v in [("dense", (0.25, 0.45, 0.33, 2.4)), ("hybrid", (0.6, 0.9, 0.7123, 3.25))]]
    path = tmp_path / "data" / "eval" / "history.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def failure(i: int, rank: int | None, question: str = "") -> dict:
    return {"id": f"q{i}", "question": question or f"질문 {i}", "gold": [f"용어{i}"], "refused": rank is None,
            "retrieved": [f"문서{i}a", f"문서{i}b"], "rank": rank}


def test_history_is_read_with_malformed_lines_counted_and_filtered_by_dataset(history):
    records, bad = read_history(history)
    assert bad == 3 and len(records) == 6
    assert [(r["mode"], r["git_commit"]) for r in load_history(history, dataset="terms")] == [
        ("dense", "aaa1111"), ("hybrid", "aaa1111"), ("dense", "bbb2222"), ("hybrid", "bbb2222")]
    assert load_history(history.with_name("missing.jsonl")) == []


def test_report_of_an_all_modes_run_has_tables_history_and_plot(history, tmp_path):
    failures = [failure(i, rank) for i, rank in enumerate([2, None, 7, 3] * 5)]
    failures[1]["question"] = "해지환급금 | 해약환급금\n차이는?"
    result = {"dataset": "terms", "n": 10, "mode": "all",
              "runs": [current_run("dense", 0.25, 0.45, 0.33, 2.4, []),
                       current_run("hybrid", 0.6, 0.9, 0.7123, 3.25, failures)]}
    out = write_report(result, history, tmp_path / "reports" / "eval.md")
    text = out.read_text(encoding="utf-8")
    lines = text.splitlines()

    assert "- **git commit**: bbb2222" in lines and "- **time**: 2026-01-02T10:00:00+00:00" in lines
    assert "- **chunking (size/overlap)**: 1500/150" in lines and "- **embedder**: use-multilingual" in lines
    assert ("| run | hit@1 | hit@5 | MRR | nDCG@10 | p50 ms | p95 ms | refused in-domain | refused out-of-domain |"
            in lines)
    assert "| dense | 0.250 | 0.450 | 0.330 | 0.380 | 2.40 | 4.80 | - | - |" in lines
    assert "| hybrid | 0.600 | 0.900 | 0.712 | 0.762 | 3.25 | 6.50 | 0.100 | - |" in lines
    assert "| category | n | hit@5 dense | hit@5 hybrid |" in lines
    assert "| 해지·환급 | 4 | 0.225 | 0.450 |" in lines

    rows = [line for line in lines if line.startswith("| ") and line.split(" | ")[1].startswith("q")]
    assert len(rows) == 15  # 20 failures, capped
    assert rows[0].startswith("| 1 | q1 | 해지환급금 \\| 해약환급금 차이는? | 용어1 | miss | yes | 문서1a; 문서1b |")
    ranks = [row.split(" | ")[4] for row in rows]
    assert ranks[:5] == ["miss"] * 5 and ranks[5:10] == ["7"] * 5 and ranks[10:] == ["3"] * 5

    assert "3 malformed line(s) in" in text
    history_rows = [line for line in lines if line.startswith("| 2026-")]
    assert history_rows == [
        "| 2026-01-01T10:00:00+00:00 | aaa1111 | dense | 1500/150 | 0.200 | 0.400 | 0.300 | 2.50 |",
        "| 2026-01-01T10:00:00+00:00 | aaa1111 | hybrid | 1500/150 | 0.500 | 0.800 | 0.620 | 3.10 |",
        "| 2026-01-02T10:00:00+00:00 | bbb2222 | dense | 1500/150 | 0.250 | 0.450 | 0.330 | 2.40 |",
        "| 2026-01-02T10:00:00+00:00 | bbb2222 | hybrid | 1500/150 | 0.600 | 0.900 | 0.712 | 3.25 |"]
    assert ("- **hybrid** vs 2026-01-01T10:00:00+00:00 (aaa1111): hit@1 0.500 → 0.600 (+0.100), "
            "hit@5 0.800 → 0.900 (+0.100), MRR 0.620 → 0.712 (+0.092)") in lines

    png = tmp_path / "reports" / "eval_history.png"
    assert "![history](eval_history.png)" in lines
    data = png.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 10_000


def test_no_history_means_no_plot_and_says_so(tmp_path):
    result = current_run("hybrid", 0.6, 0.9, 0.7, 3.0, [])
    (tmp_path / "empty.jsonl").touch()
    for name, history in [("missing", tmp_path / "nothing.jsonl"), ("empty", tmp_path / "empty.jsonl")]:
        out = write_report(result, history, tmp_path / f"{name}.md", title="Nightly")
        text = out.read_text(encoding="utf-8")
        assert text.startswith("# Nightly\n") and "| hybrid | 0.600 | 0.900 | 0.700 |" in text
        assert f"No runs of `terms` in {history} yet" in text and "![history]" not in text
        assert "No failing questions in the `hybrid` run" in text
        assert not (tmp_path / f"{name}_history.png").exists()


@pytest.mark.parametrize("font", ["installed", None])
def test_history_figure_has_one_line_per_mode_in_korean_only_with_a_hangul_font(history, monkeypatch, font):
    """With a font that has Hangul (make system-deps installs fonts-nanum) the plot speaks Korean; without one (None)
    its text stays ASCII, so no label is drawn as boxes. Either way matplotlib warns of no missing glyph."""
    import eval.report as report

    if font == "installed" and report.hangul_font() is None:
        pytest.skip("no Hangul font installed (make system-deps)")
    if font is None:
        monkeypatch.setattr(report, "hangul_font", lambda: None)
    records = load_history(history)
    for r in records:
        if r.get("dataset") == "terms":
            r["dataset"] = "용어"
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph")  # matplotlib warns when the font lacks Hangul
        fig = history_figure(records)
        fig.canvas.draw()
    hit1, hit5, mrr = fig.axes
    korean = "용어" if font else "??"
    assert fig.get_suptitle() == ("평가 기록" if font else "Eval history")
    lines = {line.get_label(): line for line in hit1.get_lines()}
    assert set(lines) == {f"{korean}/dense", f"{korean}/hybrid", "other/hybrid"}
    assert list(lines[f"{korean}/hybrid"].get_ydata()) == [0.5, 0.6]
    assert list(lines[f"{korean}/hybrid"].get_xdata()) == [0, 2]
    assert list(lines["other/hybrid"].get_xdata()) == [1]
    dense = [list(line.get_ydata()) for line in mrr.get_lines() if line.get_label() == f"{korean}/dense"]
    assert dense == [[0.3, 0.33]]
    if font:
        from matplotlib import font_manager
        from matplotlib.ft2font import FT2Font

        from matplotlib.text import Text

        title = next(t for t in fig.findobj(Text) if t.get_text() == "평가 기록")
        path = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)
        assert FT2Font(path).get_char_index(ord("평")) != 0  # the title's font really has the glyph
    assert all(label.get_text().isascii() for label in hit5.get_xticklabels())


def test_runs_of_several_chunkings_are_labelled_and_plotted_apart(tmp_path):
    small = retrieval_record("2026-01-05T10:00:00+00:00", "ddd4444", "hybrid", 0.7, 0.95, 0.8, 3.0)
    small["chunking"] = {"size": 800, "overlap": 100}
    big = retrieval_record("2026-01-05T10:00:00+00:00", "ddd4444", "hybrid", 0.6, 0.9, 0.7, 2.0)
    history = tmp_path / "history.jsonl"
    history.write_text("\n".join(json.dumps(r) for r in (big, small)) + "\n", encoding="utf-8")
    runs = [{k: v for k, v in r.items() if k not in ("time", "git_commit")} for r in (small, big)]
    out = write_report({"dataset": "terms", "n": 10, "mode": "hybrid", "runs": runs}, history, tmp_path / "c.md")
    text = out.read_text(encoding="utf-8")
    assert "- **chunking (size/overlap)**: 800/100, 1500/150" in text
    assert "| 800/100 hybrid | 0.700 | 0.950 | 0.800 |" in text
    assert "| 1500/150 hybrid | 0.600 | 0.900 | 0.700 |" in text
    assert "| category | n | hit@5 800/100 hybrid | hit@5 1500/150 hybrid |" in text
    assert "Change since" not in text  # neither chunking has an earlier run
    labels = [line.get_label() for line in history_figure([big, small]).axes[0].get_lines()]
    assert labels == ["1500/150 hybrid", "800/100 hybrid"]


def test_plot_history_writes_a_png_even_without_retrieval_runs(tmp_path):
    png = plot_history([MISSIONS], tmp_path / "plots" / "h.png")
    assert png.read_bytes().startswith(PNG_MAGIC)


def test_missions_report_has_scores_misses_and_history(history, tmp_path):
    result = {k: v for k, v in MISSIONS.items() if k not in ("time", "git_commit")}
    text = write_report(result, history, tmp_path / "m.md").read_text(encoding="utf-8")
    assert "- **git commit**: ccc3333" in text
    assert "| term_explanations | 96 | 94.8/42.5/13.3 | 0.854 | 0.458 | - | - | - |" in text
    assert "| conversation_scripts | 36 | - | - | - | 0.982 | 0.000 | 2 |" in text
    assert "| conversation_scripts | csb-04 | pressure | guarantee |" in text
    assert "| 2026-01-03T09:00:00+00:00 | ccc3333 | 0.854 | 0.982 |" in text
    assert not (tmp_path / "m_history.png").exists()


def test_unreportable_result_and_unwritable_path_raise_report_errors(history, tmp_path):
    with pytest.raises(ReportError, match="no retrieval runs"):
        write_report({"dataset": "terms", "n": 3}, history, tmp_path / "r.md")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="another --report path"):
        write_report(current_run("hybrid", 0.6, 0.9, 0.7, 3.0, []), tmp_path / "none.jsonl", blocker / "r.md")


def test_report_from_a_real_run_eval_on_the_small_index(small_index, tmp_path):
    from eval.run import run_eval

    settings = small_index.settings
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "1", "question": "해약하면 돌려받는 돈", "gold": ["해지환급금"], "category": "해지"},
        {"id": "2", "question": "가입 후 일정 기간 보장이 안 되는 기간", "gold": ["면책기간"], "category": "보장"},
        {"id": "3", "question": "청약 철회 | 며칠 안에 취소", "gold": ["없는_문서.md"], "category": "계약"},
        {"id": "4", "question": "내일 서울 날씨 알려줘", "gold": [], "expect": "refuse"},
    ]), encoding="utf-8")
    result, _ = run_eval(settings, questions=questions, mode="all", ks="1,5")
    history = settings.data_dir / "eval" / "history.jsonl"
    text = write_report(result, history, tmp_path / "real.md").read_text(encoding="utf-8")

    for run in result["runs"]:
        m, lat = run["metrics"], run["latency_ms"]
        row = f"| {run['mode']} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} | {m['ndcg@10']:.3f} | "
        assert row + f"{lat['p50']:.2f} | {lat['p95']:.2f} |" in text
    hybrid = result["runs"][-1]
    refusals = hybrid["refusals"]
    assert f"| {refusals['in_domain_refused']:.3f} | {refusals['out_of_domain_refused']:.3f} |" in text
    assert "| 3 | 청약 철회 \\| 며칠 안에 취소 | 없는_문서.md | miss |" in text
    rows = [line for line in text.splitlines() if line.startswith("| 20")]
    assert [line.split(" | ")[2] for line in rows[-4:]] == ["dense", "bm25", "chars", "hybrid"]
    assert (tmp_path / "real_history.png").read_bytes().startswith(PNG_MAGIC)


def test_follow_up_questions_are_searched_with_their_chat_and_compared_alone(small_index, tmp_path):
    from eval.run import run_eval

    questions = tmp_path / "followups.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "f1", "history": ["비급여 진료비도 실손에서 나와요?"], "question": "그럼 급여는요?", "gold": ["급여"]},
        {"id": "f2", "history": ["갱신형 보험료는 나중에 오르나요?"], "question": "그럼 비갱신형은요?", "gold": ["비갱신형"]},
        {"id": "f3", "question": "청약 철회는 며칠 안에 해요?", "gold": ["청약철회"]},
    ]), encoding="utf-8")
    result, lines = run_eval(small_index.settings, questions=questions, mode="hybrid", ks="1,5")
    assert result["metrics"]["hit@1"] == 1.0
    searched = {row["id"]: row.get("search_query") for row in evaluate_rows(small_index, questions)}
    # the follow-up borrows the previous question with its name replaced: of the alias "비급여 진료비" only the part
    # 급여 contrasts with, so 진료비 stays
    assert searched["f1"] == "그럼 급여는요? 급여 진료비도 실손에서 나와요?" and searched["f3"] is None
    assert set(result["without_history"]["metrics"]) == set(result["metrics"])
    assert any(line.startswith("hybrid alone") for line in lines)


def test_an_off_domain_turn_is_refused_in_the_chat_as_alone(small_index, tmp_path):
    """Off-domain turns in a chat (`expect: refuse` with a `history`): the refusal rate with the chat and alone."""
    from eval.run import run_eval

    questions = tmp_path / "off_in_chat.jsonl"
    previous = ["어제 청약서에 서명한 고객이 마음이 바뀌었대요"]
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "o1", "history": previous, "question": "그럼 비트코인은요?", "gold": [], "expect": "refuse"},
        {"id": "o2", "history": previous, "question": "근데 이번 주말 날씨는 어때요?", "gold": [], "expect": "refuse"},
        {"id": "f1", "history": previous, "question": "아직 취소돼요?", "gold": ["청약철회"]},
    ]), encoding="utf-8")
    result, lines = run_eval(small_index.settings, questions=questions, mode="hybrid", ks="1")
    assert result["refusals"] == {"out_of_domain_refused": 1.0, "in_domain_refused": 0.0}
    assert result["without_history"]["refusals"]["out_of_domain_refused"] == 1.0
    alone = next(line for line in lines if line.startswith("hybrid alone"))
    assert alone.split()[-5] == "1.0/1.0"  # alone, 아직 취소돼요? finds nothing to go on


def test_reference_rewrites_stand_in_for_the_llm_and_a_turn_they_lack_is_left_to_the_rules(small_index, tmp_path):
    from eval.run import run_eval

    questions = tmp_path / "aspect.jsonl"
    previous = ["갱신형 보험은 나중에 보험료가 어떻게 되나요?"]
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "a1", "history": previous, "question": "그럼 반대로 안 오르는 건요?", "gold": ["비갱신형"]},
        {"id": "a2", "history": previous, "question": "그럼 비갱신형은요?", "gold": ["비갱신형"]},
    ]), encoding="utf-8")
    rewrites = tmp_path / "rewrites.jsonl"
    rewrites.write_text(json.dumps({"history": previous, "question": "그럼 반대로 안 오르는 건요?",
                                    "rewrite": "비갱신형 보험은 나중에 보험료가 오르나요?"}, ensure_ascii=False),
                        encoding="utf-8")
    result, lines = run_eval(small_index.settings, questions=questions, mode="hybrid", ks="1", rewrites=rewrites)
    assert result["metrics"]["hit@1"] == 1.0 and result["condense_left_to_rules"] == 1
    assert result["config"]["condense"] == "reference rewrites rewrites.jsonl"
    assert any("1 left to the offline rules" in line for line in lines)
    rules, _ = run_eval(small_index.settings, questions=questions, mode="hybrid", ks="1")
    assert "condense" not in rules["config"] and "condense_left_to_rules" not in rules
    assert rules["metrics"]["hit@1"] == 0.5  # the rules alone miss the vague turn
    rewrites.write_text('{"question": "그럼 반대로 안 오르는 건요?"}', encoding="utf-8")
    with pytest.raises(PartnersError, match="line 1"):
        run_eval(small_index.settings, questions=questions, mode="hybrid", ks="1", rewrites=rewrites)


def test_the_shipped_reference_rewrites_cover_every_chat_turn_of_the_chat_datasets():
    from eval.run import DATASET_DIR, ReferenceRewrites, load_questions

    reference = ReferenceRewrites("chat_turns")
    turns = [q for path in sorted(DATASET_DIR.glob("*.jsonl")) if path.stem.startswith(("followups", "out_of_domain"))
             for q in load_questions(path) if q.history]
    assert len(turns) >= 400
    assert [q.id for q in turns if reference.rewrite(q.question, q.history) is None] == []


def evaluate_rows(services, questions):
    from eval.run import evaluate, load_questions

    return evaluate(services.retriever, load_questions(questions), mode="hybrid", ks=(1, 5))["rows"]
