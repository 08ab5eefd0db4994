"""Conversation mission: a sales script gets stage scores, compliance findings citing guideline rules, and coaching."""

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import yaml
from pydantic import BaseModel

from rag.cite import PARTNER_NAMES, SPEAKER, Citation, best_quote
from rag.errors import InputValidationError
from rag.missions.common import check_length, llm_feedback, with_particle
from rag.missions.llm_check import find_violations
from rag.missions.statements import get_classifier
from rag.prompt import load_prompt
from rag.keyword import tokenize
from rag.retrieve import Retriever, chunk_label
from rag.types import Chunk

log = logging.getLogger(__name__)

MIN_CHARS, MAX_CHARS = 50, 3000
RULES_FILE = Path(__file__).with_name("compliance.yaml")
PRODUCT_WORDS = [  # (pattern in the script, product); the first match wins
    (r"유병자|간편심사|간편보험", "유병자"), (r"치매|간병", "간병·치매"), (r"치아", "치아"), (r"CI|중대한 질병", "CI"),
    (r"암\s*보험|암 진단비|^암$", "암"), (r"실손|실비", "실손"), (r"변액", "변액"), (r"연금", "연금"), (r"저축보험", "저축"),
    (r"종신", "종신"), (r"정기보험", "정기"), (r"태아|어린이", "어린이"), (r"운전자", "운전자"), (r"여행자", "여행자"),
    (r"화재", "화재"), (r"자동차보험", "자동차"), (r"펫|반려", "펫"), (r"종합", "종합"), (r"건강보험|건강", "건강"),
]


MIN_SENTENCE = 8  # characters: shorter sentences are neither classified nor learned from
# "갱신형 특약은 넣지 않았어요" / "갱신형은 아니에요" says what is not sold
RENEWABLE_SALE = re.compile(r"(?<!비)갱신형(?!인지|이거나|일 ?수|이든|일지|인가)"
                            r"(?![^.?!\n]{0,12}(넣지 않|안 넣|없어|없습|아니에|아닙|아니고))")


class Utterance(BaseModel):
    speaker: str  # "설계사" or "고객"
    text: str
    start: int  # offsets in the submitted script
    end: int


class Evidence(BaseModel):
    quote: str  # exact substring of the script
    start: int
    end: int


class StageScore(BaseModel):
    stage: str
    score: int | None  # None: the stage does not occur (no objection to handle)
    met: list[str]
    missed: list[str]
    evidence: list[Evidence]


class Finding(BaseModel):
    code: str
    kind: str  # "prohibited" or "missing"
    rule: str  # guideline rule code, e.g. G03-2
    rule_title: str
    message: str
    evidence: Evidence | None = None
    n: int  # citation number of the rule; 0 when its guideline is not in the index (no citation)
    # "pattern" (compliance.yaml), "classifier" (rag/missions/statements.py) or "llm" (the configured model's check)
    detector: str = "pattern"
    confidence: float | None = None  # the classifier's probability


class Suggestion(BaseModel):
    for_code: str
    text: str  # a line of a model script, exact
    n: int


class ConversationResult(BaseModel):
    score: int
    grade: str
    product: str
    renewable: bool
    stages: list[StageScore]
    findings: list[Finding]
    suggestions: list[Suggestion]
    feedback: str
    citations: list[Citation]
    generator: str = "extractive"
    prompt_version: str = "conversation_rubric@1.0"
    rules_version: str = ""
    compliance_check: str = "rules"  # "rules+openai:<model>" when the configured LLM also checked the partner's lines
    check_prompt_version: str | None = None


class Scenario(BaseModel):
    name: str
    product: str
    persona: str = ""
    situation: str = ""
    title: str = ""


@lru_cache(maxsize=1)
def load_rules() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


def parse_script(script: str) -> list[Utterance]:
    """Speaker-labelled lines; unlabelled text counts as the partner's (a monologue script)."""
    out: list[Utterance] = []
    pos = 0
    for line in script.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = SPEAKER.match(body)
        speaker = "설계사"
        offset = 0
        if match:
            speaker = "고객" if match.group(1) in ("고객", "손님") else "설계사"
            offset = match.end()
        elif out and not body.strip().startswith("###"):
            speaker = out[-1].speaker if body.strip() else speaker
        text = body[offset:].strip()
        if text and not text.startswith("#"):
            start = pos + body.index(text, offset)
            out.append(Utterance(speaker=speaker, text=text, start=start, end=start + len(text)))
        pos += len(line)
    return out


class ConversationMission:
    def __init__(self, retriever: Retriever, llm=None) -> None:
        self.retriever = retriever
        self.llm = llm
        self.rules = load_rules()
        self._rule_chunks = self._index_rules()
        self._compliant: list[str] | None = None
        self._threshold = self.rules.get("classifier", {}).get("threshold")  # None: patterns only

    def _index_rules(self) -> dict[str, Chunk]:
        docstore = self.retriever.index.docstore
        found: dict[str, Chunk] = {}
        for chunk in docstore.get_chunks(sorted(docstore.chunk_ids_where(["guideline"], None))).values():
            match = re.match(r"(G\d{2}-\d+)\.", chunk.section or "")
            if match:
                found[match.group(1)] = chunk
        return found

    def scenarios(self) -> list[Scenario]:
        """The model scripts' scenarios: what a partner can practise."""
        import json

        out = []
        for doc in self.retriever.index.docstore.list_docs():
            if doc["doc_type"] == "script":
                extra = json.loads(doc.get("extra") or "{}").get("extra", {})
                out.append(Scenario(name=extra.get("scenario", doc["title"]), product=extra.get("product", ""),
                                    persona=extra.get("persona", ""), title=doc["title"]))
        return sorted(out, key=lambda s: s.name)

    def find_scenario(self, name: str) -> Scenario | None:
        for scenario in self.scenarios():
            if name in (scenario.name, scenario.title):
                return scenario
        return None

    def review(self, script: str, *, scenario: str | None = None, product: str | None = None,
               renewable: bool | None = None) -> ConversationResult:
        """Review a script (50-3,000 characters); `scenario` (a model script's scenario) or `product` sets the product."""
        script = check_length(script, "script", MIN_CHARS, MAX_CHARS, "script")
        utterances = parse_script(script)
        partner = [u for u in utterances if u.speaker == "설계사"]
        if not partner:
            raise InputValidationError("The script has no partner lines. Start lines with '설계사:' and '고객:'.",
                                       field="script", limit=(MIN_CHARS, MAX_CHARS), reason="no_partner_lines")
        if scenario and not product:
            found = self.find_scenario(scenario)
            if found is None:
                names = ", ".join(s.name for s in self.scenarios()[:8])
                raise InputValidationError(f"No scenario {scenario!r}. Some scenarios: {names} …", field="scenario",
                                           reason="unknown_scenario")
            product = found.product
        product = normalize_product(product) if product else infer_product(script)
        if renewable is None:  # the partner calls what they sell 갱신형; "경쟁 상품이 갱신형이거나/인지" is not that
            renewable = product == "실손" or any(RENEWABLE_SALE.search(u.text) for u in partner)
        prohibited = self._prohibited(partner)
        by_llm, check, llm_up = self._llm_prohibited(partner, {f.code for f in prohibited})
        prohibited += by_llm
        # a sentence that broke a rule is not evidence of an explanation ("갱신돼도 보험료 안 올라요" is no 갱신 안내)
        explained = "\n".join(s for u in partner for s, _ in _sentences(u.text)
                              if not any(f.evidence and s in f.evidence.quote for f in prohibited))
        findings = prohibited + self._missing(explained, script, product, renewable)
        citations: list[Citation] = []
        numbers: dict[str, int] = {}

        def cite(chunk: Chunk, quote: str) -> int:
            if chunk.chunk_id not in numbers:
                numbers[chunk.chunk_id] = len(numbers) + 1
                citations.append(Citation.of(numbers[chunk.chunk_id], chunk, quote))
            return numbers[chunk.chunk_id]

        for finding in findings:
            chunk = self._rule_chunks.get(finding.rule)
            if chunk is not None:
                finding.rule_title = chunk.section
                finding.n = cite(chunk, best_quote(finding.message, chunk))
        suggestions = self._suggestions(findings, product, cite)
        broken = [(f.evidence.start, f.evidence.end) for f in findings if f.evidence is not None]
        stages = score_stages(utterances, self.rules["stages"], broken)
        applicable = [s.score for s in stages if s.score is not None]
        stage_avg = sum(applicable) / len(applicable) if applicable else 0.0
        prohibited = sum(f.kind == "prohibited" for f in findings)
        missing = sum(f.kind == "missing" for f in findings)
        score = max(0, min(100, round(0.6 * stage_avg + 40 - 12 * prohibited - 8 * missing)))
        result = ConversationResult(score=score, grade=_grade(score), product=product or "", renewable=renewable,
                                    stages=stages, findings=findings, suggestions=suggestions,
                                    feedback=_feedback(findings, stages, suggestions), citations=citations,
                                    rules_version=f"compliance@{self.rules['version']}")
        if check:
            result.compliance_check, result.check_prompt_version = f"rules+{self.llm.name}", check
        if llm_up and citations:  # a model that just failed the check is not waited for twice
            prompt = load_prompt("conversation_feedback")
            chunks = self.retriever.index.docstore.get_chunks([c.chunk_id for c in citations])
            sources = [{"n": c.n, "label": chunk_label(chunks[c.chunk_id]), "text": chunks[c.chunk_id].text}
                       for c in citations if c.chunk_id in chunks]
            text = llm_feedback(self.llm, prompt, {"sources": sources, "script": script,
                                                   "findings": [f"{f.rule} {f.message}" for f in findings]},
                                len(citations))
            if text:
                result.feedback, result.generator, result.prompt_version = text, self.llm.name, prompt.ref
        return result

    def _prohibited(self, partner: list[Utterance]) -> list[Finding]:
        negation = re.compile(self.rules["negation_after"])
        findings: list[Finding] = []
        for rule in self.rules["prohibited"]:
            unless = re.compile(rule["unless"]) if rule.get("unless") else None
            hit = None
            for u in partner:
                for sentence, s_start in _sentences(u.text):
                    if unless and unless.search(sentence):
                        continue
                    for pattern in rule["patterns"]:
                        m = re.search(pattern, sentence)
                        if m and not negation.search(_clause_after(sentence, m.end())):
                            hit = Evidence(quote=sentence, start=u.start + s_start, end=u.start + s_start + len(sentence))
                            break
                    if hit:
                        break
                if hit:
                    break
            if hit:
                findings.append(Finding(code=rule["code"], kind="prohibited", rule=rule["rule"], rule_title="",
                                        message=rule["message"], evidence=hit, n=0))
        return findings + self._classified(partner, {f.code for f in findings})

    def _llm_prohibited(self, partner: list[Utterance], found: set[str]) -> tuple[list[Finding], str | None, bool]:
        """Prohibited statements the LLM finds for the codes the offline checks did not (llm_check.py), the check's
        prompt version when the model answered in JSON, and whether the model is up. Without an LLM: nothing."""
        from rag.llm import LLMUnavailableError

        if self.llm is None:
            return [], None, False
        rules = [r for r in self.rules["prohibited"] if r["code"] not in found]
        if not rules:
            return [], None, True
        prompt = load_prompt("conversation_check")
        asked = [{"code": r["code"], "rule": r["rule"], "message": r["message"],
                  "text": self._rule_chunks[r["rule"]].text if r["rule"] in self._rule_chunks else ""} for r in rules]
        try:
            hits = find_violations(self.llm, prompt, asked, [u.text for u in partner])
        except LLMUnavailableError as exc:
            log.warning("compliance check skipped, the offline checks alone review: %s", exc)
            return [], None, False
        if hits is None:
            return [], None, True
        by_code = {r["code"]: r for r in rules}
        findings = []
        for code, i, span in hits:
            u = partner[i]
            start = u.text.index(span)
            # the evidence is the whole sentence(s) the quote is in, as for the offline checks
            covering = [(s, at) for s, at in _sentences(u.text) if at < start + len(span) and start < at + len(s)]
            first, last = (covering[0][1], covering[-1][1] + len(covering[-1][0])) if covering else (start,
                                                                                                  start + len(span))
            rule = by_code[code]
            findings.append(Finding(code=code, kind="prohibited", rule=rule["rule"], rule_title="",
                                    message=rule["message"], n=0, detector="llm",
                                    evidence=Evidence(quote=u.text[first:last], start=u.start + first,
                                                      end=u.start + last)))
        return findings, prompt.ref, True

    def warm_up(self) -> None:
        """Train the statement classifier now rather than on the first review (~1.5 s)."""
        if self._threshold:
            get_classifier(self._model_script_lines())

    def _classified(self, partner: list[Utterance], found: set[str]) -> list[Finding]:
        """New wordings of prohibited statements: the classifier's first sentence per code it is very sure of."""
        classifier = get_classifier(self._model_script_lines()) if self._threshold else None
        if classifier is None:
            return []
        # a sentence of a few letters ("안 돼요.") carries no claim of its own
        sentences = [(u, s, start) for u in partner for s, start in _sentences(u.text) if len(s) >= MIN_SENTENCE]
        rules = {r["code"]: r for r in self.rules["prohibited"] if r["code"] not in found}
        findings: dict[str, Finding] = {}
        for (u, sentence, start), probs in zip(sentences, classifier.predict([s for _, s, _ in sentences])):
            code, p = max(probs.items(), key=lambda kv: kv[1])
            rule = rules.get(code)
            if rule is None or code in findings or p < self._threshold:
                continue
            if rule.get("unless") and re.search(rule["unless"], sentence):
                continue
            if rule.get("classifier_needs") and not re.search(rule["classifier_needs"], sentence):
                continue  # on the topic, but without what the claim is about ("3년마다 갱신돼요" promises nothing)
            findings[code] = Finding(code=code, kind="prohibited", rule=rule["rule"], rule_title="",
                                     message=rule["message"], n=0, detector="classifier", confidence=round(p, 3),
                                     evidence=Evidence(quote=sentence, start=u.start + start,
                                                       end=u.start + start + len(sentence)))
        return list(findings.values())

    def _model_script_lines(self) -> list[str]:
        """The partner's sentences in the indexed model scripts: compliant examples for the classifier."""
        if self._compliant is None:
            docstore = self.retriever.index.docstore
            chunks = docstore.get_chunks(sorted(docstore.chunk_ids_where(["script"], None))).values()
            self._compliant = [s for c in chunks for line in _partner_lines(c.text)
                               for s, _ in _sentences(line) if len(s) >= MIN_SENTENCE]
        return self._compliant

    def _missing(self, partner_text: str, script: str, product: str, renewable: bool) -> list[Finding]:
        if not re.search(self.rules["closing"], partner_text):
            return []  # no contract is being closed yet: nothing is due
        findings = []
        for rule in self.rules["required"]:
            products = rule.get("products", [])
            applies = products == "all" or product in products
            if rule.get("renewable") and renewable:
                applies = True
            if not applies and rule.get("also_when") and product in rule.get("also_products", []):
                applies = bool(re.search(rule["also_when"], script))
            if applies and not any(re.search(p, partner_text) for p in rule["evidence"]):
                findings.append(Finding(code=rule["code"], kind="missing", rule=rule["rule"], rule_title="",
                                        message=rule["message"], n=0))
        return findings

    def _suggestions(self, findings: list[Finding], product: str, cite) -> list[Suggestion]:
        """For each finding, the line of a model script that shows how to say it."""
        queries = {r["code"]: r["suggestion_query"] for r in self.rules["prohibited"] + self.rules["required"]}
        out: list[Suggestion] = []
        for finding in findings[:4]:
            query = f"{product} {queries.get(finding.code, finding.message)}".strip()
            hits = self.retriever.search(query, k=5, doc_types=["script"]).hits
            if not hits:
                continue
            said = {s.text for s in out}  # two findings may ask for the same line: each suggestion says something new
            words = set(tokenize(query))
            # a line the partner says in a model script, not the script's checklist or situation notes
            for hit in hits:
                if lines := [s for s in _partner_lines(hit.chunk.text) if s not in said]:
                    chunk, line = hit.chunk, max(lines, key=lambda s: len(words & set(tokenize(s))))
                    break
            else:
                chunk = hits[0].chunk
                line = best_quote(query, chunk)
                if line in said:
                    continue
            out.append(Suggestion(for_code=finding.code, text=line, n=cite(chunk, line)))
        return out


def normalize_product(product: str) -> str:
    """Product names as people write them ("치매/간병", "암보험") to the names the rules use ("간병·치매", "암")."""
    return infer_product(product) or infer_product(product + "보험") or product.strip()


def infer_product(script: str) -> str:
    for pattern, product in PRODUCT_WORDS:
        if re.search(pattern, script):
            return product
    return ""


def score_stages(utterances: list[Utterance], stages: list[dict],
                 broken: Sequence[tuple[int, int]] = ()) -> list[StageScore]:
    """Each stage's checks against the partner's lines. A match inside a sentence that broke a rule (`broken`: script
    offsets of the findings' evidence) earns nothing: "원금 보장이 되니까 무조건 이득이에요" explains no 보장."""
    partner = [u for u in utterances if u.speaker == "설계사"]

    def meets(pattern: str, u: Utterance) -> bool:
        return any(not any(a <= u.start + m.start() < b for a, b in broken) for m in re.finditer(pattern, u.text))

    out = []
    for stage in stages:
        pool = partner
        if stage.get("objection"):
            objection = re.compile(stage["objection"])
            first = next((i for i, u in enumerate(utterances) if u.speaker == "고객" and objection.search(u.text)), None)
            if first is None:
                out.append(StageScore(stage=stage["name"], score=None, met=[], missed=[], evidence=[]))
                continue
            pool = [u for u in utterances[first + 1 : first + 7] if u.speaker == "설계사"]
        met, missed, evidence, score = [], [], [], 0
        for check in stage["checks"]:
            found = next((u for u in pool if meets(check["pattern"], u)), None)
            if found:
                met.append(check["label"])
                score += check["points"]
                if all(e.start != found.start for e in evidence):
                    evidence.append(Evidence(quote=found.text, start=found.start, end=found.end))
            else:
                missed.append(check["label"])
        out.append(StageScore(stage=stage["name"], score=score, met=met, missed=missed, evidence=evidence))
    return out


def _partner_lines(text: str) -> list[str]:
    """What the partner says in a model script: lines labelled 설계사 (FC, 파트너, 상담사), without the label."""
    return [line[m.end():].strip() for line in text.splitlines()
            if (m := SPEAKER.match(line)) and m.group(1) in PARTNER_NAMES and line[m.end():].strip()]


def _sentences(text: str) -> list[tuple[str, int]]:
    out = []
    for m in re.finditer(r"[^.?!\n]+[.?!]*", text):
        if m.group().strip():
            lead = len(m.group()) - len(m.group().lstrip())
            out.append((m.group().strip(), m.start() + lead))
    return out


def _clause_after(sentence: str, end: int) -> str:
    """The rest of the clause after a match: where Korean puts the negation ("…보장되는 건 아니에요")."""
    rest = sentence[end:]
    cut = re.search(r",|(?<=고)\s|(?<=데)\s|(?<=니까)\s|(?<=서)\s", rest)
    return rest[: cut.start()] if cut and cut.start() > 12 else rest[:40]


def _grade(score: int) -> str:
    return "우수" if score >= 85 else "양호" if score >= 70 else "보완 필요" if score >= 45 else "재학습 필요"


def _feedback(findings: list[Finding], stages: list[StageScore], suggestions: list[Suggestion]) -> str:
    lines = []
    best = max((s for s in stages if s.score is not None), key=lambda s: s.score, default=None)
    if best and best.met:
        lines.append(f"잘한 점: {best.stage} 단계에서 {with_particle(best.met[0], '이', '가')} 좋았어요.")
    for f in findings[:4]:
        marker = f" [{f.n}]" if f.n else ""  # 0: the rule's guideline is not in the index
        lines.append(f"{'금지 표현' if f.kind == 'prohibited' else '빠진 안내'}: {f.message}{marker}")
    for s in suggestions[:2]:
        lines.append(f"이렇게 말해 보세요: \"{s.text}\" [{s.n}]")
    weakest = min((s for s in stages if s.score is not None), key=lambda s: s.score, default=None)
    if weakest and weakest.missed:
        lines.append(f"보완할 단계: {weakest.stage} — {', '.join(weakest.missed)}")
    return "\n".join(lines)
