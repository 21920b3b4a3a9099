"""The HTTP service (FastAPI) and the command line, thin shells over ``ijkg.graph``."""
