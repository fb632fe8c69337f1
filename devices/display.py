"""The display device: screenshots (mss) as LMC images, the screen size, and text on it (OCR)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from devices.errors import DesktopDied, DeviceError, DeviceUsageError, NoDisplay, OffScreen
from devices.frame import Frame, Region
from devices.icons import CandidateConfig, candidate_boxes, numbered
from devices.imaging import ImageOptions, image_message
from devices.marks import MarkSet, build
from devices.ocr.base import OCREngine, TextBox
from devices.ocr.cache import OCRCache
from devices.ocr.rapid import RapidOCRConfig, RapidOCREngine
from devices.recording import Recording, RecordingConfig
from devices.textmatch import find, words
from devices.xdisplay import socket_path
from lmc.messages import Message

log = logging.getLogger(__name__)

RegionLike = Region | Sequence[int] | dict[str, int] | None
#: the widest screenshot view() sends a model unless DisplayConfig.view says otherwise
VIEW_MAX_WIDTH = 1280


@dataclass(frozen=True)
class DisplayConfig:
    """How the display shows the screen and reads it."""

    view: ImageOptions = field(default_factory=lambda: ImageOptions("png", max_width=VIEW_MAX_WIDTH))
    """what view() sends a model: downscaled so large screens stay within vision-model limits"""
    screenshot: ImageOptions = field(default_factory=ImageOptions)
    """what screenshot() returns: full size"""
    ocr_cache_entries: int = 16  #: OCR results kept, keyed by screenshot digest
    rapidocr: RapidOCRConfig = field(default_factory=RapidOCRConfig)  #: the default OCR engine's settings


class Display:
    """The screen of one X display: view it, measure it, read the text on it."""

    def __init__(self, display: str, config: DisplayConfig | None = None, ocr: OCREngine | None = None,
                 candidates: CandidateConfig | None = None) -> None:
        self.display = display
        self.config = config or DisplayConfig()
        self.ocr = OCRCache(ocr or RapidOCREngine(self.config.rapidocr), self.config.ocr_cache_entries)
        self.candidates = candidates or CandidateConfig()  #: how marks() cuts icon candidates out
        self.marked: MarkSet | None = None  #: the marks of the last marks(), which click(mark=N) uses
        self._mss: Any = None

    def _grabber(self) -> Any:
        if self._mss is None:
            import mss
            from mss.exception import ScreenShotError

            try:
                self._mss = mss.MSS(display=self.display)
            except ScreenShotError as exc:
                raise NoDisplay(
                    f"cannot open X display {self.display!r} for screenshots ({exc}); "
                    "start a virtual desktop (--desktop virtual) or set DISPLAY to a running X server"
                ) from exc
        return self._mss

    def reconnect(self) -> None:
        """Drop the X connection so the next grab opens a new one (after a desktop restart)."""
        if self._mss is not None:
            from mss.exception import ScreenShotError

            try:
                self._mss.close()
            except ScreenShotError:
                log.debug("closing the old mss connection to %s failed; it was dead anyway", self.display)
        self._mss = None

    def screen(self) -> Region:
        """The whole screen as a region (all monitors together)."""
        whole = self._grabber().monitors[0]
        return Region(whole["left"], whole["top"], whole["width"], whole["height"])

    def size(self) -> tuple[int, int]:
        """(width, height) of the whole screen in pixels."""
        screen = self.screen()
        return (screen.width, screen.height)

    def check_point(self, x: float, y: float) -> None:
        """Raise OffScreen unless (x, y) lies on the screen."""
        screen = self.screen()
        if not screen.contains(x, y):
            raise OffScreen(
                f"point ({x}, {y}) is off the screen, which is {screen.width}x{screen.height} "
                f"(x from {screen.left} to {screen.left + screen.width - 1}, "
                f"y from {screen.top} to {screen.top + screen.height - 1})"
            )

    def _region(self, region: RegionLike, monitor: int | None) -> Region:
        monitors = self._grabber().monitors
        if monitor is not None:
            if not isinstance(monitor, int) or not 0 <= monitor < len(monitors):
                raise DeviceUsageError(
                    f"monitor must be 0 (all) to {len(monitors) - 1}, got {monitor!r}; "
                    f"this display has {len(monitors) - 1} monitor(s)"
                )
            if region is None:
                chosen = monitors[monitor]
                return Region(chosen["left"], chosen["top"], chosen["width"], chosen["height"])
        if region is None:
            return self.screen()
        return _inside(_as_region(region), self.screen())

    def grab(self, region: RegionLike = None, monitor: int | None = None) -> Frame:
        """Raw pixels of the screen, one monitor, or a region."""
        from mss.exception import ScreenShotError

        where = self._region(region, monitor)
        box = {"left": where.left, "top": where.top, "width": where.width, "height": where.height}
        try:
            shot = self._grabber().grab(box)
        except ScreenShotError as exc:
            if not socket_path(self.display).exists():
                raise DesktopDied(f"X display {self.display} is gone ({exc}); restart the desktop") from exc
            raise DeviceError(f"screenshot of {self.display} failed: {exc}") from exc
        return Frame(bytes(shot.bgra), where)

    def screenshot(self, format: str | None = None, region: RegionLike = None, monitor: int | None = None,
                   *, scale: tuple[float, float] | None = None) -> Message:
        """A full-size LMC image of the screen, one monitor, or a region (resized by `scale` on x and y if given)."""
        options = self.config.screenshot if format is None else replace(self.config.screenshot, format=format)
        if scale is not None:
            options = replace(options, scale=scale)
        return image_message(self.grab(region, monitor), options)

    def view(
        self,
        format: str | None = None,
        region: RegionLike = None,
        monitor: int | None = None,
        max_width: int | None = None,
        *,
        scale: tuple[float, float] | None = None,
    ) -> Message:
        """An LMC image of the screen sized for a model (see DisplayConfig.view; `scale` resizes exactly)."""
        return image_message(self.grab(region, monitor), self._view_options(format, max_width, scale))

    def _view_options(self, format: str | None, max_width: int | None,
                      scale: tuple[float, float] | None) -> ImageOptions:
        """DisplayConfig.view with a call's format, max_width and scale."""
        options = self.config.view
        if format is not None:
            options = replace(options, format=format)
        if max_width is not None:
            options = replace(options, max_width=max_width)
        if scale is not None:
            options = replace(options, scale=scale)
        return options

    def marks(self, format: str | None = None, max_width: int | None = None, *,
              scale: tuple[float, float] | None = None) -> dict[str, Any]:
        """Set-of-marks: {"image": the screen with numbered boxes (sized like view()), "marks": [{"mark": n,
        "left", "top", "width", "height", "x", "y", "text" (None for a shape), "source": "ocr" or "icon"}]}.

        The boxes are the OCR lines and the icon candidates (devices.marks); the display remembers
        them for mouse.click(mark=n) until the next marks().
        """
        frame = self.grab()
        marked = MarkSet(build(self.ocr.read(frame), candidate_boxes(frame, self.candidates)), frame.size)
        options = self._view_options(format, max_width, scale)
        image = image_message(numbered(frame, [mark.box for mark in marked.marks]), options)
        self.marked = marked
        return {"image": image, "marks": [mark.to_dict() for mark in marked.marks]}

    def lines(self, region: RegionLike = None) -> list[TextBox]:
        """Every line of text OCR reads on the screen (or region), in screen coordinates."""
        return self.ocr.read(self.grab(region))

    def get_text(self, region: RegionLike = None) -> list[TextBox]:
        """Every word on the screen (or region) with its box and confidence."""
        return words(self.lines(region))

    def find_text(self, text: str, region: RegionLike = None) -> list[TextBox]:
        """Boxes where `text` appears on the screen (case and spacing ignored); [] if nowhere."""
        if not isinstance(text, str) or not text.strip():
            raise DeviceUsageError(f"find_text needs non-empty text to look for, got {text!r}")
        return find(self.lines(region), text)

    def record(self, path: Path | str, config: RecordingConfig | None = None,
               env: dict[str, str] | None = None) -> Recording:
        """Start recording this screen into a video file (.mp4 or .mkv) with ffmpeg; stop() the result, or
        use it in `with`. Host-side only (see devices.recording)."""
        return Recording(self.display, path, config, env).start()

    def warm_up(self) -> None:
        """Load the OCR models now (seconds), so the first find_text does not pay for it."""
        self.lines()

    def close(self) -> None:
        """Release the X connection."""
        self.reconnect()


def _as_region(value: RegionLike) -> Region:
    """A Region from a Region, [left, top, width, height] or a dict with those keys."""
    if isinstance(value, Region):
        return value
    if isinstance(value, dict):
        try:
            return Region(int(value["left"]), int(value["top"]), int(value["width"]), int(value["height"]))
        except KeyError as exc:
            raise DeviceUsageError(f"a region dict needs left, top, width and height; missing {exc}") from exc
    if isinstance(value, Sequence) and len(value) == 4 and all(isinstance(v, int) for v in value):
        return Region(*value)
    raise DeviceUsageError(f"a region is [left, top, width, height] in pixels, got {value!r}")


def _inside(region: Region, screen: Region) -> Region:
    """The region itself, or OffScreen when it is empty or leaves the screen."""
    right, bottom = region.left + region.width, region.top + region.height
    fits = region.width > 0 and region.height > 0 and screen.contains(region.left, region.top)
    if not fits or right > screen.left + screen.width or bottom > screen.top + screen.height:
        raise OffScreen(
            f"region {region.left},{region.top} {region.width}x{region.height} does not fit the screen, "
            f"which is {screen.width}x{screen.height}; give [left, top, width, height] inside it"
        )
    return region
