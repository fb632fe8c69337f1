"""A captured screenshot: raw pixels, where they came from, and their digest."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image


@dataclass(frozen=True)
class Region:
    """A rectangle on the screen, in screen pixels."""

    left: int  #: x of the left edge
    top: int  #: y of the top edge
    width: int  #: width in pixels
    height: int  #: height in pixels

    def contains(self, x: float, y: float) -> bool:
        """Whether the point lies inside the rectangle."""
        return self.left <= x < self.left + self.width and self.top <= y < self.top + self.height

    @property
    def center(self) -> tuple[int, int]:
        """The middle of the rectangle, rounded to whole pixels."""
        return (self.left + self.width // 2, self.top + self.height // 2)


@dataclass(frozen=True)
class Frame:
    """Pixels grabbed from the screen (BGRA, as X and mss deliver them) and their place on it."""

    bgra: bytes  #: width * height * 4 bytes, blue-green-red-padding
    region: Region  #: where on the screen the pixels came from

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return (self.region.width, self.region.height)

    @cached_property
    def digest(self) -> str:
        """A hash of the pixels and region: the key of the OCR cache."""
        # sha1 is ~2x faster than blake2b on 4 MB here; this is a cache key, not security
        h = hashlib.sha1(self.bgra, usedforsecurity=False)
        h.update(repr(self.region).encode())
        return h.hexdigest()

    def image(self) -> Image.Image:
        """The pixels as an RGB Pillow image (converted without copying twice)."""
        from PIL import Image

        return Image.frombuffer("RGB", self.size, self.bgra, "raw", "BGRX", 0, 1)

    def rgb(self) -> np.ndarray:
        """The pixels as an (height, width, 3) RGB uint8 array."""
        import numpy as np

        pixels = np.frombuffer(self.bgra, dtype=np.uint8).reshape(self.region.height, self.region.width, 4)
        return np.ascontiguousarray(pixels[:, :, 2::-1])
