# Vitrina on a CUDA runtime. Weights and data are volumes: nothing large is baked in.
#   docker build -t vitrina .
#   docker run --gpus all --env-file env/.env -v $PWD/weights:/app/weights \
#              -v $PWD/data:/app/data vitrina
#   a worker machine (SERVICE_BACKEND=redis://...): the same image, another command:
#   docker run --gpus all --env-file env/.env -v $PWD/weights:/app/weights \
#              vitrina vitrina worker --device cuda:0
#   Redis, the bot and two GPU workers on one machine: compose.yaml (docker compose up -d).
# `make test` lints this file with hadolint: every rule it ignores says why, above the line.
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# The system packages `make run` and `make test` install, so the image runs what a checkout
# does: redis-server (`make redis`: the scale-out tests start their own), and Tesseract with
# Russian and English (tesseract-ocr*: for the coming OCR, /check and /clean), and /gallery's
# fonts (Inter, Roboto, Open Sans with Cyrillic; Font Awesome for the benefit icons).
# Versions are not pinned (DL3008): Ubuntu's archive keeps only the latest build of each
# package in a release, so a pinned version stops installing at its next security update; the
# base image's tag (ubuntu24.04) fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        python3 python3-venv python3-pip \
        redis-server \
        tesseract-ocr tesseract-ocr-rus tesseract-ocr-eng \
        fonts-inter fonts-roboto fonts-open-sans fonts-font-awesome \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY services ./services
RUN pip install torch==2.14.1 torchvision==0.29.1 && pip install .

# uid 1000 (the usual first user of a host, for bind-mounted folders): Ubuntu 24.04 images
# ship a user "ubuntu" with it, which makes way for vitrina. /app/shared is for SHARED_DIR
# (compose.yaml mounts one volume there on the bot and every worker).
RUN if id ubuntu >/dev/null 2>&1; then userdel --remove ubuntu; fi \
    && useradd --create-home --uid 1000 --user-group vitrina \
    && mkdir -p /app/weights /app/data /app/shared \
    && chown -R vitrina:vitrina /app/weights /app/data /app/shared
# vitrina, by number (DL3066: a name may not resolve on the host; runAsNonRoot needs a uid)
USER 1000:1000

ENV WEIGHTS_DIR=/app/weights \
    DATABASE_PATH=/app/data/vitrina.sqlite3 \
    DEVICE=auto
VOLUME ["/app/weights", "/app/data"]

CMD ["python", "-m", "bot"]
