"""The shipped corpus: every spec term, ≥40 scripts, ≥15 guidelines with numbered rules, all well-formed."""

import re
from pathlib import Path

import pytest

from ingest.load import SourceFile, load_file

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SPEC = ROOT.parent / "shared" / "spec" / "terms.tsv"
TERM_SECTIONS = ["## 정의", "## 핵심 포인트", "## 고객에게 설명하는 예시", "## 자주 하는 오해"]
STAGES = {"오프닝", "니즈 환기", "니즈 파악", "상품 설명", "반론 처리", "클로징", "계약 후 관리"}
RULE = re.compile(r"^### (G\d\d-\d+)\. ", re.M)


def load_all(folder: str):
    docs = []
    for path in sorted((CORPUS / folder).glob("*.md")):
        [doc] = load_file(SourceFile(path, f"corpus/{folder}/{path.name}"), path.read_bytes(), max_bytes=1 << 20)
        docs.append(doc)
    return docs


def spec_terms() -> dict[str, str]:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} is not beside the repository (CI and developer machines have it)")
    rows = [line.split("\t") for line in SPEC.read_text(encoding="utf-8").splitlines()[1:] if line.strip()]
    return {term: category for category, term in rows}


def test_every_spec_term_has_exactly_one_document_with_its_category():
    spec = spec_terms()
    docs = load_all("terms")
    titles = [d.title for d in docs]
    assert len(spec) == 320
    assert sorted(set(spec) - set(titles)) == []
    assert len(titles) == len(set(titles)), "two term files share a title"
    wrong = {d.title: d.category for d in docs if d.title in spec and d.category != spec[d.title]}
    assert wrong == {}


def test_term_documents_have_the_sections_length_and_front_matter():
    spec = spec_terms()
    problems = []
    for doc in load_all("terms"):
        missing = [s for s in TERM_SECTIONS if s not in doc.text]
        if missing or not 600 <= len(doc.text) <= 1500:
            problems.append((doc.title, missing, len(doc.text)))
        if not doc.aliases or not doc.version or not doc.updated or "source" not in doc.extra:
            problems.append((doc.title, "front matter"))
        if any(a in spec and a != doc.title for a in doc.aliases):
            problems.append((doc.title, "alias is another term's title"))
        if any(r not in spec for r in doc.related):
            problems.append((doc.title, "related names an unknown term"))
    assert problems == []


def test_guidelines_have_numbered_rules():
    docs = load_all("guidelines")
    assert len(docs) >= 15
    for doc in docs:
        code = doc.extra.get("code", "")
        rules = RULE.findall(doc.text)
        assert len(rules) >= 5, doc.title
        assert all(r.startswith(code + "-") for r in rules), (doc.title, rules)
    codes = [d.extra["code"] for d in docs]
    assert len(codes) == len(set(codes))


def test_scripts_are_dialogues_that_cite_existing_rules():
    rules = {r for doc in load_all("guidelines") for r in RULE.findall(doc.text)}
    docs = load_all("scripts")
    assert len(docs) >= 40
    products = set()
    for doc in docs:
        assert {"scenario", "product", "stages"} <= set(doc.extra) or doc.category, doc.title
        assert 1500 <= len(doc.text) <= 4000, (doc.title, len(doc.text))
        assert doc.text.count("설계사:") >= 5 and doc.text.count("고객:") >= 4, doc.title
        points = doc.text.split("## 포인트")[-1]
        cited = set(re.findall(r"G\d\d-\d+", points))
        assert cited and cited <= rules, (doc.title, cited - rules)
        products.add(doc.category)
    assert len(products) >= 10


def test_scripts_cover_the_required_situations():
    text = " ".join(f"{d.title} {d.extra.get('scenario', '')} {d.extra.get('persona', '')} {d.category}"
                    for d in load_all("scripts"))
    for must in ("종신", "정기", "실손", "암", "CI", "치매", "연금", "저축", "어린이", "운전자", "자동차", "화재",
                 "승환", "유병자", "거절", "고령"):
        assert must in text, must


def test_every_term_document_lists_questions_in_users_words():
    problems = []
    for doc in load_all("terms"):
        without_title = [q for q in doc.questions if doc.title not in q]
        if len(doc.questions) < 15 or len(without_title) < 11 or any(not 10 <= len(q) <= 90 for q in doc.questions):
            problems.append((doc.title, len(doc.questions), len(without_title)))
        if len(set(doc.questions)) != len(doc.questions):
            problems.append((doc.title, "a question listed twice"))
        if any(q in doc.text for q in doc.questions):
            problems.append((doc.title, "a question copied from the body"))
    assert problems == []


@pytest.mark.parametrize("folder", ["scripts", "guidelines"])
def test_scripts_and_guidelines_list_questions_per_section_under_real_headings(folder):
    """Each section's questions are keyed by a heading of the document (a guideline rule by its code), so they ride
    on that section's chunk; a key naming no heading would silently land on the first chunk."""
    problems = []
    for doc in load_all(folder):
        headings = re.findall(r"^#{2,3} (.+)$", doc.text, re.M)
        codes = {h.split(".")[0] for h in headings}
        for key, questions in doc.section_questions.items():
            if key not in headings and key not in codes:
                problems.append((doc.source, key, "no such heading"))
            if any(not 10 <= len(q) <= 90 or q in doc.text for q in questions):
                problems.append((doc.source, key, "a question too short, too long or copied from the body"))
        if sum(map(len, doc.section_questions.values())) < 10:
            problems.append((doc.source, "fewer than 10 questions"))
    assert problems == []


def test_every_gold_of_the_retrieval_sets_names_a_shipped_document():
    """A renamed or removed document would otherwise silently count as a miss in `partners eval`."""
    from eval.run import dataset_path, load_questions, retrieval_datasets

    names = set()
    for folder in ("terms", "guidelines", "scripts"):
        for doc in load_all(folder):
            names |= {doc.title, doc.source, doc.source.rsplit("/", 1)[-1]}
    for name in retrieval_datasets():
        unknown = {g for q in load_questions(dataset_path(name)) for g in q.gold} - names
        assert not unknown, f"{name}: {sorted(unknown)[:5]}"
