"""Many sessions at once: specs, sandboxes per session, retries by failure class, progress, Ray workers."""

from orchestrator.fleet.fleet import Fleet

__all__ = ["Fleet"]
