"""The parts of bench_server: a real `lmc serve` process, the latency rounds, the concurrent streams."""
