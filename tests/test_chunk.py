"""Chunking: short documents stay whole, long ones split on headers and Korean sentence ends; ids are stable."""

from ingest.chunk import chunk_document
from rag.types import Document


def doc(text: str, **kw) -> Document:
    return Document(doc_id="corpus/x.md", source="corpus/x.md", title="테스트 문서", text=text, **kw)


def test_short_document_stays_one_chunk():
    text = "# 해지환급금\n\n## 정의\n중도에 해지하면 돌려받는 돈이다.\n\n## 핵심 포인트\n- 초기에는 적다."
    [chunk] = chunk_document(doc(text), size=1500, overlap=150)
    assert chunk.text == text
    assert chunk.doc_id == "corpus/x.md" and chunk.title == "테스트 문서"


def test_long_document_splits_on_headers_with_section_names():
    rules = "\n\n".join(f"### G03-{i}. 규칙 {i}\n" + f"규칙 {i}의 설명 문장이다. " * 20 for i in range(1, 5))
    text = "# G03 부당권유\n\n## 목적\n" + "목적을 설명하는 문장이다. " * 10 + "\n\n## 규칙\n" + rules
    chunks = chunk_document(doc(text), size=500, overlap=50)
    sections = [c.section for c in chunks]
    assert "목적" in sections
    assert [s for s in sections if s.startswith("G03-")] == [f"G03-{i}. 규칙 {i}" for i in range(1, 5)]
    assert all(len(c.text) <= 500 for c in chunks)
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


def test_recursive_split_keeps_korean_sentence_endings():
    text = "## 대화\n" + "".join(f"설계사는 {i}번째 문장에서 중요한 내용을 설명했다. " for i in range(60))
    chunks = chunk_document(doc(text), size=300, overlap=0)
    assert len(chunks) > 3
    for c in chunks[1:]:
        assert c.text.startswith("설계사는"), c.text[:20]
        assert c.text.endswith("했다."), c.text[-20:]


def test_chunk_ids_are_stable_and_change_only_with_content():
    text = "## 가\n" + "가 문단의 문장이다. " * 40 + "\n\n## 나\n" + "나 문단의 문장이다. " * 40
    a = chunk_document(doc(text), size=400, overlap=0)
    b = chunk_document(doc(text), size=400, overlap=0)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    edited = text.replace("나 문단의 문장이다. ", "나 문단을 고친 문장이다. ", 1)
    c = chunk_document(doc(edited), size=400, overlap=0)
    same = {x.chunk_id for x in a} & {x.chunk_id for x in c}
    assert 0 < len(same) < len(a)


def test_repeated_identical_pieces_get_distinct_ids():
    text = "### 점검\n같은 문장이 반복된다. " * 3 + "\n\n### 점검\n" + "같은 문장이 반복된다. " * 3
    chunks = chunk_document(doc("# 제목\n\n" + text * 4), size=100, overlap=0)
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_questions_ride_on_the_first_chunk_and_change_its_id():
    rules = "\n\n".join(f"## 절 {i}\n" + f"절 {i}의 설명 문장이다. " * 30 for i in range(1, 4))
    plain = chunk_document(doc(rules), size=400, overlap=40)
    asked = chunk_document(doc(rules, questions=["설명 절은 몇 개예요?"]), size=400, overlap=40)
    assert len(asked) == len(plain) > 1
    assert asked[0].questions == ["설명 절은 몇 개예요?"] and all(c.questions == [] for c in asked[1:])
    assert "설명 절은 몇 개예요?" in asked[0].embed_text() and "설명 절은 몇 개예요?" in asked[0].keyword_text()
    assert "몇 개예요" not in asked[0].text  # never quoted as an answer
    assert asked[0].chunk_id != plain[0].chunk_id  # a new vector is made when the questions change
    assert [c.chunk_id for c in asked[1:]] == [c.chunk_id for c in plain[1:]]


def test_a_section_s_questions_ride_on_that_section_s_first_chunk(caplog):
    rules = "\n\n".join(f"### G03-{i}. 규칙 {i}\n" + f"규칙 {i}의 설명 문장이다. " * 20 for i in range(1, 4))
    text = "# G03 부당권유\n\n## 목적\n" + "목적을 설명하는 문장이다. " * 10 + "\n\n## 규칙\n" + rules
    sections = {"G03-2": ["두 번째 규칙은 뭐예요?"], "목적": ["이 지침은 왜 있어요?"], "없는 절": ["어디로 가요?"]}
    chunks = chunk_document(doc(text, questions=["문서 질문"], section_questions=sections), size=500, overlap=50)
    by_section = {c.section: c.questions for c in chunks if c.questions}
    assert chunks[0].questions[0] == "문서 질문" and "어디로 가요?" in chunks[0].questions  # unknown key: first chunk
    assert by_section["G03-2. 규칙 2"] == ["두 번째 규칙은 뭐예요?"]
    assert "이 지침은 왜 있어요?" in by_section["목적"]
    assert "G03-1. 규칙 1" not in by_section and "G03-3. 규칙 3" not in by_section
    assert "없는 절" in caplog.text


def test_a_one_chunk_document_carries_all_its_section_questions():
    [chunk] = chunk_document(doc("# 짧은 문서\n\n## 반론 처리\n짧다.", section_questions={"반론 처리": ["비싸다고 하면요?"]}),
                             size=1500, overlap=150)
    assert chunk.questions == ["비싸다고 하면요?"]


def test_character_ngrams_see_a_term_s_questions_but_not_a_script_s():
    text = "# 제목\n\n## 반론 처리\n설계사: 공감부터 해요."
    term = chunk_document(doc(text, doc_type="term", questions=["비싸다고 하면요?"]), size=1500, overlap=0)[0]
    script = chunk_document(doc(text, doc_type="script", questions=["비싸다고 하면요?"]), size=1500, overlap=0)[0]
    assert "비싸다고" in term.char_text() and "비싸다고" in term.keyword_text()
    assert "비싸다고" not in script.char_text() and "비싸다고" in script.keyword_text()
