"""A local Hugging Face hub (aiohttp) for the real `huggingface_hub` client (issue 27).

It speaks the parts of the hub API that ``HfApi.model_info`` and ``snapshot_download`` use:

- ``GET /api/models/{repo}/revision/{rev}``: the repo's info (``sha``, ``siblings``);
- ``GET /api/models/{repo}/tree/{rev}``: the file listing (``oid``, ``size``, ``lfs``);
- ``HEAD|GET /{repo}/resolve/{rev}/{path}``: ``X-Repo-Commit`` and ``ETag`` (the git blob
  id) with the content for small files; for LFS files (weights) a redirect to a second port,
  the "CDN", with ``X-Linked-Etag`` (the sha256) and ``X-Linked-Size`` as the hub sends;
- ``GET /lfs/{sha256}`` on the CDN port, with ``Range`` answered by 206 (resume).

Unknown repos, revisions and files answer 404 with the ``X-Error-Code`` the hub sends, so the
client raises its own errors. ``cut_once`` names files whose first transfer breaks halfway.
Trees: tests/hub_trees.json; contents: tests/hub_files.py (tiny models, real layout).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web

from tests.hub_files import PLACEHOLDER, TinyContents

TREES_PATH = Path(__file__).with_name("hub_trees.json")
LFS_SUFFIXES = (".bin", ".safetensors", ".h5", ".msgpack", ".ckpt", ".ot", ".onnx", ".pth")


def load_trees(path: Path = TREES_PATH) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))["repos"]


class HubDouble:
    """Serve ``trees`` with ``contents``; run it with :func:`running_hub` (own thread)."""

    def __init__(self, contents: TinyContents, trees: dict[str, Any] | None = None) -> None:
        self.contents = contents
        self.trees = trees if trees is not None else load_trees()
        self.requests: list[tuple[str, str]] = []  # (method, path)
        self.placeholders_served: list[str] = []
        self.cut_once: set[str] = set()  # repo/path: the first GET stops halfway
        self.ranges: list[tuple[str, str]] = []  # (repo/path, Range header) answered 206
        self.endpoint = ""
        self.cdn = ""
        self._by_sha: dict[str, tuple[str, str]] = {}

    # --- the repository side ------------------------------------------------------------------

    def _commit(self, repo: str, rev: str) -> str | None:
        known = self.trees.get(repo)
        if known is None:
            return None
        commit = known["main"] if rev == "main" else rev
        return commit if commit in known["trees"] else None

    def _error(self, code: str, message: str, commit: str | None = None) -> web.Response:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        if commit:
            headers["X-Repo-Commit"] = commit
        return web.json_response({"error": message}, status=404, headers=headers)

    def _resolve(self, request: web.Request) -> tuple[str, str] | web.Response:
        repo = f"{request.match_info['owner']}/{request.match_info['name']}"
        if repo not in self.trees:
            return self._error("RepoNotFound", f"Repository {repo} not found")
        commit = self._commit(repo, request.match_info["rev"])
        if commit is None:
            return self._error("RevisionNotFound", f"Invalid rev id: {request.match_info['rev']}")
        return repo, commit

    def _entry(self, repo: str, path: str) -> dict[str, Any]:
        data = self.contents.get(repo, path)
        blob = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's id
        entry: dict[str, Any] = {"type": "file", "oid": blob, "size": len(data), "path": path}
        if path.endswith(LFS_SUFFIXES):
            sha = hashlib.sha256(data).hexdigest()
            self._by_sha[sha] = (repo, path)
            entry["lfs"] = {"oid": sha, "size": len(data), "pointerSize": 134}
        return entry

    async def model_info(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        found = self._resolve(request)
        if isinstance(found, web.Response):
            return found
        repo, commit = found
        files = self.trees[repo]["trees"][commit]
        return web.json_response(
            {
                "_id": hashlib.md5(repo.encode()).hexdigest()[:24],  # noqa: S324 - an id
                "id": repo,
                "modelId": repo,
                "sha": commit,
                "private": False,
                "disabled": False,
                "gated": False,
                "tags": [],
                "siblings": [{"rfilename": f} for f in files],
            }
        )

    async def tree(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        found = self._resolve(request)
        if isinstance(found, web.Response):
            return found
        repo, commit = found
        files = self.trees[repo]["trees"][commit]
        entries: list[dict[str, Any]] = []
        folders = sorted({str(p) for f in files for p in Path(f).parents if str(p) != "."})
        entries += [{"type": "directory", "oid": "0" * 40, "size": 0, "path": d} for d in folders]
        entries += [self._entry(repo, f) for f in files]
        return web.json_response(entries)

    async def resolve(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        found = self._resolve(request)
        if isinstance(found, web.Response):
            return found
        repo, commit = found
        path = request.match_info["path"]
        if path not in self.trees[repo]["trees"][commit]:
            return self._error("EntryNotFound", f"{path} does not exist at {commit}", commit)
        entry = self._entry(repo, path)
        headers = {"X-Repo-Commit": commit}
        if "lfs" in entry:
            sha = entry["lfs"]["oid"]
            headers |= {
                "X-Linked-Etag": f'"{sha}"',
                "X-Linked-Size": str(entry["size"]),
                "ETag": f'"{entry["oid"]}"',
                "Location": f"{self.cdn}/lfs/{sha}",
            }
            return web.Response(status=302, headers=headers)
        headers["ETag"] = f'"{entry["oid"]}"'
        return await self._send(request, repo, path, headers)

    # --- the CDN side ------------------------------------------------------------------------

    async def lfs(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        known = self._by_sha.get(request.match_info["sha"])
        if known is None:
            return web.Response(status=404)
        return await self._send(request, *known, {"ETag": f'"{request.match_info["sha"]}"'})

    async def _send(
        self, request: web.Request, repo: str, path: str, headers: dict[str, str]
    ) -> web.StreamResponse:
        data = self.contents.get(repo, path)
        if request.method == "HEAD":
            return web.Response(headers=headers | {"Content-Length": str(len(data))})
        if data == PLACEHOLDER:
            self.placeholders_served.append(f"{repo}/{path}")
        start, status = 0, 200
        wanted = request.headers.get("Range", "")
        if wanted.startswith("bytes=") and wanted.endswith("-"):
            start, status = int(wanted[6:-1]), 206
            headers = headers | {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"}
            self.ranges.append((f"{repo}/{path}", wanted))
        response = web.StreamResponse(status=status, headers=headers)
        response.content_length = len(data) - start
        await response.prepare(request)
        key = f"{repo}/{path}"
        if key in self.cut_once and start == 0:
            self.cut_once.discard(key)
            await response.write(data[: len(data) // 2])
            assert request.transport is not None
            request.transport.close()  # the connection breaks mid-transfer
            return response
        await response.write(data[start:])
        await response.write_eof()
        return response

    def app(self) -> web.Application:
        app = web.Application()
        repo = "/{owner}/{name}"
        app.router.add_get("/api/models" + repo + "/revision/{rev}", self.model_info)
        app.router.add_get("/api/models" + repo + "/tree/{rev}", self.tree)
        app.router.add_route("*", repo + "/resolve/{rev}/{path:.+}", self.resolve)
        app.router.add_route("*", "/lfs/{sha}", self.lfs)
        return app


@contextmanager
def running_hub(hub: HubDouble) -> Iterator[HubDouble]:
    """Run the hub (and its CDN port) on a loop of its own thread: a subprocess or a
    synchronous client may call it while the test waits."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    runner = web.AppRunner(hub.app())

    async def start() -> None:
        await runner.setup()
        ports = []
        for _ in range(2):
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            ports.append(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        hub.endpoint, hub.cdn = (f"http://127.0.0.1:{p}" for p in ports)
        ready.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    ready.wait(30)
    try:
        yield hub
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
