"""The leaves of the graph layer: the exception tree, settings, IRIs, term conversions, the format
table, the bundled files and RDF parsing. They import nothing else of ``ijkg.graph``.
"""
