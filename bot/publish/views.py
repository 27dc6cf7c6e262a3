"""What /publish shows before anything changes: the cards found (article -> nmID, title,
photos now), the photos not matched or refused (by name), and the three modes."""

from __future__ import annotations

import html

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.publish.planning import Plan
from bot.texts import t, tn

#: a Refusal's reason -> its text
REFUSAL_KEYS = {
    "too_small": "publish.refused.too_small",
    "too_big": "publish.refused.too_big",
    "format": "publish.refused.format",
    "animated": "publish.refused.animated",
}
#: PublishPick.mode -> the button's label
MODE_KEYS = {
    "add": "publish.mode.add",
    "replace_main": "publish.mode.replace_main",
    "replace_all": "publish.mode.replace_all",
    "cancel": "button.cancel",
}


class PublishPick(CallbackData, prefix="pub"):
    run_id: int
    mode: str


def plan_text(plan: Plan, lang: str) -> str:
    lines: list[str] = []
    if plan.by_card:
        lines.append(t(lang, "publish.matched_head"))
        for nm_id, sources in plan.by_card.items():
            card = plan.cards[nm_id]
            lines.append(
                t(
                    lang,
                    "publish.matched_line",
                    article=html.escape(plan.articles[nm_id]),
                    nm_id=nm_id,
                    title=html.escape(card.title or "—"),
                    now=card.photo_count,
                    files=html.escape(", ".join(s.name for s in sources)),
                )
            )
            if nm_id in plan.over:
                lines.append(tn(lang, "publish.over_30", plan.over[nm_id], count=plan.over[nm_id]))
    if plan.unmatched:
        lines.append(t(lang, "publish.unmatched_head"))
        for name, article in plan.unmatched:
            shown = html.escape(name)
            if article:
                line = t(lang, "publish.unmatched_line", name=shown, article=html.escape(article))
            else:
                line = t(lang, "publish.no_article_line", name=shown)
            lines.append(line)
    if plan.refused:
        lines.append(t(lang, "publish.refused_head"))
        for name, refusal in plan.refused:
            reason = t(
                lang, REFUSAL_KEYS[refusal.reason], width=refusal.width, height=refusal.height
            )
            lines.append(t(lang, "publish.refused_line", name=html.escape(name), reason=reason))
        lines.append(t(lang, "publish.refused_fix"))
    if plan.by_card:
        lines.append(t(lang, "publish.ask_mode"))
    else:
        lines.append(t(lang, "publish.nothing_matched"))
    return "\n".join(lines)


def modes_keyboard(run_id: int, lang: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for mode in MODE_KEYS:
        builder.button(
            text=t(lang, MODE_KEYS[mode]), callback_data=PublishPick(run_id=run_id, mode=mode)
        )
    builder.adjust(1)
    return builder.as_markup()
