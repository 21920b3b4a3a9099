"""The ijkg SHACL shapes (data shapes and ontology meta-shapes), as Turtle data."""
