"""The Docker backend: the sandbox image (built offline from `recipe/`), containers, a warm pool.

`DockerConfig` (config.py, light) says how a sandbox starts and `create()`s a
`DockerExecutor` (executor.py); container.py starts one container, pool.py keeps
started ones warm, files.py copies files in and out. Importing this package
does not load the docker SDK.
"""
