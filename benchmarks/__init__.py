"""Task suites, the benchmark harness and the performance benchmarks."""
