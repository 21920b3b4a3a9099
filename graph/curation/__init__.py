"""Curation: the validation gate, the graph's protections, the change workflow with its history,
explanations of reports and the validation workers.
"""
