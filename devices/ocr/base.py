"""The OCR interface: an engine turns RGB pixels into text boxes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class TextBox:
    """Text found on the screen, its bounding box in screen pixels and the engine's confidence."""

    text: str  #: the text read
    left: int  #: x of the left edge
    top: int  #: y of the top edge
    width: int  #: width in pixels
    height: int  #: height in pixels
    confidence: float  #: 0..1, as reported by the engine

    @property
    def center(self) -> tuple[int, int]:
        """The middle of the box: where a click on this text lands."""
        return (self.left + self.width // 2, self.top + self.height // 2)

    def shifted(self, dx: int, dy: int) -> TextBox:
        """The same box moved by (dx, dy): from region to screen coordinates."""
        return TextBox(self.text, self.left + dx, self.top + dy, self.width, self.height, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        """A msgpack-ready dict, with the center a click would use."""
        x, y = self.center
        return {
            "text": self.text,
            "left": self.left,
            "top": self.top,
            "width": self.width,
            "height": self.height,
            "x": x,
            "y": y,
            "confidence": round(self.confidence, 4),
        }


class OCREngine(Protocol):
    """Reads text from an image. One method; engines differ only in how."""

    name: str  #: a short name for logs and errors, e.g. "rapidocr"

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        """All text lines in an (height, width, 3) RGB uint8 image, boxes relative to it."""
        ...
