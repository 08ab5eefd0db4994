"""The Gradio app's handlers without a browser: chat, missions, documents, evaluation, rendering, the Blocks layout."""

import html
import json
import random
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from rag.answer import ask_stream, validate_question
from rag.cite import Citation
from rag.errors import IndexNotFoundError, IngestLockedError, PartnersError
from rag.missions.common import check_length
from rag.missions.term import UnknownTermError
from rag.settings import Settings
from rag.types import Chunk
from tests.conftest import copy_small_corpus
from tests.fakes import ScriptedGenerator
from ui import messages as M
from ui.chat import ChatHandler
from ui.documents import AdminError, AdminGuard, DocumentsHandler
from ui.evaluation import METRIC_COLUMNS, EvalHandler
from ui.practice import SHOWN_MISSING, ConversationHandler, TermHandler, term_result_html
from ui.render import error_box, esc, excerpt, highlight, korean_error, sources_panel, with_chips

LATENCY = re.compile(r"검색 \d+ ms · 생성 \d+ ms · 전체 \d+ ms")
UNIQUE = "파트너스 납입유예 특칙은 실직한 계약자가 최대 7개월까지 보험료 납입을 미룰 수 있게 해 주는 제도이다."
UNIQUE_QUESTION = "납입유예 특칙으로 실직하면 보험료를 몇 개월까지 미룰 수 있나요?"


def chip_targets(text: str) -> list[str]:
    return re.findall(r'<a class="cite-chip" href="#([^"]+)"', text)


def entries(panel: str) -> dict[str, str]:
    """Panel entry id -> its HTML."""
    return dict(re.findall(r'<div class="cite-entry" id="([^"]+)">(.*?)</details></div>', panel, flags=re.S))


def targets(panel: str) -> set[str]:
    """Every id a chip can open: entries, and the numbers inside an entry that cites one chunk more than once."""
    return set(re.findall(r' id="([^"]+)"', panel))


def entry_title(entry: str) -> str:
    return html.unescape(re.search(r'<b class="cite-title">(.*?)</b>', entry).group(1))


def doc_texts(services, title: str) -> list[str]:
    store = services.retriever.index.docstore
    doc = next(d for d in store.list_docs() if d["title"] == title)
    return [c.text for c in store.get_chunks(store.chunk_ids_of(doc["doc_id"])).values()]


def run_chat(handler, question, history=None, turns=None) -> list[tuple]:
    """Every update of one answer, with the chat history copied at each yield (the handler reuses one list)."""
    return [(box, [dict(m) for m in hist], panel, latency, list(t))
            for box, hist, panel, latency, t in handler.respond(question, history, turns)]


# chat


def test_answer_streams_and_cites_with_chips_that_open_panel_entries(small_index):
    updates = run_chat(ChatHandler(small_index), "갱신형 보험은 나중에 보험료가 어떻게 되나요?", [], [])
    assert len(updates) >= 3 and all(u[0] == "" for u in updates)
    said = [u[1][-1]["content"] for u in updates]
    assert said[0] == esc(M.GENERATING)
    streamed = said[1:-1]
    assert streamed and all(b.startswith(a) and len(b) > len(a) for a, b in zip(streamed, streamed[1:]))
    _, history, panel, latency, turns = updates[-1]
    assert history[0] == {"role": "user", "content": "갱신형 보험은 나중에 보험료가 어떻게 되나요?"}
    answer = history[1]["content"]
    assert 'class="cite-chip"' in answer and 'href="#a0-1"' in answer
    found = entries(panel)
    assert "a0-1" in found and set(chip_targets(answer)) <= targets(panel)
    assert entry_title(found["a0-1"]) == "갱신형"
    for entry_id, entry in found.items():
        quote = html.unescape(re.search(r"<mark>(.*?)</mark>", entry, flags=re.S).group(1))
        assert any(quote in text for text in doc_texts(small_index, entry_title(entry))), entry_id
    assert LATENCY.fullmatch(latency)
    assert len(turns) == 1 and turns[0]["panel"] == panel and turns[0]["latency"] == latency


def test_follow_up_turn_uses_the_next_prefix_and_the_conversation(small_index):
    chat = ChatHandler(small_index)
    _, history, first_panel, _, turns = run_chat(chat, "갱신형 보험은 나중에 보험료가 어떻게 되나요?", [], [])[-1]
    _, history, panel, latency, turns = run_chat(chat, "그럼 비갱신형은요?", history, turns)[-1]
    assert len(history) == 4 and history[2]["content"] == "그럼 비갱신형은요?"
    assert 'href="#a1-1"' in history[3]["content"] and "#a0-" not in history[3]["content"]
    found = entries(panel)
    assert set(chip_targets(history[3]["content"])) <= targets(panel) and all(i.startswith("a1-") for i in found)
    assert entry_title(found["a1-1"]) == "비갱신형"
    # clicking a message shows its turn's sources again (two messages per turn)
    assert chat.select(turns, 1) == (first_panel, turns[0]["latency"])
    assert chat.select(turns, 3) == (panel, latency)
    assert chat.select(turns, [2, 0])[0] == panel
    assert 'class="sources-empty"' in chat.select([], 0)[0]


def test_a_misspelt_name_is_answered_as_meant_and_the_chat_says_how_it_was_read(small_index):
    _, history, panel, _, _ = run_chat(ChatHandler(small_index), "겡신형 보험은 나중에 보험료가 어떻게 되나요?", [], [])[-1]
    reply = history[-1]["content"]
    assert f'<div class="understood">{esc(M.RESPELLED)}: 겡신형 보험 → 갱신형 보험</div>' in reply
    assert history[0]["content"] == "겡신형 보험은 나중에 보험료가 어떻게 되나요?"  # the partner's words, as typed
    assert entry_title(entries(panel)["a0-1"]) == "갱신형"
    _, history, _, _, _ = run_chat(ChatHandler(small_index), "갱신형 보험은 나중에 보험료가 어떻게 되나요?", [], [])[-1]
    assert 'class="understood"' not in history[-1]["content"]


@pytest.mark.parametrize("question", ["내일 서울 날씨 어때요?", "어제 손흥민 축구 경기 누가 이겼어요?"])
def test_off_domain_question_is_refused_in_its_own_style(small_index, question):
    _, history, panel, latency, _ = run_chat(ChatHandler(small_index), question, [], [])[-1]
    reply = history[-1]["content"]
    assert 'class="refusal"' in reply and "cite-chip" not in reply and esc(M.REFUSED_TITLE) in reply
    assert "cite-entry" not in panel and 'class="sources refused"' in panel
    assert LATENCY.fullmatch(latency)


def test_thanks_get_a_plain_reply_not_a_refusal(small_index):
    from rag.small_talk import REPLIES

    chat = ChatHandler(small_index)
    _, history, _, _, turns = run_chat(chat, "갱신형 보험은 나중에 보험료가 어떻게 되나요?", [], [])[-1]
    _, history, panel, _, _ = run_chat(chat, "감사합니다!", history, turns)[-1]
    assert history[-1]["content"] == f'<div class="answer small-talk">{esc(REPLIES["thanks"])}</div>'
    assert 'class="sources-empty"' in panel and "refused" not in panel


def test_html_typed_by_the_user_is_escaped(small_index):
    _, history, _, _, _ = run_chat(ChatHandler(small_index), "<img src=x onerror=alert(1)>", [], [])[-1]
    assert history[0]["content"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert all("<img" not in m["content"] for m in history)


class SpyRetriever:
    """Fails the test's expectation if searched; records the queries."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query, **_):
        self.queries.append(query)
        raise AssertionError("retrieval must not run for invalid input")


class ValidatingServices:
    """The real rag.answer.ask_stream (and so its validation) over a retriever that records every search."""

    def __init__(self) -> None:
        self.retriever, self.generator = SpyRetriever(), ScriptedGenerator("답 [1]")

    def ask_stream(self, question, history=None):
        return ask_stream(question, self.retriever, self.generator, history=history)


@pytest.mark.parametrize("question, message", [
    ("", M.EMPTY_QUESTION),
    ("   \n ", M.EMPTY_QUESTION),
    ("가" * 2001, M.QUESTION_TOO_LONG.format(high=2000, n=2001)),
])
def test_invalid_questions_get_korean_messages_and_never_reach_retrieval(question, message):
    services = ValidatingServices()
    _, history, panel, latency, turns = run_chat(ChatHandler(services), question, [], [])[-1]
    assert history[-1]["content"] == error_box(message) and 'class="error-box"' in history[-1]["content"]
    assert services.retriever.queries == [] and services.generator.calls == []
    assert latency == "" and "cite-entry" not in panel and len(turns) == 1


class BrokenServices:
    def __init__(self, exc: Exception) -> None:
        self.exc = exc

    def ask_stream(self, question, history=None):
        yield "부분 답변 [1]"
        raise self.exc


@pytest.mark.parametrize("exc, message", [(RuntimeError("boom"), M.INTERNAL_ERROR),
                                          (IndexNotFoundError("/tmp/x"), M.INDEX_MISSING)])
def test_failure_inside_ask_stream_keeps_the_earlier_history(exc, message):
    earlier = [{"role": "user", "content": "이전 질문"}, {"role": "assistant", "content": "이전 답"}]
    old_turns = [{"question": "이전 질문", "panel": "<div>p</div>", "latency": "l"}]
    updates = run_chat(ChatHandler(BrokenServices(exc)), "질문 <b>", earlier, old_turns)
    _, history, _, _, turns = updates[-1]
    assert history[:2] == earlier and len(earlier) == 2  # the caller's list is not modified
    assert history[2] == {"role": "user", "content": "질문 &lt;b&gt;"}
    assert history[3]["content"] == error_box(message) and "부분 답변" not in history[3]["content"]
    assert any("부분 답변" in u[1][-1]["content"] for u in updates[:-1])  # it was streamed before the failure
    assert turns[0] == old_turns[0] and len(turns) == 2


# render


def test_with_chips_escapes_the_text_around_markers():
    out = with_chips('<b onclick="x">원금</b> 보장 아님 [1], 예시표 [12]', "a3", {1: '제목 "<i>"'})
    assert "<b" not in out and "&lt;b onclick=&quot;x&quot;&gt;원금&lt;/b&gt;" in out
    assert chip_targets(out) == ["a3-1", "a3-12"]
    assert 'title="제목 &quot;&lt;i&gt;&quot;"' in out and "<i>" not in out


def test_highlight_and_excerpt_escape_and_mark_the_quote():
    text = "앞 <b>부분</b> " + "가" * 300 + " 원금 <보장> 아님 " + "나" * 300 + " 끝"
    assert highlight(text, "원금 <보장> 아님").count("<mark>원금 &lt;보장&gt; 아님</mark>") == 1
    assert "<b>" not in highlight(text, "원금 <보장> 아님") and "<mark>" not in highlight(text, "없는 인용")
    short = excerpt(text, "원금 <보장> 아님", width=20)
    assert short.startswith("…") and short.endswith("…") and "<mark>원금 &lt;보장&gt; 아님</mark>" in short
    assert html.unescape(re.sub(r"</?mark>", "", short).strip("…")) in text
    assert "<mark>" not in excerpt(text, "없는 인용") and "<b>" not in excerpt(text, "없는 인용")


def test_an_excerpt_starts_and_stops_at_a_word():
    """The preview once read "…0-2. 감액기간에는 …" for a line starting "G10-2." (seen in a screenshot)."""
    text = "앞부분의 긴 설명이 여기 있어요. " * 5 + "\nG10-2. 감액기간에는 일부만 지급됨을 설명한다\n" \
        + "많은 암보험은 1년 안에 진단되면 50%만 지급한다. 감액 비율과 기간은 상품마다 다르므로 설명서의 수치로 안내한다."
    quote = "많은 암보험은 1년 안에 진단되면 50%만 지급한다."
    words = set(text.split())
    for width in range(10, 60):
        shown = html.unescape(re.sub(r"</?mark>", "", excerpt(text, quote, width=width)))
        assert quote in shown
        first, last = shown.removeprefix("…").split()[0], shown.removesuffix("…").split()[-1]
        assert first in words and last in words, (width, first, last)
        assert len(shown) <= len(quote) + 2 * width + 2  # never more context than asked for

def test_a_chunk_with_a_script_tag_renders_escaped_in_the_panel():
    chunk = Chunk(chunk_id="c1", doc_id="d", title="<b>악성</b> 문서", source="uploads/x.md",
                  text="앞 문장. <script>alert(1)</script> 원금은 보장되지 않아요. 뒤 문장.")
    cite = Citation(n=1, chunk_id="c1", title=chunk.title, source=chunk.source, quote="원금은 보장되지 않아요.")
    panel = sources_panel([cite], {"c1": chunk}, "a0")
    assert "<script>" not in panel and "&lt;script&gt;alert(1)&lt;/script&gt;" in panel and "<b>악성" not in panel
    assert list(entries(panel)) == ["a0-1"] and panel.count("<mark>원금은 보장되지 않아요.</mark>") == 2


def test_the_panel_shows_a_chunks_markdown_headings_as_headings():
    chunk = Chunk(chunk_id="c1", doc_id="d", title="변액보험", source="corpus/terms/변액보험.md",
                  text="# 변액보험\n\n## 정의\n변액보험은 펀드 실적에 따라 보험금이 달라지는 보험이다.\n\n## 자주 하는 오해\n"
                       "- 오해: 원금이 보장된다 → 사실: 원금 손실이 날 수 있다.")
    cites = [Citation(n=1, chunk_id="c1", title=chunk.title, source=chunk.source,
                      quote="오해: 원금이 보장된다 → 사실: 원금 손실이 날 수 있다.")]
    panel = sources_panel(cites, {"c1": chunk}, "a0")
    assert "#" not in re.sub(r'(id|href)="[^"]*"', "", panel)
    assert '<span class="cite-heading">정의</span>' in panel and '<span class="cite-heading">자주 하는 오해</span>' in panel
    assert panel.count("<mark>오해: 원금이 보장된다 → 사실: 원금 손실이 날 수 있다.</mark>") == 2


def test_two_quotes_of_one_chunk_share_one_panel_entry_that_both_chips_open():
    """An answer cites a chunk once per sentence it supports: [1] and [3] are the same chunk, so the panel shows it
    once, with both numbers, both quotes marked, and an id for each chip; [2] is another chunk."""
    a = Chunk(chunk_id="a", doc_id="d1", title="갱신형", source="terms/갱신형.md",
              text="갱신형은 만기마다 갱신한다. 갱신 때 보험료가 오를 수 있다. 최대 갱신 나이가 있다.")
    b = Chunk(chunk_id="b", doc_id="d2", title="비갱신형", source="terms/비갱신형.md", text="비갱신형은 보험료가 같다.")
    cites = [Citation(n=1, chunk_id="a", title=a.title, source=a.source, quote="갱신형은 만기마다 갱신한다."),
             Citation(n=2, chunk_id="b", title=b.title, source=b.source, quote="비갱신형은 보험료가 같다."),
             Citation(n=3, chunk_id="a", title=a.title, source=a.source, quote="갱신 때 보험료가 오를 수 있다.")]
    panel = sources_panel(cites, {"a": a, "b": b}, "a0")
    found = entries(panel)
    assert list(found) == ["a0-1", "a0-2"] and targets(panel) == {"a0-1", "a0-2", "a0-3"}
    assert re.search(r'<div class="cite-entry" id="a0-1">.*id="a0-3".*id="a0-2"', panel, flags=re.S)
    full = re.search(r'<div class="cite-chunk">(.*?)</div>', found["a0-1"], flags=re.S).group(1)
    assert re.findall(r"<mark>(.*?)</mark>", full) == ["갱신형은 만기마다 갱신한다.", "갱신 때 보험료가 오를 수 있다."]
    assert found["a0-1"].count('class="cite-excerpt"') == 2 and found["a0-2"].count('class="cite-excerpt"') == 1
    assert highlight("가나다라", "나다", "다라") == "가<mark>나다</mark>라"  # an overlapping quote is not marked twice


def _raised(call, *args):
    with pytest.raises(PartnersError) as info:
        call(*args)
    return info.value


def test_korean_error_maps_each_error_kind(small_index):
    assert korean_error(_raised(validate_question, " ")) == M.EMPTY_QUESTION
    assert korean_error(_raised(validate_question, "가" * 2001)) == "질문이 너무 길어요. 2,000자 이내로 줄여 주세요. (지금 2,001자)"
    short = _raised(check_length, "짧다", "explanation", 10, 500, "explanation")
    assert korean_error(short) == "설명이 너무 짧아요. 10자 이상 써 주세요. (지금 2자)"
    long = _raised(check_length, "가" * 501, "explanation", 10, 500, "explanation")
    assert korean_error(long) == "설명이 너무 길어요. 500자 이내로 줄여 주세요. (지금 501자)"
    customer_only = "고객: 보험료가 너무 비싼 것 같아요.\n고객: 다른 회사 상품도 알아보고 있어요, 생각해 볼게요."
    no_partner = _raised(small_index.conversation_mission.review, customer_only)
    assert korean_error(no_partner) == M.NO_PARTNER_LINES
    unknown = _raised(small_index.term_mission.resolve, "해지환급금금")
    assert isinstance(unknown, UnknownTermError) and unknown.closest[0] == "해지환급금"
    assert korean_error(unknown) == M.UNKNOWN_TERM.format(term="해지환급금금", closest=", ".join(unknown.closest))
    assert korean_error(IndexNotFoundError("/tmp/x")) == M.INDEX_MISSING
    assert korean_error(IngestLockedError(Path("/tmp/x.lock"))) == M.INGEST_LOCKED
    assert korean_error(AdminError(M.WRONG_PASSWORD)) == M.WRONG_PASSWORD
    assert korean_error(RuntimeError("boom")) == M.INTERNAL_ERROR
    assert korean_error(PartnersError("an English message")) == M.INTERNAL_ERROR


# term mission

GOOD = ("해지환급금은 보험을 중간에 해지하면 보험사가 돌려주는 돈이에요. 고객님, 가입 초기에 해지하시면 "
        "낸 보험료보다 적거나 거의 없을 수 있으니 주의하세요. 예를 들어 1년 만에 해지하면 거의 못 돌려받아요.")


def test_term_scores_with_a_rubric_chips_and_a_session_history(small_index):
    term = TermHandler(small_index)
    result, panel, attempts, rows = term.score("해지환급금", GOOD, [])
    score = int(re.search(r'<div class="score-line" data-score="(\d+)">', result).group(1))
    assert 0 <= score <= 100 and len(re.findall(r"<tr>", result.split('<table class="rubric">')[1].split("</table>")[0])) == 4
    assert chip_targets(result) and set(chip_targets(result)) <= set(entries(panel))
    assert all(t.startswith("term-") for t in chip_targets(result))
    assert entry_title(entries(panel)["term-1"]) == "해지환급금"
    assert len(attempts) == 1 and rows == [[attempts[0]["time"], "해지환급금", score, attempts[0]["grade"]]]
    off_topic, _, attempts, rows = term.score("갱신형", "오늘 점심으로 김치찌개를 먹었는데 정말 맛있었어요.", attempts)
    assert int(re.search(r'data-score="(\d+)"', off_topic).group(1)) < score
    assert [r[1] for r in rows] == ["갱신형", "해지환급금"] and len(attempts) == 2  # newest first


def test_term_result_lists_three_missing_points_and_folds_the_rest_and_lists_doubts_only_beyond_the_feedback():
    from rag.missions.doubt import Doubt
    from rag.missions.term_result import KeyPoint, RubricItem, TermResult

    points = [KeyPoint(text=f"정의 문장 {i}.", section="정의", n=1) for i in range(5)]
    doubts = [Doubt(sentence=f"설명 문장 {i}.", probability=0.6, fact=f"정의 문장 {i}.", n=1) for i in range(2)]
    result = TermResult(term="갱신형", score=40, grade="재학습 필요", rubric=[RubricItem(name="정확성", score=10, max=30,
                        reason="")], matched_points=[], missing_points=points, unconfirmed_points=points[:1],
                        misconceptions=[], doubts=doubts, model_answer="", feedback="", citations=[])
    out = term_result_html(result)
    folded = re.search(r"<details class='more'><summary>(.*?)</summary>(.*?)</details>", out, flags=re.S)
    assert folded.group(1) == M.MORE.format(n=5 - SHOWN_MISSING) and folded.group(2).count("<li") == 5 - SHOWN_MISSING
    assert out.count('class="missing"') == 5 and 'class="unconfirmed"' in out and M.UNCONFIRMED_NOTE in out
    assert M.DOUBTS in out and out.count('class="doubt"') == 2
    one = term_result_html(result.model_copy(update={"doubts": doubts[:1], "missing_points": points[:3]}))
    assert M.DOUBTS not in one and "<details class='more'>" not in one


def test_term_errors_do_not_add_an_attempt(small_index):
    term = TermHandler(small_index)
    before = [{"time": "10:00:00", "term": "갱신형", "score": 50, "grade": "보완 필요"}]
    result, panel, attempts, rows = term.score("해지환급금", "짧은설명.", before)
    assert result == error_box(M.TOO_SHORT.format(what="설명이", low=10, high=500, n=5))
    assert attempts == before and rows == [["10:00:00", "갱신형", 50, "보완 필요"]] and "cite-entry" not in panel
    result, _, attempts, _ = term.score("해지환급금금", GOOD, before)
    shown = html.unescape(re.sub(r"<[^>]+>", "", result))
    assert shown.startswith(M.UNKNOWN_TERM.format(term="해지환급금금", closest="")) and attempts == before
    assert shown.split(": ")[-1].split(", ")[0] == "해지환급금"
    assert term.score(None, GOOD, [])[0] == error_box(M.TERM_PICK_FIRST)


def test_term_pickers_stay_inside_the_category(small_index):
    term = TermHandler(small_index)
    assert term.categories()[0] == M.ALL_CATEGORIES and "계약 기본" in term.categories()
    in_category = term.terms("계약 기본")
    assert in_category == ["갱신형", "비갱신형"] and term.terms(M.ALL_CATEGORIES) == term.terms(None)
    update = term.pick_category("계약 기본")
    assert update["choices"] == in_category and update["value"] in in_category
    picked = {term.pick_random("계약 기본", random.Random(seed))["value"] for seed in range(20)}
    assert picked == set(in_category)
    assert term.pick_random("계약 기본", random.Random(7)) == term.pick_random("계약 기본", random.Random(7))
    assert term.pick_random(M.ALL_CATEGORIES, random.Random(1))["value"] in term.terms(None)


# conversation mission

PLANTED = "이 상품은 원금 보장이 되니까 무조건 이득이에요"
SCRIPT = (f"설계사: 안녕하세요 고객님, 오늘 변액종신보험 안내해 드릴게요.\n고객: 원금은 어떻게 되나요?\n"
          f"설계사: {PLANTED}\n고객: 그렇군요.")


def test_prohibited_phrase_is_marked_with_a_chip_to_its_rule(small_index):
    result, panel = ConversationHandler(small_index).review(M.SCENARIO_NONE, SCRIPT)
    view = re.search(r'<pre class="script-view">(.*?)</pre>', result, flags=re.S).group(1)
    assert re.findall(r'<mark class="finding"[^>]*>(.*?)</mark>', view) == [esc(PLANTED)]
    target = re.search(r'</mark><a class="cite-chip" href="#(conv-\d+)" title="G03-2">', view).group(1)
    assert target in entries(panel) and entry_title(entries(panel)[target]) == "부당권유·금지 표현"
    assert set(chip_targets(result)) <= set(entries(panel))
    assert html.unescape(re.sub(r"<[^>]+>", "", re.sub(r"<a [^>]*>.*?</a>", "", view))) == SCRIPT
    assert "상품: 변액" in result


def test_a_sentence_breaking_two_rules_still_renders(small_index):
    sentence = "오늘만 가능한 조건인데 원금 보장되니까 무조건 이득이에요."
    script = f"설계사: 안녕하세요 고객님, 오늘 변액종신보험 안내해 드릴게요.\n고객: 원금은 어떻게 되나요?\n설계사: {sentence}"
    result, _ = ConversationHandler(small_index).review(M.SCENARIO_NONE, script)
    assert "G03-2" in result and "G03-6" in result
    assert re.findall(r'<mark class="finding"[^>]*>(.*?)</mark>', result) == [esc(sentence)]


def test_conversation_limits_scenarios_and_description(small_index):
    conv = ConversationHandler(small_index)
    short = "설계사: 안녕하세요, 보험 안내드려요."
    assert conv.review(M.SCENARIO_NONE, short)[0] == error_box(
        M.TOO_SHORT.format(what="스크립트가", low=50, high=3000, n=len(short)))
    assert conv.review("없는 시나리오", SCRIPT)[0] == error_box(M.UNKNOWN_SCENARIO)
    names = conv.scenario_names()
    assert names[0] == M.SCENARIO_NONE and names[1:] == [s.name for s in small_index.conversation_mission.scenarios()]
    scenario = small_index.conversation_mission.find_scenario(names[1])
    assert scenario.persona and esc(scenario.persona) in conv.describe(names[1])
    assert esc(scenario.title) in conv.describe(names[1]) and conv.describe(M.SCENARIO_NONE) == ""


# documents


def doc_settings(root: Path, **extra) -> Settings:
    return Settings(data_dir=root / "data", corpus_dir=root / "corpus", collection="docs", llm_cache="memory",
                    _env_file=None, **extra)


@pytest.fixture
def fresh_services(tmp_path, use_embedder):
    """A fresh small index per test, for tests that change it."""
    from ingest.pipeline import run_ingest
    from rag.index import Index
    from rag.retrieve import Retriever
    from rag.service import Services

    copy_small_corpus(tmp_path / "corpus")
    settings = doc_settings(tmp_path)
    run_ingest([settings.corpus_dir], settings, embedder=use_embedder)
    services = Services(settings)
    services.retriever = Retriever(Index(settings), use_embedder, ground_threshold=settings.ground_threshold)
    return services


def bare_services(root: Path, **extra):
    """Services that are never searched: the guard and the upload checks run before any index is touched."""
    from rag.service import Services

    return Services(doc_settings(root, **extra))


def write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return str(path)


def cited_sources(services, question: str) -> list[str]:
    answer = list(services.ask_stream(question))[-1]
    return [c.source for c in answer.citations]


@pytest.mark.parametrize("password, host, given, message", [
    ("s3cret", "127.0.0.1", "wrong", M.WRONG_PASSWORD),
    ("s3cret", "0.0.0.0", None, M.WRONG_PASSWORD),
    (None, "0.0.0.0", None, M.GUARD_LOCKED.format(host="0.0.0.0")),
])
def test_guard_refuses_every_document_action(tmp_path, password, host, given, message):
    services = bare_services(tmp_path)
    docs = DocumentsHandler(services, AdminGuard(password, host))
    good = write(tmp_path / "in" / "good.md", f"# 제목\n\n{UNIQUE}\n".encode())
    assert docs.upload([good], given) == message
    assert docs.reingest(given) == message and docs.delete("uploads/good.md", given) == message
    settings = services.settings
    assert not settings.uploads_dir.exists() and not settings.trash_dir.exists() and not settings.index_dir.exists()


def test_guard_status_and_loopback_without_password(tmp_path):
    assert AdminGuard("pw", "0.0.0.0").status() == M.GUARD_PASSWORD and AdminGuard("pw", "0.0.0.0").needs_password
    assert AdminGuard(None, "0.0.0.0").status() == M.GUARD_LOCKED.format(host="0.0.0.0")
    assert AdminGuard("", "localhost").status() == M.GUARD_LOOPBACK.format(host="localhost")
    services = bare_services(tmp_path)
    docs = DocumentsHandler(services, AdminGuard(None, "127.0.0.1"))
    temp = write(tmp_path / "gradio-tmp" / "a1b2c3.md", f"# 제목\n\n{UNIQUE}\n".encode())
    assert docs.upload([SimpleNamespace(name=temp, orig_name="원본.md")], None) == M.UPLOADED.format(names="원본.md")
    assert [p.name for p in services.settings.uploads_dir.iterdir()] == ["원본.md"]
    assert docs.upload([], None) == M.UPLOAD_NONE


def test_upload_refuses_unusable_files_with_korean_reasons(tmp_path):
    services = bare_services(tmp_path, max_file_mb=0.01)
    docs = DocumentsHandler(services, AdminGuard(None, "127.0.0.1"))
    korean = "해지환급금은 중도 해지하면 낸 보험료보다 적을 수 있어요.\n"
    files = {
        "empty.md": b"",
        "blank.txt": b" \n\t\n",
        "x.md": random.Random(0).randbytes(4096),
        "tool.exe": b"MZ" + b"\x90" * 100,
        ".hidden.md": korean.encode(),
        "big.md": (korean * 200).encode(),
        "cp949.txt": korean.encode("cp949"),
    }
    out = docs.upload([write(tmp_path / "in" / name, data) for name, data in files.items()], None)
    lines = out.split("\n\n")
    assert lines[0] == M.UPLOADED.format(names="cp949.txt")
    reasons = {"empty.md": M.UPLOAD_EMPTY, "blank.txt": M.UPLOAD_EMPTY, "x.md": M.UPLOAD_UNREADABLE,
               "tool.exe": M.UPLOAD_BAD_TYPE, ".hidden.md": M.UPLOAD_BAD_TYPE}
    for name, reason in reasons.items():
        assert M.UPLOAD_REJECTED.format(name=name, reason=reason) in lines
    too_big = next(line for line in lines if "big.md" in line)
    assert too_big.startswith(M.UPLOAD_REJECTED.format(name="big.md", reason="파일이 너무 커요 ("))
    assert len(lines) == 1 + 6
    # CP949/EUC-KR text is a designed input (decode_text falls back to cp949); it is stored byte for byte
    stored = services.settings.uploads_dir / "cp949.txt"
    assert [p.name for p in services.settings.uploads_dir.iterdir()] == ["cp949.txt"]
    assert stored.read_bytes() == files["cp949.txt"]


def test_upload_reingest_ask_replace_and_delete(fresh_services):
    services, settings = fresh_services, fresh_services.settings
    docs = DocumentsHandler(services, AdminGuard("관리자", "0.0.0.0"))
    rows_before = docs.rows()
    first = f"---\ntitle: 파트너스 납입유예 특칙\n---\n# 파트너스 납입유예 특칙\n\n## 정의\n{UNIQUE}\n".encode()
    assert docs.upload([write(settings.data_dir.parent / "in" / "납입유예.md", first)], "관리자") == \
        M.UPLOADED.format(names="납입유예.md")
    assert (settings.uploads_dir / "납입유예.md").read_bytes() == first
    calls = []
    report = docs.reingest("관리자", progress=lambda value, desc=None: calls.append((value, desc)))
    assert report.startswith("추가 1 · 수정 0 · 그대로 10 · 삭제 0 · 실패 0")
    assert calls and all(isinstance(v, tuple) and len(v) == 2 and 0 <= v[0] <= v[1] for v, _ in calls)
    assert all(M.INGEST_PROGRESS in desc for _, desc in calls)
    row = next(r for r in docs.rows() if r[-1] == "uploads/납입유예.md")
    assert row[0] == "파트너스 납입유예 특칙" and len(docs.rows()) == len(rows_before) + 1
    assert "uploads/납입유예.md" in docs.files()
    assert "uploads/납입유예.md" in cited_sources(services, UNIQUE_QUESTION)

    # the same name again: the old file goes to the trash, nothing is lost
    second = first.replace("7개월".encode(), "9개월".encode())
    docs.upload([write(settings.data_dir.parent / "in2" / "납입유예.md", second)], "관리자")
    assert (settings.uploads_dir / "납입유예.md").read_bytes() == second
    assert [p.read_bytes() for p in settings.trash_dir.rglob("*.md")] == [first]
    assert docs.reingest("관리자").startswith("추가 0 · 수정 1")

    assert docs.delete("uploads/납입유예.md", "틀림") == M.WRONG_PASSWORD
    assert (settings.uploads_dir / "납입유예.md").exists()
    assert docs.delete(None, "관리자") == M.DELETE_NONE
    out = docs.delete("uploads/납입유예.md", "관리자", progress=lambda value, desc=None: None)
    assert out.startswith("삭제했어요: 'uploads/납입유예.md'") and "삭제 1" in out
    assert not (settings.uploads_dir / "납입유예.md").exists()
    assert sorted(p.read_bytes() for p in settings.trash_dir.rglob("*.md")) == sorted([first, second])
    assert docs.rows() == rows_before and "uploads/납입유예.md" not in docs.files()
    assert "uploads/납입유예.md" not in cited_sources(services, UNIQUE_QUESTION)


# evaluation


def test_eval_run_shows_metrics_and_records_history(small_index):
    from matplotlib.figure import Figure

    history = small_index.settings.data_dir / "eval" / "history.jsonl"
    before = history.read_text(encoding="utf-8").count("\n") if history.exists() else 0
    evals = EvalHandler(small_index)
    rows, failures, figure, status = evals.run("scripts_guidelines", "hybrid")
    assert len(rows) == 1 and len(rows[0]) == len(METRIC_COLUMNS) and rows[0][0] == M.MODES["hybrid"]
    metrics = dict(zip(METRIC_COLUMNS, rows[0]))
    for name in ["hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "거절률"]:
        assert 0.0 <= metrics[name] <= 1.0, name
    assert metrics["hit@1"] <= metrics["hit@5"] <= metrics["hit@10"] and 0 < metrics["p50 ms"] <= metrics["p95 ms"]
    assert failures and all(len(f) == len(M.EVAL_FAILURE_COLUMNS) for f in failures)
    assert status.startswith("scripts_guidelines · ")
    lines = history.read_text(encoding="utf-8").splitlines()
    assert len(lines) == before + 1
    record = json.loads(lines[-1])
    assert record["dataset"] == "scripts_guidelines" and record["mode"] == "hybrid"
    assert record["config"]["source"] == "app" and round(record["metrics"]["mrr"], 3) == metrics["mrr"]
    assert isinstance(figure, Figure) and isinstance(evals.history("scripts_guidelines"), Figure)
    assert evals.history("terms_that_never_ran") is None

    rows, failures, figure, status = evals.run("없는_데이터셋", "hybrid")
    assert (rows, failures, figure) == ([], [], None) and status == M.UNKNOWN_DATASET
    assert len(history.read_text(encoding="utf-8").splitlines()) == before + 1


# layout


@pytest.mark.parametrize("password", [None, "pw"])
def test_build_app_has_the_tabs_and_elements_the_browser_tests_use(small_index, password):
    import gradio as gr

    from ui.app import build_app

    app = build_app(small_index, admin_password=password)
    assert isinstance(app, gr.Blocks)
    blocks = list(app.blocks.values())
    assert [b.label for b in blocks if isinstance(b, gr.Tab)] == [M.TAB_CHAT, M.TAB_TERM, M.TAB_CONVERSATION,
                                                                   M.TAB_DOCUMENTS, M.TAB_EVAL]
    ids = {getattr(b, "elem_id", None): b for b in blocks}
    wanted = {"chat", "question", "send", "sources", "term-pick", "explanation", "term-submit", "script",
              "script-submit", "upload", "reingest", "delete", "eval-run"}
    assert wanted <= set(ids)
    assert ids["admin-password"].visible is (password is not None)
    assert ids["term-pick"].choices and ids["term-pick"].value == small_index.term_mission.terms()[0]


def test_failure_rows_show_a_document_once_when_two_of_its_chunks_were_retrieved():
    from ui.evaluation import failure_rows

    rows = failure_rows([{"question": "q", "gold": ["G03_부당권유_금지_표현.md"], "rank": None,
                          "retrieved": ["부당권유·금지 표현", "부당권유·금지 표현", "청약철회", "비급여"]}])
    assert rows == [["q", "G03_부당권유_금지_표현.md", "-", "부당권유·금지 표현 · 청약철회 · 비급여"]]
