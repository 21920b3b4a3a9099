"""The SPARQL endpoint's logic: checking a query and running it with limits, and the service
description.
"""
