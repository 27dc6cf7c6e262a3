"""The update inbox: every update is stored before Telegram is told it arrived (the next
getUpdates offset, or the webhook's 200), handled from the store, and marked done when its
handler has finished; at start, what is not done is handled again before new updates.

`inbox.py` (store, handle, replay), `polling.py` (long polling on getUpdates), `webhook.py`
(WEBHOOK_URL: aiohttp behind aiogram's request handler), `origin.py` (what a handler makes
is keyed by its update, so a replay makes nothing twice).
"""
