"""Ingestion: load -> chunk -> embed -> store, incremental by content hash."""
