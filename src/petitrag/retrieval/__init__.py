"""Retrieval: BM25, dense and hybrid search over a collection."""
