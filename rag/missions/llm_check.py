"""Misconceptions found by the LLM (when one is configured): the entailment check the offline rules cannot make.

The model reads the definition chunks and the explanation and names the claims that contradict them. Nothing it says
counts unchecked: a claim must be the partner's own words, the source number one of the chunks, and the correction
becomes the exact sentence of that chunk that best matches what the model wrote.
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


def _parse(text: str) -> Verdict | None:
    match = JSON_OBJECT.search(text or "")
    if not match:
        return None
    try:
        return Verdict.model_validate(json.loads(match.group()))
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
