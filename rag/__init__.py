"""PartnersAI RAG core: settings, types, errors, embedders, stores, retrieval."""

__version__ = "0.1.0"
