"""Benchmarks (`make bench`): scripts that print timings beside a reference measured in the same run."""
