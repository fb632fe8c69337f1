"""The Docker backend: the sandbox image (built offline from `recipe/`), containers, a warm pool.

`DockerExecutor` and `DockerConfig` live in `executors.docker.executor`; importing
this package does not load the docker SDK.
"""
