"""Selling copy from GPT-4o (or any OpenAI-compatible server): the photo + its tags in, the
same structure as the local path out (title, 3-5 benefit lines, closing), as JSON through
structured output. Runs on the event loop (openai.AsyncOpenAI), never on the model worker.

Retries 429 and 5xx (and timeouts, dropped connections) with exponential backoff, honouring
Retry-After; anything else, or the last failure, raises GptFailed with a short reason that
never contains the API key.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from services.describer.result import Copy

log = logging.getLogger("vitrina.gpt")

_COPY_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "benefits": {"type": "array", "items": {"type": "string"}},
        "closing": {"type": "string"},
    },
    "required": ["title", "benefits", "closing"],
    "additionalProperties": False,
}
_STYLE = {
    "product": "You write selling copy for a marketplace product card (Ozon, Wildberries style): "
    "concrete, friendly, no exaggeration.",
    "hotel": "You write a short, inviting description of a hotel room for a booking page: "
    "warm, calm, concrete.",
}


class GptFailed(Exception):
    """The GPT path gave no usable text; ``reason`` is short and safe to show and store."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class GptCopy:
    english: Copy
    russian: Copy | None  # None when the model was asked for English only


class GptCopywriter:
    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        model: str = "gpt-4o",
        language: str = "ru",
        timeout_s: float = 30.0,
        attempts: int = 3,
        backoff_s: float = 1.0,
        max_backoff_s: float = 20.0,
    ) -> None:
        import openai

        self.model = model
        self.language = language
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        # Our own retry loop (below) decides; the client must not retry on its own.
        self._client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )

    def request_body(
        self, image_jpeg_b64: str, tags: str, domain: str, variant: int
    ) -> dict[str, Any]:
        """The chat-completions request: system style, the tags, the image, a JSON schema."""
        if self.language == "ru":
            language = (
                "Write 'ru' in natural Russian (written for Russian buyers, not a "
                "translation) and 'en' as the same text in English."
            )
            schema = {
                "type": "object",
                "properties": {"ru": _COPY_SCHEMA, "en": _COPY_SCHEMA},
                "required": ["ru", "en"],
                "additionalProperties": False,
            }
        else:
            language = "Write 'en' in English."
            schema = {
                "type": "object",
                "properties": {"en": _COPY_SCHEMA},
                "required": ["en"],
                "additionalProperties": False,
            }
        again = (
            f" This is variant {variant}: write a clearly different text (another title "
            "and angle) than the first variant."
            if variant
            else ""
        )
        text = (
            f"Tags detected on the photo (may be imprecise): {tags or 'none'}.\n"
            "Write: a title (up to 60 characters), 3 to 5 benefit lines (each up to 90 "
            "characters, one idea per line) and a closing line (a call to action). Describe "
            "only what the photo shows; invent no brand, size, price or amenity. "
            f"{language}{again}"
        )
        return {
            "model": self.model,
            "messages": [
                {"role": "system", "content": _STYLE.get(domain, _STYLE["product"])},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": text},
                        {
                            "type": "image_url",
                            "image_url": {"url": f"data:image/jpeg;base64,{image_jpeg_b64}"},
                        },
                    ],
                },
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "listing_text", "strict": True, "schema": schema},
            },
            "temperature": 0.9 if variant else 0.6,
            "max_tokens": 800,
        }

    async def write(
        self, image_jpeg_b64: str, tags: str, domain: str, variant: int = 0
    ) -> GptCopy:
        import openai

        body = self.request_body(image_jpeg_b64, tags, domain, variant)
        reason = "no attempt"
        for attempt in range(1, self.attempts + 1):
            delay = self.backoff_s * 2 ** (attempt - 1)
            try:
                response = await self._client.chat.completions.create(**body)
                return self._parse(response)
            except openai.APIStatusError as exc:
                reason = f"HTTP {exc.status_code}"
                if exc.status_code != 429 and exc.status_code < 500:
                    raise GptFailed(reason) from None
                delay = _retry_after(exc.response.headers) or delay
            except openai.APITimeoutError:
                reason = f"no answer in {self.timeout_s:g} s"
            except openai.APIConnectionError:
                reason = "connection failed"
            log.warning("GPT attempt %d/%d failed: %s", attempt, self.attempts, reason)
            if attempt < self.attempts:
                await asyncio.sleep(min(delay, self.max_backoff_s))
        raise GptFailed(reason)

    def _parse(self, response: Any) -> GptCopy:
        try:
            message = response.choices[0].message
            if getattr(message, "refusal", None):
                raise GptFailed("the model refused")
            data = json.loads(message.content or "")
            english = _copy(data["en"])
            russian = _copy(data["ru"]) if self.language == "ru" else None
        except GptFailed:
            raise
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            raise GptFailed("unusable reply") from None
        return GptCopy(english=english, russian=russian)

    async def close(self) -> None:
        await self._client.close()


def _copy(data: Any) -> Copy:
    title = " ".join(str(data["title"]).split())[:120]
    benefits = tuple(" ".join(str(b).split())[:200] for b in data["benefits"] if str(b).strip())
    closing = " ".join(str(data["closing"]).split())[:200]
    if not title or not closing or len(benefits) < 3:
        raise ValueError("incomplete copy")
    return Copy(title, benefits[:5], closing)


def _retry_after(headers: Any) -> float | None:
    try:
        return max(0.0, float(headers.get("retry-after")))
    except (TypeError, ValueError):
        return None
