# The commands the README shows. `make help` lists them.
.DEFAULT_GOAL := help
.PHONY: help setup demo test lint pytest chaos up down status

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: ## install what is missing: Debian packages, .venv, the Kafka release
	@bash scripts/setup.sh

demo: setup ## the main job: stack up, then the demo
	@.venv/bin/controlfeed demo --console

test: setup lint pytest ## the whole suite against the real services (what CI runs)

lint: setup ## ruff (lint and format), mypy, and the layer contract (lint-imports)
	@.venv/bin/ruff check streams schemas sinks rules tests benchmarks
	@.venv/bin/ruff format --check --quiet streams schemas sinks rules tests benchmarks
	@.venv/bin/mypy
	@.venv/bin/lint-imports --no-cache

pytest: setup ## pytest only; starts the services it needs
	@.venv/bin/python -m pytest

chaos: setup ## faults (kill, stop, broker, ClickHouse, rebalance) at 10/50/90 % of a feed
	@.venv/bin/python -m benchmarks.chaos

up: setup ## start Kafka, ClickHouse, Alertmanager and Prometheus
	@.venv/bin/controlfeed stack up

down: ## stop them
	@.venv/bin/controlfeed stack down

status: ## show their state
	@.venv/bin/controlfeed stack status
