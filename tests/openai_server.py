"""A local OpenAI-compatible chat-completions server (aiohttp) for the GPT description path.

`script` is what the next requests get, in order: an int is an HTTP error status, a float
is a delay in seconds before the normal answer (a timeout when it exceeds the client's),
"ok" (or an empty script) is the normal answer. Every request is recorded.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

COPY = {
    "ru": {
        "title": "Белая керамическая кружка на каждый день",
        "benefits": [
            "Плотная керамика держит тепло кофе дольше.",
            "Удобная ручка: не скользит в руке.",
            "Чистый белый цвет подходит к любой посуде.",
        ],
        "closing": "Закажите сегодня — отправим уже завтра!",
    },
    "en": {
        "title": "White ceramic mug for every day",
        "benefits": [
            "Thick ceramic keeps your coffee warm for longer.",
            "A comfortable handle that does not slip.",
            "Clean white colour that suits any tableware.",
        ],
        "closing": "Order today and we ship tomorrow!",
    },
}


class OpenAIServer:
    def __init__(self, reply: dict[str, Any] | None = None) -> None:
        self.reply = reply or COPY
        self.script: list[int | float | str] = []
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> OpenAIServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        app.router.add_get("/v1/models", self._models)  # what `vitrina doctor` asks
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        self.headers.append(dict(request.headers))
        model = {"id": "gpt-4o", "object": "model", "created": 0, "owned_by": "test"}
        return web.json_response({"object": "list", "data": [model]})

    async def _completions(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        step = self.script.pop(0) if self.script else "ok"
        if isinstance(step, int):
            error = {"error": {"message": "scripted failure", "type": "server_error"}}
            return web.json_response(error, status=step, headers={"retry-after": "0"})
        if isinstance(step, float):  # a slow server (simulated work, to test timeouts)
            await asyncio.sleep(step)
        wanted = body["response_format"]["json_schema"]["schema"]["required"]
        content = json.dumps({key: self.reply[key] for key in wanted}, ensure_ascii=False)
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": body["model"],
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "logprobs": None,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                    }
                ],
                "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
            }
        )
