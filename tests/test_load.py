"""Loaders: formats, Korean encodings, and bad files refused with a reason."""

import json
from pathlib import Path

import pytest

from ingest.load import SourceFile, decode_text, discover, load_file
from rag.errors import DocumentError

MB = 1024 * 1024


def src(path: Path) -> SourceFile:
    return SourceFile(path.resolve(), f"docs/{path.name}")


def load(path: Path, max_bytes: int = 20 * MB):
    return load_file(src(path), path.read_bytes(), max_bytes=max_bytes)


def test_markdown_front_matter_becomes_fields(tmp_path):
    f = tmp_path / "갱신형.md"
    f.write_text("---\ntitle: 갱신형\ncategory: 계약 기본\naliases: [갱신 보험, renewable]\nversion: 2\n"
                 "updated: 2026-11-01\n---\n# 갱신형\n\n## 정의\n일정 주기마다 보험료를 다시 계산한다.\n", encoding="utf-8")
    [doc] = load(f)
    assert doc.title == "갱신형"
    assert doc.category == "계약 기본"
    assert doc.aliases == ["갱신 보험", "renewable"]
    assert doc.version == "2" and doc.updated == "2026-11-01"
    assert doc.text.startswith("# 갱신형") and "---" not in doc.text


@pytest.mark.parametrize("encoding", ["cp949", "euc-kr", "utf-8-sig", "utf-16"])
def test_korean_legacy_encodings_decode_without_mojibake(tmp_path, encoding):
    text = "해지환급금은 중도에 해지할 때 돌려받는 돈입니다. 초기에는 적거나 없을 수 있습니다."
    f = tmp_path / "legacy.txt"
    f.write_bytes(text.encode(encoding))
    [doc] = load(f)
    assert doc.text == text


def test_binary_file_is_refused(tmp_path):
    f = tmp_path / "image.md"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(DocumentError, match="binary"):
        load(f)


def test_undecodable_text_is_refused(tmp_path):
    f = tmp_path / "garbage.txt"
    f.write_bytes(bytes([0xC3, 0x28, 0xFF, 0xA0, 0x80, 0x9F]) * 300)
    with pytest.raises(DocumentError, match="decode"):
        load(f)


def test_empty_and_whitespace_files_are_refused(tmp_path):
    f = tmp_path / "empty.md"
    f.write_text("  \n\n", encoding="utf-8")
    with pytest.raises(DocumentError, match="empty"):
        load(f)


def test_oversized_file_is_refused_with_the_limit(tmp_path):
    f = tmp_path / "big.txt"
    f.write_text("보험 " * 2000, encoding="utf-8")
    with pytest.raises(DocumentError, match="PARTNERS_MAX_FILE_MB"):
        load(f, max_bytes=1000)


@pytest.mark.parametrize("front", ["---\ntitle: [unclosed\n---\n본문", "---\ntitle: 제목\n본문만 있고 닫는 줄이 없음",
                                   "---\n- 목록\n- 형식\n---\n본문"])
def test_malformed_front_matter_is_refused(tmp_path, front):
    f = tmp_path / "bad.md"
    f.write_text(front, encoding="utf-8")
    with pytest.raises(DocumentError, match="front matter"):
        load(f)


def test_html_in_text_is_kept_as_text(tmp_path):
    f = tmp_path / "note.md"
    f.write_text("# 안내\n<script>alert('x')</script> 보험료 납입 안내", encoding="utf-8")
    [doc] = load(f)
    assert "<script>alert('x')</script>" in doc.text


def test_csv_rows_become_documents_with_titles(tmp_path):
    f = tmp_path / "faq.csv"
    f.write_text("id,제목,내용\nq1,보험료 납입최고,보험료가 밀리면 회사가 기간을 정해 납입을 알린다.\n"
                 "q2,부활,실효된 계약을 되살리는 절차다.\n", encoding="cp949")
    docs = load(f)
    assert [d.title for d in docs] == ["보험료 납입최고", "부활"]
    assert docs[1].doc_id == "docs/faq.csv#q2"
    assert docs[1].text == "실효된 계약을 되살리는 절차다."


def test_json_and_jsonl_rows(tmp_path):
    rows = [{"title": "승환계약", "text": "기존 계약을 해지하고 새 계약을 맺는 것."}, {"title": "부당승환", "text": "비교 안내 없이 갈아타게 하는 것."}]
    (tmp_path / "a.json").write_text(json.dumps({"documents": rows}, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert [d.title for d in load(tmp_path / "a.json")] == ["승환계약", "부당승환"]
    assert [d.doc_id for d in load(tmp_path / "b.jsonl")] == ["docs/b.jsonl#1", "docs/b.jsonl#2"]


def test_broken_jsonl_names_the_line(tmp_path):
    f = tmp_path / "c.jsonl"
    f.write_text('{"title": "a", "text": "b"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(DocumentError, match="line 2"):
        load(f)


def test_docx_headings_and_paragraphs(tmp_path):
    from docx import Document as Docx

    d = Docx()
    d.add_heading("고지의무 안내", level=1)
    d.add_paragraph("청약서 질문에는 사실대로 답해야 합니다.")
    f = tmp_path / "guide.docx"
    d.save(f)
    [doc] = load(f)
    assert doc.title == "고지의무 안내"
    assert "청약서 질문에는 사실대로 답해야 합니다." in doc.text


def _minimal_pdf(text: str) -> bytes:
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objs, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return out


def test_pdf_text_is_extracted_and_broken_pdf_refused(tmp_path):
    good = tmp_path / "policy.pdf"
    good.write_bytes(_minimal_pdf("Cooling-off period is 15 days"))
    [doc] = load(good)
    assert "Cooling-off period is 15 days" in doc.text
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    with pytest.raises(DocumentError, match="PDF"):
        load(bad)


def test_discover_walks_folders_skips_hidden_and_reports_named_unsupported(tmp_path):
    (tmp_path / "c" / "terms").mkdir(parents=True)
    (tmp_path / "c" / "terms" / "a.md").write_text("x", encoding="utf-8")
    (tmp_path / "c" / ".hidden.md").write_text("x", encoding="utf-8")
    (tmp_path / "c" / "image.png").write_bytes(b"x")
    exe = tmp_path / "tool.exe"
    exe.write_bytes(b"MZ")
    found, unsupported = discover([tmp_path / "c", exe])
    assert [s.source for s in found] == ["c/terms/a.md"]
    assert unsupported == [exe.resolve()]


def test_decode_prefers_utf8_then_cp949():
    assert decode_text("보장개시일".encode("utf-8"), "x") == "보장개시일"
    assert decode_text("보장개시일".encode("cp949"), "x") == "보장개시일"


def test_questions_front_matter_keeps_commas_inside_a_question(tmp_path):
    text = ("---\ntitle: 연납\nquestions:\n  - \"해마다 한 번에 내면, 깎아 줘요?\"\n  - \"월납이랑 뭐가 달라요?\"\n---\n"
            "# 연납\n\n1년치 보험료를 한 번에 내는 방식.")
    path = tmp_path / "연납.md"
    path.write_text(text, encoding="utf-8")
    [doc] = load_file(SourceFile(path=path, source="연납.md"), path.read_bytes(), max_bytes=10**6)
    assert doc.questions == ["해마다 한 번에 내면, 깎아 줘요?", "월납이랑 뭐가 달라요?"]
    assert "questions" not in doc.extra and "깎아" not in doc.text


def test_questions_front_matter_can_map_sections_to_their_questions(tmp_path):
    text = ("---\ntitle: 보험료 부담 반론\nquestions:\n  반론 처리:\n    - \"고객이 비싸다고 하면요?\"\n"
            "  G14-4:\n    - \"반론은 어떤 순서로 받아요?\"\n---\n# 보험료 부담 반론\n\n## 반론 처리\n설계사: 공감부터 해요.\n")
    path = tmp_path / "s.md"
    path.write_text(text, encoding="utf-8")
    [doc] = load_file(SourceFile(path=path, source="corpus/scripts/s.md"), path.read_bytes(), max_bytes=10**6)
    assert doc.questions == []
    assert doc.section_questions == {"반론 처리": ["고객이 비싸다고 하면요?"], "G14-4": ["반론은 어떤 순서로 받아요?"]}
    assert "questions" not in doc.extra
