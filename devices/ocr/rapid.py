"""PaddleOCR's PP-OCR models through rapidocr on ONNX Runtime; the models ship inside the wheel."""

from __future__ import annotations

import logging
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

    use_cls: bool = False  #: the text-direction classifier; screens are upright, so off saves ~15%
    rec_batch_num: int = 32  #: text lines recognised per batch; 32 vs the default 6 halves the time
    det_limit_side_len: int = 736  #: the detector scales the short side to this
    threads: int = -1  #: ONNX Runtime intra-op threads; -1 lets it use every core
    min_confidence: float = 0.5  #: lines read with less confidence are dropped


class RapidOCREngine:
    """An OCREngine backed by rapidocr (PP-OCRv6 small models, offline)."""

    name = "rapidocr"

    def __init__(self, config: RapidOCRConfig | None = None) -> None:
        self.config = config or RapidOCRConfig()
        self._engine: Any = None

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
            "Global.use_cls": cfg.use_cls,
            "Global.text_score": cfg.min_confidence,
            "Rec.rec_batch_num": cfg.rec_batch_num,
            "Det.limit_side_len": cfg.det_limit_side_len,
            "EngineConfig.onnxruntime.intra_op_num_threads": cfg.threads,
        }
        log.info("loading rapidocr models")
        return RapidOCR(params=params)

    def read(self, rgb: np.ndarray) -> list[TextBox]:
        """All text lines in the image with axis-aligned boxes."""
        if self._engine is None:
            self._engine = self._load()
        result = self._engine(rgb)
        if result.boxes is None:
            return []
        found = []
        for quad, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            xs = [float(point[0]) for point in quad]
            ys = [float(point[1]) for point in quad]
            left, top = int(min(xs)), int(min(ys))
            width, height = int(max(xs)) - left, int(max(ys)) - top
            found.append(TextBox(str(text), left, top, width, height, float(score)))
        return found
