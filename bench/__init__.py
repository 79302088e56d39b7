"""Benchmarks: scripts to rerun by hand (not run by CI). See each module's docstring."""
