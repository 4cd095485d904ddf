"""Benchmarks: the pipeline, model shapes, the app's key latency."""
