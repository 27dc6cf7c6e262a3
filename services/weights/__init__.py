"""Model weights: the manifest, and the library side of `vitrina weights download|verify|tiny`.

manifest.py   what each model folder should hold, and whether it does
download.py   pinned snapshots from the hub (and npm, PyPI wheels, plain URLs)
verify.py     checks that never load a model
digest.py     the sha256 of a file
converted.py  converted folders (opus-mt-*-ct2, clip-onnx): their record, whether usable
sam_arch.py   SAM's checkpoints and its architecture at the sizes a sam_config.json names
tiny.py       small random-weight models of the real classes (one `tiny_<model>.py` each)

The bottom layer: nothing here imports the model classes (services/models/) or the
conversions (services/conversion/, which writes what converted.py reads).
"""

from services.weights.download import download, hub_offline
from services.weights.manifest import (
    MANIFEST_PATH,
    MARKER,
    ModelSpec,
    Variant,
    WeightsDownloadError,
    incomplete_reason,
    load_manifest,
    missing_models,
    model_dir,
    read_marker,
    tiny_models,
)
from services.weights.tiny import TINY_BUILDERS, write_tiny_models
from services.weights.verify import verify

__all__ = [
    "MANIFEST_PATH",
    "MARKER",
    "TINY_BUILDERS",
    "ModelSpec",
    "Variant",
    "WeightsDownloadError",
    "download",
    "hub_offline",
    "incomplete_reason",
    "load_manifest",
    "missing_models",
    "model_dir",
    "read_marker",
    "tiny_models",
    "verify",
    "write_tiny_models",
]
