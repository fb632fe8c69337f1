"""PaddleOCR's PP-OCR models through rapidocr on ONNX Runtime; the models ship inside the wheel.

Detection runs on every new screenshot, without its blank row bands (devices.ocr.compact);
recognition, ~80% of a first look, runs only on text boxes whose pixels it has not read before
(after a click most of the screen is unchanged, so most lines come from the line cache), its
batches side by side on the cores the process may use.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from devices.errors import OCRUnavailable
from devices.ocr.base import TextBox

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RapidOCRConfig:
    """Settings of the rapidocr engine (defaults tuned for 1280x800 screens on 2 cores)."""

    rec_batch_num: int = 8  #: lines recognised per batch; each batch is padded to its widest line
    rec_min_width: int = 48
    """Narrowest width (pixels at height 48) a recognition batch is padded to. rapidocr pads to 320, so a
    one-word button (~100 px) cost the model 3x its width: 48 read the 1280x800 benchmark screen in
    ~0.4x the CPU (recognition 3.0 s -> 0.9 s on a loaded 2-core node), 49/49 words, no lower confidence.
    Batches of 16 or 49 lines were no faster than 8."""
    det_limit_type: str = "max"  #: "max" scales the long side down to det_limit_side_len; "min" the short up
    det_limit_side_len: int = 960
    """1280x800 is detected at 960x600: ~40% faster than rapidocr's default ("min", 736), same 49/49 words.
    640 halved detection time but lost a word in 10 px DejaVu Sans, so it stays 960."""
    threads: int = 1
    """ONNX Runtime intra-op threads per model call. 1, because device actors share a node's cores: on 2 busy
    cores one thread read a 50-line screen in 5.3 s wall / 1.8 s CPU, all cores (-1) in 9.4 s / 2.6 s (ORT's
    pool spins while it waits). Recognition uses the cores through rec_workers instead."""
    blank_margin: int = 8
    """Blank bands of the screen are cut to this many pixels before detection (devices.ocr.compact); 0 detects
    on the whole screen."""
    rec_workers: int = 0
    """Recognition batches run side by side, each on one ONNX Runtime thread (which, unlike ORT's own
    thread pool, does not spin on a busy node); 0 = the cores this process may use, at most 4."""
    min_confidence: float = 0.5  #: lines read with less confidence are dropped
    line_cache_entries: int = 4096  #: recognised lines remembered by their pixels, oldest dropped first

    def __post_init__(self) -> None:
        if not 1 <= self.rec_min_width <= 2048:
            raise ValueError(f"RapidOCRConfig.rec_min_width is a width in pixels from 1 to 2048, "
                             f"got {self.rec_min_width!r}; 48 is the tuned default")
        if not 0 <= self.rec_workers <= 64:
            raise ValueError(f"RapidOCRConfig.rec_workers is 0 (one per usable core, at most 4) or a count up "
                             f"to 64, got {self.rec_workers!r}")
        if not 0 <= self.blank_margin <= 256:
            raise ValueError(f"RapidOCRConfig.blank_margin is 0 (detect on the whole screen) or a margin in "
                             f"pixels up to 256, got {self.blank_margin!r}; 8 is the tuned default")


class RapidOCREngine:
    """An OCREngine backed by rapidocr (PP-OCRv6 small models, offline)."""

    name = "rapidocr"

    def __init__(self, config: RapidOCRConfig | None = None) -> None:
        self.config = config or RapidOCRConfig()
        self._engine: Any = None
        self._lines: OrderedDict[bytes, tuple[str, float]] = OrderedDict()

    def _load(self) -> Any:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise OCRUnavailable(
                f"OCR needs the rapidocr package ({exc}); install it with "
                "'pip install lmc[desktop]' (rapidocr onnxruntime)"
            ) from exc
        cfg = self.config
        params = {
            "Global.log_level": "error",
            # screens are upright: the direction classifier would only cost time
            "Global.use_cls": False,
            "Rec.rec_batch_num": cfg.rec_batch_num,
            "Rec.rec_img_shape": [3, 48, cfg.rec_min_width],
            "Det.limit_type": cfg.det_limit_type,
            "Det.limit_side_len": cfg.det_limit_side_len,
            "EngineConfig.onnxruntime.intra_op_num_threads": cfg.threads,
        }
        log.info("loading rapidocr models")
        return RapidOCR(params=params)

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        """All text lines in the image with axis-aligned boxes."""
        if self._engine is None:
            self._engine = self._load()
        quads = self._detect(rgb)
        if quads is None:
            return []
        crops = self._engine.crop_text_regions(rgb, quads)
        keys = [_key(crop) for crop in crops]
        todo = [(key, crop) for key, crop in zip(keys, crops, strict=True) if key not in self._lines]
        lines = {key: self._lines[key] for key in keys if key in self._lines}
        lines.update(self._recognize(todo))
        boxes = []
        for quad, key in zip(quads, keys, strict=True):
            text, score = lines[key]
            if score >= self.config.min_confidence and text.strip():
                boxes.append(_box(quad, text, score))
        return boxes

    def _detect(self, rgb: np.ndarray) -> np.ndarray | None:
        """Quadrilaterals around the lines of text, in the image's coordinates; None when there is none.

        Detection runs on the image without its blank bands (devices.ocr.compact) at the
        scale the whole image would have had, so it sees the same text at the same size.
        """
        from devices.ocr.compact import compact  # numpy and OpenCV: the desktop extra, like rapidocr itself

        cfg = self.config
        # "min" scales the short side up: the smaller image would be scaled differently, so it is not cut
        small = compact(rgb, cfg.blank_margin) if cfg.blank_margin and cfg.det_limit_type == "max" else None
        image = rgb if small is None else small.image
        detector = self._engine._load_det_model()
        detector.limit_side_len = cfg.det_limit_side_len
        if small is not None:
            scale = min(1.0, cfg.det_limit_side_len / max(rgb.shape[:2]))
            detector.limit_side_len = max(32, round(max(image.shape[:2]) * scale))
        found = self._engine(image, use_det=True, use_cls=False, use_rec=False)
        if found.boxes is None:
            return None
        return found.boxes if small is None else small.restore(found.boxes)

    def forget(self) -> None:
        """Drop the remembered lines, so the next read recognises everything (benchmarks)."""
        self._lines.clear()

    def _recognize(self, todo: list[tuple[bytes, np.ndarray]]) -> dict[bytes, tuple[str, float]]:
        """Read the crops not seen before and remember them; batches run side by side (rec_workers)."""
        read: dict[bytes, tuple[str, float]] = {}
        shares = _shares(todo, self.config.rec_batch_num, self._workers())

        def recognize(share: list[tuple[bytes, np.ndarray]]) -> Any:
            return self._engine.recognize_txt([crop for _, crop in share])

        if len(shares) > 1:
            with ThreadPoolExecutor(len(shares), thread_name_prefix="ocr-rec") as pool:
                results = list(pool.map(recognize, shares))
        else:
            results = [recognize(share) for share in shares]
        for share, result in zip(shares, results, strict=True):
            for (key, _), text, score in zip(share, result.txts, result.scores, strict=True):
                read[key] = self._lines[key] = (str(text), float(score))
        while len(self._lines) > self.config.line_cache_entries:
            self._lines.popitem(last=False)
        return read

    def _workers(self) -> int:
        """How many recognition batches run at once: rec_workers, or (0) the cores this process may use, <= 4."""
        if self.config.rec_workers:
            return self.config.rec_workers
        return max(1, min(4, len(os.sched_getaffinity(0))))


def _shares(todo: list[tuple[bytes, np.ndarray]], batch: int, workers: int) -> list[list[tuple[bytes, np.ndarray]]]:
    """Crops split into at most `workers` shares of whole batches, alike in width, dealt out in turn.

    Crops are ordered by their width/height ratio first, as the recogniser orders them,
    so each batch still pads its lines to a similar width.
    """
    if not todo:
        return []
    ordered = sorted(todo, key=lambda item: item[1].shape[1] / max(1, item[1].shape[0]))
    batches = [ordered[i:i + batch] for i in range(0, len(ordered), batch)]
    count = min(workers, len(batches))
    return [[item for chunk in batches[i::count] for item in chunk] for i in range(count)]


def _key(crop: np.ndarray) -> bytes:
    """A crop's identity: its shape and a hash of its pixels."""
    digest = hashlib.sha1(crop.tobytes(), usedforsecurity=False)
    digest.update(repr(crop.shape).encode())
    return digest.digest()


def _box(quad: Any, text: str, score: float) -> TextBox:
    """An axis-aligned TextBox around a detected quadrilateral."""
    xs = [float(point[0]) for point in quad]
    ys = [float(point[1]) for point in quad]
    left, top = int(min(xs)), int(min(ys))
    return TextBox(text, left, top, int(max(xs)) - left, int(max(ys)) - top, score)
