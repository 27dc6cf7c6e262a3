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
            "/background &lt;цвет | #ffc0cb | gradient | transparent&gt; — новый фон\n"
            "/describe — продающее описание\n"
            "/domain — товары или отель (сейчас: <b>{domain}</b>)\n\n"
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
        "error.unexpected": "Что-то пошло не так. Попробуйте ещё раз; ваше фото сохранено.",
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
        "<code>/background #ffc0cb</code>, <code>/background on a marble table</code>.",
        "background.bad": "Не понял фон «{value}». Примеры: pink, #ffc0cb, gradient, "
        "transparent, on a marble table.",
        "button.back": "« Назад",
        "button.cancel": "Отменить",
        "job.queued": "⏳ {op}: в очереди, перед вами {position}.",
        "job.next": "⏳ {op}: вы следующий.",
        "job.running": "⚙️ {op}: обрабатываю… {percent}%",
        "job.running_note": "⚙️ {op}: обрабатываю… {percent}% ({note})",
        "job.send_failed": "⚠️ Результат готов, но отправить его не удалось. Нажмите кнопку "
        "действия ещё раз чуть позже.",
        "result.image": "Готово: {op}.",
        "result.again": "🔁 Ещё вариант",
        "result.full": "📎 Полный размер",
        "result.gone": "Этот результат больше недоступен. Запустите действие заново.",
        "result.not_yours": "Это чужой результат.",
        "job.cancelled": "✖️ {op}: отменено.",
        "job.failed": "⚠️ {op}: не получилось. Попробуйте ещё раз чуть позже.",
        "job.bad_image": "⚠️ {op}: не удалось прочитать фото. Пришлите его заново (JPEG или PNG).",
        "job.queue_full": "Очередь сейчас заполнена. Попробуйте через минуту.",
        "job.too_many": "У вас уже {limit} задач в очереди. Дождитесь результатов.",
        "job.not_found": "Эта задача уже завершена.",
        "job.cancel_ok": "Отменяю.",
        "job.resumed": "⏳ {op}: бот перезапустился, задача снова в очереди.",
        "tags.title": "<b>Теги</b> ({domain}):",
        "tags.empty": "Уверенных тегов не нашлось. Попробуйте фото крупнее или при свете.",
        "tags.line": "• {ru} — {en} ({percent}%)",
        "tags.attributes": "<i>Свойства:</i> {attributes}",
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
            "/background &lt;colour | #ffc0cb | gradient | transparent&gt; — a new background\n"
            "/describe — a selling description\n"
            "/domain — products or hotel (now: <b>{domain}</b>)\n\n"
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
        "error.unexpected": "Something went wrong. Try again; your photo is saved.",
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
        "<code>/background #ffc0cb</code>, <code>/background on a marble table</code>.",
        "background.bad": "I did not understand the background “{value}”. Examples: pink, "
        "#ffc0cb, gradient, transparent, on a marble table.",
        "button.back": "« Back",
        "button.cancel": "Cancel",
        "job.queued": "⏳ {op}: queued, {position} ahead of you.",
        "job.next": "⏳ {op}: you are next.",
        "job.running": "⚙️ {op}: working… {percent}%",
        "job.running_note": "⚙️ {op}: working… {percent}% ({note})",
        "job.send_failed": "⚠️ The result is ready but could not be sent. Press the action "
        "button again a bit later.",
        "result.image": "Done: {op}.",
        "result.again": "🔁 Again",
        "result.full": "📎 Full size",
        "result.gone": "This result is no longer available. Run the action again.",
        "result.not_yours": "This result belongs to someone else.",
        "job.cancelled": "✖️ {op}: cancelled.",
        "job.failed": "⚠️ {op}: something went wrong. Try again a bit later.",
        "job.bad_image": "⚠️ {op}: I could not read the photo. Send it again (JPEG or PNG).",
        "job.queue_full": "The queue is full right now. Try again in a minute.",
        "job.too_many": "You already have {limit} jobs queued. Wait for the results.",
        "job.not_found": "This job has already finished.",
        "job.cancel_ok": "Cancelling.",
        "job.resumed": "⏳ {op}: the bot restarted, the job is queued again.",
        "tags.title": "<b>Tags</b> ({domain}):",
        "tags.empty": "No confident tags. Try a closer or brighter photo.",
        "tags.line": "• {ru} — {en} ({percent}%)",
        "tags.attributes": "<i>Attributes:</i> {attributes}",
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
