"""What /describe returns: a structured selling text in Russian, with its English original."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Copy:
    """A title, 3-5 short benefit lines and a closing line, in one language."""

    title: str
    benefits: tuple[str, ...]
    closing: str

    def fields(self) -> list[str]:
        return [self.title, *self.benefits, self.closing]

    @classmethod
    def from_fields(cls, fields: list[str]) -> Copy:
        return cls(fields[0], tuple(fields[1:-1]), fields[-1])

    def plain_lines(self) -> str:
        """One line per field: what a marketplace form takes when pasted."""
        return "\n".join(self.fields())


@dataclass(frozen=True)
class DescriptionResult:
    domain: str  # "product" or "hotel"
    title: str  # Russian
    benefits: tuple[str, ...]
    closing: str
    english: Copy  # the English original (local templates, or GPT's English version)
    path: str  # "local", "gpt" or "local (GPT failed: <reason>)"
    variant: int  # the variant asked for ("Another variant" asks for the next one)
    template: str = ""  # local path: which templates were picked, e.g. "t2-c1-b5.0.3"
    caption: str = ""  # the BLIP caption (local path)
    tags: tuple[str, ...] = field(default_factory=tuple)  # English tags the text used

    @property
    def cacheable(self) -> bool:
        """A local text written because GPT failed is not kept as the answer to a repeat."""
        return not self.path.startswith("local (GPT failed")

    @property
    def russian(self) -> Copy:
        return Copy(self.title, self.benefits, self.closing)
