"""Programs that run inside a task container from the runtime at /.lmc; standard library only.

init (PID 1), run (the wrapper of every `exec`: a session, a timeout), agent (the
agent's boot, choosing each language's interpreter) and collect (run once in the
lmc sandbox image to fill the runtime volume).
"""
