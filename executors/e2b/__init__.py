"""The E2B backend: the agent in an E2B cloud sandbox, or a code-interpreter kernel.

`E2BExecutor` and `E2BConfig` live in `executors.e2b.executor`; importing this
package does not load the e2b SDK.
"""
