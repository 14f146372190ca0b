"""Benchmarks on the user's own test questions: metrics, runs, reports."""
