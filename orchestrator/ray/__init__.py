"""Everything on Ray: the session host actor, the executor actor, the device actor, fleet workers.

Each module imports ray only when an actor is made, so importing this package is cheap.
"""
