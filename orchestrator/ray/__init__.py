"""Everything on Ray: the session host actor, the executor actor, the device actor, fleet workers.

Each module imports ray only when an actor is made, so importing this package is cheap;
`cluster.ensure_ray` is the one place that calls `ray.init`.
"""
