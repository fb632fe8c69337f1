"""OCR behind a small interface: RapidOCR (PP-OCR on ONNX Runtime) by default, others pluggable."""

from devices.ocr.base import OCREngine, TextBox
from devices.ocr.cache import OCRCache

__all__ = ["OCRCache", "OCREngine", "TextBox"]
