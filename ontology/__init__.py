"""The ijkg OWL ontology and its SKOS vocabularies, as Turtle data read with importlib.resources."""
