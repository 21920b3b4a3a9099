"""Benchmarks of ijkg against its peers (see bench/README.md): ``python -m bench``."""
