"""The served app in Debian's chromium, driven by Playwright's Python client (no browser download).

One app per module on a small real corpus (USE, Chroma, Kiwi); the tests run in order and the document flow
leaves the index as it found it. Screenshots go to eval/results/screenshots/ (not committed)."""

import shutil
import socket
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ingest.pipeline import run_ingest
from rag.index import Index
from rag.retrieve import Retriever
from rag.service import Services
from rag.settings import Settings
from tests.conftest import copy_small_corpus
from ui import messages as M
from ui.app import build_app, serve

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "eval" / "results" / "screenshots"
WAIT = 60_000
UNIQUE = "파트너 교육팀의 금요일 점검 회의에서는 보라색 체크리스트 카드를 사용한다."


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make system-deps`")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(root: Path, embedder, collection: str, **settings):
    """The app on a fresh ingest of the small corpus under `root`, served on a free loopback port: (url, app)."""
    corpus = copy_small_corpus(root / "corpus")
    settings = Settings(data_dir=root / "data", corpus_dir=corpus, collection=collection, llm_cache="memory",
                        _env_file=None, **settings)
    run_ingest([corpus], settings, embedder=embedder)
    services = Services(settings)
    services.retriever = Retriever(Index(settings), embedder, ground_threshold=settings.ground_threshold)
    app = build_app(services)
    port = free_port()
    serve(app, host="127.0.0.1", port=port, block=False)
    return f"http://127.0.0.1:{port}/", app


@pytest.fixture(scope="module")
def served(tmp_path_factory, use_embedder):
    root = tmp_path_factory.mktemp("app")
    url, app = start_app(root, use_embedder, "app")
    yield url, root
    app.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


@pytest.fixture
def page(browser, served):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(served[0])
    page.locator("#chat").wait_for(timeout=WAIT)
    yield page
    page.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def ask(page, question: str) -> None:
    before = page.locator("#chat .message-wrap [data-testid='bot']").count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(
        "([n]) => document.querySelectorAll(\"#chat [data-testid='bot']\").length > n && "
        "!document.querySelector('#chat').innerText.includes('" + M.GENERATING + "')", arg=[before], timeout=WAIT)
    page.wait_for_timeout(300)  # the last streamed update and the panel land together


def tab(page, label: str) -> None:
    page.get_by_role("tab", name=label).click()


def test_all_five_tabs_are_there(page):
    for label in (M.TAB_CHAT, M.TAB_TERM, M.TAB_CONVERSATION, M.TAB_DOCUMENTS, M.TAB_EVAL):
        assert page.get_by_role("tab", name=label).count() == 1


def test_ask_shows_chips_the_source_panel_and_latency(page):
    ask(page, "갱신형 보험은 나중에 보험료가 어떻게 되나요?")
    chips = page.locator("#chat .cite-chip")
    assert chips.count() >= 1
    assert "갱신형" in page.locator("#sources .cite-title").all_inner_texts()
    assert page.locator("#sources .cite-entry mark").count() >= 1
    assert "검색" in page.locator("#latency").inner_text() and "전체" in page.locator("#latency").inner_text()
    chips.first.click()
    entry = page.locator("#sources .cite-entry.cite-active")
    entry.wait_for(timeout=5_000)
    assert entry.locator("details[open] .cite-chunk").is_visible()
    page.wait_for_timeout(2_100)  # the highlight fades
    # a chunk that backs several sentences is one entry holding all their numbers; every chip opens its entry
    full_texts = page.locator("#sources .cite-chunk").all_inner_texts()
    assert len(full_texts) == len(set(full_texts))
    assert page.locator("#sources .cite-num").count() == len(set(chips.all_inner_texts()))
    chips.last.click()
    entry.wait_for(timeout=5_000)
    assert chips.last.inner_text() in entry.locator(".cite-num").all_inner_texts()
    shot(page, "chat.png")

    ask(page, "그럼 비갱신형은요?")  # a follow-up uses the conversation
    assert "비갱신형" in page.locator("#sources .cite-title").all_inner_texts()


def test_a_misspelt_name_is_answered_as_meant_and_the_chat_says_so(page):
    ask(page, "겡신형 보험은 나중에 보험료가 어떻게 되나요?")
    assert page.locator("#chat [data-testid='user']").last.inner_text().strip() == "겡신형 보험은 나중에 보험료가 어떻게 되나요?"
    last = page.locator("#chat [data-testid='bot']").last
    assert last.locator(".understood").inner_text() == f"{M.RESPELLED}: 겡신형 보험 → 갱신형 보험"
    assert last.locator(".cite-chip").count() >= 1
    assert page.locator("#sources .cite-title").all_inner_texts()[0] == "갱신형"
    shot(page, "respelled.png")


def test_two_browser_tabs_ask_at_the_same_time(browser, served):
    pages = [browser.new_page(viewport={"width": 1200, "height": 900}) for _ in range(2)]
    try:
        for p, question in zip(pages, ["비급여 진료비는 누가 내요?", "청약철회는 언제까지 할 수 있어요?"]):
            p.goto(served[0])
            p.locator("#question textarea").fill(question)
        for p in pages:
            p.locator("#send").click()
        for p, title in zip(pages, ["비급여", "청약철회"]):
            expect(p.locator("#sources .cite-title").first).to_be_visible(timeout=WAIT)
            assert title in p.locator("#sources .cite-title").all_inner_texts()
    finally:
        for p in pages:
            p.close()


def test_off_domain_question_is_refused_without_citations(page):
    ask(page, "이번 주말 프로야구 경기 결과 알려줘")
    last = page.locator("#chat [data-testid='bot']").last
    assert last.locator(".refusal").count() == 1
    assert last.locator(".cite-chip").count() == 0
    assert page.locator("#sources .cite-entry").count() == 0


@pytest.mark.parametrize("turn", ["그럼 비트코인은요?", "아 참 주말에 눈 온대요?"])
def test_an_off_domain_turn_after_an_insurance_question_is_refused(page, turn):
    ask(page, "청약철회는 언제까지 할 수 있어요?")
    assert page.locator("#chat [data-testid='bot']").last.locator(".cite-chip").count() >= 1
    ask(page, turn)  # not answered from the previous topic
    last = page.locator("#chat [data-testid='bot']").last
    assert last.locator(".refusal").count() == 1 and last.locator(".cite-chip").count() == 0
    assert page.locator("#sources .cite-entry").count() == 0
    shot(page, "chat_off_domain_turn.png")


def test_thanks_get_a_short_reply_and_the_next_follow_up_keeps_the_topic(page):
    from rag.small_talk import REPLIES

    ask(page, "청약철회는 언제까지 할 수 있어요?")
    ask(page, "오 감사합니다 ㅎㅎ")
    last = page.locator("#chat [data-testid='bot']").last
    assert last.locator(".small-talk").inner_text().strip() == REPLIES["thanks"]
    assert last.locator(".refusal").count() == 0 and last.locator(".cite-chip").count() == 0
    assert page.locator("#sources .cite-entry").count() == 0
    shot(page, "chat_small_talk.png")
    ask(page, "그럼 품질보증해지는요?")  # follows the question before the thanks
    assert page.locator("#chat [data-testid='bot']").last.locator(".cite-chip").count() >= 1


def test_html_typed_by_a_user_is_shown_as_text(page):
    page.evaluate("window.__pwned = false")
    ask(page, "<img src=x onerror=\"window.__pwned=true\"> 청약철회 기간이 얼마예요?")
    assert page.evaluate("window.__pwned") is False
    assert page.locator("#chat img[src='x']").count() == 0
    assert "<img src=x" in page.locator("#chat").inner_text()


def test_too_long_question_shows_a_korean_message(page):
    ask(page, "가" * 2001)
    assert "질문이 너무 길어요" in page.locator("#chat [data-testid='bot']").last.inner_text()


def pick(page, elem_id: str, value: str) -> None:
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).click()


def test_term_mission_scores_an_explanation(page):
    tab(page, M.TAB_TERM)
    pick(page, "term-pick", "해지환급금")
    text = ("보험을 중간에 해지하면 그동안 낸 보험료에서 사업비 등을 뺀 돈을 돌려받는데, 이것이 해지환급금이에요. "
            "초기에 해지하면 낸 보험료보다 훨씬 적을 수 있어요.")
    page.locator("#explanation textarea").fill(text)
    expect(page.locator("#term-counter")).to_contain_text(f"{len(text)} / 500자", timeout=10_000)
    page.locator("#term-submit").click()
    score = page.locator("#term-result .score-line")
    score.wait_for(timeout=WAIT)
    assert int(score.get_attribute("data-score")) >= 0
    assert page.locator("#term-result table.rubric tr").count() == 4
    assert "해지환급금" in page.locator("#term-sources .cite-title").all_inner_texts()
    expect(page.locator("#term-history")).to_contain_text("해지환급금")
    shot(page, "term_mission.png")

    page.locator("#explanation textarea").fill("짧아요")
    page.locator("#term-submit").click()
    page.locator("#term-result .error-box").wait_for(timeout=WAIT)
    assert "너무 짧아요" in page.locator("#term-result").inner_text()


def test_conversation_mission_highlights_findings(page):
    tab(page, M.TAB_CONVERSATION)
    script = ("설계사: 안녕하세요 고객님, 오늘 종신보험 설명드리러 왔어요.\n고객: 네, 중간에 해지하면 어떻게 되나요?\n"
              "설계사: 걱정 마세요. 이 상품은 원금 보장이 되니까 무조건 이득이에요. 지금 서명만 하시면 됩니다.")
    page.locator("#script textarea").fill(script)
    page.locator("#script-submit").click()
    page.locator("#conversation-result .score-line").wait_for(timeout=WAIT)
    marks = page.locator("#conversation-result mark.finding")
    assert marks.count() >= 1
    assert any("원금" in t or "무조건" in t for t in marks.all_inner_texts())
    assert page.locator("#conversation-sources .cite-entry").count() >= 1
    assert page.locator("#conversation-result table.stages th").all_inner_texts() == list(M.STAGE_COLUMNS)
    assert "0" not in page.locator("#conversation-result .cite-chip").all_inner_texts()  # G06/G07/G09 not indexed
    feedback = page.locator("#conversation-result p.feedback")
    assert feedback.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line" and "\n" in feedback.inner_text()
    shot(page, "conversation_mission.png")


def test_upload_reingest_ask_delete(page, served):
    _, root = served
    doc = root / "점검회의.md"
    doc.write_text(f"---\ntitle: 금요일 점검 회의 안내\ndoc_type: other\n---\n# 금요일 점검 회의 안내\n\n{UNIQUE}\n"
                   "회의에서는 한 주 동안의 민원 사례를 함께 살펴본다.\n"
                   "<script>window.__docpwned = true</script><img src=y onerror=\"window.__docpwned=true\">\n",
                   encoding="utf-8")
    tab(page, M.TAB_DOCUMENTS)
    assert "127.0.0.1" in page.locator("#guard-status").inner_text()
    page.locator("#upload input[type=file]").set_input_files(str(doc))
    page.locator("#upload-button").click()
    page.locator("#doc-status").get_by_text("올린 파일").wait_for(timeout=WAIT)
    page.locator("#reingest").click()
    page.locator("#doc-status").get_by_text("추가 1").wait_for(timeout=WAIT)
    page.locator("#doc-table").get_by_text("금요일 점검 회의 안내").wait_for(timeout=WAIT)
    shot(page, "documents.png")

    tab(page, M.TAB_CHAT)
    ask(page, "금요일 점검 회의에서는 무슨 색 체크리스트 카드를 써요?")
    assert "금요일 점검 회의 안내" in page.locator("#sources .cite-title").all_inner_texts()
    page.locator("#sources details").first.evaluate("d => d.open = true")
    assert page.evaluate("window.__docpwned") is None  # HTML in a document is shown as text, never run

    tab(page, M.TAB_DOCUMENTS)
    pick(page, "delete-pick", "uploads/점검회의.md")
    page.locator("#delete").click()
    page.locator("#doc-status").get_by_text("삭제 1").wait_for(timeout=WAIT)
    assert page.locator("#doc-table").get_by_text("금요일 점검 회의 안내").count() == 0

    tab(page, M.TAB_CHAT)
    ask(page, "금요일 점검 회의에서는 무슨 색 체크리스트 카드를 써요?")
    assert "금요일 점검 회의 안내" not in page.locator("#sources .cite-title").all_inner_texts()


def test_evaluation_tab_runs_and_plots(page):
    tab(page, M.TAB_EVAL)
    pick(page, "eval-dataset", "scripts_guidelines")
    page.locator("#eval-run").click()
    expect(page.locator("#eval-metrics")).to_contain_text(M.MODES["hybrid"], timeout=WAIT)
    expect(page.locator("#eval-status")).to_contain_text("scripts_guidelines", timeout=WAIT)
    page.locator("#eval-history img, #eval-history canvas, #eval-history svg").first.wait_for(timeout=WAIT)
    shot(page, "evaluation.png")


@pytest.fixture(scope="module")
def served_with_llm(tmp_path_factory, use_embedder):
    """The app with PARTNERS_LLM=openai:test-model on the local scripted OpenAI server: chat turns are rewritten to
    stand alone by the (scripted) model, which also writes the answers."""
    from tests.openai_server import ScriptedOpenAIServer

    with ScriptedOpenAIServer() as server:
        url, app = start_app(tmp_path_factory.mktemp("app-llm"), use_embedder, "app-llm", llm="openai:test-model",
                             llm_base_url=server.url)
        yield url, server
        app.close()


def test_with_an_llm_the_chat_shows_how_it_understood_a_follow_up(browser, served_with_llm):
    url, server = served_with_llm
    rewrite = "비갱신형 보험은 나중에 보험료가 오르나요?"
    server.script({"responder": lambda body: rewrite if "검색 도우미" in body["messages"][0]["content"]
                   else "자료에 따르면 보험료는 계약할 때 정한 대로 유지돼요 [1]."})
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.locator("#chat").wait_for(timeout=WAIT)
    ask(page, "갱신형 보험은 나중에 보험료가 어떻게 되나요?")  # no chat yet: nothing to rewrite
    assert page.locator("#chat .understood").count() == 0
    ask(page, "그럼 반대로 안 오르는 건요?")
    last = page.locator("#chat [data-testid='bot']").last
    assert last.locator(".understood").inner_text().endswith(rewrite)
    assert last.locator(".cite-chip").count() >= 1
    assert page.locator("#sources .cite-title").all_inner_texts()[0] == "비갱신형"
    assert page.locator("#latency").inner_text().startswith("질문 정리")
    shot(page, "chat_llm_rewrite.png")
    page.close()
