"""Bulk I/O: loading the bundle into an empty store, loading files, backup and restore."""
