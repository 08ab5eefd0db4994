"""Korean BM25: prefix-aware morphemes, spacing-robust compounds, persistence, filters."""

from rag.keyword import KeywordIndex, char_ngrams, char_terms, tokenize


def test_prefixed_noun_is_its_own_token():
    assert "비급여" in tokenize("비급여 진료비")
    assert "급여" not in tokenize("비급여 진료비")
    assert "비갱신형" in tokenize("비갱신형 보험")
    assert "갱신형" not in tokenize("비갱신형 보험")


def test_compound_matches_with_or_without_space():
    assert "해지환급금" in tokenize("해지환급금")
    assert "해지환급금" in tokenize("해지 환급금이 얼마인가요")


def test_particles_and_endings_are_dropped():
    tokens = tokenize("보험료를 냈는데요")
    assert "보험료" in tokens
    assert not any(t in tokens for t in ("를", "는데요"))


def build(docs: dict[str, str]) -> KeywordIndex:
    return KeywordIndex.build((cid, tokenize(text)) for cid, text in docs.items())


DOCS = {
    "c-급여": "급여 항목은 건강보험이 적용되는 진료다. 본인부담금이 있다.",
    "c-비급여": "비급여 항목은 건강보험이 적용되지 않는 진료로 전액 본인이 부담한다.",
    "c-해지": "해지환급금은 계약을 중도에 해지할 때 돌려받는 금액이다.",
}


def test_search_ranks_the_right_document_first_and_separates_prefixes():
    index = build(DOCS)
    assert index.search("비급여 진료는 뭐예요", 3)[0][0] == "c-비급여"
    assert index.search("급여 항목", 3)[0][0] == "c-급여"
    assert index.search("해지 환급금", 3)[0][0] == "c-해지"
    assert index.search("날씨", 3) == []


def test_character_terms_mark_word_starts_so_a_prefixed_word_does_not_pass_for_its_stem():
    """비급여 holds every character n-gram of 급여; only the word-start terms tell them apart. Without them, the
    document that says 비급여 three times wins a question about 급여."""
    assert char_terms("비급여 진료") == ["비", "급", "여", "비급", "급여", "^비", "^비급", "진", "료", "진료", "^진", "^진료"]
    assert "^급" not in char_ngrams("비급여", (2,))  # the missions' bigram overlap has no start terms
    docs = {"c-급여": "급여 진료는 건강보험이 적용되는 항목이다.", "c-비급여": "비급여 진료비는 비급여 항목이라 비급여 본인이 낸다."}
    index = KeywordIndex.build(((cid, char_terms(text)) for cid, text in docs.items()), "chars")
    assert [cid for cid, _ in index.search("급여 진료가 뭐예요?", 2)] == ["c-급여", "c-비급여"]
    assert index.search("비급여는요?", 2)[0][0] == "c-비급여"


def test_unseen_names_the_nouns_no_chunk_contains():
    index = build(DOCS)
    assert index.unseen("오늘 날씨 어때요?") == ["오늘", "날씨"]
    assert index.unseen("비급여 항목은요?") == []  # a prefixed noun is judged by its bare noun too
    assert index.unseen("그럼 해지하면 돌려받아요?") == []  # verbs are not nouns, and 해지 is in the index
    assert index.unseen("탈 차는요?") == []  # one letter is too little to tell a noun


def test_save_load_roundtrip_and_allowed_filter(tmp_path):
    index = build(DOCS)
    index.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25")
    assert loaded.search("해지 환급금", 3) == index.search("해지 환급금", 3)
    only = loaded.search("건강보험 진료", 3, allowed={"c-급여"})
    assert [cid for cid, _ in only] == ["c-급여"]


def test_empty_index_answers_nothing(tmp_path):
    empty = KeywordIndex.build([])
    empty.save(tmp_path / "e")
    assert KeywordIndex.load(tmp_path / "e").search("보험", 5) == []


def test_title_matcher_prefers_the_longest_name_and_ignores_generic_short_ones():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"갱신형": ["c-갱신"], "비갱신형": ["c-비갱신"], "급여": ["c-급여"], "비급여": ["c-비급여"],
                      "보험료": ["c-보험료"], "kics": ["c-kics"], "고지의무": ["c-알릴"]}, common={"보험료", "급여"})
    assert [c for c, _ in m.match("비갱신형이 뭐예요")] == ["c-비갱신"]
    assert [c for c, _ in m.match("비급여 항목")] == ["c-비급여"]
    assert [c for c, _ in m.match("급여 항목")] == ["c-급여"]
    assert m.match("보험료가 작년보다 왜 이렇게 올랐어요") == []  # a common short name in a long question
    assert [c for c, _ in m.match("보험료")] == ["c-보험료"]
    assert [c for c, _ in m.match("K-ICS 비율")] == ["c-kics"]
    assert [c for c, _ in m.match("고지 의무 위반하면요?")] == ["c-알릴"]
    assert {c for c, _ in m.match("갱신형과 비갱신형 차이")} == {"c-갱신", "c-비갱신"}


def test_the_opposite_of_a_named_term_is_the_prefixed_name_the_query_does_not_say():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"갱신형": ["c-갱신"], "갱신형보험": ["c-갱신"], "비갱신형": ["c-비갱신"], "비갱신형보험": ["c-비갱신"],
                      "급여": ["c-급여"], "비급여": ["c-비급여"], "배당보험": ["c-배당"], "무배당보험": ["c-무배당"],
                      "유배당보험": ["c-유배당"]})
    assert m.opposites("갱신형이 나중에 비싸지냐고 물으면요?") == {"c-비갱신"}
    assert m.opposites("갱신형 보험은 나중에 비싸져요?") == {"c-비갱신"}
    assert m.opposites("급여 항목") == {"c-비급여"}
    assert m.opposites("배당보험은 배당을 꼭 받아요?") == {"c-무배당"}  # 유 adds, it does not negate
    assert m.opposites("비갱신형이 뭐예요") == set()  # the longer name wins; nothing negates it
    assert m.opposites("갱신형과 비갱신형 차이") == set()  # both named: neither is the trap
    # a follow-up that names 비갱신형 after a question about "갱신형 보험" (whose negated alias is 비갱신형보험)
    assert m.opposites("그럼 비갱신형은요? 갱신형 보험은 나중에 어떻게 되나요?") == set()
    # the names a follow-up left behind are set aside too, unless the search text still names them
    assert m.opposites("그럼 비갱신형은요? 은 왜 올라요?", left_out=("갱신형",)) == {"c-갱신"}
    assert m.opposites("그럼 갱신형은요?", left_out=("갱신형",)) == {"c-비갱신"}


def test_a_name_across_words_must_end_where_a_morpheme_ends():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"갱신형": ["c-갱신"], "갱신형보험": ["c-갱신"], "보험료": ["c-료"], "보험자": ["c-자"],
                      "변액보험": ["c-변액"], "종신보험": ["c-종신"]})
    assert m.names_in("갱신형 보험은 왜 올라요?") == ["갱신형보험"]  # 보험 ends a morpheme: the alias stands
    # "갱신형 보험료" holds the alias 갱신형 보험 only by cutting 보험료 in two: it says 갱신형 and 보험료
    assert sorted(m.names_in("갱신형 보험료는 나중에 오르나요?")) == ["갱신형", "보험료"]
    assert m.names_in("변액보험 자산은 따로 관리하나요?") == ["변액보험"]  # not 보험자 across 보험 자산
    assert sorted(m.names_in("종신보험료가 비싸요")) == ["보험료", "종신보험"]  # inside one word both stand


def test_a_name_asked_about_with_request_words_only_is_asked_alone():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"감액기간": ["c-감액"], "면책기간": ["c-면책"], "irp": ["c-irp"]})
    for query in ("감액기간 쉽게 설명해 주세요", "고객이 감액기간 물어보면 어떻게 설명해요?", "감액기간 뜻 좀 알려줘",
                  "IRP가 뭐예요?"):
        assert m.asked_alone(query), query
    for query in ("감액기간이랑 면책기간 차이가 뭐예요?",  # two names
                  "감액기간에 암 진단받으면 얼마 나와요?",  # a situation, not only a request
                  "보험료 쉽게 설명해 주세요"):  # no name at all
        assert not m.asked_alone(query), query


def test_a_request_is_read_with_the_particle_the_name_takes():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"감액기간": ["c-감액"], "보험계약자": ["c-계약자"], "해피콜": ["c-해피콜"]})
    # the name is read as a request word that takes the same particle: "개념을", "용어를" (Kiwi misreads "용어을")
    for query in ("감액기간을 초보자도 이해할 수 있게 쉽게 풀어서 설명해 주세요.", "보험계약자를 고객한테 어떻게 설명하면 좋을까요?",
                  "고객한테 감액기간은 어떻게 설명하면 좋을까요?", "보험계약자는 보험에서 어떤 의미로 쓰이나요?",
                  "감액기간의 핵심 포인트가 뭔가요?",  # 핵심포인트: a compound of two request words
                  "고객님이 감액기간이 뭐냐고 물어보시면 어떻게 답변드려야 하나요?", "감액기간 정의가 어떻게 돼요?",
                  "보험계약자 예시 좀 들어줘", "감액기간에 대해 예를 들어서 설명해 주시겠어요?",
                  "신입이라 감액기간을 잘 모르겠어요. 기초부터 알려주실래요?",
                  "감액기간 설명 좀ㅎㅎ", "아직 감액기간이 감이 안 와요 ㅠㅠ 비유로 설명해 주세요"):  # chat noise asks nothing
        assert m.asked_alone(query), query
    for query in ("감액기간 때문에 보험을 든다던데요",  # 들다 without an example buys insurance
                  "해피콜 답변 미리 알려줘도 됨?"):  # asks whether it may be done: a rule, not the term
        assert not m.asked_alone(query), query


def test_a_common_short_name_counts_only_when_the_query_asks_what_it_is():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"보험료": ["c-료"], "간편심사보험": ["c-간편"]}, common={"보험료"})
    for query in ("보험료가 뭔가요?", "보험료를 쉽게 풀어서 설명해 주세요", "보험료의 핵심 포인트가 뭔가요?", "보험료 얼마예요?"):
        assert m.asked_alone(query) and m.match(query) == [("c-료", 3.0)], query
    # a word of a question on something else, as before; "어때요?" asks how it goes (a chat's aspect), not what it is
    for query in ("보험료 얼마나 올라요?", "보험료는 어때요?", "간편심사보험 보험료가 뭔가요?"):
        assert not m.asked_alone(query) and "c-료" not in dict(m.match(query)), query


def test_a_name_misspelt_in_one_letter_is_found_unless_the_documents_use_that_spelling():
    from rag.titles import TitleMatcher, normalize

    names = {"보험계약": ["c-계약"], "해지환급금": ["c-환급"], "계약해지": ["c-해지"], "해지": ["c-해지만"],
             "고령자보호": ["c-고령"], "뇌졸중": ["c-뇌"], "뇌졸중진단비": ["c-뇌"]}
    m = TitleMatcher(names, text="계약을 해제하면 처음부터 없던 일이 된다. 해지하면 앞으로만 끝난다.",
                     spaced={"고령자보호": {3}, "뇌졸중진단비": {3}})  # written "고령자 보호", "뇌졸중 진단비"
    assert m.names_in("보험게약이 뭐예요?") == ["보험계약"]  # ㅔ for ㅖ
    assert [c for c, _ in m.match("헤지환급금 얼마나 돼요?")] == ["c-환급"]
    assert m.names_in("고렁자 보호가 뭐예요?") == ["고령자보호"]  # across words where the name has its space
    assert m.names_in("고렁 자보호") == [] and m.names_in("보험 게약") == []  # not where it has none
    assert m.names_in("뇌졸증 진단비 얼마예요?") == ["뇌졸중진단비"]  # the longest name still wins
    assert m.names_in("계약해제하면요?") == []  # the documents say 해제: a word of its own, not 해지 misspelt
    assert TitleMatcher({"대위권리": ["c-대위"]}).names_in("대위권이 뭔지") == []  # a particle, not a slip
    assert m.names_in("헤지하면요?") == []  # a two-syllable name is never guessed
    assert m.names_in("보헙게약이 뭐예요?") == []  # two syllables off
    assert m.names_in("보험개약") == ["보험계약"] and m.names_in("보험객약") == []  # one letter off, not two
    assert TitleMatcher(names, text="흔한 오타인 보험게약").names_in("보험게약") == []  # a spelling in use
    assert m.names_in("해지환급금") == ["해지환급금"]  # exact names as before
    assert m.asked_alone("고객이 보험게약 물어보면 어떻게 설명해요?")  # what Kiwi makes of the slip asks nothing
    more = {"재보험": ["c-재"], "입원급여금": ["c-입원"], "고지의무위반": ["c-고지"], "암보험": ["c-암"]}
    n = TitleMatcher(more, text="국제보험자본기준은 … 고객에게 약관을 … 세움보험대리점", spaced={"고지의무위반": {4}})
    assert n.names_in("제보험이 뭐예요?") == ["재보험"]  # 제보험 is inside a word the documents use, not one
    assert n.names_in("입원급어금 얼마예요?") == ["입원급여금"]  # Kiwi reads 어 as an ending: inside a name, a slip
    assert n.names_in("고지이무 위반이 뭐예요?") == ["고지의무위반"]
    o = TitleMatcher({"계약전알릴의무": ["c-알릴"]}, text="고객에게 약관을 드린다", spaced={"계약전알릴의무": {2, 3, 5}})
    assert o.names_in("게약 전 알릴 의무가 뭐예요?") == ["계약전알릴의무"]  # "에게 약관" is two words, not 게약
    assert n.names_in("세움보험대리점 설계사예요") == [] and n.names_in("세음보험대리점") == []  # from a word's start
    assert not m.asked_alone("보험게약 해지하면 얼마 받아요?")


def test_a_misspelt_name_is_respelled_letter_by_letter_and_reported():
    from rag.titles import TitleMatcher, normalize

    names = {"해지환급금": ["c-환급"], "고령자보호": ["c-고령"], "보험계약": ["c-계약"], "K-ICS": ["c-kics"]}
    m = TitleMatcher({normalize(n): ids for n, ids in names.items()}, text=normalize("계약을 해제하면 없던 일이 된다."),
                     spaced={"고령자보호": {3}})
    assert m.respell("고객이 헤지환급금 물어보면?") == ("고객이 해지환급금 물어보면?", {"헤지환급금": "해지환급금"})
    # only the wrong letter changes: the space, the particle and the rest stay as typed
    assert m.respell("고렁자 보호가 뭐예요?") == ("고령자 보호가 뭐예요?", {"고렁자 보호": "고령자 보호"})
    assert m.respell("헤지환급금이랑 보험게약") == ("해지환급금이랑 보험계약",
                                             {"헤지환급금": "해지환급금", "보험게약": "보험계약"})
    for typed in ("해지환급금 얼마예요?", "k-ics 비율", "계약해제하면요?", "날씨 어때요?"):
        assert m.respell(typed) == (typed, {})  # exact names, case, a word the documents use: nothing to fix


def test_a_document_named_by_an_opposite_is_demoted_not_dropped():
    from rag.retrieve import demote_opposites
    from rag.types import Chunk, Hit

    def hit(title, score):
        return Hit(chunk=Chunk(chunk_id=title, doc_id=title, title=title, text=title, source=f"{title}.md",
                               doc_type="term"), score=score)

    hits = [hit("비갱신형", 0.48), hit("갱신형 비교 스크립트", 0.47), hit("갱신형", 0.39)]
    ranked = demote_opposites(hits, {"비갱신형"}, 0.5)
    assert [h.chunk.title for h in ranked] == ["갱신형 비교 스크립트", "갱신형", "비갱신형"]
    assert ranked[-1].score == 0.24
    assert [h.chunk.title for h in demote_opposites(ranked, set(), 0.5)] == [h.chunk.title for h in ranked]


def test_a_two_letter_alias_does_not_match_across_words():
    from rag.titles import TitleMatcher

    m = TitleMatcher({"영배": ["c-영업배상"], "실비": ["c-실손"]})
    assert m.match("수영 배우는데 호흡이 어려워요") == []  # 수영 + 배우는데 holds 영배 only across the space
    assert [c for c, _ in m.match("영배 가입했어요")] == ["c-영업배상"]
    assert [c for c, _ in m.match("4세대실비 보험료")] == ["c-실손"]  # inside one word it still counts


def test_a_short_name_is_common_only_when_chunks_say_it_outside_longer_names():
    """보험자 sits inside 피보험자 in many chunks; alone it is a term a question names (and must count)."""
    from rag.titles import TitleMatcher
    from rag.types import Chunk

    class Docs:
        docs = {"보험자": [], "피보험자": [], "보험료": []}
        texts = ["피보험자가 다쳤어요.", "피보험자 동의가 필요해요.", "보험료를 내요.", "보험료가 올라요.",
                 "피보험자의 나이", "보험료 납입", "피보험자 변경"] * 3 + ["보험자는 보험회사예요."]

        def list_docs(self):
            return [{"doc_id": d, "doc_type": "term", "title": d, "extra": "{}"} for d in self.docs]

        def chunk_ids_of(self, doc_id):
            return [f"c-{doc_id}"]

        def iter_chunks(self):
            return (Chunk(chunk_id=f"x{i}", doc_id="x", text=t, title="x", source="x") for i, t in
                    enumerate(self.texts))

    m = TitleMatcher.from_docstore(Docs())
    assert m.is_common("보험료") and not m.is_common("보험자")
    assert m.names_in("보험자가 보험 든 사람 아니에요?") == ["보험자"]
