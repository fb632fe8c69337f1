"""The benchmark pages of `lmc serve`'s web console: runs of a results folder, read-only, as JSON.

`lmc bench` adds `--bench-dir` to `lmc serve` (see `register_serve`), and these routes, behind
the server's guard like every other (a token is needed):

    GET /bench/runs                               the runs under the folder (each has a results.jsonl)
    GET /bench/run?name=RUN                       per-model and per-task tables, and every trial
    GET /bench/rows?name=RUN&after=N              rows N.. of results.jsonl as written (live progress)
    GET /bench/trial?name=RUN&task=T&model=M&trial=K   one trial: row, conversation, verifier output
    GET /bench/compare?a=RUN&b=RUN                two runs side by side, and the tasks that changed

A RUN is a folder path relative to the bench folder; nothing outside it is read, whatever a run's
rows name (a transcript path in results.jsonl is followed only when it lies inside).
"""
