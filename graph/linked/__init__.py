"""Linked data for apps and people: entities, their views, lists, search, JSON-LD, JSON Schemas and
the vocabulary documentation.
"""
