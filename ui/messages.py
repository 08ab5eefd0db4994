"""Korean text a partner reads in the app; kept as data so a reviewer sees it in one place."""

TITLE = "PartnersAI 파트너 학습 도우미"
SUBTITLE = "보험 용어, 판매 가이드라인, 모범 상담 스크립트에서 근거를 찾아 답하고, 설명·상담 연습을 채점해 드려요."

# tabs
TAB_CHAT, TAB_TERM, TAB_CONVERSATION, TAB_DOCUMENTS, TAB_EVAL = "질문하기", "용어 미션", "대화 미션", "문서 관리", "평가"

# chat
CHAT_LABEL = "질문하기"
INPUT_PLACEHOLDER = "예: 해지환급금이 낸 보험료보다 적은 이유가 뭐예요?"
SEND = "보내기"
CLEAR = "새 대화"
SOURCES_HEADING = "근거 자료"
SOURCES_EMPTY = "답변의 근거 자료가 여기에 표시돼요. 답변 속 번호를 누르면 해당 자료가 펼쳐져요."
OPEN_FULL = "전체 문단 보기"
REFUSED_TITLE = "자료에서 근거를 찾지 못했어요"
REFUSED_HINT = "이런 용어로 다시 물어보세요"
UNDERSTOOD = "이렇게 이해하고 찾았어요"
RESPELLED = "용어 이름을 고쳐 찾았어요"
LATENCY = "검색 {retrieve:.0f} ms · 생성 {generate:.0f} ms · 전체 {total:.0f} ms"
LATENCY_CONDENSE = "질문 정리 {condense:.0f} ms · "
GENERATING = "답변을 만드는 중…"
EXAMPLES_LABEL = "예시 질문"
EXAMPLES = [
    "해지환급금이 낸 보험료보다 적은 이유가 뭐예요?",
    "갱신형 보험은 나중에 보험료가 어떻게 되나요?",
    "암보험 가입하고 바로 보장되나요?",
    "첫 달 보험료를 대신 내 달라는 고객에게 어떻게 말해야 하나요?",
]
DOC_TYPES = {"term": "용어", "script": "모범 스크립트", "guideline": "가이드라인", "other": "기타 자료"}
SCORE = "관련도"
VERSION = "버전"
UPDATED = "수정일"

# term mission
TERM_CATEGORY = "분야"
ALL_CATEGORIES = "전체"
TERM_PICK = "용어"
TERM_RANDOM = "무작위 용어"
TERM_EXPLANATION = "내 설명"
TERM_PLACEHOLDER = "고객에게 말하듯 쉬운 말로 설명해 보세요. (10~500자)"
TERM_SUBMIT = "채점받기"
TERM_PICK_FIRST = "먼저 설명할 용어를 골라 주세요."
COUNTER = "{n:,} / {high:,}자 (최소 {low:,}자)"
SCORE_LINE = "{score}점 · {grade}"
RUBRIC = "채점 기준"
MATCHED = "잘 짚은 핵심"
MISSING = "빠진 핵심"
MISCONCEPTIONS = "바로잡을 부분"
UNCONFIRMED = "확인이 필요한 핵심"
UNCONFIRMED_NOTE = "정의와 다를 수 있는 문장에만 담겨 있어 점수에 넣지 않았어요. 그 문장을 고치면 점수에 들어가요."
DOUBTS = "정의와 비교해 볼 문장"
MORE = "{n}개 더 보기"
FOUND_BY_LLM = "AI 검수"  # a misconception the configured LLM found, not the offline rules
MODEL_ANSWER = "모범 답안"
FEEDBACK = "피드백"
ATTEMPTS = "이번 세션 기록"
ATTEMPT_COLUMNS = ["시각", "용어", "점수", "등급"]

# conversation mission
SCENARIO = "상황(시나리오)"
SCENARIO_NONE = "선택 안 함 (상품은 스크립트에서 추정)"
SCENARIO_INFO = "**고객**: {persona}  \n**상품**: {product}  \n**참고 모범 스크립트**: {title}"
SCRIPT = "상담 스크립트"
SCRIPT_PLACEHOLDER = "설계사: 안녕하세요, 고객님…\n고객: …\n(줄마다 '설계사:' / '고객:'으로 시작해 주세요. 50~3,000자)"
SCRIPT_SUBMIT = "스크립트 평가받기"
STAGES = "단계별 점수"
STAGE_NA = "해당 없음"
STAGE_COLUMNS = ("단계", "점수", "빠진 항목", "스크립트 근거")
FINDINGS = "준법 점검"
NO_FINDINGS = "금지 표현이나 빠진 필수 설명이 발견되지 않았어요."
MISSING_EXPLANATION = "빠진 필수 설명"
PROHIBITED = "문제 표현"
BY_CLASSIFIER = "(문장 분류기 판단, 확신도 {p:.0%})"  # a finding no pattern rule matched
SUGGESTIONS = "모범 스크립트 제안"
SCRIPT_VIEW = "내 스크립트 (문제 표현 표시)"
OVERALL = "총점 {score}점 · {grade} · 상품: {product}"

# documents
DOCS_LIST = "문서 목록"
DOC_COLUMNS = ["제목", "유형", "분야", "버전", "수정일", "청크 수", "파일"]
UPLOAD = "파일 올리기 (md, txt, pdf, docx, csv, json)"
UPLOAD_BUTTON = "올리기"
REINGEST = "다시 색인하기"
DELETE_PICK = "삭제할 문서 파일"
DELETE = "삭제"
ADMIN_PASSWORD = "관리자 비밀번호"
GUARD_PASSWORD = "🔒 문서를 올리거나 지우고 다시 색인하려면 관리자 비밀번호가 필요해요."
GUARD_LOOPBACK = ("🔓 이 서버는 이 컴퓨터({host})에서만 접속할 수 있어 비밀번호 없이 관리할 수 있어요. "
                  "다른 컴퓨터에 공개하려면 PARTNERS_ADMIN_PASSWORD를 설정하세요.")
GUARD_LOCKED = ("🔒 관리 기능이 잠겨 있어요. 서버가 외부 주소({host})로 열려 있는데 PARTNERS_ADMIN_PASSWORD가 "
                "설정되지 않았어요. 관리자에게 비밀번호 설정을 요청하세요.")
WRONG_PASSWORD = "관리자 비밀번호가 맞지 않아요."
UPLOAD_NONE = "올릴 파일을 먼저 골라 주세요."
UPLOADED = "올린 파일: {names}. '다시 색인하기'를 누르면 답변에 반영돼요."
UPLOAD_REJECTED = "올리지 못한 파일: {name} — {reason}"
UPLOAD_BAD_TYPE = "지원하지 않는 형식이에요 (md, txt, pdf, docx, csv, json만 가능)"
UPLOAD_TOO_BIG = "파일이 너무 커요 ({size:.1f} MB, 최대 {limit:g} MB)"
UPLOAD_EMPTY = "내용이 없는 파일이에요"
UPLOAD_UNREADABLE = "읽을 수 없는 파일이에요 (깨진 파일이거나 텍스트가 아니에요)"
DELETE_NONE = "삭제할 문서를 골라 주세요."
DELETED = "삭제했어요: '{name}' (보관함: {trash})."
REPORT = ("추가 {added} · 수정 {updated} · 그대로 {unchanged} · 삭제 {deleted} · 실패 {failed}  \n"
          "새로 임베딩한 청크 {embedded}개 · 색인 전체 {total}개 · {seconds:.1f}초")
FAILED_ITEM = "- 실패: {error}"
INGEST_PROGRESS = "색인 중"
INGEST_LOCKED = "다른 색인 작업이 진행 중이에요. 끝난 뒤 다시 눌러 주세요."

# evaluation
EVAL_DATASET = "평가 데이터셋"
EVAL_MODE = "검색 방식"
EVAL_RUN = "평가 실행"
EVAL_RESULT = "결과"
EVAL_FAILURES = "틀린 질문 (1위가 정답이 아닌 것)"
EVAL_FAILURE_COLUMNS = ["질문", "정답", "정답 순위", "검색된 문서"]
EVAL_HISTORY = "실행 기록"
UNKNOWN_DATASET = "그런 평가 데이터셋이 없어요. 목록에서 골라 주세요."
EVAL_NO_HISTORY = "아직 실행 기록이 없어요."
MODES = {"hybrid": "하이브리드", "dense": "의미 검색(dense)", "bm25": "형태소 BM25", "chars": "글자 n-gram BM25",
         "all": "모두 비교"}

# errors
EMPTY_QUESTION = "질문을 입력해 주세요."
QUESTION_TOO_LONG = "질문이 너무 길어요. {high:,}자 이내로 줄여 주세요. (지금 {n:,}자)"
TOO_SHORT = "{what} 너무 짧아요. {low:,}자 이상 써 주세요. (지금 {n:,}자)"
TOO_LONG = "{what} 너무 길어요. {high:,}자 이내로 줄여 주세요. (지금 {n:,}자)"
FIELD_NAMES = {"question": "질문이", "explanation": "설명이", "script": "스크립트가"}  # with their subject particle
NO_PARTNER_LINES = "설계사의 말이 없어요. 줄마다 '설계사:' 또는 '고객:'으로 시작해 주세요."
UNKNOWN_TERM = "'{term}' 용어를 찾지 못했어요. 비슷한 용어: {closest}"
UNKNOWN_SCENARIO = "그런 시나리오가 없어요. 목록에서 골라 주세요."
INDEX_MISSING = "아직 문서 색인이 없어요. 관리자에게 `partners ingest` 실행을 요청해 주세요."
INTERNAL_ERROR = "일시적인 오류로 처리하지 못했어요. 잠시 후 다시 시도해 주세요."
