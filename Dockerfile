# Vitrina on a CUDA runtime. Weights and data are volumes: nothing large is baked in.
#   docker build -t vitrina .
#   docker run --gpus all --env-file env/.env -v $PWD/weights:/app/weights \
#              -v $PWD/data:/app/data vitrina
#   a worker machine (SERVICE_BACKEND=redis://...): the same image, another command:
#   docker run --gpus all --env-file env/.env -v $PWD/weights:/app/weights \
#              vitrina vitrina worker --device cuda:0
FROM nvidia/cuda:13.0.1-cudnn-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY services ./services
RUN pip install torch==2.14.1 torchvision==0.29.1 && pip install .

RUN useradd --create-home --uid 1000 vitrina \
    && mkdir -p /app/weights /app/data \
    && chown -R vitrina:vitrina /app/weights /app/data
USER vitrina

ENV WEIGHTS_DIR=/app/weights \
    DATABASE_PATH=/app/data/vitrina.sqlite3 \
    DEVICE=auto
VOLUME ["/app/weights", "/app/data"]

CMD ["python", "-m", "bot"]
