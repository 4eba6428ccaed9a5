"""Benchmarks: print figures and compare with a named peer in the same run; never assert on time."""
