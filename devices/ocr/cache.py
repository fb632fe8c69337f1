"""OCR results cached per screenshot digest: the same pixels are never read twice."""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from devices.frame import Frame
from devices.ocr.base import OCREngine, TextBox

log = logging.getLogger(__name__)


class OCRCache:
    """An engine wrapped with a small LRU cache keyed by Frame.digest."""

    def __init__(self, engine: OCREngine, entries: int = 16) -> None:
        self.engine = engine
        self.entries = entries
        self._results: OrderedDict[str, list[TextBox]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def read(self, frame: Frame) -> list[TextBox]:
        """Text boxes of the frame in screen coordinates, from the cache when the pixels repeat."""
        key = frame.digest
        cached = self._results.get(key)
        if cached is not None:
            self.hits += 1
            self._results.move_to_end(key)
            return cached
        self.misses += 1
        started = time.perf_counter()
        boxes = self.engine.read(frame.rgb())
        left, top = frame.region.left, frame.region.top
        boxes = [box.shifted(left, top) for box in boxes]
        elapsed_ms = 1e3 * (time.perf_counter() - started)
        log.debug("%s read %d boxes in %.0f ms", self.engine.name, len(boxes), elapsed_ms)
        self._results[key] = boxes
        while len(self._results) > self.entries:
            self._results.popitem(last=False)
        return boxes
