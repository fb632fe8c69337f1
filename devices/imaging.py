"""Turning a Frame into an LMC image message: format, quality, downscale."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING

from devices.errors import DeviceUsageError
from devices.frame import Frame
from lmc.messages import Message

if TYPE_CHECKING:
    from PIL import Image

FORMATS = ("png", "jpeg")


@dataclass(frozen=True)
class ImageOptions:
    """How a screenshot becomes an image message."""

    format: str = "png"  #: "png" (lossless) or "jpeg" (smaller, faster)
    max_width: int | None = None  #: downscale wider images to this width, keeping the aspect ratio
    jpeg_quality: int = 80  #: JPEG quality, 1-95
    png_compress_level: int = 1  #: zlib level 0-9; 1 is ~2x faster than 6 and screens compress well anyway
    scale: tuple[float, float] | None = None
    """resize by these factors on x and y instead (coordinate scaling, devices.scaling); overrides max_width"""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise DeviceUsageError(f"image format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.max_width is not None and (not isinstance(self.max_width, int) or self.max_width < 16):
            raise DeviceUsageError(f"max_width must be an int of at least 16 or None, got {self.max_width!r}")
        if not 1 <= self.jpeg_quality <= 95:
            raise DeviceUsageError(f"jpeg_quality must be from 1 to 95, got {self.jpeg_quality!r}")
        if not 0 <= self.png_compress_level <= 9:
            raise DeviceUsageError(f"png_compress_level must be from 0 to 9, got {self.png_compress_level!r}")


def encode(source: Frame | Image.Image, options: ImageOptions) -> bytes:
    """The frame (or a picture drawn from one) as PNG or JPEG bytes, downscaled when wider than options.max_width."""
    from PIL import Image

    image = source.image() if isinstance(source, Frame) else source
    width, height = image.size
    if options.scale is not None:
        scaled = (max(1, round(width * options.scale[0])), max(1, round(height * options.scale[1])))
        if scaled != image.size:
            image = image.resize(scaled, Image.Resampling.BILINEAR)
    elif fit_width(image.size, options.max_width) != image.size:
        image = image.resize(fit_width(image.size, options.max_width), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if options.format == "jpeg":
        image.save(out, "JPEG", quality=options.jpeg_quality)
    else:
        image.save(out, "PNG", compress_level=options.png_compress_level)
    return out.getvalue()


def fit_width(size: tuple[int, int], max_width: int | None) -> tuple[int, int]:
    """The size an image of `size` is downscaled to so it is at most max_width wide, aspect kept (None: as is)."""
    width, height = size
    if max_width is None or width <= max_width:
        return size
    return max_width, max(1, round(height * max_width / width))


def image_message(source: Frame | Image.Image, options: ImageOptions) -> Message:
    """The frame (or a picture drawn from one) as an LMC image message from the computer."""
    return Message("computer", "image", encode(source, options), format=options.format)
