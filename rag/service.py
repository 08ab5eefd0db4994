"""Everything a front end needs, built once from Settings: retriever, generator, LLM and the two missions."""

from dataclasses import dataclass
from functools import cached_property

from rag.settings import Settings


@dataclass
class Services:
    settings: Settings

    @cached_property
    def retriever(self):
        from rag.embed import get_embedder
        from rag.index import Index
        from rag.rerank import get_reranker
        from rag.retrieve import Retriever

        return Retriever(Index(self.settings), get_embedder(self.settings.embedder),
                         ground_threshold=self.settings.ground_threshold,
                         reranker=get_reranker(self.settings.reranker))

    @cached_property
    def llm(self):
        """The OpenAI-compatible client when PARTNERS_LLM=openai:<model>, else None."""
        if not self.settings.llm.startswith("openai:"):
            return None
        from rag.llm import build_llm

        return build_llm(self.settings)

    @cached_property
    def condenser(self):
        """Rewrites chat turns to stand alone before they are searched: with an LLM and PARTNERS_LLM_CONDENSE on."""
        if self.llm is None or not self.settings.llm_condense:
            return None
        from rag.condense import Condenser

        return Condenser(self.llm)

    @cached_property
    def generator(self):
        """The answer writer PARTNERS_LLM names (an unknown value fails listing the valid forms)."""
        from rag.generate import LLMGenerator, get_generator

        # the LLM client is shared with the missions, so it is built once here rather than by get_generator
        if self.llm is not None:
            return LLMGenerator(self.llm)
        return get_generator(self.settings, self.retriever.embedder)

    @cached_property
    def extractive(self):
        """The offline answer writer, also the fallback when the LLM is down; ranks sentences with the retriever's
        embedder (already loaded) and is the same object as `generator` when that is extractive (one vector cache)."""
        from rag.generate import ExtractiveGenerator

        if isinstance(self.generator, ExtractiveGenerator):
            return self.generator
        return ExtractiveGenerator(self.retriever.embedder)

    @cached_property
    def term_mission(self):
        from rag.missions.term import TermMission

        return TermMission(self.retriever, self.llm)

    @cached_property
    def conversation_mission(self):
        from rag.missions.conversation import ConversationMission

        return ConversationMission(self.retriever, self.llm)

    def ask(self, question: str, **kwargs):
        from rag.answer import ask

        return ask(question, self.retriever, self.generator, k=self.settings.top_k, fallback=self.extractive,
                   condenser=self.condenser, **kwargs)

    def ask_stream(self, question: str, history: list[str] | None = None):
        """Answer text pieces as they are generated, then the checked Answer (see rag.answer.ask_stream)."""
        from rag.answer import ask_stream

        return ask_stream(question, self.retriever, self.generator, k=self.settings.top_k, history=history,
                          fallback=self.extractive, condenser=self.condenser)

    def refresh(self) -> None:
        """After an ingest: reopen a rebuilt index, reload term titles, rebuild the missions' term and rule tables."""
        self.retriever.refresh()
        for name in ("term_mission", "conversation_mission"):
            self.__dict__.pop(name, None)

    def warm_up(self, missions: bool = True) -> None:
        """Load models and indexes before the first user arrives (and before a question's time is measured)."""
        from rag.answer import small_talk_classifier

        hits = self.retriever.search("보험", k=1, ground=True).hits
        self.extractive.pick("보험", hits)  # the embedder's document side loads its weights on first use
        small_talk_classifier(self.retriever)  # trained once per corpus, then loaded from the index's folder
        if not missions:
            return
        _ = self.term_mission
        self.conversation_mission.warm_up()
