"""Settings for the whole suite, made before any test module imports the product."""

from __future__ import annotations

import os

# Set before litellm is first imported anywhere in the test session: no network for the price map.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# No test may reach a paid API: model requests go only to servers on this machine (inherited by
# the subprocesses and Ray workers the tests start).
os.environ["LMC_ALLOW_MODEL_REQUESTS"] = "0"
