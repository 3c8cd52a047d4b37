# The gather-sync image: every process (listener, Faust worker, sink, operator commands).
#   docker build -t gather-sync:0.1.0 .
# The locked dependencies (uv.lock) are installed with the uv that the Makefile pins.

FROM python:3.11-slim AS build
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /src
# Dependencies first, so a source change reuses this layer.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY schemas ./schemas
COPY connectors ./connectors
COPY streams ./streams
COPY cli ./cli
COPY sfsim ./sfsim
RUN uv sync --frozen --no-dev --no-editable

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --shell /usr/sbin/nologin gather
COPY --from=build /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1
WORKDIR /app
USER 10001:10001
EXPOSE 9100 8080
ENTRYPOINT ["gather-sync"]
CMD ["--help"]
