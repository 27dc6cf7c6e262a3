"""Converted runtimes, the write side of `vitrina weights convert` (and of `weights tiny`).

convert.py  convert and check each model, write ``converted.json`` (atomically, per folder)
marian.py   opus-mt -> CTranslate2, checked token for token against transformers
clip.py     CLIP's image tower -> ONNX, checked embedding for embedding against torch
tiny.py     the tiny models and their conversions

This package depends on the model classes (services/models/: a conversion is checked by
running them); they never import it. What the models need of a converted folder (where it
is, its record, whether it may be used) is in services/weights/converted.py.
"""

from services.conversion.convert import Conversion, ConversionError, convert
from services.conversion.tiny import write_tiny

__all__ = ["Conversion", "ConversionError", "convert", "write_tiny"]
