"""What runs inside a sandbox: the agent, its wire protocol, the languages and their kernels.

Everything in here (and only this, with `lmc` and the `executors` core) is
shipped to every backend by `executors.sandbox.ship.sandbox_files`. Nothing in
this package imports host-side code.
"""
