"""What the LLM (when one is configured) finds beyond the offline rules: misconceptions in a term explanation (the
entailment check the rules cannot make), and prohibited statements in a sales script said in words no pattern or
classifier example has.

Nothing the model says counts unchecked: a claim or quote must be the partner's own words, a source number one of the
chunks, a code one of the rules asked about; a correction becomes the exact sentence of its chunk that best matches
what the model wrote.
"""

import json
import logging
import re

from pydantic import BaseModel, ValidationError

from rag.cite import best_quote
from rag.missions.common import prompt_sources
from rag.types import Chunk

log = logging.getLogger(__name__)
MIN_CLAIM = 6
JSON_OBJECT = re.compile(r"\{.*\}", re.S)


class Finding(BaseModel):
    claim: str
    source: int
    correction: str = ""


class Verdict(BaseModel):
    misconceptions: list[Finding] = []


class Violation(BaseModel):
    code: str
    quote: str


class Review(BaseModel):
    violations: list[Violation] = []


def find_misconceptions(llm, prompt, term: str, chunks: list[Chunk],
                        explanation: str) -> list[tuple[str, str, int]] | None:
    """(claim, correction, n) for each checked claim; None when the answer is not the JSON asked for.

    A claim is kept only if it is a span of the explanation (spacing aside) and `n` numbers a chunk; the correction is
    always an exact sentence of chunk `n`. Raises LLMUnavailableError when the model is down or too slow.
    """
    text = "".join(llm.stream(prompt.render(term=term, sources=prompt_sources(chunks), explanation=explanation),
                              prompt_version=prompt.ref))
    verdict = _parse(text)
    if verdict is None:
        log.warning("misconception check skipped: the model did not answer with the JSON asked for")
        return None
    found: list[tuple[str, str, int]] = []
    for item in verdict.misconceptions:
        claim = _span_of(item.claim, explanation)
        if claim is None or not 1 <= item.source <= len(chunks):
            log.info("dropped a finding that quotes no part of the explanation or no source: %r", item.claim[:80])
            continue
        if all(claim != c for c, _, _ in found):
            chunk = chunks[item.source - 1]
            found.append((claim, best_quote(item.correction or claim, chunk), item.source))
    return found


def find_violations(llm, prompt, rules: list[dict], lines: list[str]) -> list[tuple[str, int, str]] | None:
    """(code, line index, quoted span) for each checked violation in the partner's `lines`; None when the answer is not
    the JSON asked for. `rules` are dicts with code, rule, message and text (the guideline rule's chunk). A code must
    be one of `rules` and the quote a span of one line (spacing aside); one finding per code, the first.
    Raises LLMUnavailableError when the model is down or too slow."""
    text = "".join(llm.stream(prompt.render(rules=rules, lines=lines), prompt_version=prompt.ref))
    review = _parse(text, Review)
    if review is None:
        log.warning("compliance check skipped: the model did not answer with the JSON asked for")
        return None
    codes = {r["code"] for r in rules}
    found: list[tuple[str, int, str]] = []
    for item in review.violations:
        spans = [(i, span) for i, line in enumerate(lines) if (span := _span_of(item.quote, line))]
        if item.code not in codes or not spans or any(code == item.code for code, _, _ in found):
            log.info("dropped a finding with an unknown code, a quote of no partner line, or a repeated code: %r %r",
                     item.code, item.quote[:80])
            continue
        found.append((item.code, *spans[0]))
    return found


def _parse(text: str, model: type[BaseModel] = Verdict):
    match = JSON_OBJECT.search(text or "")
    if not match:
        return None
    try:
        return model.model_validate(json.loads(match.group()))
    except (json.JSONDecodeError, ValidationError):
        return None


def _span_of(claim: str, explanation: str) -> str | None:
    """The exact text of `explanation` that `claim` quotes, spacing and end punctuation aside; None if it quotes none."""
    words = claim.strip().strip(".?!'\"“”").split()
    if len("".join(words)) < MIN_CLAIM:
        return None
    pattern = r"\s*".join(re.escape(w) for w in words)
    match = re.search(pattern, explanation)
    return match.group() if match else None
