"""Backends are chosen by a typed config or by name, from one list, through one dispatch."""

from __future__ import annotations

import dataclasses

import pytest

import executors
from executors.backends import BACKENDS, backend_names, config_class, create, default_config
from executors.docker.config import DockerConfig
from executors.e2b.config import E2BConfig
from executors.errors import UnknownBackend, WrongBackendConfig
from executors.local import LocalConfig, LocalExecutor


def test_one_list_of_backends_each_named_by_its_config() -> None:
    assert backend_names() == ("local", "docker", "e2b")
    assert [config_class(name).backend for name in backend_names()] == list(backend_names())
    assert BACKENDS["docker"] is DockerConfig and executors.E2BConfig is E2BConfig


def test_a_config_creates_its_executor_and_it_runs() -> None:
    with LocalConfig(env={"GREETING": "hi"}).create() as executor:
        assert isinstance(executor, LocalExecutor)
        out = "".join(str(c.content) for c in executor.run("python", "import os; print(os.environ['GREETING'])")
                      if c.type == "console" and c.content)
        assert out.strip() == "hi"


def test_create_by_name_uses_the_same_configs() -> None:
    executor = create("docker", DockerConfig(cpus=0.5))  # made, not started: no Docker needed
    assert executor.backend == "docker" and executor.config == DockerConfig(cpus=0.5)  # type: ignore[attr-defined]
    assert isinstance(default_config("e2b"), E2BConfig)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(UnknownBackend, match="unknown sandbox 'dokcer'; known: local, docker, e2b"):
        create("dokcer")


def test_another_backends_config_is_refused_with_the_fix() -> None:
    with pytest.raises(WrongBackendConfig, match="'docker' sandbox takes a DockerConfig; got a LocalConfig"):
        create("docker", LocalConfig())  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [LocalConfig(env={"A": "1"}), DockerConfig(env={"A": "1"}),
                                    E2BConfig(envs={"A": "1"})])
def test_with_env_adds_variables_and_keeps_the_rest(config: executors.BackendConfig) -> None:
    changed = config.with_env({"B": "2"})
    assert type(changed) is type(config)
    fields = {f.name: getattr(changed, f.name) for f in dataclasses.fields(changed)}
    assert (fields.get("env") or fields.get("envs")) == {"A": "1", "B": "2"}


def test_each_listed_config_names_its_own_backend() -> None:
    # the list maps names to config classes by string: a typo or a renamed class must fail here
    assert {name: config_class(name).backend for name in backend_names()} == {n: n for n in backend_names()}
