"""Gradio app: five tabs built by build_app() (tests drive it); serve() and launch() start it on loopback by default."""

import logging

from rag.settings import Settings
from ui import messages as M
from ui.chat import ChatHandler
from ui.documents import AdminGuard, DocumentsHandler
from ui.evaluation import METRIC_COLUMNS, EvalHandler, retrieval_datasets
from ui.practice import ConversationHandler, TermHandler, counter
from ui.render import sources_panel

log = logging.getLogger(__name__)
CONCURRENCY = 2  # two cores: more parallel answers only queue inside the models

CSS = """
.cite-chip, .cite-chip:visited { display:inline-block; text-decoration:none; min-width:1.4em; padding:0 .35em; margin:0 .1em; border-radius:.7em;
  background:#e0ecff; color:#1747a6; font-size:.8em; font-weight:600; text-align:center; cursor:pointer;
  vertical-align:super; line-height:1.4; }
.cite-chip:hover { background:#1747a6; color:#fff; }
.sources h4 { margin:.2em 0 .5em; }
.cite-entry { border:1px solid #dde3ee; border-radius:8px; padding:.5em .7em; margin-bottom:.6em; background:#fbfcff; }
.cite-entry.cite-active { border-color:#1747a6; box-shadow:0 0 0 2px #b9cffa; }
.cite-num { display:inline-block; min-width:1.5em; border-radius:.75em; background:#1747a6; color:#fff;
  text-align:center; font-size:.85em; margin-right:.3em; }
.cite-meta { color:#5b6475; font-size:.85em; margin:.2em 0; }
.cite-excerpt, .cite-chunk { font-size:.9em; line-height:1.55; white-space:pre-wrap; }
.cite-excerpt + .cite-excerpt { margin-top:.3em; }
.cite-excerpt sup { color:#1747a6; font-weight:600; }
.cite-chunk { max-height:24em; overflow:auto; background:#fff; padding:.4em; border-radius:6px; }
.cite-heading { font-weight:600; color:#444; }
mark { background:#fff1a8; padding:0 .1em; }
.refusal { border-left:4px solid #d08a00; background:#fff8e6; padding:.5em .8em; border-radius:6px; }
.refusal-hint { margin-top:.4em; color:#7a5200; font-size:.9em; }
.notice { color:#7a5200; font-size:.85em; margin-bottom:.3em; }
.understood { color:#555; font-size:.85em; margin-bottom:.3em; font-style:italic; }
.error-box { border-left:4px solid #c62828; background:#fdecea; padding:.5em .8em; border-radius:6px; color:#8e1b1b; }
.score-line { font-size:1.2em; font-weight:600; margin-bottom:.4em; }
.score-line .score { font-size:1.8em; color:#1747a6; }
.mission-result table { border-collapse:collapse; width:100%; font-size:.9em; }
.mission-result td { border-bottom:1px solid #e6e9f0; padding:.25em .4em; vertical-align:top; }
.mission-result th { text-align:left; color:#5b6475; font-weight:600; padding:.25em .4em; }
.mission-result li.missing, .mission-result li.myth { color:#8e1b1b; }
.mission-result li.unconfirmed, .mission-result li.doubt { color:#7a5200; }
.mission-result p.note { color:#5b6475; font-size:.85em; margin:.2em 0; }
.mission-result details.more summary { color:#5b6475; font-size:.85em; cursor:pointer; margin-left:1.2em; }
.mission-result .by-llm { font-size:0.8em; padding:0 4px; border:1px solid #8e1b1b; border-radius:3px; }
.feedback { white-space:pre-line; }
.script-view { white-space:pre-wrap; font-family:inherit; background:#fafafa; padding:.6em; border-radius:6px; }
mark.finding { background:#ffd6d6; border-bottom:2px solid #c62828; }
#latency { color:#5b6475; font-size:.85em; }
"""

HEAD = """<script>
document.addEventListener('click', function (event) {
  var chip = event.target.closest && event.target.closest('.cite-chip');
  if (!chip) return;
  event.preventDefault();
  event.stopPropagation();
  var target = document.getElementById((chip.getAttribute('href') || '').slice(1));
  var entry = target && (target.closest('.cite-entry') || target);
  if (!entry) return;
  var details = entry.querySelector('details');
  if (details) details.open = true;
  entry.classList.add('cite-active');
  setTimeout(function () { entry.classList.remove('cite-active'); }, 2000);
  entry.scrollIntoView({behavior: 'smooth', block: 'nearest'});
}, true);
</script>"""


def build_app(services, *, host: str = "127.0.0.1", admin_password: str | None = None):
    """The Blocks app around already-built Services (models and indexes load once, before the first question)."""
    import gradio as gr

    from rag.missions.conversation import MAX_CHARS as SCRIPT_MAX, MIN_CHARS as SCRIPT_MIN
    from rag.missions.term import MAX_CHARS as TERM_MAX, MIN_CHARS as TERM_MIN

    chat, term, conv = ChatHandler(services), TermHandler(services), ConversationHandler(services)
    docs, evals = DocumentsHandler(services, AdminGuard(admin_password, host)), EvalHandler(services)

    with gr.Blocks(title=M.TITLE) as app:
        gr.Markdown(f"# {M.TITLE}\n{M.SUBTITLE}")
        with gr.Tabs():
            with gr.Tab(M.TAB_CHAT, id="chat-tab"):
                turns = gr.State([])
                with gr.Row():
                    with gr.Column(scale=3):
                        chatbot = gr.Chatbot(label=M.CHAT_LABEL, height=520, elem_id="chat")
                        latency = gr.Markdown("", elem_id="latency")
                        with gr.Row():
                            box = gr.Textbox(placeholder=M.INPUT_PLACEHOLDER, show_label=False, scale=8,
                                             elem_id="question", max_lines=6)
                            send = gr.Button(M.SEND, variant="primary", scale=1, elem_id="send")
                            clear = gr.Button(M.CLEAR, scale=1, elem_id="clear")
                        gr.Examples(M.EXAMPLES, inputs=box, label=M.EXAMPLES_LABEL)
                    with gr.Column(scale=2):
                        panel = gr.HTML(sources_panel([], {}, "a0"), elem_id="sources")
                outputs = [box, chatbot, panel, latency, turns]
                box.submit(chat.respond, [box, chatbot, turns], outputs)
                send.click(chat.respond, [box, chatbot, turns], outputs)
                clear.click(chat.clear, None, [chatbot, panel, latency, turns])
                chatbot.select(_select(chat), [turns], [panel, latency])

            with gr.Tab(M.TAB_TERM, id="term-tab"):
                attempts = gr.State([])
                with gr.Row():
                    with gr.Column(scale=3):
                        with gr.Row():
                            category = gr.Dropdown(term.categories(), value=M.ALL_CATEGORIES, label=M.TERM_CATEGORY,
                                                   elem_id="term-category")
                            terms = term.terms(None)
                            term_pick = gr.Dropdown(terms, value=terms[0] if terms else None, label=M.TERM_PICK,
                                                    filterable=True, elem_id="term-pick")
                            random_btn = gr.Button(M.TERM_RANDOM, elem_id="term-random")
                        explanation = gr.Textbox(label=M.TERM_EXPLANATION, placeholder=M.TERM_PLACEHOLDER, lines=5,
                                                 elem_id="explanation")
                        term_counter = gr.Markdown(M.COUNTER.format(n=0, low=TERM_MIN, high=TERM_MAX),
                                                   elem_id="term-counter")
                        term_submit = gr.Button(M.TERM_SUBMIT, variant="primary", elem_id="term-submit")
                        term_result = gr.HTML("", elem_id="term-result")
                    with gr.Column(scale=2):
                        term_panel = gr.HTML(sources_panel([], {}, "term"), elem_id="term-sources")
                        history = gr.Dataframe(headers=M.ATTEMPT_COLUMNS, value=[], label=M.ATTEMPTS,
                                               interactive=False, elem_id="term-history")
                category.change(term.pick_category, [category], [term_pick])
                random_btn.click(term.pick_random, [category], [term_pick])
                explanation.change(_counter(TERM_MIN, TERM_MAX), [explanation], [term_counter], queue=False,
                                  show_progress="hidden")
                term_submit.click(term.score, [term_pick, explanation, attempts],
                                  [term_result, term_panel, attempts, history])

            with gr.Tab(M.TAB_CONVERSATION, id="conversation-tab"):
                with gr.Row():
                    with gr.Column(scale=3):
                        scenario = gr.Dropdown(conv.scenario_names(), value=M.SCENARIO_NONE, label=M.SCENARIO,
                                               elem_id="scenario")
                        scenario_info = gr.Markdown("", elem_id="scenario-info")
                        script = gr.Textbox(label=M.SCRIPT, placeholder=M.SCRIPT_PLACEHOLDER, lines=14,
                                            elem_id="script")
                        script_counter = gr.Markdown(M.COUNTER.format(n=0, low=SCRIPT_MIN, high=SCRIPT_MAX),
                                                     elem_id="script-counter")
                        script_submit = gr.Button(M.SCRIPT_SUBMIT, variant="primary", elem_id="script-submit")
                        conv_result = gr.HTML("", elem_id="conversation-result")
                    with gr.Column(scale=2):
                        conv_panel = gr.HTML(sources_panel([], {}, "conv"), elem_id="conversation-sources")
                scenario.change(conv.describe, [scenario], [scenario_info])
                script.change(_counter(SCRIPT_MIN, SCRIPT_MAX), [script], [script_counter], queue=False,
                             show_progress="hidden")
                script_submit.click(conv.review, [scenario, script], [conv_result, conv_panel])

            with gr.Tab(M.TAB_DOCUMENTS, id="documents-tab"):
                gr.Markdown(docs.guard.status(), elem_id="guard-status")
                password = gr.Textbox(label=M.ADMIN_PASSWORD, type="password", visible=docs.guard.needs_password,
                                      elem_id="admin-password")
                table = gr.Dataframe(headers=M.DOC_COLUMNS, value=docs.rows(), label=M.DOCS_LIST, interactive=False,
                                     elem_id="doc-table", max_height=420, wrap=True,
                                     column_widths=["30%", "10%", "12%", "6%", "11%", "7%", "24%"])
                with gr.Row():
                    upload_files = gr.File(label=M.UPLOAD, file_count="multiple", elem_id="upload",
                                           file_types=[".md", ".txt", ".pdf", ".docx", ".csv", ".json"])
                    with gr.Column():
                        upload_btn = gr.Button(M.UPLOAD_BUTTON, elem_id="upload-button")
                        reingest_btn = gr.Button(M.REINGEST, variant="primary", elem_id="reingest")
                with gr.Row():
                    delete_pick = gr.Dropdown(docs.files(), label=M.DELETE_PICK, filterable=True, elem_id="delete-pick")
                    delete_btn = gr.Button(M.DELETE, variant="stop", elem_id="delete")
                doc_status = gr.Markdown("", elem_id="doc-status")
                refreshed = [table, delete_pick]
                upload_btn.click(docs.upload, [upload_files, password], [doc_status], concurrency_id="documents",
                                 concurrency_limit=1)
                reingest_btn.click(_progress(docs, docs.reingest), [password], [doc_status, *refreshed],
                                   concurrency_id="documents", concurrency_limit=1)
                delete_btn.click(_progress(docs, docs.delete, with_source=True), [delete_pick, password],
                                 [doc_status, *refreshed], concurrency_id="documents", concurrency_limit=1)

            with gr.Tab(M.TAB_EVAL, id="eval-tab"):
                with gr.Row():
                    datasets = retrieval_datasets()
                    dataset = gr.Dropdown(datasets, value="terms" if "terms" in datasets else None,
                                          label=M.EVAL_DATASET, elem_id="eval-dataset")
                    mode = gr.Radio([(label, key) for key, label in M.MODES.items()], value="hybrid",
                                    label=M.EVAL_MODE, elem_id="eval-mode")
                    run = gr.Button(M.EVAL_RUN, variant="primary", elem_id="eval-run")
                eval_status = gr.Markdown("", elem_id="eval-status")
                metrics = gr.Dataframe(headers=METRIC_COLUMNS, value=[], label=M.EVAL_RESULT, interactive=False,
                                       elem_id="eval-metrics")
                failures = gr.Dataframe(headers=M.EVAL_FAILURE_COLUMNS, value=[], label=M.EVAL_FAILURES,
                                        interactive=False, elem_id="eval-failures", wrap=True, max_height=400,
                                        column_widths=["34%", "22%", "9%", "35%"])  # all four fit without scrolling
                plot = gr.Plot(label=M.EVAL_HISTORY, elem_id="eval-history")
                run.click(evals.run, [dataset, mode], [metrics, failures, plot, eval_status],
                          concurrency_id="eval", concurrency_limit=1)
                dataset.change(evals.history, [dataset], [plot])
                app.load(evals.history, [dataset], [plot])
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def _counter(low: int, high: int):
    """The live character counter under a text box (a light, unqueued event)."""
    return lambda text: counter(text, low, high)


def _select(chat: ChatHandler):
    import gradio as gr

    def select(turns, evt: gr.SelectData):
        return chat.select(turns, evt.index)

    return select


def _progress(docs: DocumentsHandler, action, *, with_source: bool = False):
    """A document action with a progress bar (Gradio injects one into a handler whose signature has a gr.Progress
    default) that returns its report together with the refreshed listing, so both land at once."""
    import gradio as gr

    def listing(status: str):
        return status, docs.rows(), gr.update(choices=docs.files(), value=None)

    if with_source:
        def run(source, password, progress=gr.Progress()):
            return listing(action(source, password, progress=progress))
    else:
        def run(password, progress=gr.Progress()):
            return listing(action(password, progress=progress))
    return run


def serve(app, *, host: str = "127.0.0.1", port: int = 7860, block: bool = True) -> None:
    """Launch on `host:port` with the app's CSS and chip script; never a public share link."""
    app.launch(server_name=host, server_port=port, share=False, show_error=False, css=CSS, head=HEAD,
               prevent_thread_lock=not block, quiet=not block)


def launch(settings: Settings, *, host: str = "127.0.0.1", port: int = 7860) -> None:
    from rag.service import Services

    services = Services(settings)
    services.warm_up()  # Kiwi, BM25, Chroma, USE and the missions' tables load before the first partner arrives
    password = settings.admin_password.get_secret_value() if settings.admin_password else None
    log.info("serving on http://%s:%d", host, port)
    serve(build_app(services, host=host, admin_password=password), host=host, port=port)
