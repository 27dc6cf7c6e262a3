"""A real `redis-server` for the scale-out tests: free loopback port, temp dir, no persistence."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tests.waiting import eventually, eventually_sync

if TYPE_CHECKING:
    from services.worker.redis_engine import RedisEngine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (openssl), for a TLS redis-server."""
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextlib.contextmanager
def redis_server(
    folder: Path,
    *,
    port: int | None = None,
    persist: bool = False,
    tls: tuple[Path, Path] | None = None,
) -> Iterator[str]:
    """Start redis-server, yield its redis:// URL, stop it at the end. `persist`: an
    append-only file in `folder`, so a restart on the same port finds its data again.
    `tls` (certificate, key): TLS only, the URL is rediss:// trusting that certificate."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is missing: `make test` installs it (apt-get)")
    folder.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    args = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(folder),
        "--save",
        "",
        "--appendonly",
        "yes" if persist else "no",
        "--daemonize",
        "no",
        "--loglevel",
        "warning",
    ]
    if tls is not None:
        args[2:3] = [
            "0",
            "--tls-port",
            str(port),
            "--tls-cert-file",
            str(tls[0]),
            "--tls-key-file",
            str(tls[1]),
            "--tls-ca-cert-file",
            str(tls[0]),
            "--tls-auth-clients",
            "no",
        ]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server did not start (exit code {process.poll()})")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return True
        return False

    try:
        eventually_sync(listening, 10, interval=0.02, message="redis-server did not start")
        if tls is not None:
            yield f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={tls[0]}"
        else:
            yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_worker(
    url: str,
    weights: Path,
    worker_id: str,
    *,
    visibility_s: float = 3.0,
    ops: str = "",
    edit_max_side: int = 64,
    device: str = "cpu",
    env: dict[str, str] | None = None,
    log: Path | None = None,
) -> subprocess.Popen[bytes]:
    """A `vitrina worker` subprocess on CPU, one torch thread (it sees this checkout's code).
    `env` adds settings (the worker's own: EDIT_STEPS, ...); `log` takes its output."""
    env = {
        **os.environ,
        "SERVICE_BACKEND": url,
        "WEIGHTS_DIR": str(weights),
        "DEVICE": device,
        "EDIT_MAX_SIDE": str(edit_max_side),
        "REDIS_VISIBILITY_S": str(visibility_s),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "BOT_TOKEN": "",
        "OPENAI_API_KEY": "",
    } | (env or {})
    args = [sys.executable, "-m", "bot.cli", "worker", "--id", worker_id]
    if ops:
        args += ["--ops", ops]
    output = log.open("ab") if log is not None else None
    try:
        return subprocess.Popen(
            args, env=env, cwd=Path(__file__).resolve().parents[1], stdout=output, stderr=output
        )
    finally:
        if output is not None:
            output.close()


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_workers(
    url: str,
    ids: set[str],
    timeout: float = 60.0,
    processes: tuple[subprocess.Popen[bytes], ...] = (),
) -> None:
    """Until every named worker has sent a heartbeat."""
    import redis

    client = redis.Redis.from_url(url)

    def beating() -> bool:
        if any(process.poll() is not None for process in processes):
            raise RuntimeError("a worker process exited before its first heartbeat")
        return all(client.exists(f"vitrina:worker:{worker_id}") for worker_id in ids)

    try:
        eventually_sync(
            beating, timeout, interval=0.1, message=f"workers {sorted(ids)} sent no heartbeat"
        )
    finally:
        client.close()


async def next_heartbeats(engine: RedisEngine, timeout: float = 30.0) -> None:
    """Until the bot has read a heartbeat sent after this call from every worker it knows:
    what the workers publish (ops served, models held) is then as of now."""
    since = time.time()  # heartbeats carry the worker's time.time() (this machine's clock)
    known = {w["id"] for w in engine.live_workers}

    def fresh() -> bool:
        return known <= {w["id"] for w in engine.live_workers if w.get("at", 0) > since}

    said = f"the bot reads a heartbeat sent after the call from each of {sorted(known)}"
    await eventually(fresh, timeout, interval=0.05, message=said)
