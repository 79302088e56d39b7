# Countersign: one image for every app process. docker-compose.yml runs it as
# `countersign migrate` (one-shot), `countersign worker` and the default,
# `countersign web`. Settings come only from the environment (COUNTERSIGN_*,
# TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE); nothing secret is built in.

FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    COUNTERSIGN_DATA_DIR=/var/lib/countersign

# An unprivileged user owns the data dir; a named volume mounted there starts
# out with this ownership.
RUN groupadd --system --gid 10001 countersign \
    && useradd --system --uid 10001 --gid countersign --home-dir /var/lib/countersign \
        --shell /usr/sbin/nologin countersign \
    && mkdir -p /var/lib/countersign /app \
    && chown countersign:countersign /var/lib/countersign

# DejaVu: a Unicode font for the certificate PDF (countersign.certificate.pdf); without it names
# outside Latin-1 print as "?".
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Install the package (and its pinned dependencies, with the optional fast
# event loop and HTTP parser) into site-packages, then
# drop the sources: migrations, templates and static files are package data.
# README.m[d]: pyproject.toml names README.md as the long description; the
# pattern copies it when present without failing the build when it is not.
WORKDIR /src
COPY pyproject.toml README.m[d] ./
COPY src ./src
COPY api ./api
COPY workflows ./workflows
RUN pip install '.[fast]' \
    && rm -rf /src

USER countersign:countersign
WORKDIR /app

EXPOSE 8000
CMD ["countersign", "web", "--host", "0.0.0.0", "--port", "8000"]
