"""A trial's conversation exported for people and tools: transcript.json and Harbor's ATIF trajectory.

    export(Path("run/trials/t1/conversations/t1.lmc"), Path("run/trials/t1"), model="gpt-4o")

- `transcript.json`: the LMC messages as JSON in Open Interpreter's format (lmc.oi.to_oi, images as
  base64), the same JSON `lmc` saves a chat as; lmc.oi.from_oi reads it back.
- `trajectory.json`: the Agent Trajectory Interchange Format (ATIF-v1.6) that Harbor writes for its
  agents: steps from the user and the agent, each code block a tool call `execute(language, code)`
  whose output is the observation, as the model read it (lmc.openai.render_output). Images are
  written next to it under images/ and referenced by relative path (ATIF's ContentPart).

The transcript does not record where one model reply ends: an agent step is the assistant's text and
code up to the computer's answer, so a reply with several tool calls shows as several steps.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmc.messages import Message
from lmc.oi import to_oi
from lmc.openai import call_id, render_output

log = logging.getLogger(__name__)

TRANSCRIPT = "transcript.json"
TRAJECTORY = "trajectory.json"
IMAGES = "images"
SCHEMA_VERSION = "ATIF-v1.6"
#: the name of the agent in trajectories
AGENT = "lmc"
_MEDIA = {"png": "image/png", "jpeg": "image/jpeg", "jpg": "image/jpeg", "gif": "image/gif", "webp": "image/webp"}


def load(transcript: Path) -> list[Message]:
    """The complete messages of a saved .lmc conversation (a half-written tail is dropped)."""
    from orchestrator.session.store import ConversationStore

    transcript = Path(transcript)
    # a conversation lives at <data dir>/conversations/<id>.lmc
    return ConversationStore(transcript.parent.parent).load(transcript.stem)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("lmc")
    except PackageNotFoundError:
        return "0+unknown"


@dataclass
class _Builder:
    """Folds LMC messages into ATIF steps, in order."""

    images: Path | None  #: where image files go (None: images are described, not written)
    model: str | None
    steps: list[dict[str, Any]] = field(default_factory=list)
    agent: dict[str, Any] | None = None  # the agent step still open
    call: str | None = None  # the tool call whose output is arriving
    outputs: list[Message] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    written: int = 0  # image files written

    def add(self, position: int, message: Message) -> None:
        if message.type == "status":
            self.statuses.append(str(message.content))
        elif message.type == "confirmation" or (message.type == "console" and message.format == "active_line"):
            return  # approvals and progress: nothing the model acted on
        elif message.role == "user":
            self.close()
            self._step("user", self._content([message]))
        elif message.role == "assistant":
            self._assistant(position, message)
        elif message.type == "error" and message.format == "model":
            self.close()  # the model's own API failing is no observation of the environment
            self._step("system", f"[error: model] {message.content!s}")
        elif self.agent is None:
            self._step("system", "", observation={"results": [{"content": self._output([message])}]})
        else:
            self.outputs.append(message)

    def _assistant(self, position: int, message: Message) -> None:
        agent = self.agent
        if agent is None or self.outputs or "observation" in agent:
            self.close()
            agent = self.agent = self._step("agent", "")
            if self.model:
                agent["model_name"] = self.model
        if message.type == "message":
            text = str(message.content)
            agent["message"] = f"{agent['message']}\n\n{text}" if agent["message"] else text
            return
        self._flush()
        self.call = call_id(position)
        agent.setdefault("tool_calls", []).append({
            "tool_call_id": self.call, "function_name": "execute",
            "arguments": {"language": message.format, "code": message.content}})

    def _step(self, source: str, message: Any, **fields: Any) -> dict[str, Any]:
        step = {"step_id": len(self.steps) + 1, "source": source, "message": message, **fields}
        self.steps.append(step)
        return step

    def _flush(self) -> None:
        """The outputs gathered so far become the observation of the call they answer."""
        if self.agent is None or (not self.outputs and self.call is None):
            return
        result: dict[str, Any] = {"content": self._output(self.outputs)}  # no output reads as NO_OUTPUT
        if self.call is not None:
            result = {"source_call_id": self.call, **result}
        self.agent.setdefault("observation", {"results": []})["results"].append(result)
        self.outputs, self.call = [], None

    def close(self) -> None:
        self._flush()
        self.agent, self.call = None, None

    def _output(self, messages: list[Message]) -> Any:
        """What the model read of a run: text (exit status and errors included), then images."""
        pictures = [m for m in messages if m.type == "image"]
        others = [m for m in messages if m.type != "image"]
        text, _ = render_output(others, False, 1)
        if not pictures:
            return text
        parts = [{"type": "text", "text": text}] if others else []
        return parts + [self._image(m) for m in pictures]

    def _content(self, messages: list[Message]) -> Any:
        """A user message: its text, or content parts when it holds an image."""
        if all(m.type == "message" for m in messages):
            return "\n\n".join(str(m.content) for m in messages)
        return [{"type": "text", "text": str(m.content)} if m.type == "message" else self._image(m)
                for m in messages]

    def _image(self, message: Message) -> dict[str, Any]:
        if message.format == "path":
            suffix = Path(str(message.content)).suffix.lstrip(".").lower()
            return {"type": "image", "source": {"media_type": _MEDIA.get(suffix, "image/png"),
                                                "path": str(message.content)}}
        data = message.content
        if not isinstance(data, bytes):  # the schema keeps image bytes raw; anything else is only named
            return {"type": "text", "text": f"[{message.format} image]"}
        if self.images is None:
            return {"type": "text", "text": f"[{message.format} image, {len(data)} bytes]"}
        self.images.mkdir(parents=True, exist_ok=True)
        self.written += 1
        name = f"step{len(self.steps)}-{self.written}.{message.format}"
        (self.images / name).write_bytes(data)
        return {"type": "image", "source": {"media_type": _MEDIA[str(message.format)], "path": f"{IMAGES}/{name}"}}


def trajectory(messages: Sequence[Message], session_id: str, *, model: str | None = None,
               prompt_tokens: int | None = None, completion_tokens: int | None = None,
               cost_usd: float | None = None, model_calls: int | None = None,
               images: Path | None = None) -> dict[str, Any]:
    """The ATIF trajectory (a JSON-ready dict) of a conversation; images are written into `images`."""
    builder = _Builder(images, model)
    for position, message in enumerate(messages):
        builder.add(position, message)
    builder.close()
    agent: dict[str, Any] = {"name": AGENT, "version": _version()}
    if model:
        agent["model_name"] = model
    final: dict[str, Any] = {"total_steps": len(builder.steps)}
    for key, value in (("total_prompt_tokens", prompt_tokens), ("total_completion_tokens", completion_tokens),
                       ("total_cost_usd", cost_usd)):
        if value is not None:
            final[key] = value
    if model_calls is not None:
        final["extra"] = {"model_calls": model_calls}
    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION, "session_id": session_id, "agent": agent, "steps": builder.steps,
        "notes": "Exported by lmc from its LMC transcript. Each code block is a call of the tool "
                 "execute(language, code); its observation is the output as the model read it. An agent step "
                 "ends where the computer answers, so a reply with several tool calls shows as several steps.",
        "final_metrics": final}
    if builder.statuses:
        out["extra"] = {"status": builder.statuses[-1]}
    return out


def export(transcript: Path, folder: Path, *, model: str | None = None, prompt_tokens: int | None = None,
           completion_tokens: int | None = None, cost_usd: float | None = None,
           model_calls: int | None = None) -> tuple[Path, Path]:
    """Write transcript.json and trajectory.json (and images/) for a saved .lmc conversation into folder."""
    messages = load(transcript)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    session = next((m.session for m in messages if m.session), Path(transcript).stem)
    plain = folder / TRANSCRIPT
    plain.write_text(json.dumps(to_oi(messages), indent=1) + "\n")
    atif = trajectory(messages, session, model=model, prompt_tokens=prompt_tokens,
                      completion_tokens=completion_tokens, cost_usd=cost_usd, model_calls=model_calls,
                      images=folder / IMAGES)
    path = folder / TRAJECTORY
    path.write_text(json.dumps(atif, indent=1) + "\n")
    log.debug("exported %s to %s and %s", transcript, plain, path)
    return plain, path
