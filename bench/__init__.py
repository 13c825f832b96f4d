"""Benchmarks: speed and memory of the real bot process, each beside a bare baseline from the same run."""
