"""The benchmark harness: Harbor-layout tasks, models x tasks on a Fleet, JSONL results, reports."""
