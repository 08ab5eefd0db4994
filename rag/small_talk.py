"""Small talk in the chat (thanks, a greeting, a word to the assistant itself) and its replies."""

import re

from rag.keyword import get_kiwi

# Kiwi forms (verb stems without 다, nouns; "넌", "네가", "니가" are read as 너 / 니)
ADDRESSEE = frozenset("너 니 당신 자네".split())
MACHINE = frozenset("ai gpt chatgpt 챗gpt 챗봇 봇 로봇 인공지능".split())
# with a machine word, only these ask what the assistant is ("이거 사람이 답하는 거예요 AI예요?"); "AI가 보험료 계산해요?"
# asks about insurance
WHAT_IT_IS = frozenset("사람 이거 이것 이건 여기 답 대답 진짜 혹시 같 아니 맞 누구 다르 거 실제 아님".split())
THANKS = frozenset("고맙 감사 땡큐 ㄳ ㄱㅅ thank thanks 고마움".split())
HELLO = frozenset("안녕 반갑 뵙".split())
BYE = frozenset("수고 안녕히 보내 들어가".split())  # 수고하세요, 안녕히 계세요, 좋은 하루 보내세요
# words that may come with thanks, a greeting or a goodbye without asking anything ("감사합니다! 덕분에 이해됐어요",
# "설명 감사해요", "안녕히 계세요": Kiwi reads 계 as a noun)
COURTESY = frozenset("덕분 도움 이해 알 되 많이 정말 진짜 너무 잘 오늘 하루 좋 또 다음 이제 답변 설명 친절 최고 대박 완전 "
                     "굿 저 제 나 우리 계속 여기 궁금 해결 배우 처음 있 계 계시 you".split())
ACK = frozenset("알 좋 이해 되 잘 이제 완전 굿 최고 대박 ok".split())  # alone, these acknowledge ("알겠습니다")
YES = frozenset("네 예 응 넵 넹 옙 오케이".split())  # interjections that say yes ("네", "오케이")
# a customer's words passed on ("고객이 '너네 회사 믿을 만해?'라고 하면요?", "… 보험사 직원이냐고 물으면요?") address
# the partner, not the assistant
REPORTED = re.compile(r"['\"‘’“”]|(?:냐|라|자|다|래)고(?=\s|$|[?.!,])|고객|손님")
# what carries no word of its own: particles, endings, punctuation, copulas, auxiliaries, affixes, interjections,
# conjunctions (Kiwi tags by prefix); numbers and bound nouns do ("1년에 몇 개까지 돼요?" asks)
FORM_TAGS = ("J", "E", "SF", "SP", "SS", "SE", "SO", "SW", "VCP", "VCN", "VX", "XS", "XPN", "Z", "IC", "MAJ", "W")

REPLIES = {
    "thanks": "천만에요. 더 궁금한 보험 용어나 상담 상황이 있으면 언제든 물어봐 주세요.",
    "hello": "안녕하세요! 보험 용어, 판매 가이드라인, 상담 상황에 관해 궁금한 점을 물어봐 주세요.",
    "bye": "네, 수고 많으셨어요. 궁금한 점이 생기면 언제든 다시 물어봐 주세요.",
    "ack": "네, 좋아요. 더 궁금한 점이 있으면 언제든 물어봐 주세요.",
    "about_me": ("저는 PartnersAI 파트너 학습 도우미예요. 보험 용어, 판매 가이드라인, 모범 상담 스크립트에서 근거를 "
                 "찾아 답해 드려요. 보험 상품이나 상담 상황에 관해 물어봐 주세요."),
}


def small_talk(question: str, names: list[str]) -> str | None:
    """The kind of small talk `question` is (a key of REPLIES), or None when it asks something. Small talk is not
    answered from the documents (a script's "고마워요." is no answer), nor read as a follow-up, nor told that the
    documents lack it: it gets its reply, with no citations, and the next turn does not lean on it.
    `names`: the term names it says (common ones such as 보험 aside): a question to the assistant that names one
    ("너라면 해지환급금 어떻게 설명해?") is a question, and so is thanks followed by one ("고마워요, 그럼 비갱신형은요?")."""
    if names:
        return None
    tokens = get_kiwi().tokenize(question)
    words = [tok.form.lower() for tok in tokens
             if not tok.tag.startswith(FORM_TAGS) or (tok.tag == "SW" and tok.form in THANKS)]  # ㄳ, not ㅎㅎ
    if not words:  # interjections alone: "네" or "오케이" acknowledges, "아" or "헐" says nothing to reply to
        said = {tok.form for tok in tokens if tok.tag == "IC"}
        return "ack" if said & YES and said <= YES | {"아", "오", "와"} and "?" not in question else None
    machine = [w for w in words if w in MACHINE or w.endswith("gpt")]
    asks_what_it_is = bool(machine) and set(words) - set(machine) <= WHAT_IT_IS
    if (any(w in ADDRESSEE for w in words) or asks_what_it_is) and not REPORTED.search(question):
        return "about_me"
    said = set(words)
    if said <= ACK:  # "좋아요?" asks
        return None if "?" in question else "ack"
    if not said <= THANKS | HELLO | BYE | COURTESY:
        return None
    for kind, cue in (("thanks", THANKS), ("bye", BYE), ("hello", HELLO)):
        if said & cue:
            return kind
    return None
