# The two commands: `make up` (install and start everything) and `make test` (install and run every test).
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK := infra/local/stack.sh

# Airflow's own API key (its DAGs call the API with it), a development key; set your own for anything shared.
export PIPELINE_API_KEY ?= local-dev-airflow-key-change-me
# Local development keys, Airflow's included; set API_KEYS to your own for anything shared (with PIPELINE_API_KEY
# among them). These secrets reach the API process alone: infra/local/lib.sh starts every other service
# (Livy and its Spark drivers, Kafka, Cassandra, Airflow) without them.
export API_KEYS ?= local-dev-key-change-me,$(PIPELINE_API_KEY)
# `make up` starts the streaming job with the API (the API's own default is off).
export STREAMING_AUTOSTART ?= true
# Signing secret of the `webhooks` source (config/sources.yaml), needed for the API to start:
# whsec_ + base64 of the development key "local-dev-webhooks-key-change-me". Set your own for anything shared.
export WEBHOOKS_SIGNING_SECRET ?= whsec_bG9jYWwtZGV2LXdlYmhvb2tzLWtleS1jaGFuZ2UtbWU=

.PHONY: help install jq promtool chromium console up down status cluster cluster-down logs build lint typecheck unit pytest infra-check e2e contract e2e-cluster test bench bench-ingest bench-query bench-freshness bench-pipeline bench-recovery bench-body bench-front-door bench-profile bench-rate-limits bench-cassandra-ceiling clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp ## install npm packages, the stack's jars and the PySpark venv (cached in ~/.cache/pipeline), and jq
	@$(STACK) install kafka cassandra livy airflow
	@infra/local/jq/install.sh

jq: ## jq, which the examples of README.md and docs/ use (Debian's jq package; installed once, when missing)
	@infra/local/jq/install.sh

promtool: ## promtool, which checks GET /metrics in the e2e tests (Debian's prometheus package; installed once, when missing)
	@infra/local/promtool/install.sh

chromium: ## Chromium for the web console's browser tests (Debian's chromium package; installed once, when missing)
	@infra/local/chromium/install.sh

console: node_modules/.install-stamp ## build the web console (apps/web) into dist/web, which the API serves at / (make up builds it with the API)
	npm run -s build:web

up: install ## start Kafka, Cassandra, Livy (with Spark), Airflow and the API (port 3000, Swagger at /docs, the console at /) and the streaming job
	@$(STACK) up
	@echo "Console: http://127.0.0.1:$${PORT:-3000}/   (sign in with a key from API_KEYS)"
	@echo "API:     http://127.0.0.1:$${PORT:-3000}/api/v1   (send X-API-Key: <a key from API_KEYS>)"
	@echo "Swagger: http://127.0.0.1:$${PORT:-3000}/docs"
	@echo "Airflow: http://127.0.0.1:$${AIRFLOW_PORT:-8080}   (user $${AIRFLOW_USERNAME:-admin})"

down: ## stop everything make up started
	@$(STACK) down

status: ## one line per service (and per node of make cluster while it runs)
	@if infra/local/cluster.sh running; then infra/local/cluster.sh status; else $(STACK) status; fi

cluster: install ## the pipeline on three Kafka and three Cassandra nodes (127.0.0.1-3), two API replicas behind nginx on :3000, Livy and Airflow, without Docker (.stack/cluster); refuses to start beside make up
	@infra/local/cluster.sh up

cluster-down: ## stop everything make cluster started
	@infra/local/cluster.sh down

logs: ## follow the logs of every service (make logs S=kafka for one)
	@$(STACK) logs $(S)

build: node_modules/.install-stamp
	npm run -s build

lint: node_modules/.install-stamp ## eslint and Prettier (npm run format applies it) over src, apps, test and bench; ruff (lint and format) over spark-jobs/ and airflow/; shellcheck over infra/ (each installed once, when missing)
	npm run -s lint
	@infra/local/lint/ruff.sh
	@infra/local/lint/shellcheck.sh

typecheck: node_modules/.install-stamp
	npm run -s typecheck

unit: node_modules/.install-stamp ## unit tests (fakes at the adapter boundary)
	npx jest --ci

pytest: install ## pytest: the PySpark jobs' transforms (local SparkSession) and the Airflow DAGs' integrity
	@infra/local/spark/pytest.sh -q
	@infra/local/airflow/pytest.sh -q

infra-check: node_modules/.install-stamp ## checks of the Docker files that need no Docker engine (schema, pinned tags, healthchecks, env names, hadolint)
	@bash infra/checks/run.sh

e2e: install promtool chromium console ## end-to-end tests against the real local stack, the console's in Chromium (starts what is missing, stops what it started)
	@infra/local/with-stack.sh kafka cassandra livy airflow api -- npx jest --ci --config test/jest-e2e.config.js --runInBand

contract: install ## schemathesis over the whole OpenAPI document of the real API: every check, a fixed seed, zero failures (starts what is missing)
	@infra/local/with-stack.sh kafka cassandra livy airflow api -- infra/local/contract/run.sh

e2e-cluster: install ## fault tests under load against make cluster: a broker, a Cassandra node, a Spark worker and the supervising API replica killed, rolling restarts (starts the cluster when it is not running and stops it afterwards; make up's stack is stopped meanwhile and started again)
	@infra/local/with-cluster.sh -- npx jest --ci --config test/cluster/jest-cluster.config.js --runInBand

# The e2e tests and the contract run share one start of the stack (each alone starts what it needs); then
# the fault tests run on make cluster (which takes the same ports: the stack is stopped first).
test: install lint typecheck unit pytest infra-check promtool chromium console ## everything CI runs
	@infra/local/with-stack.sh kafka cassandra livy airflow api -- $(MAKE) --no-print-directory e2e contract
	@$(MAKE) --no-print-directory e2e-cluster

bench: bench-ingest bench-query ## both benchmarks below; tables printed, results in bench/results/

bench-ingest: build ## ingest throughput/latency at 1/16/64/256 connections and batches of 100/1000 vs Kafka's perf tool and bare kafkajs (DURATION=10 WORKERS=1,2)
	@$(STACK) install kafka cassandra
	@infra/local/with-stack.sh kafka cassandra -- npx ts-node --transpile-only bench/ingest.ts --duration $${DURATION:-10} --workers $${WORKERS:-1,2}

bench-query: build ## GET /records pages of 100 over 1M rows vs cassandra-driver (seeds once; DURATION=10 WORKERS=1,2)
	@$(STACK) install kafka cassandra
	@infra/local/with-stack.sh kafka cassandra -- npx ts-node --transpile-only bench/query.ts --duration $${DURATION:-10} --workers $${WORKERS:-1,2}

bench-freshness: up ## end-to-end latency, POST /ingest → GET /records (RATE=200 DURATION=60 VIEW=1: and to a view's current window)
	npx ts-node --transpile-only bench/freshness.ts --rate $${RATE:-200} --seconds $${DURATION:-60} $${VIEW:+--view}

bench-pipeline: up ## the highest constant ingest rate the pipeline keeps up with: ramp, then a hold; lag, freshness, cores per stage (RATES=500,1000,... STEP=60 HOLD=180 BATCH=100 VIEWS=1: three views on the source meanwhile)
	npx ts-node --transpile-only bench/pipeline.ts $${RATES:+--rates $$RATES} --step $${STEP:-60} --hold $${HOLD:-180} --batch $${BATCH:-100} $${VIEWS:+--views}

bench-recovery: up ## kill Livy, then the stream's driver: time until flowing again; the supervisor's idle cost (IDLE=60)
	npx ts-node --transpile-only bench/recovery.ts --idle-seconds $${IDLE:-60}

bench-profile: build ## where the API's CPU goes on POST /ingest: V8's profiler, top functions and packages (DURATION=15 CONNECTIONS=64 EVENTS=1)
	@$(STACK) install kafka cassandra
	@infra/local/with-stack.sh kafka cassandra -- npx ts-node --transpile-only bench/profile-ingest.ts --duration $${DURATION:-15} --connections $${CONNECTIONS:-64} --events $${EVENTS:-1}

bench-front-door: build ## unauthenticated 1 MB bodies, trickled bodies and endless headers, 50 connections each: API memory, answers, time to close (CONNECTIONS=50)
	@$(STACK) install kafka cassandra
	@infra/local/with-stack.sh kafka cassandra -- npx ts-node --transpile-only bench/front-door.ts --connections $${CONNECTIONS:-50}

bench-rate-limits: build ## a key's and a source's limits enforced by 2 replicas (3 processes), and another key's rate while one floods (WINDOWS=2 LIMIT=50)
	@$(STACK) install kafka cassandra
	@infra/local/with-stack.sh kafka cassandra -- npx ts-node --transpile-only bench/rate-limits.ts --windows $${WINDOWS:-2} --limit $${LIMIT:-50}

bench-cassandra-ceiling: build ## the storage stage's ceiling: events_by_bucket rows/s Cassandra alone takes from a direct driver (DURATION=10 CONCURRENCY=16,64 BATCH=1,20)
	@$(STACK) install cassandra
	@infra/local/with-stack.sh cassandra -- npx ts-node --transpile-only bench/cassandra-ceiling.ts --duration $${DURATION:-10} --concurrency $${CONCURRENCY:-16,64} --batch $${BATCH:-1,20}

bench-body: node_modules/.install-stamp ## CPU of ingest's body checks (UTF-8, nesting, numbers) per 1 KB event, in-process; needs no service (ITERATIONS=100000)
	npx ts-node --transpile-only bench/body-checks.ts --iterations $${ITERATIONS:-100000}

clean: down ## stop the stack and delete its state (.stack/)
	rm -rf .stack dist
