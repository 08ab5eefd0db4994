"""Small talk in the chat (thanks, a greeting, a word to the assistant itself) and its replies."""

import hashlib
import logging
import re
from pathlib import Path
from typing import Callable

import yaml

from rag.keyword import get_kiwi

log = logging.getLogger(__name__)

# Kiwi forms: verb stems without 다, nouns, interjections; a chat's letters typed alone as written ("ㄳ", "ㅇㅋ")
ADDRESSEE = frozenset("너 넌 널 니 네 당신 자네".split())  # as typed: "넌", "네가" are the pronoun 너, "넹" is not
MACHINE = frozenset("ai gpt chatgpt 챗gpt 챗 챗봇 봇 로봇 인공지능".split())
# with a machine word, only these ask what the assistant is ("이거 사람이 답하는 거예요 AI예요?"); "AI가 보험료 계산해요?"
# asks about insurance
WHAT_IT_IS = frozenset("사람 이거 이것 이건 여기 답 대답 진짜 혹시 같 아니 맞 누구 다르 거 실제 아님 상담원 상담사 직원 "
                       "만들".split())
THANKS = frozenset("고맙 감사 땡큐 ㄳ ㄱㅅ thank thanks thx 고마움 감사감사".split())
HELLO = frozenset("안녕 반갑 뵙 하이 헬로 hi hello 안뇽 ㅎㅇ 굿모닝 아침 오후".split())  # "좋은 아침이에요"
BYE = frozenset("수고 안녕히 보내 들어가 이만 바이 바이바이 빠이 bye 퇴근 아웃 고생 밤 내일 담".split())  # "좋은 밤 되세요"
# words that may come with thanks, a greeting or a goodbye without asking anything ("감사합니다! 덕분에 이해됐어요",
# "설명 감사해요", "안녕히 계세요": Kiwi reads 계 as a noun; "저 이제 고객 만나러 가요 ㅎㅎ 수고!")
COURTESY = frozenset("덕분 도움 이해 알 알리 되 많이 정말 진짜 너무 잘 오늘 하루 좋 또 다음 담 이제 답변 설명 친절 최고 대박 "
                     "완전 굿 저 제 전 나 우리 계속 여기 궁금 해결 배우 처음 있 계 계시 you 그렇 맞 확실히 살 드리 부탁 "
                     "인사 쓰 만나 참 가 오 내일 보 주말 받 고객 물어보 묻 확인 참고 하 수 많 로그 완료".split())
# alone (with "네", "아하" …), these acknowledge ("알겠습니다", "아 그렇군요", "네 참고할게요")
ACK = frozenset("알 좋 이해 되 잘 이제 완전 굿 최고 대박 ok 그렇 맞 확인 참고 하 완료 ㅇㅋ 오케이".split())
YES = frozenset("네 예 응 넵 넹 옙 오케이 아하 네네 ㅇㅋ".split())  # interjections that say yes
FILLERS = frozenset("아 오 와 음 헐 우와".split())  # interjections that say nothing
QUESTION = re.compile(r"뭐|뭔|무엇|무슨|어떻|어떤|어느|언제|얼마|왜|어디|몇")  # "고마워요, 그럼 얼마나 나와요?" asks
# a customer's words passed on ("고객이 '너네 회사 믿을 만해?'라고 하면요?", "… 보험사 직원이냐고 물으면요?") address
# the partner, not the assistant
REPORTED = re.compile(r"['\"‘’“”]|(?:냐|라|자|다|래)고(?=\s|$|[?.!,])|고객|손님")
# what carries no word of its own: particles, endings, punctuation, copulas, auxiliaries, affixes, conjunctions,
# interjections (Kiwi tags by prefix); numbers and bound nouns do ("1년에 몇 개까지 돼요?" asks)
FORM_TAGS = ("J", "E", "SF", "SP", "SS", "SE", "SO", "SW", "VCP", "VCN", "VX", "XS", "XPN", "Z", "IC", "MAJ", "W")
KNOWN = THANKS | HELLO | BYE | YES | FILLERS  # interjections and letters that are words here

EXAMPLES_FILE = Path(__file__).with_name("small_talk_examples.yaml")
NONE = "none"  # the examples' label for what is not small talk
MAX_QUESTIONS = 8000  # document questions trained on (the shipped corpus lists about 5,700); more are sampled evenly
# the classifier's probability from which a turn the rules miss is small talk: with C 1-30 and .5-.9, 78-80 of the 80
# turns of small_talk_chat.jsonl were found, and at .7 or more none of the 3,069 in-domain eval turns (one at .5-.6)
# nor of the 60 lookalikes (session 32)
SURE = 0.8

REPLIES = {
    "thanks": "천만에요. 더 궁금한 보험 용어나 상담 상황이 있으면 언제든 물어봐 주세요.",
    "hello": "안녕하세요! 보험 용어, 판매 가이드라인, 상담 상황에 관해 궁금한 점을 물어봐 주세요.",
    "bye": "네, 수고 많으셨어요. 궁금한 점이 생기면 언제든 다시 물어봐 주세요.",
    "ack": "네. 더 궁금한 점이 있으면 언제든 물어봐 주세요.",  # also after "헐 무섭네요"
    "about_me": ("저는 PartnersAI 파트너 학습 도우미예요. 보험 용어, 판매 가이드라인, 모범 상담 스크립트에서 근거를 "
                 "찾아 답해 드려요. 보험 상품이나 상담 상황에 관해 물어봐 주세요."),
}


def small_talk(question: str, names: list[str], classifier: "SmallTalkClassifier | None" = None) -> str | None:
    """The kind of small talk `question` is (a key of REPLIES), or None when it asks something. Small talk is not
    answered from the documents (a script's "고마워요." is no answer), nor read as a follow-up, nor told that the
    documents lack it: it gets its reply, with no citations, and the next turn does not lean on it.
    `names`: the term names it says (common ones such as 보험 aside): a question to the assistant that names one
    ("너라면 해지환급금 어떻게 설명해?") is a question, and so is thanks followed by one ("고마워요, 그럼 비갱신형은요?").
    The rules below know the common wordings; a `classifier` reads the rest ("방가방가", "명심할게요", "새벽에도
    답해줘요?") when it is sure, under the same guards."""
    if names:
        return None
    kind = _rules(question)
    if kind is None and classifier is not None:
        guess, p = classifier.predict(question)
        if guess != NONE and p >= SURE and not REPORTED.search(question) and (
                guess == "about_me" or not QUESTION.search(question)):
            kind = guess
    return kind


def _rules(question: str) -> str | None:
    words, addressed = [], False
    for tok in get_kiwi().tokenize(question):
        form = _letters(tok.form.lower())
        if tok.tag == "NP" and form == "너":
            typed = question[tok.start:tok.start + tok.len]
            if typed not in ADDRESSEE:  # Kiwi reads "넹" as 너
                words.append(typed)
                continue
            addressed = True
        if not tok.tag.startswith(FORM_TAGS) or form in KNOWN:  # "안녕~", "아하" and "ㄳ" are words here
            words.append(form)
    said = set(words)
    machine = {w for w in said if w in MACHINE or w.endswith("gpt")}
    who_made = {"누구", "만들"} <= said  # "근데 이거 누가 만든 거예요?"
    if (addressed or ((machine or who_made) and said - machine <= WHAT_IT_IS)) and not REPORTED.search(question):
        return "about_me"
    said -= FILLERS
    if not said or QUESTION.search(question):
        return None
    if said <= YES | ACK:
        return None if "?" in question else "ack"  # "좋아요?" asks
    if not said <= THANKS | HELLO | BYE | COURTESY | YES:
        return None
    for kind, cue in (("thanks", THANKS), ("bye", BYE), ("hello", HELLO)):
        if said & cue:
            return kind
    return None


def _letters(form: str) -> str:
    """A chat's letters typed over again as once: "ㄳㄳ" is ㄳ, "ㅇㅋㅇㅋ" ㅇㅋ."""
    repeated = re.fullmatch(r"([ㄱ-ㅎ]+?)\1+", form)
    return repeated.group(1) if repeated else form


class SmallTalkClassifier:
    """Character 1-3-gram TF-IDF and a logistic regression (scikit-learn) over the kinds of REPLIES and "none",
    trained on small_talk_examples.yaml and, as "none", the questions the documents list (`questions:`): what
    partners ask."""

    def __init__(self, pairs: list[tuple[str, str]], *, c: float = 3.0) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        self.model = make_pipeline(TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
                                   LogisticRegression(C=c, max_iter=5000, class_weight="balanced"))
        self.model.fit([text for text, _ in pairs], [label for _, label in pairs])

    def predict(self, text: str) -> tuple[str, float]:
        """The likeliest label and its probability."""
        row = self.model.predict_proba([text])[0]
        best = int(row.argmax())
        return str(self.model.classes_[best]), float(row[best])


def load_examples(path: Path = EXAMPLES_FILE) -> list[tuple[str, str]]:
    """(message, label) pairs from the examples file: a kind of REPLIES, or "none"."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [(str(text).strip(), label) for label, texts in data.items() for text in texts or []]


_CACHE: dict[str, SmallTalkClassifier] = {}


def get_classifier(corpus: str, questions: Callable[[], list[str]], path: Path = EXAMPLES_FILE,
                   cache_dir: Path | None = None) -> SmallTalkClassifier | None:
    """The classifier for this examples file and a corpus (`corpus`: what identifies its version, e.g. its documents'
    hashes), trained on the corpus's `questions()` on first use (about 2 s), then kept in memory and, with a
    `cache_dir` (the index's folder), on disk, so that a new process loads it; None without examples."""
    if not path.exists():
        return None
    import joblib
    import sklearn

    digest = hashlib.sha256(path.read_bytes() + corpus.encode() + sklearn.__version__.encode()).hexdigest()
    if digest in _CACHE:
        return _CACHE[digest]
    stored = cache_dir / f"small_talk-{digest[:16]}.joblib" if cache_dir else None
    classifier = None
    if stored is not None and stored.exists():
        try:
            classifier = joblib.load(stored)
        except Exception as exc:  # a damaged file is trained again
            log.warning("retraining the small-talk classifier: %s unreadable (%s)", stored, exc)
    if not isinstance(classifier, SmallTalkClassifier):
        asked = sorted(set(questions()))
        asked = asked[:: -(-len(asked) // MAX_QUESTIONS)] if asked else []  # a large corpus: an even sample
        classifier = SmallTalkClassifier(load_examples(path) + [(q, NONE) for q in asked])
        if stored is not None and stored.parent.is_dir():
            for old in stored.parent.glob("small_talk-*.joblib"):
                old.unlink(missing_ok=True)
            partial = stored.with_suffix(".part")
            joblib.dump(classifier, partial)
            partial.replace(stored)
    _CACHE.clear()  # one corpus at a time
    _CACHE[digest] = classifier
    return classifier
