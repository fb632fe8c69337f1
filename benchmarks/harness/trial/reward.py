"""Reading a verifier's reward: reward.txt holds a number, reward.json {"reward": x} (or numbers to average)."""

from __future__ import annotations

import json
from typing import Any

from orchestrator.fleet.errors import VerifierFailed

#: where tests/test.sh writes its reward, relative to the logs folder (Harbor's /logs)
REWARD_FILES = ("verifier/reward.txt", "verifier/reward.json")


def parse_reward(text: str, task: str) -> float:
    """The reward in reward.txt (a number) or reward.json; VerifierFailed when there is none or it is bad."""
    text = text.strip()
    if not text:
        raise VerifierFailed(f"tests/test.sh of {task} wrote no reward; it must write a number 0..1 to "
                             "/logs/verifier/reward.txt (or reward.json)")
    try:
        value: Any = json.loads(text)
    except json.JSONDecodeError:
        raise VerifierFailed(f"the reward of {task} is {text[:60]!r}, not a number or JSON") from None
    if isinstance(value, dict):
        numbers = [v for v in value.values() if isinstance(v, (int, float)) and not isinstance(v, bool)]
        value = value.get("reward", sum(numbers) / len(numbers) if numbers else None)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0.0 <= value <= 1.0:
        raise VerifierFailed(f"the reward of {task} must be a number from 0 to 1, got {text[:60]!r}")
    return float(value)
