"""Finding an icon by description: candidate boxes from edges, numbered, chosen by a vision model."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from devices.errors import DeviceError, IconNotFound, IconSearchUnavailable
from devices.frame import Frame, Region

if TYPE_CHECKING:
    from PIL import Image

log = logging.getLogger(__name__)


class IconLocator(Protocol):
    """Chooses the numbered box that shows an icon; the session's vision model plugs in here."""

    def __call__(self, image_png: bytes, description: str, boxes: list[Region]) -> int | None:
        """The number (1-based, as drawn) of the box matching the description, or None."""
        ...


@dataclass(frozen=True)
class CandidateConfig:
    """How candidate boxes are cut out of a screenshot."""

    min_side: int = 8  #: boxes narrower or shorter than this are noise
    max_area_share: float = 0.2  #: boxes covering more of the screen are panels, not icons
    max_boxes: int = 80  #: at most this many boxes are numbered, smallest first
    dilate: int = 2  #: dilation steps that merge an icon's strokes into one blob


def candidate_boxes(frame: Frame, config: CandidateConfig) -> list[Region]:
    """Boxes around distinct shapes on the screen (edges, dilated, outer contours), reading order."""
    try:
        import cv2
    except ImportError as exc:
        raise DeviceError(f"icon search needs OpenCV ({exc}); 'pip install opencv-python-headless'") from exc
    gray = cv2.cvtColor(frame.rgb(), cv2.COLOR_RGB2GRAY)
    edges = cv2.Canny(gray, 40, 120)
    blobs = cv2.dilate(edges, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)), iterations=config.dilate)
    contours, _ = cv2.findContours(blobs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    limit = config.max_area_share * frame.region.width * frame.region.height
    boxes = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if w >= config.min_side and h >= config.min_side and w * h <= limit:
            boxes.append(Region(x + frame.region.left, y + frame.region.top, w, h))
    # keep the smallest: icons are small, and big boxes are mostly windows around them
    boxes = sorted(boxes, key=lambda b: b.width * b.height)[: config.max_boxes]
    return sorted(boxes, key=lambda b: (b.top // 10, b.left))


def numbered_png(frame: Frame, boxes: list[Region]) -> bytes:
    """The screenshot with every box outlined and labelled 1..n, as PNG for a vision model."""
    out = io.BytesIO()
    numbered(frame, boxes).save(out, "PNG", compress_level=1)
    return out.getvalue()


def numbered(frame: Frame, boxes: Sequence[Region]) -> Image.Image:
    """A copy of the screenshot with every box outlined and labelled 1..n (icon search, set-of-marks)."""
    from PIL import ImageDraw, ImageFont

    image = frame.image().copy()
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=12)
    for number, box in enumerate(boxes, start=1):
        left, top = box.left - frame.region.left, box.top - frame.region.top
        draw.rectangle((left, top, left + box.width - 1, top + box.height - 1), outline=(255, 0, 0))
        label = str(number)
        text_box = draw.textbbox((left, top), label, font=font)
        draw.rectangle(text_box, fill=(255, 0, 0))
        draw.text((left, top), label, fill=(255, 255, 255), font=font)
    return image


def locate_icon(frame: Frame, description: str, locator: IconLocator | None, config: CandidateConfig) -> Region:
    """The box of the icon the locator picks; clear errors without a locator or a choice."""
    if locator is None:
        raise IconSearchUnavailable(
            f"icon={description!r} needs a vision model to pick the icon, and this session has none; "
            "start it with a vision model (--model with a vision model), or click by x, y or text="
        )
    boxes = candidate_boxes(frame, config)
    if not boxes:
        raise IconNotFound(f"no shapes that could be the icon {description!r} were found on the screen")
    choice = locator(numbered_png(frame, boxes), description, boxes)
    log.debug("icon locator chose %s of %d boxes for %r", choice, len(boxes), description)
    if choice is None:
        raise IconNotFound(f"the vision model found no icon matching {description!r} among {len(boxes)} boxes")
    if not isinstance(choice, int) or not 1 <= choice <= len(boxes):
        raise IconNotFound(
            f"the icon locator answered {choice!r} for {description!r}; expected a box number 1-{len(boxes)}"
        )
    return boxes[choice - 1]
