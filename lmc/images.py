"""Images at the edges of the protocol: sniffing, sizes, data URLs, base64 and downscaling.

Inside lmc images are raw PNG/JPEG bytes; base64 exists only where an outside
API demands it (an LLM's image_url, Open Interpreter's JSON). Pillow is optional
and imported only to scale an oversize image down.
"""

from __future__ import annotations

import base64
import binascii
import logging
import struct
from io import BytesIO
from typing import Any, Literal

from lmc.errors import InvalidMessage
from lmc.messages import Message

log = logging.getLogger(__name__)

_MIME = {"png": "image/png", "jpeg": "image/jpeg"}
_FORMAT_OF_MIME = {"image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg"}


def sniff_image(data: bytes) -> Literal["png", "jpeg"] | None:
    """The image format the bytes start with, if PNG or JPEG."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) read from a PNG or JPEG header, without decoding the image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Walk the JPEG segments to the first start-of-frame, which holds the size."""
    frames = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte before a marker
            i += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
        elif marker in frames:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        else:
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
    return None


def data_url(data: bytes, fmt: str) -> str:
    """A base64 data URL of PNG or JPEG bytes (base64 only here, at the API's edge)."""
    return f"data:{_MIME[fmt]};base64,{base64.b64encode(data).decode('ascii')}"


def parse_data_url(url: object, field: str) -> tuple[bytes, Literal["png", "jpeg"]]:
    """The bytes and format of a base64 PNG/JPEG data URL; InvalidMessage naming `field` if not."""
    expected = "a base64 data URL of a PNG or JPEG image (data:image/png;base64,...)"
    if not isinstance(url, str) or not url.startswith("data:"):
        raise InvalidMessage(field, expected + "; download remote images and pass their bytes", url)
    head, _, payload = url.partition(",")
    mime = head[len("data:") :].split(";")[0].lower()
    if mime not in _FORMAT_OF_MIME or not head.endswith(";base64"):
        raise InvalidMessage(field, expected, head + ",...")
    data = decode_base64(payload, field)
    return data, _checked_format(data, field)


def decode_base64(text: str, field: str) -> bytes:
    """Bytes of base64 text; InvalidMessage naming `field` when it is not base64."""
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidMessage(field, f"valid base64 ({exc})", text) from exc


def _checked_format(data: bytes, field: str) -> Literal["png", "jpeg"]:
    fmt = sniff_image(data)
    if fmt is None:
        raise InvalidMessage(field, "the bytes of a PNG or JPEG image", data[:16])
    return fmt


def shrink_image(data: bytes, max_bytes: int) -> bytes | str:
    """A JPEG of the image scaled down (aspect kept) to fit `max_bytes`, or why there is none."""
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        return "install Pillow to send it scaled down"
    try:  # the one place Pillow's exceptions are met
        with Image.open(BytesIO(data)) as opened:
            image = opened.convert("RGB")  # JPEG has no alpha channel
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError) as exc:
        log.warning("cannot scale down an image Pillow cannot read: %s", exc)
        return "it could not be decoded to scale it down"
    scale = min(1.0, (max_bytes / len(data)) ** 0.5)
    for _ in range(8):
        size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
        out = BytesIO()
        image.resize(size).save(out, "JPEG", quality=85)
        if out.tell() <= max_bytes:
            return out.getvalue()
        scale *= 0.7
    return "even scaled down it did not fit"


def _image_note(data: bytes, fmt: str, why: str) -> str:
    size = image_size(data)
    shown = f"{fmt} {size[0]}x{size[1]}" if size else f"{fmt}, size unknown"
    return f"[image: {shown} omitted; {why}]"


def image_part(message: Message, vision: bool, max_bytes: int) -> dict[str, Any] | str:
    """An `image_url` content part for an image message, or the text note that stands for it."""
    if message.format == "path":
        return f"[image file: {message.text}]"
    data, fmt = message.content, str(message.format)
    if not isinstance(data, bytes):
        raise InvalidMessage("content", "the bytes of an image message", type(data).__name__)
    if not vision:
        return _image_note(data, fmt, "the model cannot see images")
    if len(data) > max_bytes:
        smaller = shrink_image(data, max_bytes)
        if isinstance(smaller, str):
            return _image_note(data, fmt, f"{len(data)} bytes is over the {max_bytes}-byte limit; {smaller}")
        data, fmt = smaller, "jpeg"
    return {"type": "image_url", "image_url": {"url": data_url(data, fmt)}}


# --- LMC -> OpenAI ----------------------------------------------------------
