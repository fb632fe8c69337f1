"""The registry every `lmc serve --ray` replica shares, as a plain class: ownership, claims, orphans."""

from __future__ import annotations

import pytest

from orchestrator.ray.serve_state import RegistryActor
from orchestrator.server.errors import Busy, NotFound


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_run_claimed_through_one_replica_is_busy_through_another() -> None:
    registry = RegistryActor()
    entry = registry.add("computer", "alice", "where", 60.0)
    registry.claim("computer", "alice", entry.id, "replica-a")
    with pytest.raises(Busy):
        registry.claim("computer", "alice", entry.id, "replica-b")
    registry.release("computer", "alice", entry.id)
    registry.claim("computer", "alice", entry.id, "replica-b")
    assert registry.get("computer", "alice", entry.id).busy


def test_another_owner_and_another_kind_find_nothing() -> None:
    registry = RegistryActor()
    entry = registry.add("conversation", "alice", "where", 60.0, id="c1")
    with pytest.raises(NotFound):
        registry.get("conversation", "bob", entry.id)
    with pytest.raises(NotFound):
        registry.claim("conversation", "bob", entry.id, "replica-a")
    with pytest.raises(NotFound):
        registry.get("computer", "alice", entry.id)
    assert registry.owned("conversation", "bob") == []


def test_a_silent_replica_s_claims_are_released_to_be_stopped() -> None:
    clock = Clock()
    registry = RegistryActor(clock, orphan_after=15.0)
    entry = registry.add("computer", "alice", "where", 600.0)
    registry.claim("computer", "alice", entry.id, "dies")
    registry.heartbeat("dies")
    clock.now += 10
    assert registry.heartbeat("lives") == []  # silent for 10 s: not yet gone
    clock.now += 10
    orphans = registry.heartbeat("lives")
    assert [(o.kind, o.entry.id, o.entry.busy) for o in orphans] == [("computer", entry.id, False)]
    assert not registry.get("computer", "alice", entry.id).busy
    assert registry.heartbeat("lives") == []  # handed out once


def test_an_idle_entry_expires_once_and_touching_keeps_it() -> None:
    clock = Clock()
    registry = RegistryActor(clock)
    kept = registry.add("computer", "alice", "kept", 30.0)
    idle = registry.add("computer", "alice", "idle", 30.0)
    clock.now += 20
    registry.touch("computer", "alice", kept.id)
    clock.now += 20
    assert [e.id for e in registry.expired("computer")] == [idle.id]
    assert registry.expired("computer") == []
    assert [e.id for e in registry.owned("computer", "alice")] == [kept.id]
