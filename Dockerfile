# The gather-sync image: every process (listener, Faust worker, sink, operator commands).
#   docker build -t gather-sync:0.1.0 .                 # python:3.11-slim from a registry
#   make image                                          # here: a Debian base made by mmdebstrap
# The locked dependencies (uv.lock) are installed with the uv that the Makefile pins. The image
# holds the five packages of the wheel minus sfsim (WITH_SFSIM=true keeps it) and no test code; it
# runs as uid 10001 and writes nowhere but /tmp and the worker's WORKER_DATADIR, the two paths the
# chart mounts volumes on, so it runs with a read-only root filesystem.
# BASE_IMAGE needs python3 (3.11) with its venv module: python:3.11-slim, or Debian bookworm's
# python3 and python3-venv (deploy/image/build.sh).
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG UV_VERSION=0.13.9
# uv and pip trust the system's CA bundle (deploy/image/build.sh mounts the machine's over it).
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_SYSTEM_CERTS=1
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON=python3 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
# Dependencies first, so a source change reuses this layer.
COPY pyproject.toml uv.lock README.md ./
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-install-project
COPY schemas ./schemas
COPY connectors ./connectors
COPY streams ./streams
COPY cli ./cli
COPY sfsim ./sfsim
# sfsim (the local Salesforce) only serves tests and the demo: left out unless asked for.
ARG WITH_SFSIM=false
RUN /opt/uv/bin/uv sync --frozen --no-dev --no-editable \
    && if [ "${WITH_SFSIM}" != true ]; then \
         rm -r /app/.venv/bin/sfsim /app/.venv/lib/python3.11/site-packages/sfsim; \
       fi

FROM ${BASE_IMAGE}
ARG WITH_SFSIM=false
LABEL io.gather-sync.with-sfsim=${WITH_SFSIM}
RUN useradd --no-create-home --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin gather
COPY --from=build /app/.venv /app/.venv
# No .pyc written at run time: the root filesystem is read-only (uv compiled them at build).
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
EXPOSE 9100 8080
ENTRYPOINT ["gather-sync"]
CMD ["--help"]
