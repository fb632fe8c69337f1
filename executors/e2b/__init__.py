"""The E2B backend: the agent in an E2B cloud sandbox, or a code-interpreter kernel.

`E2BConfig` (config.py, light) says how the sandbox is made and `create()`s an
`E2BExecutor` (executor.py). `emulator/` is a local E2B-compatible server to run
this backend offline. Importing this package does not load the e2b SDK.
"""
