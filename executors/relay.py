"""The one `computer.*` relay on the host: answer a call made by code in a sandbox with the devices.

The agent (or an executor actor forwarding for it) sends a `CallRequest`; the
side that holds the devices answers it here and sends the `CallReply` back.
"""

from __future__ import annotations

from executors.base import CallHandler
from executors.errors import no_screen, to_wire
from executors.sandbox.protocol import CallReply, CallRequest, WireError
from lmc.codec import to_dict
from lmc.errors import LMCError
from lmc.messages import Chunk, Message


def answer(handler: CallHandler | None, call: CallRequest) -> tuple[CallReply, Chunk | None]:
    """The reply to a computer.* call, and an image to show the model if any: display.view's image is shown
    (the code gets None), and display.marks' numbered screenshot is shown while the code gets its marks list."""
    if handler is None:
        return CallReply(call.cid, error=WireError("ComputerUnavailable", no_screen(call.path))), None
    try:
        result = handler(call.path, call.args, call.kwargs)
    except LMCError as exc:  # the caller's mistake or a device failure: data for the code
        return CallReply(call.cid, error=to_wire(exc)), None
    if call.path == "display.view" and isinstance(result, Message) and result.type == "image":
        return CallReply(call.cid), Chunk.whole(result)  # shown to the model, as Open Interpreter does
    if call.path == "display.marks" and isinstance(result, dict) and isinstance(result.get("image"), Message):
        return CallReply(call.cid, result.get("marks")), Chunk.whole(result["image"])
    return CallReply(call.cid, to_dict(result) if isinstance(result, Message) else result), None
