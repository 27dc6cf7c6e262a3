"""Which operations and models a deployment has: `default_operations` wires every
operation to its models (loaded lazily, registered with one memory residency)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from services import runtimes
from services.config import ServiceConfig
from services.errors import ModelUnavailable
from services.features import FeatureStore
from services.models.blip import Captioner
from services.models.clip import ClipTagger
from services.models.gpt import GptCopywriter
from services.models.inpaint import BackgroundPainter
from services.models.ocr_detector import TextDetector
from services.models.ocr_reader import TextReader
from services.models.pix2pix import Pix2PixEditor
from services.models.residency import ModelResidency
from services.models.resident import ResidentModel
from services.operations import Op, Operation, OperationSet
from services.operations.background import BackgroundOperation
from services.operations.check import CheckOperation
from services.operations.clean import CleanOperation
from services.operations.cutout import ObjectCutter
from services.operations.describe import DescribeOperation
from services.operations.edit import EditDefaults, EditOperation
from services.operations.enhance import EnhanceOperation
from services.operations.fix import FixOperation
from services.operations.gallery import GalleryOperation
from services.operations.library import FindOperation, GroupOperation
from services.operations.room import RoomOperation
from services.operations.straighten import StraightenOperation
from services.operations.tag import TagOperation
from services.operations.text_fill import TextFiller
from services.operations.text_regions import TextFinder
from services.search.vectors import EmbeddingRows
from services.translation import Translators
from services.weights import missing_models, model_dir

log = logging.getLogger("vitrina.jobs")


def default_operations(
    config: ServiceConfig, residency: ModelResidency | None = None
) -> OperationSet:
    """The operations this build implements, wired to their models (loaded lazily); every
    model registers with ``residency`` (the worker's memory budget; None: a new one)."""
    weights = config.weights_dir
    features = FeatureStore(config.features_dir) if config.features_dir else None
    residency = residency or ModelResidency.from_gb(
        config.gpu_memory_budget_gb, config.cpu_memory_budget_gb
    )
    tagger = residency.register(
        ClipTagger(
            model_dir(weights, "clip"),
            device=config.device,
            features=features,
            image_encoder=runtimes.clip_image_encoder(weights, config.device, config.clip_runtime),
        )
    )
    translators = default_translators(config, residency)
    cutter = ObjectCutter(
        weights,
        device=config.device,
        sam_variant=config.sam_model,
        features=features,
        isnet_runtime=config.isnet_runtime,
    )
    residency.register(cutter.isnet)
    residency.register(cutter.sam)
    painter = residency.register(BackgroundPainter(model_dir(weights, "inpaint"), config.device))
    gpt = None
    if config.openai_api_key:
        gpt = GptCopywriter(
            config.openai_api_key,
            base_url=config.openai_base_url,
            model=config.openai_model,
            language=config.describe_gpt_language,
            timeout_s=config.openai_timeout_s,
            backoff_s=config.openai_backoff_s,
        )
    by_name: dict[str, Operation] = {
        Op.TAG: TagOperation(
            tagger,
            missing=lambda: missing_models(weights, ["clip"]),
            top_k=config.tag_top_k,
            min_probability=config.tag_min_probability,
        ),
        Op.DESCRIBE: DescribeOperation(
            residency.register(Captioner(model_dir(weights, "blip"), device=config.device)),
            tagger,  # the same instance /tag uses: one CLIP in memory
            translators,
            missing=lambda names: missing_models(weights, names),
            gpt=gpt,
        ),
        Op.BACKGROUND: BackgroundOperation(
            cutter,
            painter,
            painter_missing=lambda: missing_models(weights, ["inpaint"]),
            steps=config.background_steps,
            translate_to_english=english_or_as_is(translators),
        ),
        **edit_operations(config, english_or_as_is(translators), residency),
        **library_operations(tagger, features, english_or_as_is(translators), weights),
        **marketplace_operations(config, residency, cutter, tagger, painter),
        **hotel_operations(tagger, weights),
    }
    return OperationSet(by_name, residency)


def hotel_operations(tagger: ClipTagger, weights: Path) -> dict[str, Operation]:
    """straighten and enhance (OpenCV on the CPU, no model), and room over the CLIP /tag
    uses. A hotel check and "Fix for Booking" are check's and fix's (the profile decides)."""
    return {
        Op.STRAIGHTEN: StraightenOperation(),
        Op.ENHANCE: EnhanceOperation(),
        Op.ROOM: RoomOperation(tagger, lambda: missing_models(weights, ["clip"])),
    }


def library_operations(
    tagger: ClipTagger,
    features: FeatureStore | None,
    translate_to_english: Callable[[str], str],
    weights: Path,
) -> dict[str, Operation]:
    """find and group: the user's library over the CLIP /tag uses (one model in memory) and
    the image embeddings its jobs stored (kept in memory once read)."""
    rows = EmbeddingRows(features)

    def missing() -> list[str]:
        return missing_models(weights, ["clip"])

    return {
        Op.FIND: FindOperation(tagger, rows, missing, translate_to_english),
        Op.GROUP: GroupOperation(tagger, rows, missing),
    }


def marketplace_operations(
    config: ServiceConfig,
    residency: ModelResidency,
    cutter: ObjectCutter,
    tagger: ClipTagger | None = None,
    painter: BackgroundPainter | None = None,
) -> dict[str, Operation]:
    """check, clean, fix and gallery over one text detector and reader, and the cut, CLIP
    and SD inpainting the other operations hold already (one copy of each model in memory)."""
    weights = config.weights_dir
    detector = residency.register(TextDetector(model_dir(weights, "ocr"), device=config.device))
    finder = TextFinder(detector, TextReader())
    filler = TextFiller(
        painter,
        painter_missing=lambda: missing_models(weights, ["inpaint"]),
        steps=config.background_steps,
    )
    checker = CheckOperation(
        finder, cutter, tagger, clip_missing=lambda: missing_models(weights, ["clip"])
    )
    cleaner = CleanOperation(finder, cutter, filler)
    return {
        Op.CHECK: checker,
        Op.CLEAN: cleaner,
        Op.FIX: FixOperation(checker, cleaner),
        Op.GALLERY: GalleryOperation(checker),  # cuts once, checks each slide with `checker`
    }


def edit_operations(
    config: ServiceConfig,
    translate_to_english: Callable[[str], str] | None = None,
    residency: ModelResidency | None = None,
) -> dict[str, Operation]:
    """night, tulips and edit: three operations over one instruct-pix2pix pipeline.

    ``translate_to_english`` turns a Russian instruction into English (None: as written).
    """
    weights = config.weights_dir
    editor = Pix2PixEditor(model_dir(weights, "pix2pix"), device=config.device)
    if residency is not None:
        residency.register(editor)
    defaults = EditDefaults(
        steps=config.edit_steps,
        guidance=config.edit_guidance,
        image_guidance=config.edit_image_guidance,
        max_side=config.edit_max_side,
    )
    return {
        op: EditOperation(
            op,
            editor,
            lambda: missing_models(weights, ["pix2pix"]),
            defaults,
            translate_to_english=translate_to_english,
        )
        for op in (Op.NIGHT, Op.TULIPS, Op.EDIT)
    }


def english_or_as_is(translators: Translators) -> Callable[[str], str]:
    """The Russian -> English hook of the diffusion prompts: opus-mt-ru-en when its weights
    are there; without them the prompt goes to the model as the user wrote it."""

    def to_english(text: str) -> str:
        try:
            return translators.to_english(text)
        except ModelUnavailable:
            log.warning("opus-mt-ru-en is missing: a Russian prompt goes to the model as typed")
            return text

    return to_english


def default_translators(
    config: ServiceConfig, residency: ModelResidency | None = None
) -> Translators:
    """opus-mt both ways. ``Translators.to_english`` is the hook /edit and /background take
    for Russian prompts (thread-safe; English passes through; loads ru-en on first use)."""
    weights, device, runtime = config.weights_dir, config.device, config.translation_runtime
    en_ru = runtimes.translator(weights, "opus-mt-en-ru", device, runtime)
    ru_en = runtimes.translator(weights, "opus-mt-ru-en", device, runtime)
    if residency is not None:  # a CTranslate2 translator holds no torch model
        for translator in (en_ru, ru_en):
            if isinstance(translator, ResidentModel):
                residency.register(translator)
    return Translators(en_ru.translate, ru_en.translate)
