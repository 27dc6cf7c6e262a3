"""Everything the bot says, in Russian and English. `t(lang, key, **fields)`."""

from __future__ import annotations

RU_LANGUAGES = ("ru", "uk", "be", "kk")

TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "start": (
            "Привет! Я Витрина: делаю из обычного фото материал для карточки товара "
            "или страницы номера.\n\n"
            "Пришлите фото (можно файлом или альбомом) и выберите действие на кнопках, "
            "или ответьте на фото командой.\n\n"
            "Сейчас режим: <b>{domain}</b>. Сменить: /domain\nСправка: /help"
        ),
        "help": (
            "<b>Что я умею</b>\n"
            "/tag — теги по фото (русский и английский)\n"
            "/night — сделать ночь · /tulips — добавить тюльпаны\n"
            "/edit &lt;что изменить&gt; — правка по описанию\n"
            "/background &lt;цвет | #ffc0cb | gradient pink blue | transparent | studio | "
            "marble | wood | сцена словами&gt; — новый фон: товар вырезается и ставится на фон; "
            "«Не тот объект?» — другой вариант выреза, «Карточка» — 900×1200 для маркетплейса.\n"
            "Свой фон: пришлите фото товара, затем фото фона с подписью /background (или "
            "ответьте /background на фото фона; в течение 30 минут после фото товара, или "
            "/background photo в любое время). Альбом из двух фото с подписью /background — "
            "товар и фон.\n"
            "/describe — продающее описание\n"
            "/domain — товары или отель (сейчас: <b>{domain}</b>)\n"
            "/forget_me — удалить все мои фото и результаты\n\n"
            "Команда работает в подписи к фото, в ответ на фото или для последнего "
            "присланного фото."
        ),
        "domain.product": "товары",
        "domain.hotel": "отель",
        "domain.ask": "Что вы снимаете? Сейчас: <b>{domain}</b>.",
        "domain.set": "Готово, режим: <b>{domain}</b>. Теги будут из этого словаря.",
        "photo.received": "Фото получено. Что сделать?",
        "photo.received_n": "Фото {index} из {total} получено. Что сделать?",
        "photo.bad": "Не получилось открыть это изображение: файл повреждён или слишком мал. "
        "Пришлите JPEG, PNG или WebP.",
        "photo.too_big": "Файл слишком большой ({size_mb:.0f} МБ). "
        "Пришлите фото до {limit_mb:.0f} МБ.",
        "photo.too_small": "Картинка слишком маленькая ({width}×{height}). Пришлите фото "
        "от {min_side} пикселей по каждой стороне.",
        "photo.too_many_pixels": "В изображении слишком много пикселей. Пришлите фото до "
        "{megapixels:.0f} мегапикселей.",
        "photo.format": "Этот формат ({format}) я не открываю. Пришлите JPEG, PNG, WebP или HEIC.",
        "photo.not_image": "Это не изображение. Пришлите фото или картинку файлом (JPEG, PNG, "
        "WebP).",
        "photo.download_failed": "Не удалось скачать файл из Telegram. Пришлите его ещё раз.",
        "photo.none": "Сначала пришлите фото, потом команду — или ответьте командой на фото.",
        "photo.gone": "Это фото больше недоступно. Пришлите его заново.",
        "photo.not_yours": "Это чужое фото. Пришлите своё, и я предложу действия.",
        "text.guidance": "Я работаю с фотографиями. Пришлите фото товара или номера, "
        "и я предложу действия. Справка: /help",
        "unknown.command": "Не знаю команду {command}. Список команд: /help",
        "unsupported": "Такое я не обрабатываю. Пришлите фото или картинку файлом.",
        "admin.model_missing": "⚠️ Пользователь запросил «{op}», но модели нет ({detail}). "
        "Заполните {folder}: <code>vitrina weights download --missing</code>.",
        "admin.stats": "<b>Статистика</b>\nВ очереди: {queued}\nЗадачи за 24 ч: {jobs}\n"
        "Пользователей: {users}, фото: {photos}\nФункции: {features}",
        "admin.models": "Модели в памяти: {models} (выгрузок: {unloads})",
        "admin.workers": "Воркеры ({count}):\n{workers}",
        "admin.no_workers": "Воркеров нет: задачи ждут в Redis.",
        "error.unexpected": "Что-то пошло не так. Попробуйте ещё раз; ваше фото сохранено.",
        "error.storage": "Сервис временно недоступен: проблема с хранилищем на нашей стороне. "
        "Попробуйте через несколько минут.",
        "access.denied": "Этот бот пока доступен только приглашённым пользователям.",
        "op.tag": "Теги",
        "op.night": "Ночь",
        "op.tulips": "Тюльпаны",
        "op.background": "Фон",
        "op.describe": "Описание",
        "op.edit": "Правка",
        "op.planned": "«{op}» пока недоступно: эта функция ещё в работе. Сейчас работают теги: "
        "/tag",
        "op.missing": "«{op}» сейчас недоступно: модель не установлена. Мы сообщили "
        "администратору; попробуйте позже.",
        "edit.ask": "Напишите, что изменить, например: <code>/edit make it sunset</code> — "
        "в ответ на фото.",
        "background.ask": "Выберите фон или напишите <code>/background pink</code>, "
        "<code>/background #ffc0cb</code>, <code>/background on a marble table</code>. "
        "Свой фон: пришлите его фото с подписью /background сразу после фото товара.",
        "background.bad": "Не понял фон «{value}». Цвета: {colours} (и все CSS-названия), "
        "#ffc0cb или #fc0; градиент: <code>gradient</code>, <code>градиент розовый белый</code>; "
        "<code>transparent</code>; заготовки: {presets}; или сцена в несколько слов: "
        "<code>on a marble table with plants</code>.",
        "background.no_product": "Это фото станет фоном, но сначала пришлите фото товара, "
        "а потом это фото с подписью /background.",
        "background.on_photo": "Ставлю товар с предыдущего фото на это фото.",
        "missing.inpaint": "Фон по описанию сейчас недоступен: модель не установлена. Цвета, "
        "заготовки, прозрачный фон и ваше фото работают: <code>/background pink</code>.",
        "result.wrong": "🎯 Не тот объект?",
        "result.card": "🛍 Карточка 3:4",
        "result.wrong_none": "Другого объекта на этом фото я не нашёл. Попробуйте кадр, где "
        "товар крупнее и отделён от фона.",
        "bg.caption": "Фон: {what}",
        "bg.transparent": "прозрачный (PNG)",
        "bg.photo": "ваше фото",
        "bg.gradient": "градиент {colours}",
        "bg.object": "объект {index} из {total}",
        "bg.card": "Карточка {ratio}, {width}×{height}",
        "preset.studio": "Студия",
        "preset.blush": "Пудра",
        "preset.sky": "Небо",
        "preset.marble": "Мрамор",
        "preset.wood": "Дерево",
        "preset.concrete": "Бетон",
        "preset.linen": "Лён",
        "button.back": "« Назад",
        "button.cancel": "Отменить",
        "job.queued": "⏳ {op}: в очереди, перед вами {position}.",
        "job.next": "⏳ {op}: вы следующий.",
        "job.running": "⚙️ {op}: обрабатываю… {percent}%",
        "job.running_note": "⚙️ {op}: обрабатываю… {percent}% ({note})",
        "job.send_failed": "⚠️ Результат готов и сохранён, но отправить его не удалось. "
        "Нажмите «Показать снова».",
        "result.image": "Готово: {op}.",
        "result.again": "🔁 Ещё вариант",
        "result.full": "📎 Полный размер",
        "result.show": "🔁 Показать снова",
        "result.gone": "Этот результат больше недоступен. Запустите действие заново.",
        "result.not_yours": "Это чужой результат.",
        "job.cancelled": "✖️ {op}: отменено.",
        "job.failed": "⚠️ {op}: не получилось. Попробуйте ещё раз чуть позже.",
        "job.bad_image": "⚠️ {op}: не удалось прочитать фото. Пришлите его заново (JPEG или PNG).",
        "forget.ask": "Удалить все ваши фото, результаты и историю задач? Это нельзя отменить.",
        "forget.yes": "Да, удалить всё",
        "forget.done": "Готово: всё, что я хранил о вас, удалено.",
        "forget.kept": "Ничего не удалено.",
        "flood.slow_down": "Слишком много сообщений подряд. Подождите немного — я отвечу на "
        "следующие, когда вы сделаете паузу.",
        "job.queue_full": "Очередь сейчас заполнена. Попробуйте через минуту.",
        "job.too_many": "У вас уже {limit} задач в очереди. Дождитесь результатов.",
        "job.not_found": "Эта задача уже завершена.",
        "job.cancel_ok": "Отменяю.",
        "job.resumed": "⏳ {op}: бот перезапустился, задача снова в очереди.",
        "job.interrupted": "⚠️ {op}: задачу прервал перезапуск бота, а фото уже нет. "
        "Пришлите фото ещё раз.",
        "tags.title": "<b>Теги</b> ({domain}):",
        "tags.empty": "Уверенных тегов не нашлось. Попробуйте фото крупнее или при свете.",
        "tags.line": "• {ru} — {en} ({percent}%)",
        "tags.attributes": "<i>Свойства:</i> {attributes}",
        "result.english": "🇬🇧 English",
        "result.russian": "🇷🇺 По-русски",
        "result.variant": "🔁 Другой вариант",
        "result.copy": "📋 Для копирования",
        "describe.by_local": "Текст: подпись BLIP + теги → шаблон → перевод opus-mt.",
        "describe.by_gpt": "Текст написан GPT.",
        "describe.gpt_failed": "GPT не ответил ({reason}): текст составлен локально.",
        "describe.english_head": "<i>Английский оригинал:</i>",
        "edit.ask_next": "✏️ Напишите следующим сообщением, что изменить на этом фото, например: "
        "<i>добавь букет тюльпанов на кровать</i>. Можно по-русски или по-английски.",
        "edit.caption": "{op}: готово. Изменено {percent}% кадра.",
        "edit.caption_seed": "seed {seed} · шагов: {steps}",
        "edit.oom": "Не хватило памяти видеокарты: сделано в меньшем рабочем размере ({size}).",
        "edit.bad_preset": "Не знаю правку «{value}». Есть: {presets}.",
        "job.step": "шаг {step}/{total}",
    },
    "en": {
        "start": (
            "Hi! I'm Vitrina: I turn an ordinary photo into material for a product card "
            "or a hotel room page.\n\n"
            "Send a photo (as a photo, a file or an album) and pick an action on the buttons, "
            "or reply to a photo with a command.\n\n"
            "Mode: <b>{domain}</b>. Change it: /domain\nHelp: /help"
        ),
        "help": (
            "<b>What I can do</b>\n"
            "/tag — tags for the photo (Russian and English)\n"
            "/night — make it night · /tulips — add tulips\n"
            "/edit &lt;what to change&gt; — an edit by description\n"
            "/background &lt;colour | #ffc0cb | gradient pink blue | transparent | studio | "
            "marble | wood | a scene in words&gt; — a new background: the product is cut out "
            "and put on it; “Wrong object?” tries another cut, “Card” makes a 900×1200 "
            "marketplace card.\n"
            "Your own background: send the product photo, then the background photo with the "
            "caption /background (or reply /background to the background photo; within 30 "
            "minutes of the product photo, or /background photo at any time). An album of two "
            "photos captioned /background is product and background.\n"
            "/describe — a selling description\n"
            "/domain — products or hotel (now: <b>{domain}</b>)\n"
            "/forget_me — delete all my photos and results\n\n"
            "A command works as a photo caption, as a reply to a photo, or on the last "
            "photo you sent."
        ),
        "domain.product": "products",
        "domain.hotel": "hotel",
        "domain.ask": "What do you photograph? Now: <b>{domain}</b>.",
        "domain.set": "Done, mode: <b>{domain}</b>. Tags will come from this vocabulary.",
        "photo.received": "Photo received. What shall I do?",
        "photo.received_n": "Photo {index} of {total} received. What shall I do?",
        "photo.bad": "I could not open this image: the file is damaged or too small. Send a "
        "JPEG, PNG or WebP.",
        "photo.too_big": "The file is too big ({size_mb:.0f} MB). Send a photo under "
        "{limit_mb:.0f} MB.",
        "photo.too_small": "The picture is too small ({width}×{height}). Send a photo at least "
        "{min_side} pixels on each side.",
        "photo.too_many_pixels": "The image has too many pixels. Send a photo of at most "
        "{megapixels:.0f} megapixels.",
        "photo.format": "I cannot open this format ({format}). Send a JPEG, PNG, WebP or HEIC.",
        "photo.not_image": "This is not an image. Send a photo or a picture as a file (JPEG, PNG, "
        "WebP).",
        "photo.download_failed": "I could not download the file from Telegram. Send it again.",
        "photo.none": "Send a photo first, then the command, or reply to a photo with it.",
        "photo.gone": "This photo is no longer available. Send it again.",
        "photo.not_yours": "This is someone else's photo. Send your own and I will offer actions.",
        "text.guidance": "I work with photos. Send a photo of a product or a room and I will "
        "offer actions. Help: /help",
        "unknown.command": "I don't know the command {command}. Commands: /help",
        "unsupported": "I can't process this. Send a photo or a picture as a file.",
        "admin.model_missing": "⚠️ A user asked for “{op}” but its model is missing ({detail}). "
        "Fill {folder}: <code>vitrina weights download --missing</code>.",
        "admin.stats": "<b>Stats</b>\nQueued: {queued}\nJobs in 24 h: {jobs}\n"
        "Users: {users}, photos: {photos}\nFeatures: {features}",
        "admin.models": "Models in memory: {models} (unloads: {unloads})",
        "admin.workers": "Workers ({count}):\n{workers}",
        "admin.no_workers": "No workers alive: jobs wait in Redis.",
        "error.unexpected": "Something went wrong. Try again; your photo is saved.",
        "error.storage": "Temporarily unavailable: a storage problem on our side. Try again in "
        "a few minutes.",
        "access.denied": "This bot is open to invited users only for now.",
        "op.tag": "Tags",
        "op.night": "Night",
        "op.tulips": "Tulips",
        "op.background": "Background",
        "op.describe": "Description",
        "op.edit": "Edit",
        "op.planned": "“{op}” is not available yet: the feature is still being built. Tags work "
        "now: /tag",
        "op.missing": "“{op}” is unavailable right now: its model is not installed. We told "
        "the admin; try again later.",
        "edit.ask": "Write what to change, e.g. <code>/edit make it sunset</code>, as a reply to "
        "the photo.",
        "background.ask": "Pick a background or write <code>/background pink</code>, "
        "<code>/background #ffc0cb</code>, <code>/background on a marble table</code>. "
        "Your own background: send its photo captioned /background right after the product "
        "photo.",
        "background.bad": "I did not understand the background “{value}”. Colours: {colours} "
        "(and every CSS name), #ffc0cb or #fc0; a gradient: <code>gradient</code>, "
        "<code>gradient pink blue</code>; <code>transparent</code>; presets: {presets}; or a "
        "scene in a few words: <code>on a marble table with plants</code>.",
        "background.no_product": "This photo will be the background, but send the product "
        "photo first, then this photo with the caption /background.",
        "background.on_photo": "Putting the product from your previous photo on this one.",
        "missing.inpaint": "Backgrounds from a description are unavailable right now: the model "
        "is not installed. Colours, presets, transparent and your own photo work: "
        "<code>/background pink</code>.",
        "result.wrong": "🎯 Wrong object?",
        "result.card": "🛍 Card 3:4",
        "result.wrong_none": "I found no other object in this photo. Try a shot where the "
        "product is larger and stands apart from the background.",
        "bg.caption": "Background: {what}",
        "bg.transparent": "transparent (PNG)",
        "bg.photo": "your photo",
        "bg.gradient": "gradient {colours}",
        "bg.object": "object {index} of {total}",
        "bg.card": "Card {ratio}, {width}×{height}",
        "preset.studio": "Studio",
        "preset.blush": "Blush",
        "preset.sky": "Sky",
        "preset.marble": "Marble",
        "preset.wood": "Wood",
        "preset.concrete": "Concrete",
        "preset.linen": "Linen",
        "button.back": "« Back",
        "button.cancel": "Cancel",
        "job.queued": "⏳ {op}: queued, {position} ahead of you.",
        "job.next": "⏳ {op}: you are next.",
        "job.running": "⚙️ {op}: working… {percent}%",
        "job.running_note": "⚙️ {op}: working… {percent}% ({note})",
        "job.send_failed": "⚠️ The result is ready and saved, but sending it failed. Press "
        "“Show again”.",
        "result.image": "Done: {op}.",
        "result.again": "🔁 Again",
        "result.full": "📎 Full size",
        "result.show": "🔁 Show again",
        "result.gone": "This result is no longer available. Run the action again.",
        "result.not_yours": "This result belongs to someone else.",
        "job.cancelled": "✖️ {op}: cancelled.",
        "job.failed": "⚠️ {op}: something went wrong. Try again a bit later.",
        "job.bad_image": "⚠️ {op}: I could not read the photo. Send it again (JPEG or PNG).",
        "forget.ask": "Delete all your photos, results and job history? This cannot be undone.",
        "forget.yes": "Yes, delete everything",
        "forget.done": "Done: everything I kept about you is deleted.",
        "forget.kept": "Nothing was deleted.",
        "flood.slow_down": "Too many messages in a row. Wait a moment: I will answer again "
        "once you pause.",
        "job.queue_full": "The queue is full right now. Try again in a minute.",
        "job.too_many": "You already have {limit} jobs queued. Wait for the results.",
        "job.not_found": "This job has already finished.",
        "job.cancel_ok": "Cancelling.",
        "job.resumed": "⏳ {op}: the bot restarted, the job is queued again.",
        "job.interrupted": "⚠️ {op}: a restart of the bot interrupted this job, and the photo "
        "is gone. Send the photo again.",
        "tags.title": "<b>Tags</b> ({domain}):",
        "tags.empty": "No confident tags. Try a closer or brighter photo.",
        "tags.line": "• {ru} — {en} ({percent}%)",
        "tags.attributes": "<i>Attributes:</i> {attributes}",
        "result.english": "🇬🇧 English",
        "result.russian": "🇷🇺 Russian",
        "result.variant": "🔁 Another variant",
        "result.copy": "📋 Copy-ready",
        "describe.by_local": "Text: BLIP caption + tags → template → opus-mt translation.",
        "describe.by_gpt": "Written by GPT.",
        "describe.gpt_failed": "GPT did not answer ({reason}): the text was made locally.",
        "describe.english_head": "<i>The English original:</i>",
        "edit.ask_next": "✏️ Write in your next message what to change in this photo, e.g. "
        "<i>put a bouquet of tulips on the bed</i>. Russian or English.",
        "edit.caption": "{op}: done. {percent}% of the picture changed.",
        "edit.caption_seed": "seed {seed} · steps: {steps}",
        "edit.oom": "The GPU ran out of memory: made at a smaller working size ({size}).",
        "edit.bad_preset": "I don't know the edit “{value}”. There are: {presets}.",
        "job.step": "step {step}/{total}",
    },
}


def language_of(language_code: str | None) -> str:
    """Russian for users whose Telegram speaks Russian (or a neighbour), else English."""
    if language_code and language_code.split("-")[0].lower() in RU_LANGUAGES:
        return "ru"
    return "en"


def t(lang: str, key: str, **fields: object) -> str:
    table = TEXTS.get(lang, TEXTS["en"])
    text = table.get(key) or TEXTS["en"][key]
    return text.format(**fields) if fields else text
