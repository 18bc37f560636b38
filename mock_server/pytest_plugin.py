"""Pytest plugin: a real mock server for your tests (registered as ``pytest11``)."""
