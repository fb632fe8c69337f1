"""The warm pool: sandboxes ready at once, never shared, all removed at close."""

from __future__ import annotations

import pytest

from executors.docker import client as docker_client
from executors.docker.errors import InvalidDockerConfig
from executors.docker.executor import DockerConfig, DockerExecutor
from executors.docker.pool import PoolConfig, SandboxPool
from orchestrator.computer import Computer
from tests.contract.helpers import text
from tests.support.docker_backend import own_containers

pytestmark = pytest.mark.docker


def test_pool_hands_out_distinct_sandboxes_and_never_reuses_one() -> None:
    with SandboxPool(PoolConfig(size=2)) as pool:
        assert pool.wait_ready(timeout=60)
        seen: set[str] = set()
        for round_ in range(3):  # the third comes from the refill (or is started on demand)
            with Computer(DockerExecutor(pool=pool)) as computer:
                assert text(computer.run("python", "print(globals().get('mark'))")) == "None\n"
                computer.run("python", f"mark = {round_}")
                executor = computer.executor
                assert isinstance(executor, DockerExecutor)
                container_id = executor.sandbox().container_id
                assert container_id not in seen
                seen.add(container_id)
            live = {c.id for c in own_containers()}
            assert container_id not in live  # a used sandbox is removed, not returned to the pool
    assert own_containers() == []


def test_pool_refills_after_acquire() -> None:
    with SandboxPool(PoolConfig(size=1)) as pool:
        assert pool.wait_ready(timeout=60)
        first = pool.acquire()
        try:
            assert pool.wait_ready(1, timeout=60)
            assert pool.ready == 1
        finally:
            first.close()


def test_pool_config_is_checked() -> None:
    with pytest.raises(InvalidDockerConfig, match="size must be at least 1"):
        PoolConfig(size=0)
    with SandboxPool(PoolConfig(size=1)) as pool:
        with pytest.raises(InvalidDockerConfig, match="differs from its pool"):
            DockerExecutor(DockerConfig(network=True), pool=pool)
    with pytest.raises(InvalidDockerConfig, match="closed"):
        pool.acquire()


def test_a_pooled_sandbox_that_died_while_waiting_is_skipped() -> None:
    with SandboxPool(PoolConfig(size=2)) as pool:
        assert pool.wait_ready(timeout=60)
        doomed = pool._ready[0].container_id  # the next in line: kill it behind the pool's back
        docker_client.client().api.kill(doomed)
        docker_client.client().api.wait(doomed, timeout=10)
        with Computer(DockerExecutor(pool=pool)) as computer:
            assert text(computer.run("python", "print('fresh')")) == "fresh\n"
            executor = computer.executor
            assert isinstance(executor, DockerExecutor)
            assert executor.sandbox().container_id != doomed


def test_fleet_factory_takes_a_warm_sandbox_only_when_its_config_fits() -> None:
    from orchestrator.fleet.sandbox import SandboxConfig, SandboxFactory

    factory = SandboxFactory(SandboxConfig("docker", warm=1, docker=DockerConfig(env={"BASE": "1"})))
    try:
        assert factory.wait_warm(timeout=60)
        pooled, fresh = factory.create({}, None), factory.create({"EXTRA": "2"}, None)
        assert isinstance(pooled, DockerExecutor) and pooled.pool is not None
        assert isinstance(fresh, DockerExecutor) and fresh.pool is None
        assert fresh.config.env == {"BASE": "1", "EXTRA": "2"}  # added to the base, not in place of it
        code = "import os; print(os.environ['BASE'], os.environ.get('EXTRA'))"
        for executor, expected in ((pooled, "1 None\n"), (fresh, "1 2\n")):
            with Computer(executor) as computer:
                assert text(computer.run("python", code)) == expected
    finally:
        factory.close()
    assert own_containers() == []
