"""Programs that run inside a task container from the runtime at /.lmc; standard library only.

init (PID 1, which also forks the agent at boot as the agent's user), run (the
wrapper of every `exec`: a session, a timeout), agent (the agent's boot, choosing
each language's interpreter; after init's fork, or in a later `docker exec`) and
collect (run once in the lmc sandbox image to fill the runtime volume).
"""
