"""Ingestion, chunking, embeddings, the Chroma and BM25 indexes, fusion, search and citations."""
