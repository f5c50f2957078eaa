"""Benchmarks and their data generator (not part of the test run)."""
