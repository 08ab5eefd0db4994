"""The 용어 미션 and 대화 미션 tabs: pick, write, get a cited score; the session keeps the attempts."""

import logging
import random
from datetime import datetime

from rag.errors import PartnersError
from ui import messages as M
from ui.render import chip, error_box, esc, korean_error, sources_panel, with_chips

log = logging.getLogger(__name__)
SHOWN_MISSING = 3  # missing key points listed before "더 보기"; the feedback names the first two


def counter(text: str, low: int, high: int) -> str:
    n = len((text or "").strip())
    return M.COUNTER.format(n=n, low=low, high=high) + (" ⚠️" if n and not low <= n <= high else "")


def _fail(exc: Exception) -> str:
    if not isinstance(exc, PartnersError):
        log.exception("mission failed")
    return error_box(korean_error(exc))


def _items(points, prefix: str, css: str) -> str:
    return "".join(f'<li class="{css}">{esc(p.text)} {chip(prefix, p.n)}</li>' for p in points)


def term_result_html(result, prefix: str = "term") -> str:
    rubric = "".join(f"<tr><td>{esc(i.name)}</td><td>{i.score}/{i.max}</td><td>{esc(i.reason)}</td></tr>"
                     for i in result.rubric)
    myths = "".join(f'<li class="myth">“{esc(m.claim)}” → {esc(m.correction)} {chip(prefix, m.n)}'
                    + (f' <span class="by-llm">{esc(M.FOUND_BY_LLM)}</span>' if m.by != "rules" else "") + "</li>"
                    for m in result.misconceptions)
    parts = [f'<div class="score-line" data-score="{result.score}"><span class="score">{result.score}</span>점 · '
             f'{esc(result.grade)} <span class="term-name">{esc(result.term)}</span></div>',
             f'<h4>{esc(M.RUBRIC)}</h4><table class="rubric">{rubric}</table>']
    if result.matched_points:
        parts.append(f"<h4>{esc(M.MATCHED)}</h4><ul>{_items(result.matched_points, prefix, 'matched')}</ul>")
    if result.unconfirmed_points:
        parts.append(f"<h4>{esc(M.UNCONFIRMED)}</h4><p class='note'>{esc(M.UNCONFIRMED_NOTE)}</p>"
                     f"<ul>{_items(result.unconfirmed_points, prefix, 'unconfirmed')}</ul>")
    if result.missing_points:
        first, rest = result.missing_points[:SHOWN_MISSING], result.missing_points[SHOWN_MISSING:]
        more = (f"<details class='more'><summary>{esc(M.MORE.format(n=len(rest)))}</summary>"
                f"<ul>{_items(rest, prefix, 'missing')}</ul></details>" if rest else "")
        parts.append(f"<h4>{esc(M.MISSING)}</h4><ul>{_items(first, prefix, 'missing')}</ul>{more}")
    if myths:
        parts.append(f"<h4>{esc(M.MISCONCEPTIONS)}</h4><ul>{myths}</ul>")
    doubts = "".join(f'<li class="doubt">“{esc(d.sentence)}” ↔ {esc(d.fact)} {chip(prefix, d.n)}</li>'
                     for d in result.doubts if d.fact)
    if len(result.doubts) > 1:  # one doubted sentence is already the feedback's first line
        parts.append(f"<h4>{esc(M.DOUBTS)}</h4><ul>{doubts}</ul>")
    parts.append(f"<h4>{esc(M.FEEDBACK)}</h4><p class='feedback'>{with_chips(result.feedback, prefix)}</p>")
    parts.append(f'<h4>{esc(M.MODEL_ANSWER)}</h4><p class="model-answer">{with_chips(result.model_answer, prefix)}</p>')
    return f'<div class="mission-result">{"".join(parts)}</div>'


class TermHandler:
    def __init__(self, services) -> None:
        self.services = services

    def terms(self, category: str | None) -> list[str]:
        mission = self.services.term_mission
        return mission.terms(None if category in (None, "", M.ALL_CATEGORIES) else category)

    def categories(self) -> list[str]:
        return [M.ALL_CATEGORIES, *self.services.term_mission.categories()]

    def pick_category(self, category: str):
        import gradio as gr

        terms = self.terms(category)
        return gr.update(choices=terms, value=terms[0] if terms else None)

    def pick_random(self, category: str, rng: random.Random = random.Random()):
        import gradio as gr

        terms = self.terms(category)
        return gr.update(choices=terms, value=rng.choice(terms) if terms else None)

    def score(self, term: str, explanation: str, attempts: list | None) -> tuple[str, str, list, list]:
        """(result HTML, source panel, attempts state, attempts table rows)."""
        attempts = list(attempts or [])
        try:
            if not term:
                return error_box(M.TERM_PICK_FIRST), sources_panel([], {}, "term"), attempts, _rows(attempts)
            result = self.services.term_mission.score(term, explanation)
        except Exception as exc:
            return _fail(exc), sources_panel([], {}, "term"), attempts, _rows(attempts)
        chunks = self.services.retriever.index.docstore.get_chunks([c.chunk_id for c in result.citations])
        attempts.append({"time": datetime.now().strftime("%H:%M:%S"), "term": result.term, "score": result.score,
                         "grade": result.grade})
        return term_result_html(result), sources_panel(result.citations, chunks, "term"), attempts, _rows(attempts)


def _rows(attempts: list) -> list[list]:
    return [[a["time"], a["term"], a["score"], a["grade"]] for a in reversed(attempts)]


def script_html(script: str, findings, prefix: str = "conv") -> str:
    """The script with each prohibited phrase highlighted and its rule chip beside it (overlaps keep the first)."""
    spans = sorted(((f.evidence.start, f.evidence.end, f) for f in findings if f.evidence is not None),
                   key=lambda span: span[:2])
    out, pos = [], 0
    for start, end, finding in spans:
        if start < pos or script[start:end] != finding.evidence.quote:
            continue
        out.append(esc(script[pos:start]))
        out.append(f'<mark class="finding" title="{esc(finding.rule)} {esc(finding.message)}">{esc(script[start:end])}'
                   f"</mark>{chip(prefix, finding.n, finding.rule)}")
        pos = end
    out.append(esc(script[pos:]))
    return f'<pre class="script-view">{"".join(out)}</pre>'


def _short(quote: str, limit: int = 40) -> str:
    return quote if len(quote) <= limit else quote[:limit].rstrip() + "…"


def conversation_result_html(result, script: str, prefix: str = "conv") -> str:
    stages = "<tr>" + "".join(f"<th>{esc(c)}</th>" for c in M.STAGE_COLUMNS) + "</tr>" + "".join(
        f"<tr><td>{esc(s.stage)}</td><td>{esc(M.STAGE_NA) if s.score is None else f'{s.score}점'}</td>"
        f"<td>{esc(', '.join(s.missed))}</td><td>{esc(' / '.join(_short(e.quote) for e in s.evidence[:2]))}</td></tr>"
        for s in result.stages)
    findings = "".join(
        f'<li class="{esc(f.kind)}"><b>{esc(M.PROHIBITED if f.kind == "prohibited" else M.MISSING_EXPLANATION)}'
        f"</b> {esc(f.rule)} {esc(f.message)}"
        + (f' — “{esc(f.evidence.quote)}”' if f.evidence else "")
        + (f" {esc(M.BY_CLASSIFIER.format(p=f.confidence))}" if f.detector == "classifier" else "")
        + (f' <span class="by-llm">{esc(M.FOUND_BY_LLM)}</span>' if f.detector == "llm" else "")
        + f" {chip(prefix, f.n, f.rule)}</li>"
        for f in result.findings)
    suggestions = "".join(f"<li>{esc(s.text)} {chip(prefix, s.n)}</li>" for s in result.suggestions)
    parts = [f'<div class="score-line" data-score="{result.score}">'
             f'{esc(M.OVERALL.format(score=result.score, grade=result.grade, product=result.product or "-"))}</div>',
             f"<h4>{esc(M.STAGES)}</h4><table class=\"stages\">{stages}</table>",
             f"<h4>{esc(M.FINDINGS)}</h4>" + (f'<ul class="findings">{findings}</ul>' if findings
                                              else f"<p>{esc(M.NO_FINDINGS)}</p>"),
             f"<h4>{esc(M.SCRIPT_VIEW)}</h4>{script_html(script, result.findings, prefix)}"]
    if suggestions:
        parts.append(f"<h4>{esc(M.SUGGESTIONS)}</h4><ul>{suggestions}</ul>")
    parts.append(f"<h4>{esc(M.FEEDBACK)}</h4><p class='feedback'>{with_chips(result.feedback, prefix)}</p>")
    return f'<div class="mission-result">{"".join(parts)}</div>'


class ConversationHandler:
    def __init__(self, services) -> None:
        self.services = services

    def scenario_names(self) -> list[str]:
        return [M.SCENARIO_NONE, *(s.name for s in self.services.conversation_mission.scenarios())]

    def describe(self, name: str) -> str:
        scenario = self.services.conversation_mission.find_scenario(name) if name != M.SCENARIO_NONE else None
        if scenario is None:
            return ""
        return M.SCENARIO_INFO.format(persona=esc(scenario.persona or "-"), product=esc(scenario.product or "-"),
                                      title=esc(scenario.title))

    def review(self, scenario: str, script: str) -> tuple[str, str]:
        """(result HTML, source panel)."""
        try:
            chosen = scenario if scenario and scenario != M.SCENARIO_NONE else None
            result = self.services.conversation_mission.review(script, scenario=chosen)
            chunks = self.services.retriever.index.docstore.get_chunks([c.chunk_id for c in result.citations])
            return (conversation_result_html(result, script.strip()),
                    sources_panel(result.citations, chunks, "conv"))
        except Exception as exc:
            return _fail(exc), sources_panel([], {}, "conv")
