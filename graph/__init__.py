"""The knowledge graph: its bundled data, and the engine that stores, queries, validates and
merges it.

Nothing here imports FastAPI: the CLI and the HTTP service are thin shells over these functions.
"""
