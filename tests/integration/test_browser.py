"""The served app in Debian's chromium, driven by Playwright's Python client (no browser download)."""

import shutil
import socket
from pathlib import Path

import pytest

from ingest.pipeline import run_ingest
from rag.index import Index
from rag.retrieve import Retriever
from ui.app import build_app

pytestmark = pytest.mark.browser
SHOTS = Path(__file__).resolve().parents[2] / "eval" / "results" / "screenshots"


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Debian's chromium is not installed: run `make system-deps`")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(small_corpus, settings, use_embedder):
    run_ingest([small_corpus], settings, embedder=use_embedder)
    app = build_app(Retriever(Index(settings), use_embedder))
    port = free_port()
    app.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    yield f"http://127.0.0.1:{port}/"
    app.close()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


def test_ask_a_question_and_see_sources(served, page):
    page.goto(served)
    page.locator("#question textarea").fill("비급여 진료비는 누가 부담하나요?")
    page.locator("#send").click()
    answer = page.locator("#chat").get_by_text("찾은 근거")
    answer.wait_for(timeout=30_000)
    chat_text = page.locator("#chat").inner_text()
    assert "[1]" in chat_text and "비급여" in chat_text
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat_sources.png"), full_page=True)


def test_html_typed_by_a_user_is_shown_as_text(served, page):
    page.goto(served)
    page.evaluate("window.__pwned = false")
    page.locator("#question textarea").fill("<img src=x onerror=\"window.__pwned=true\"> 청약철회")
    page.locator("#send").click()
    page.locator("#chat").get_by_text("찾은 근거").wait_for(timeout=30_000)
    assert page.evaluate("window.__pwned") is False
    assert page.locator("#chat img[src='x']").count() == 0
