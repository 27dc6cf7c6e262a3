"""Publishing photos onto a marketplace's cards (Wildberries first), without aiogram.

- `wb_client`: the Wildberries Content API (cards/list, media/file, media/save) with its
  rate limit (`ratelimit`), typed errors (`TokenRevoked`, `WbError` with WB's own reason);
- `articles` (+ `articles.toml`): which seller article a file name or a caption names;
- `limits`: WB's photo rules (size, bytes, formats, 30 a card), checked before any upload;
- `planner`: each photo's X-Photo-Number for a mode (add, replace_main, replace_all) and
  whether a step is already on the card (a resumed run never sends a photo twice);
- `tokens`: a seller's token encrypted at rest (Fernet, keyed from SECRET_KEY).
"""
