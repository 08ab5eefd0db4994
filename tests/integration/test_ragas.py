"""ragas faithfulness and answer relevancy through the real OpenAI client, against a local server that answers
ragas' JSON prompts (statement extraction, NLI verdicts, generated questions) from the request body."""

import json
import re
import socket

import pytest

from eval.ragas_eval import RagasLLMError, ragas_answer_metrics
from eval.run import Question
from rag.errors import PartnersError
from tests.openai_server import ScriptedOpenAIServer

QUESTION = "보험을 중간에 해지하면 돌려받는 돈은 얼마예요?"
UNRELATED = "제주도 여행 갈 때 렌터카는 어디서 빌리는 게 좋아요?"
MODEL = "judge-model"


@pytest.fixture(scope="module")
def server():
    with ScriptedOpenAIServer() as srv:
        yield srv


def prompt_input(body: dict) -> dict:
    """The JSON ragas puts after `input:` in its user prompt."""
    user = body["messages"][-1]["content"]
    return json.loads(user.rsplit("\ninput: ", 1)[1].rsplit("\nOutput:", 1)[0])


def ragas_judge(*, verdict: int, question: str):
    """A responder that follows each prompt's output schema (instructor names it in the system message)."""

    def respond(body: dict) -> str:
        system = body["messages"][0]["content"]
        data = prompt_input(body)
        if '"title": "StatementGeneratorOutput"' in system:
            sentences = [s.strip() for s in re.split(r"(?<=[.?!다요])\s+", data["answer"]) if s.strip()]
            return json.dumps({"statements": sentences[:3]}, ensure_ascii=False)
        if '"title": "NLIStatementOutput"' in system:
            return json.dumps({"statements": [{"statement": s, "reason": "scripted", "verdict": verdict}
                                              for s in data["statements"]]}, ensure_ascii=False)
        if '"title": "AnswerRelevanceOutput"' in system:
            return json.dumps({"question": question, "noncommittal": 0}, ensure_ascii=False)
        return "{}"

    return respond


def score(services, server, use_embedder, questions=None, **kwargs):
    return ragas_answer_metrics(services, questions or [Question(id="q1", question=QUESTION, gold=["해지환급금"])],
                                llm_base_url=server.url, llm_model=MODEL, api_key="k", embedder=use_embedder,
                                **kwargs)


def test_faithfulness_follows_the_judges_verdicts(server, small_index, use_embedder):
    server.script({"responder": ragas_judge(verdict=1, question=QUESTION)})
    supported = score(small_index, server, use_embedder)
    bodies = [r["body"] for r in server.requests]
    server.script({"responder": ragas_judge(verdict=0, question=QUESTION)})
    unsupported = score(small_index, server, use_embedder)
    assert supported["faithfulness"] == 1.0 and unsupported["faithfulness"] == 0.0
    assert supported["n"] == 1 and supported["failed"] == 0 and supported["llm"] == f"openai:{MODEL}"
    # the real client sent JSON-mode requests; the judge saw our answer and the retrieved chunk texts
    assert all(b["model"] == MODEL and b["response_format"] == {"type": "json_object"} for b in bodies)
    nli = [prompt_input(b) for b in bodies if '"title": "NLIStatementOutput"' in b["messages"][0]["content"]]
    contexts = small_index.retriever.search(QUESTION, k=small_index.settings.top_k, ground=False).hits
    assert nli and contexts[0].chunk.text in nli[0]["context"]
    assert supported["rows"][0]["answer"] and "[1]" not in supported["rows"][0]["answer"]


def test_answer_relevancy_is_higher_for_the_asked_question(server, small_index, use_embedder):
    server.script({"responder": ragas_judge(verdict=1, question=QUESTION)})
    same = score(small_index, server, use_embedder)["answer_relevancy"]
    server.script({"responder": ragas_judge(verdict=1, question=UNRELATED)})
    other = score(small_index, server, use_embedder)["answer_relevancy"]
    assert 0.0 <= other < same <= 1.0 + 1e-6
    assert same == pytest.approx(1.0, abs=1e-3)  # the same question embeds to the same vector


def test_refused_questions_are_skipped(server, small_index, use_embedder):
    server.script({"responder": ragas_judge(verdict=1, question=QUESTION)})
    questions = [Question(id="q1", question=QUESTION), Question(id="ood", question="노트북 추천해 주세요", expect="refuse")]
    result = score(small_index, server, use_embedder, questions)
    assert result["n"] == 1 and result["refused"] == 1 and [r["id"] for r in result["rows"]] == ["q1"]


def test_unparseable_judge_output_is_a_partners_error(server, small_index, use_embedder):
    server.script({"text": "이건 JSON이 아니에요"})
    with pytest.raises(RagasLLMError, match="no answer could be scored.*PARTNERS_LLM_BASE_URL"):
        score(small_index, server, use_embedder)


def test_server_errors_and_missing_config_raise_partners_errors(server, small_index, use_embedder):
    server.script({"status": 401})
    with pytest.raises(PartnersError, match="HTTP 401.*PARTNERS_LLM=openai:<model>"):
        score(small_index, server, use_embedder)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    with pytest.raises(PartnersError, match="APIConnectionError"):
        ragas_answer_metrics(small_index, [Question(id="q", question=QUESTION)], llm_base_url=closed,
                             llm_model=MODEL, api_key=None, embedder=use_embedder, timeout=5)
    with pytest.raises(PartnersError, match="no LLM is configured"):
        ragas_answer_metrics(small_index, [Question(id="q", question=QUESTION)], llm_base_url=None,
                             llm_model=MODEL, api_key=None, embedder=use_embedder)


def test_partners_eval_ragas_and_report_through_the_cli(server, tmp_path, monkeypatch, capsys):
    """`partners eval --corpus DIR --ragas --report F.md` with an OpenAI-compatible judge configured."""
    from tests.conftest import copy_small_corpus
    from ui.cli import main

    corpus = copy_small_corpus(tmp_path / "corpus")
    questions = tmp_path / "q.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "1", "question": QUESTION, "gold": ["해지환급금"]},
        {"id": "2", "question": "청약을 취소하고 싶으면 며칠 안에 해야 해요?", "gold": ["청약철회"]}]), encoding="utf-8")
    monkeypatch.setenv("PARTNERS_LLM", f"openai:{MODEL}")
    monkeypatch.setenv("PARTNERS_LLM_BASE_URL", server.url)
    monkeypatch.setenv("PARTNERS_LLM_API_KEY", "k")
    monkeypatch.setenv("PARTNERS_LLM_CACHE", "memory")
    server.script({"responder": ragas_judge(verdict=1, question=QUESTION)})
    report = tmp_path / "report.md"
    code = main(["--data-dir", str(tmp_path / "data"), "eval", "--questions", str(questions), "--corpus", str(corpus),
                 "--ragas", "--report", str(report), "--json"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0
    ragas = result["ragas"]
    assert 0.0 < ragas["context_recall"] <= 1.0 and 0.0 <= ragas["context_precision"] <= 1.0
    assert ragas["faithfulness"] == 1.0 and 0.0 <= ragas["answer_relevancy"] <= 1.0
    text = report.read_text(encoding="utf-8")
    assert f"{result['metrics']['mrr']:.3f}" in text and "![history](report_history.png)" in text
    png = report.with_name("report_history.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
