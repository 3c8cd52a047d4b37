# gather-sync: every target does its own set-up on a fresh machine.
#   make test   - venv + locked deps, a real Kafka broker and PostgreSQL, then the whole test suite
#   make run    - the main job on embedded defaults (see README)
#   make lint   - ruff, mypy and vulture
#   make stop   - stop the local Kafka broker and PostgreSQL
#   make image  - the container image, built here with Podman on a Debian base (docs/helm.md)
#   make test-image - that image run as the chart runs it, against the local services
#   make chaos  - the long chaos run (faults on a 100,000-change workload; CHAOS_SEED= reruns one)
#   make profile-<listener|worker|sink|backfill> - a py-spy profile of that stage under load
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

UV_VERSION := 0.13.9
TOOLS := .local/tools
UV := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := .venv

.PHONY: test run lint stop services venv schema bench bench-sfsim bench-listener bench-pipeline bench-rebalance helm check-alerts chaos \
	image test-image \
	profile-listener profile-worker profile-sink profile-backfill

$(UV):
	python3 -m venv $(TOOLS)
	$(TOOLS)/bin/pip install -q "uv==$(UV_VERSION)"

# The venv is re-synced whenever the lock file changes; a second run reuses it.
.venv/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --quiet
	touch $@

venv: .venv/.synced

services:
	deploy/local/kafka.sh start >/dev/null
	deploy/local/postgres.sh start >/dev/null

test: venv services
	deploy/local/helm.sh >/dev/null
	deploy/local/chromium.sh >/dev/null
	deploy/local/toxiproxy.sh >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	eval "$$(deploy/local/postgres.sh env)"; export GATHER_DATABASE_URL
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/vulture
	.venv/bin/pytest $(PYTEST_ARGS)

# The image the chart deploys, gather-sync:<the chart's appVersion>, built with Podman from the
# locked dependencies on a Debian bookworm base that mmdebstrap makes (cached in .local/image);
# prints its size and digest. sfsim (the local org, for `gather-sync run`) stays out unless
# IMAGE_WITH_SFSIM=true.
IMAGE_WITH_SFSIM ?= false
image:
	WITH_SFSIM=$(IMAGE_WITH_SFSIM) deploy/image/build.sh

# The image's own test (tests/image, not part of `make test`): listener, worker and sink as
# containers with the chart's user, read-only root, environment and probes, on the host network
# against the local broker, PostgreSQL and sfsim. CI runs it where Podman is installable.
test-image: venv services image
	deploy/local/helm.sh >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	eval "$$(deploy/local/postgres.sh env)"; export GATHER_DATABASE_URL
	.venv/bin/pytest tests/image/check_image.py $(PYTEST_ARGS)

# Helm for the chart's tests (tests/deploy), built once with the machine's Go into .local/tools/bin.
helm:
	deploy/local/helm.sh

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/vulture  # code nothing uses ([tool.vulture] in pyproject.toml)

# The main job: sfsim with a demo tenant and live traffic, the listener, the Faust worker and the
# sink into SQLite (.local/gather.db), with a live summary until Ctrl-C. Logs in .local/run/.
run: venv
	deploy/local/kafka.sh start >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	.venv/bin/gather-sync tenants validate examples/tenant-acme.yaml
	.venv/bin/gather-sync run

# Benchmarks stay out of `make test` (and CI): they take minutes and claim figures.
bench: bench-sfsim bench-listener bench-pipeline bench-rebalance

bench-sfsim: venv
	.venv/bin/python -m bench.sfsim_delivery

bench-listener: venv
	deploy/local/kafka.sh start >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	.venv/bin/python -m bench.listener_500

# The whole pipeline: e2e delay, a 1,000,000-record backfill, Faust and sink against bare loops.
# `make bench-pipeline BENCH_PIPELINE_ARGS=--quick` for a smoke run.
bench-pipeline: venv
	deploy/local/kafka.sh start >/dev/null
	deploy/local/postgres.sh start >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	eval "$$(deploy/local/postgres.sh env)"; export GATHER_DATABASE_URL
	.venv/bin/python -m bench.pipeline $(BENCH_PIPELINE_ARGS)

# What a rebalance costs the worker: a second worker joins, then the first stops, while changes
# flow. `make bench-rebalance BENCH_REBALANCE_ARGS=--quick` for a smoke run (~1.5 minutes).
bench-rebalance: venv
	deploy/local/kafka.sh start >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	.venv/bin/python -m bench.rebalance $(BENCH_REBALANCE_ARGS)

# py-spy profiles of one stage under load (issue 13): the raw profile is written to
# .local/bench/profiles/<stage>-<time>.txt and its top frames (self and inclusive time) printed;
# `python -m bench.profile_top FILE -n 20` ranks more. PROFILE_ARGS adds options, e.g.
# `make profile-backfill PROFILE_ARGS="--records 200000"`. worker: the Faust scenario, sink: the
# sink scenario, backfill: the backfill command of the backfill scenario (bench.pipeline --quick);
# listener: bench.listener_500 with 100 tenants, sampled over its loaded window.
PROFILE_SCENARIO_worker := faust
PROFILE_SCENARIO_sink := sink
PROFILE_SCENARIO_backfill := backfill

profile-worker profile-sink profile-backfill: profile-%: venv services
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	eval "$$(deploy/local/postgres.sh env)"; export GATHER_DATABASE_URL
	.venv/bin/python -m bench.pipeline --quick --only $(PROFILE_SCENARIO_$*) --profile $* $(PROFILE_ARGS)

profile-listener: venv
	deploy/local/kafka.sh start >/dev/null
	eval "$$(deploy/local/kafka.sh env)"; export KAFKA_BOOTSTRAP_SERVERS
	mkdir -p .local/bench/profiles
	out=.local/bench/profiles/listener-$$(date +%Y%m%dT%H%M%S).txt
	.venv/bin/python -m bench.listener_500 --tenants 100 --profile "$$out" $(PROFILE_ARGS)
	.venv/bin/python -m bench.profile_top "$$out"

# The chaos suite's long run (issue 12): its own broker, PostgreSQL and Toxiproxy (the shared
# services only lend their jars and packages), two tenants, each stage as two replicas, 100,000
# changes and faults from a seeded schedule; the report is printed and kept in .local/chaos/.
# `make chaos CHAOS_SEED=<seed>` reruns a seed; CHAOS_ARGS=--short for the variant make test runs.
chaos: venv services
	deploy/local/toxiproxy.sh >/dev/null
	.venv/bin/python -m tests.chaos $(if $(CHAOS_SEED),--seed $(CHAOS_SEED)) $(CHAOS_ARGS)

schema: venv
	.venv/bin/gather-sync schema export --out docs/tenant-config.schema.json

stop:
	deploy/local/kafka.sh stop
	deploy/local/postgres.sh stop

# promtool's checks of the alert rules and their unit tests (a Go build of about ten minutes,
# so it is not part of make test; the test suite parses every expression with promql-parser).
check-alerts:
	deploy/local/promtool.sh >/dev/null
	.local/tools/bin/promtool check rules deploy/prometheus/alerts.yaml
	cd deploy/prometheus && ../../.local/tools/bin/promtool test rules alerts.test.yaml
