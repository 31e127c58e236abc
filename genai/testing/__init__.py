"""Tiny random-weight models of the real architectures, built locally for tests and demos."""
