"""compose.yaml and the Dockerfile, checked without Docker: Redis with its append-only file,
one bot and two workers on different GPUs from the one image the Dockerfile builds, every
volume declared, and every system package the Makefile installs in the image too."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
VITRINA = ("bot", "worker-0", "worker-1")  # the services that run the image
Json = dict[str, Any]


@pytest.fixture(scope="module")
def compose() -> Json:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def _command(service: Json) -> list[str]:
    command = service.get("command", [])
    return shlex.split(command) if isinstance(command, str) else list(command)


def _mounts(service: Json) -> dict[str, str]:
    """Mount target -> source, from the short ("source:target[:mode]") or the long syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, target = volume.split(":")[:2]
        else:
            source, target = volume.get("source", ""), volume["target"]
        mounts[target] = source
    return mounts


def _named(source: str) -> bool:
    return bool(source) and not source.startswith((".", "/", "~", "$"))


def _apt_installs(text: str) -> set[str]:
    """Packages named by `apt-get install` in shell text (a Makefile, a Dockerfile)."""
    text = text.replace("\\\n", " ")
    packages = set()
    for args in re.findall(r"apt-get\s+install\s+([^;&|<>(){}\n]*)", text):
        packages |= {word for word in args.split() if not word.startswith(("-", "$"))}
    return packages


def test_the_services_and_their_commands(compose: Json) -> None:
    services = compose["services"]
    assert set(services) == {"redis", *VITRINA}
    assert _command(services["bot"]) == ["python", "-m", "bot"]
    for name in ("worker-0", "worker-1"):
        command = _command(services[name])
        assert command[:2] == ["vitrina", "worker"], name
        # a container sees only the GPU reserved for it: as cuda:0
        assert command[command.index("--device") + 1] == "cuda:0", name
        assert "--id" not in command, "a fixed id survives a restart; its jobs would be stuck"


def test_redis_keeps_an_append_only_file_on_a_volume(compose: Json) -> None:
    redis = compose["services"]["redis"]
    assert redis["image"].startswith("redis:")
    command = _command(redis)
    assert command[0] == "redis-server"
    assert command[command.index("--appendonly") + 1] == "yes"
    source = _mounts(redis)["/data"]  # where the redis image keeps appendonly files
    assert _named(source) and source in compose["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


def test_the_bot_and_the_workers_share_the_settings_and_reach_redis(compose: Json) -> None:
    services = compose["services"]
    environments = [services[name]["environment"] for name in VITRINA]
    for name, environment in zip(VITRINA, environments, strict=True):
        assert environment["SERVICE_BACKEND"] == "redis://redis:6379/0", name
        assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy", name
        assert services[name]["env_file"] == services["bot"]["env_file"], name
    assert all(environment == environments[0] for environment in environments)
    shared, weights = environments[0]["SHARED_DIR"], environments[0]["WEIGHTS_DIR"]
    for folder in (shared, weights):  # one named volume, mounted on all three
        sources = {_mounts(services[name]).get(folder) for name in VITRINA}
        assert len(sources) == 1 and _named(sources.pop()), (folder, sources)
    # the bot keeps its SQLite rows and the users' photos on a volume of their own
    data = str(Path(environments[0]["DATABASE_PATH"]).parent)
    assert _named(_mounts(services["bot"])[data])


def test_each_worker_reserves_a_gpu_of_its_own(compose: Json) -> None:
    reserved = []
    for name in ("worker-0", "worker-1"):
        (device,) = compose["services"][name]["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and "gpu" in device["capabilities"], name
        assert "count" not in device, "count and device_ids exclude each other"
        assert len(device["device_ids"]) == 1, name
        reserved.append(device["device_ids"][0])
    assert reserved[0] != reserved[1], reserved
    assert "deploy" not in compose["services"]["bot"]  # the models run on the workers


def test_every_named_volume_is_declared_and_used(compose: Json) -> None:
    used = {
        source
        for service in compose["services"].values()
        for source in _mounts(service).values()
        if _named(source)
    }
    assert used == set(compose["volumes"])


def test_settings_files_exist_or_are_the_documented_one(compose: Json) -> None:
    for name, service in compose["services"].items():
        files = service.get("env_file", [])
        for entry in [files] if isinstance(files, str | dict) else files:
            path = entry["path"] if isinstance(entry, dict) else entry
            if path == "env/.env":  # git-ignored: made from env/example.env (README, make run)
                assert (ROOT / "env" / "example.env").is_file()
                assert "env/.env" in (ROOT / ".gitignore").read_text().split()
            else:
                assert (ROOT / path).is_file(), (name, path)


def test_one_image_built_from_the_dockerfile(compose: Json) -> None:
    services = compose["services"]
    builders = [name for name, service in services.items() if "build" in service]
    assert builders == ["bot"]
    build = services["bot"]["build"]
    context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    assert context.resolve() == ROOT and (context / dockerfile).is_file()
    image = services["bot"]["image"]
    for name in ("worker-0", "worker-1"):
        assert services[name]["image"] == image, name
        # never pulled from a registry under that name: the bot service builds it
        assert services[name]["pull_policy"] == "never", name


def test_the_image_has_every_folder_compose_mounts(compose: Json) -> None:
    """A named volume takes its owner from the image's folder: one the image lacks would be
    root's, and the image runs as an unprivileged user."""
    dockerfile = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    made = {
        folder for args in re.findall(r"mkdir -p ([^&;]*)", dockerfile) for folder in args.split()
    }
    for name in VITRINA:
        assert set(_mounts(compose["services"][name])) <= made, name


def test_the_image_installs_every_system_package_the_makefile_does() -> None:
    makefile = _apt_installs((ROOT / "Makefile").read_text())
    dockerfile = _apt_installs((ROOT / "Dockerfile").read_text())
    assert "redis-server" in makefile  # the parser sees `make redis`
    assert makefile <= dockerfile, makefile - dockerfile


def test_the_readme_points_at_compose_yaml() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "compose.yaml" in readme
    assert "docker-compose.yml" not in readme  # the old inline example is gone
