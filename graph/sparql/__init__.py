"""SPARQL as text: the lexical pass and its limits, building SPARQL safely, syntax help, and what
the shapes read. Above ``core`` only.
"""
