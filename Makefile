# The two commands: `make up` (install and start everything) and `make test` (install and run every test).
SHELL := /bin/bash
.DEFAULT_GOAL := help
STACK := infra/local/stack.sh

# Local development key; set API_KEYS to your own for anything shared.
export API_KEYS ?= local-dev-key-change-me

.PHONY: help install up down status logs build lint typecheck unit e2e test clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

node_modules/.install-stamp: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.install-stamp ## install npm packages and fetch the stack's jars (cached in ~/.cache/pipeline)
	@$(STACK) install kafka cassandra

up: install ## start Kafka, Cassandra and the API (port 3000, Swagger at /docs)
	@$(STACK) up
	@echo "API:     http://127.0.0.1:$${PORT:-3000}/api/v1   (send X-API-Key: <a key from API_KEYS>)"
	@echo "Swagger: http://127.0.0.1:$${PORT:-3000}/docs"

down: ## stop everything make up started
	@$(STACK) down

status: ## one line per service
	@$(STACK) status

logs: ## follow the logs of every service (make logs S=kafka for one)
	@$(STACK) logs $(S)

build: node_modules/.install-stamp
	npm run -s build

lint: node_modules/.install-stamp ## eslint
	npm run -s lint

typecheck: node_modules/.install-stamp
	npm run -s typecheck

unit: node_modules/.install-stamp ## unit tests (fakes at the adapter boundary)
	npx jest --ci

e2e: install ## end-to-end tests against the real local stack (starts what is missing, stops what it started)
	@infra/local/with-stack.sh kafka cassandra -- npx jest --ci --config test/jest-e2e.config.js --runInBand

test: install lint typecheck unit e2e ## everything CI runs

clean: down ## stop the stack and delete its state (.stack/)
	rm -rf .stack dist
