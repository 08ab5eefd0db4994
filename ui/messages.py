"""Korean text a partner reads in the app; kept as data so a reviewer sees it in one place."""

TITLE = "PartnersAI 파트너 학습 도우미"
SUBTITLE = "보험 용어, 판매 가이드라인, 모범 상담 스크립트에서 근거를 찾아 답해 드려요."
CHAT_LABEL = "질문하기"
INPUT_PLACEHOLDER = "예: 해지환급금이 낸 보험료보다 적은 이유가 뭐예요?"
SEND = "보내기"
SOURCES_HEADING = "찾은 근거"
NO_RESULTS = "관련 문서를 찾지 못했어요. 보험 용어나 상황을 조금 더 구체적으로 적어 주세요."
EMPTY_QUESTION = "질문을 입력해 주세요."
QUESTION_TOO_LONG = "질문이 너무 길어요. {limit:,}자 이내로 줄여 주세요. (지금 {length:,}자)"
INDEX_MISSING = "아직 문서 색인이 없어요. 관리자에게 `partners ingest` 실행을 요청해 주세요."
INTERNAL_ERROR = "일시적인 오류로 답하지 못했어요. 잠시 후 다시 시도해 주세요."
LATENCY = "검색 {retrieve:.0f} ms · 전체 {total:.0f} ms"
EXAMPLES = [
    "해지환급금이 낸 보험료보다 적은 이유가 뭐예요?",
    "갱신형과 비갱신형은 뭐가 달라요?",
    "암보험 가입하고 바로 보장되나요?",
    "첫 달 보험료를 대신 내 달라는 고객에게 어떻게 말해야 하나요?",
]
