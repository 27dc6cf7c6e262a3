"""The catalog keys of /check's reply (bot/check_rendering.py): the grades, each rule's
sentence, the levels, the reasons, the places of text, the background words, the profiles'
names and buttons, the fill methods. Data only; the texts are in bot/locales."""

from __future__ import annotations

GRADE_KEYS = {
    "good_infographic": "grade.good_infographic",
    "bad_infographic": "grade.bad_infographic",
    "other_infographic": "grade.other_infographic",
    "clean_good_background": "grade.clean_good_background",
    "clean_bad_background": "grade.clean_bad_background",
}
#: a failed rule -> its sentence ({measured}, {limit}, {marketplace})
RULE_KEYS = {
    "min_size": "check.rule.min_size",
    "recommended_size": "check.rule.recommended_size",
    "max_side": "check.rule.max_side",
    "aspect": "check.rule.aspect",
    "formats": "check.rule.formats",
    "colour_space": "check.rule.colour_space",
    "jpeg_quality": "check.rule.jpeg_quality",
    "max_file_mb": "check.rule.max_file_mb",
    "transparency": "check.rule.transparency",
    "background": "check.rule.background",
    "object_fill": "check.rule.object_fill",
    "text": "check.rule.text",
    "banned_words": "check.rule.banned_words",
    # a room photo's rules (hotel platforms)
    "orientation": "check.rule.orientation",
    "contacts": "check.rule.contacts",
    "qr_codes": "check.rule.qr_codes",
    "watermarks": "check.rule.watermarks",
    "exposure": "check.rule.exposure",
    "tilt": "check.rule.tilt",
    "sharpness": "check.rule.sharpness",
    "borders": "check.rule.borders",
    "collage": "check.rule.collage",
    "monochrome": "check.rule.monochrome",
}
#: a room photo's verdict: ready for the platform (no required rule fails) or not
VERDICT_KEYS = {True: "check.room.ready", False: "check.room.not_ready"}
ORIENTATION_KEYS = {"landscape": "check.shape.landscape", "portrait": "check.shape.portrait"}
LEVEL_KEYS = {"required": "check.level.required", "recommended": "check.level.recommended"}
#: a grading feature (grading.toml) -> how the reply names it ({value}: its signal)
REASON_KEYS = {
    "has_text": "check.why.has_text",
    "no_text": "check.why.no_text",
    "text_large": "check.why.text_large",
    "text_small": "check.why.text_small",
    "text_clear": "check.why.text_clear",
    "text_faint": "check.why.text_faint",
    "many_colours": "check.why.many_colours",
    "many_labels": "check.why.many_labels",
    "several_lines": "check.why.several_lines",
    "one_line": "check.why.one_line",
    "much_text": "check.why.much_text",
    "little_text": "check.why.little_text",
    "bg_even": "check.why.bg_even",
    "bg_uneven": "check.why.bg_uneven",
    "bg_busy": "check.why.bg_busy",
    "bg_light": "check.why.bg_light",
    "bg_dark": "check.why.bg_dark",
    "bg_grey": "check.why.bg_grey",
    "bg_coloured": "check.why.bg_coloured",
    "fill_ok": "check.why.fill_ok",
    "fill_off": "check.why.fill_off",
    "touches": "check.why.touches",
    "blurry": "check.why.blurry",
    "clip_good_infographic": "check.why.clip_good_infographic",
    "clip_bad_infographic": "check.why.clip_bad_infographic",
    "clip_other_infographic": "check.why.clip_other_infographic",
    "clip_clean_good_background": "check.why.clip_clean_good_background",
    "clip_clean_bad_background": "check.why.clip_clean_bad_background",
}
#: the hard rule that set the grade -> its reason
HARD_RULE_KEYS = {
    "no_text": "check.why.rule_no_text",
    "plain_light_background": "check.why.rule_plain",
    "foreign_text": "check.why.rule_foreign_text",
    "unreadable_text": "check.why.rule_unreadable_text",
}
PLACE_KEYS = {
    "top": "check.place.top",
    "bottom": "check.place.bottom",
    "over_product": "check.place.over_product",
    "own_print": "check.place.own_print",
}
#: measured background classes (signals.background_class) and the rule's words
BACKGROUND_KEYS = {
    "white": "check.bg.white",
    "light": "check.bg.light",
    "neutral": "check.bg.neutral",
    "colour": "check.bg.colour",
    "uneven": "check.bg.uneven",
    "uniform": "check.bg.uniform",
}
#: profile id -> the marketplace as the sentences name it ("для {marketplace}")
PROFILE_KEYS = {
    "wb": "profile.wb",
    "ozon": "profile.ozon",
    "ym": "profile.ym",
    "generic": "profile.generic",
}
#: profile id -> its button in the row of profiles
PROFILE_BUTTON_KEYS = {
    "wb": "profile.button.wb",
    "ozon": "profile.button.ozon",
    "ym": "profile.button.ym",
    "generic": "profile.button.generic",
}
FILL_KEYS = {"telea": "clean.fill.telea", "sd": "clean.fill.sd"}
