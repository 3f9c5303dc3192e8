# `make repro` runs the pipeline, `make test` runs the tests.
# Every target sets up the environment from uv.lock first if it is missing or stale.

.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON_VERSION := $(shell cat .python-version)
UV_VERSION := 0.13.9
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
VENV := .venv
BIN := $(VENV)/bin
export UV_PYTHON_DOWNLOADS := never
# The environment is installed with its bytecode compiled: every later process (each DVC stage, each CI
# step) starts from it, also where PYTHONDONTWRITEBYTECODE is set or the environment is read-only, as in
# a container or on CI runners that set it. Without it such a process compiles pandas, scikit-learn and
# SciPy again each time: 2.6 s of CPU for the imports of train and review instead of 7.7 s.
export UV_COMPILE_BYTECODE ?= 1
# Stages call the project's command (`lockstep`), so the environment's bin/ goes first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)

## help: list the targets: the ones you run first, then the steps CI runs
.PHONY: help
help:
	@awk '/^## / { line = substr($$0, 4); name = substr(line, 1, index(line, ": ") - 1); \
	    text = substr(line, index(line, ": ") + 2); \
	    if (name ~ /^ci-/) ci[++n] = sprintf("  \033[1m%-20s\033[0m %s", name, text); \
	    else printf "  \033[1m%-20s\033[0m %s\n", name, text } \
	  END { print "\nSteps of the GitHub workflows (.github/workflows/), to run by hand only when debugging CI:"; \
	    for (i = 1; i <= n; i++) print ci[i] }' $(MAKEFILE_LIST)

.tools/bin/uv:
	python3 -m venv .tools
	.tools/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --frozen --extra dask --python $(PYTHON_VERSION)
	@touch $@

## install: create .venv from uv.lock (bootstraps uv with pip if it is missing)
.PHONY: install
install: $(VENV)/.synced

# A project created with Copier's `start_dataset` answer ("REPO NAME@VERSION") pins that published dataset on its
# first `make repro` (`lockstep data use`), then trains on it; once pinned, this does nothing. START_DATASET_ARGS
# passes the registry's remote settings it keeps out of Git (--source-remote-config endpointurl=...).
START_DATASET := $(shell sed -n "s/^start_dataset: *['\"]\{0,1\}\([^'\"]*\)['\"]\{0,1\} *$$/\1/p" .copier-answers.yml 2>/dev/null)
START_DATASET_NAME := $(firstword $(subst @, ,$(word 2,$(START_DATASET))))
START_DATASET_ARGS ?=

## repro: set up, then run the whole DVC pipeline (only stages whose inputs changed)
.PHONY: repro
repro: install
ifneq ($(START_DATASET),)
	@ls data/source/$(START_DATASET_NAME).*.dvc >/dev/null 2>&1 || \
	  $(BIN)/lockstep data use $(START_DATASET) $(START_DATASET_ARGS)
endif
	$(BIN)/dvc repro
	@echo
	@echo "Metrics: metrics/metrics.json (dvc metrics show)  Plots: metrics/plots/ (dvc plots show)"
	@echo "Model:   models/model.skops  Card: models/model_card.json"

# Test processes (pytest-xdist): one per core; `make test PYTEST_WORKERS=0` runs them in one.
# loadgroup keeps the tests that share a module's fixture on one worker (tests/conftest.py).
PYTEST_WORKERS ?= auto
# The markers of the minutes-long tests: each folder of them gives its own (tests/conftest.py), and has a target
# of its own that CI also runs.
LONG_TESTS := slow or load or container or workflow or datasets or scale

## test: set up, lint, and run every test but the minutes-long ones (budget: 6 minutes on 2 cores)
.PHONY: test
test: install lint monitoring-tools
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m "not ($(LONG_TESTS))"

## test-workflows: the simulated GitHub scenarios (pull requests, merges, batch scoring, rollouts, monitoring) through the workflows' own steps
.PHONY: test-workflows
test-workflows: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m workflow

## test-datasets: the dataset registry end to end: a registry and a consumer, real Git, DVC and S3 (moto)
.PHONY: test-datasets
test-datasets: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m datasets

## test-scale: the pipeline on Dask (compute=dask) through real DVC: one dvc.lock for any worker and partition count
.PHONY: test-scale
test-scale: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m scale

## test-load: the serving load tests (10,000 requests from 32 clients; the shadow and the canary under load)
.PHONY: test-load
test-load: install
	$(BIN)/pytest -p no:xdist -m load

## test-fast: run only the fast unit tests
.PHONY: test-fast
test-fast: install monitoring-tools
	$(BIN)/pytest -m "not integration and not ($(LONG_TESTS))"

# apt-get runs as root: directly when make does, else through sudo (a GitHub runner's user has it without a password).
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)

## monitoring-tools: install promtool (Debian's or Ubuntu's prometheus package) if missing: the alert rules' tests run it
.PHONY: monitoring-tools
monitoring-tools:
	@command -v promtool >/dev/null || \
	  { $(AS_ROOT) apt-get update && \
	    $(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus; } || \
	  { echo "promtool is missing: install Debian's prometheus package (or Prometheus' release) so it is on PATH"; exit 1; }

# The template repository's own tests (`make test-template`); a project made from the template has no such file.
-include .copier/template.mk

## lint: ruff lint and format check, and the workflows' schema and security audit
.PHONY: lint
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(BIN)/zizmor --offline --min-severity low .github/workflows
	$(BIN)/hadolint Containerfile

## format: apply ruff's fixes and formatting
.PHONY: format
format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Material for MkDocs prints a banner about its end of life on every build; the build is offline and needs no news.
DOCS_ENV := NO_MKDOCS_2_WARNING=1

## docs: build the docs site (docs/, mkdocs.yml) into site/ with --strict, so a broken link or a page left out of nav fails
.PHONY: docs
docs: install
	$(DOCS_ENV) $(BIN)/mkdocs build --strict

## docs-serve: serve the docs site on http://127.0.0.1:8000, rebuilt on every edit
.PHONY: docs-serve
docs-serve: install
	$(DOCS_ENV) $(BIN)/mkdocs serve

## params: recompose params.yaml from conf/ (after editing conf/ by hand)
.PHONY: params
params: install
	$(BIN)/lockstep params

## metrics: show the current metrics
.PHONY: metrics
metrics: install
	$(BIN)/dvc metrics show

## plots: render the plots to dvc_plots/index.html
.PHONY: plots
plots: install
	$(BIN)/dvc plots show

## dag: print the pipeline graph
.PHONY: dag
dag: install
	$(BIN)/dvc dag

## push: push data, models and the run-cache (with its Git-tracked outputs) to the default DVC remote
.PHONY: push
push: install
	$(BIN)/dvc push --run-cache
	$(BIN)/lockstep run-cache push

## pull: pull data, models and the run-cache (with its Git-tracked outputs) from the default DVC remote
.PHONY: pull
pull: install
	$(BIN)/dvc pull --run-cache
	$(BIN)/lockstep run-cache pull

## remote-s3: make an S3 bucket the default remote (URL=s3://bucket/prefix)
.PHONY: remote-s3
remote-s3: install
	@test -n "$(URL)" || { echo "usage: make remote-s3 URL=s3://bucket/prefix"; exit 2; }
	$(BIN)/dvc remote add --force --default s3 "$(URL)"
	@echo "Default remote is now $(URL). Credentials come from the AWS environment, never from the repo."

BASE ?= main
REPORT_DIR ?= reports
# CI passes the reproduce step's outcome as REPRODUCE: after a failure, the report and the gate say so.
NOT_REPRODUCED := $(if $(filter failure,$(REPRODUCE)),--not-reproduced)

## report: compare with BASE (default main): writes reports/report.md, its plots and verdict.json
.PHONY: report
report: install
	$(BIN)/lockstep report --base "$(BASE)" --out "$(REPORT_DIR)" $(NOT_REPRODUCED)

## gate: exit non-zero unless this model may replace BASE's and the commit holds it (same verdict as in CI)
.PHONY: gate
gate: install
	$(BIN)/lockstep gate --base "$(BASE)" $(NOT_REPRODUCED)

## ci-gate: CI: enforce the verdict that `make report` wrote for this commit (the comment and the check agree)
.PHONY: ci-gate
ci-gate: install
	$(BIN)/lockstep gate --verdict "$(REPORT_DIR)/verdict.json"

# How CI reaches the DVC remote: `ci` (the default), `fork` (a fork's pull request gets no
# credentials) or `none` (the repository set no AWS_ROLE_ARN). Only the last two skip it.
CI_REMOTE ?= ci

## ci-repro: CI: pull what the DVC remote holds (run-cache too), reproduce everything else
.PHONY: ci-repro
ci-repro: install
	@# The whole of params.yaml is checked, even keys that no stage reads (a typo would re-run nothing).
	$(BIN)/lockstep params --validate
ifeq ($(CI_REMOTE),fork)
	@echo "::notice::Pull request from a fork: it gets no access to the DVC remote, so the pipeline is reproduced from scratch"
	$(BIN)/dvc repro
else ifeq ($(CI_REMOTE),none)
	@echo "::notice::No DVC remote for CI (the AWS_ROLE_ARN variable is not set): the pipeline is reproduced from scratch"
	$(BIN)/dvc repro
else
	$(BIN)/dvc pull --run-cache --allow-missing
	$(BIN)/lockstep run-cache pull
	$(BIN)/dvc repro --pull
endif

## ci-comment: CI: post or update the one sticky report comment on the pull request
.PHONY: ci-comment
ci-comment:
	cml comment update --watermark-title="Model report" "$(REPORT_DIR)/report.md"

## ci-summary: CI: put the report in the job summary (fork pull requests get no comment)
.PHONY: ci-summary
ci-summary:
	@echo "::notice::Pull request from a fork: no secrets, so the report is in the job summary, not a comment."
	cat "$(REPORT_DIR)/report.md" >> "$${GITHUB_STEP_SUMMARY:-/dev/stdout}"

# GTO writes annotated tags, which need an identity; a runner has none.
BOT_IDENTITY := GIT_AUTHOR_NAME="github-actions[bot]" GIT_COMMITTER_NAME="github-actions[bot]" \
	GIT_AUTHOR_EMAIL="41898282+github-actions[bot]@users.noreply.github.com" \
	GIT_COMMITTER_EMAIL="41898282+github-actions[bot]@users.noreply.github.com"

## ci-register: CI: register HEAD's model if it changed (refused unless the remote holds it), assign STAGE, push tags
.PHONY: ci-register
ci-register: install
ifeq ($(CI_REMOTE),none)
	@echo "::notice::No DVC remote for CI (the AWS_ROLE_ARN variable is not set): nothing is registered, since a version must name bytes that the remote holds"
else
	$(BOT_IDENTITY) $(BIN)/lockstep registry register --stage "$(STAGE)" --output "$${GITHUB_OUTPUT:-/dev/null}"
	$(MAKE) --no-print-directory push-tags
endif

## ci-assign: CI: assign STAGE to VERSION, push the tags
.PHONY: ci-assign
ci-assign: install
	$(BOT_IDENTITY) $(BIN)/lockstep registry assign --version "$(VERSION)" --stage "$(STAGE)"
	$(MAKE) --no-print-directory push-tags

# With GITHUB_TOKEN set (CI, where checkout persists no credentials), git authenticates to origin with it.
GIT_AUTH := if [ -n "$${GITHUB_TOKEN:-}" ]; then \
	  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraheader \
	    GIT_CONFIG_VALUE_0="AUTHORIZATION: basic $$(printf 'x-access-token:%s' "$$GITHUB_TOKEN" | base64 -w0)"; \
	fi

## push-tags: push the registry's tags (model@..., model#...) to origin, with GITHUB_TOKEN if set
.PHONY: push-tags
push-tags:
	@tags=$$(git tag --list 'model@*' 'model#*' | sed 's|^|refs/tags/|'); \
	$(GIT_AUTH); \
	git push origin $$tags

# The rollout report reads the serving logs from ROLLOUT_LOGS: a copy of LOGS, which is an
# s3://... (or other DVC-readable) URL, a folder tracked by DVC (LOGS.dvc), or a plain folder.
LOGS ?= logs
ROLLOUT_LOGS := build/rollout-logs
ROLLOUT_DIR ?= reports/rollout

## rollout-status: print the rollout in progress (mode, share, versions); CI reads mode= from GITHUB_OUTPUT
.PHONY: rollout-status
rollout-status: install
	$(BIN)/lockstep rollout status --output "$${GITHUB_OUTPUT:-/dev/null}"

## rollout-logs: copy the serving logs LOGS (a folder, a DVC-tracked one, or a URL: serve --log-upload's s3:// prefix) into build/rollout-logs
.PHONY: rollout-logs
rollout-logs: install
	@# The segments keep their layout (<stream>/hour=<hour>/...), and old predictions.jsonl files are copied as they are.
	@rm -rf $(ROLLOUT_LOGS) && mkdir -p $(dir $(ROLLOUT_LOGS))
	@logs="$${LOGS:-$(LOGS)}"; \
	case "$$logs" in \
	  *://*) $(BIN)/dvc get-url "$$logs" $(ROLLOUT_LOGS) ;; \
	  *) if [ -f "$$logs.dvc" ]; then $(BIN)/dvc pull "$$logs"; fi; cp -R "$$logs" $(ROLLOUT_LOGS) ;; \
	esac
	@echo "rollout-logs: $$(find $(ROLLOUT_LOGS) -type f | wc -l) file(s) in $(ROLLOUT_LOGS)"

## rollout-report: report on the rollout from build/rollout-logs into ROLLOUT_DIR (default reports/rollout)
.PHONY: rollout-report
rollout-report: install
	@# Exit 3 (next-step), 4 (promote) and 5 (rollback) are decisions, not failures: the workflow reads GITHUB_OUTPUT.
	$(BIN)/lockstep rollout report --logs $(ROLLOUT_LOGS) --out "$(ROLLOUT_DIR)" \
	  --output "$${GITHUB_OUTPUT:-/dev/null}" || [ $$? -ge 3 ]

## ci-rollout-summary: CI: put the rollout report in the job summary
.PHONY: ci-rollout-summary
ci-rollout-summary:
	cat "$(ROLLOUT_DIR)/report.md" >> "$${GITHUB_STEP_SUMMARY:-/dev/stdout}"

## ci-rollout-comment: CI: post or update the rollout report's sticky comment on issue ROLLOUT_ISSUE
.PHONY: ci-rollout-comment
ci-rollout-comment:
	cml comment update --watermark-title="Rollout report" --target="issue/$${ROLLOUT_ISSUE}" "$(ROLLOUT_DIR)/report.md"

## ci-rollout-apply: CI: act on the report's decision if it is still EXPECT; push the tags or the commit to main
.PHONY: ci-rollout-apply
ci-rollout-apply: install
	$(BOT_IDENTITY) $(BIN)/lockstep rollout apply --decision "$(ROLLOUT_DIR)/decision.json" --expect "$${EXPECT}"
	$(MAKE) --no-print-directory push-tags
	@if [ "$$(git rev-parse HEAD)" != "$$(git rev-parse origin/main)" ]; then \
	  $(GIT_AUTH); \
	  git push origin HEAD:refs/heads/main; \
	fi

MONITOR_DIR ?= reports/monitor

## monitor: check the serving logs LOGS (a folder or serve --log-upload's s3:// prefix) against VERSION's reference (default prod), from SINCE if set, into MONITOR_DIR
.PHONY: monitor
monitor: install
	@# Exit 6 is an alert, not a failure: the workflow reads alert= from GITHUB_OUTPUT.
	$(BIN)/lockstep monitor --logs "$${LOGS:-logs}" --version "$${VERSION:-prod}" $${SINCE:+--since "$$SINCE"} \
	  --out "$(MONITOR_DIR)" --output "$${GITHUB_OUTPUT:-/dev/null}" || [ $$? -eq 6 ]

DEMO_DIR := build/demo-monitor
DEMO_PORT ?= 8765

## demo-monitor: serve the workspace model (after `make repro`), send it clean then drifted traffic, and monitor its logs (under a minute)
.PHONY: demo-monitor
demo-monitor: install
	@# Windows of 500 rows (params.yaml's monitor.window is a day), so one run shows a few; the server stops on any exit.
	@rm -rf $(DEMO_DIR) && mkdir -p $(DEMO_DIR)
	@sed '/^monitor:/,/^[^ ]/ s/^  window: .*/  window: 500/' params.yaml > $(DEMO_DIR)/params.yaml
	@set -e; \
	$(BIN)/lockstep serve --model workspace --port $(DEMO_PORT) --prediction-log $(DEMO_DIR)/logs/predictions.jsonl \
	  > $(DEMO_DIR)/serve.log 2>&1 & server=$$!; \
	trap 'kill $$server 2>/dev/null; wait $$server 2>/dev/null || true' EXIT; \
	for _ in $$(seq 60); do \
	  curl -sf http://127.0.0.1:$(DEMO_PORT)/v2/health/ready > /dev/null && break; \
	  kill -0 $$server 2>/dev/null || { cat $(DEMO_DIR)/serve.log; exit 1; }; sleep 0.5; \
	done; \
	echo "demo-monitor: 1500 clean rows, then 1500 with annual_income shifted by 1 std"; \
	$(BIN)/lockstep simulate --url http://127.0.0.1:$(DEMO_PORT) --rows 1500 --seed 1 --outcome-delay 0; \
	$(BIN)/lockstep simulate --url http://127.0.0.1:$(DEMO_PORT) --rows 1500 --seed 2 --outcome-delay 0 \
	  --shift annual_income=1; \
	kill $$server; wait $$server || true; trap - EXIT; \
	$(BIN)/lockstep monitor --logs $(DEMO_DIR)/logs --version workspace --params $(DEMO_DIR)/params.yaml \
	  --out $(DEMO_DIR)/report || [ $$? -eq 6 ]; \
	echo "demo-monitor: the report is $(DEMO_DIR)/report/report.md"

## ci-monitor-summary: CI: put the monitoring report in the job summary
.PHONY: ci-monitor-summary
ci-monitor-summary:
	cat "$(MONITOR_DIR)/report.md" >> "$${GITHUB_STEP_SUMMARY:-/dev/stdout}"

## ci-monitor-comment: CI: post or update the monitoring report's sticky comment on issue MONITOR_ISSUE
.PHONY: ci-monitor-comment
ci-monitor-comment:
	cml comment update --watermark-title="Monitoring report" --target="issue/$${MONITOR_ISSUE}" "$(MONITOR_DIR)/report.md"

## ci-retrain: CI: one retrain (TRIGGER, REASON); opens or updates the retrain pull request with GH_TOKEN
.PHONY: ci-retrain
ci-retrain: install
	@$(GIT_AUTH); $(BOT_IDENTITY) $(BIN)/lockstep retrain --trigger "$${TRIGGER:-manual}" \
	  --reason "$${REASON:-started by hand}" $${RETRAIN_DRAFT:+--draft} --output "$${GITHUB_OUTPUT:-/dev/null}"

## ci-monitor-retrain: CI: start the retraining workflow RETRAIN_WORKFLOW (default retrain.yml) on main with the alert as its reason
.PHONY: ci-monitor-retrain
ci-monitor-retrain:
	@# The reason: the count, then the report's fired checks (its 🚨 summary lines, without their markdown).
	@fired="$$(sed -n 's/^- 🚨 //p' "$(MONITOR_DIR)/report.md" | tr -d '*`' | paste -sd ';' -)"; \
	reason="monitor: $${ALERTS:-?} alert(s) on $${VERSION:-prod}'s traffic$${fired:+: $$fired}"; \
	if [ -n "$${GITHUB_RUN_ID:-}" ]; then \
	  reason="$$reason: $${GITHUB_SERVER_URL:-https://github.com}/$${GITHUB_REPOSITORY}/actions/runs/$${GITHUB_RUN_ID}"; \
	fi; \
	echo "ci-monitor-retrain: gh workflow run $${RETRAIN_WORKFLOW:-retrain.yml} -f reason=\"$$reason\""; \
	gh workflow run "$${RETRAIN_WORKFLOW:-retrain.yml}" --ref "$${RETRAIN_REF:-main}" -f trigger=alert -f reason="$$reason"

## ci-bundle: CI: pull the checked-out model version and package it into dist/model (VERSION, STAGE)
# A version trained before evaluate wrote models/reference.json has none to pull (its dvc.lock does not name it).
.PHONY: ci-bundle
ci-bundle: install
	$(BIN)/dvc pull models/model.skops models/trusted_types.json models/contract.json models/model_card.json \
	  $$(grep -q 'path: models/reference.json' dvc.lock && echo models/reference.json)
	$(BIN)/lockstep bundle --out dist/model --version "$(VERSION)" --stage "$(STAGE)"

# What `make batch-predict` scores: BATCH_INPUT (a DVC-tracked file or folder, from the environment or the
# command line), else this. Point it at your own input: `dvc add data/score`, then BATCH_INPUT=data/score.
# It stays a shell variable in the recipe, so a path typed into a workflow dispatch is never Make or shell code.
BATCH_INPUT_DEFAULT := data/prepared/test.parquet
BATCH_MODEL ?= prod
BATCH_OUTPUT ?= dist/scores
export BATCH_INPUT

## batch-predict: pull BATCH_INPUT (default: the test set) and score it with BATCH_MODEL (prod) into BATCH_OUTPUT/
.PHONY: batch-predict
batch-predict: install
	input="$${BATCH_INPUT:-$(BATCH_INPUT_DEFAULT)}"; \
	$(BIN)/dvc pull -- "$$input"; \
	mkdir -p $(BATCH_OUTPUT); \
	$(BIN)/lockstep predict --model "$(BATCH_MODEL)" --input "$$input" \
	  --output $(BATCH_OUTPUT)/predictions.parquet --rejects $(BATCH_OUTPUT)/rejects.parquet

# The serving image (Containerfile), built and run with buildah: no Docker engine needed. The wheels are
# downloaded here (checked against uv.lock's hashes) and pip installs them with --no-index: the build itself
# fetches nothing (chroot isolation still needs --network host). buildah's
# storage and the debootstrap base live in CONTAINER_CACHE, outside the repository, between runs.
CONTAINER_CACHE ?= $(HOME)/.cache/lockstep-container
BUILDAH ?= buildah --root $(CONTAINER_CACHE)/storage --runroot $(CONTAINER_CACHE)/run --storage-driver vfs
IMAGE ?= localhost/lockstep-model:latest
MODEL ?= dist/model
# The version of the bundle in MODEL, read from its manifest when a recipe runs (a shell command substitution).
MODEL_VERSION = $$($(BIN)/python -c 'import json, sys; print(json.load(sys.stdin)["version"])' < $(MODEL)/manifest.json)
# Empty: the Containerfile's pinned python:3.11-slim digest. The container test passes LOCAL_BASE.
BASE_IMAGE ?=
LOCAL_BASE := localhost/lockstep-base:bookworm-python3.11-slim
# What Debian's slim images (python:3.11-slim's base) leave out, as debuerreotype's slimify does: docs but their
# copyright files, man and info pages, translations. container-base removes them from its copy of the debootstrap
# rootfs and writes the same dpkg path filters, so that a later apt-get install leaves them out too.
SLIM_EXCLUDES := /usr/share/doc/* /usr/share/groff/* /usr/share/info/* /usr/share/linda/* \
  /usr/share/lintian/overrides/* /usr/share/locale/* /usr/share/man/*
SLIM_INCLUDES := /usr/share/doc/*/copyright /usr/share/locale/locale.alias
# What building the rootfs leaves behind and nothing in the image reads (issue 19: 58 MB of the base's gzip
# layer): the packages debootstrap downloaded (45 MB of .deb), apt's package lists (49 MB unpacked; `apt-get
# update` fetches them again), the install logs, debconf's and dpkg's *-old backups and ldconfig's aux-cache, as
# Debian's images leave them out, and debootstrap's own /debootstrap.
BASE_LEFTOVERS := /debootstrap /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/* /var/cache/apt/*.bin \
  /var/lib/apt/lists/* /var/log/*.log /var/log/apt/* /var/cache/debconf/*-old /var/lib/dpkg/*-old \
  /var/cache/ldconfig/aux-cache
# The cached rootfs is debootstrap's output as it is: every cut above is made on its copy when the base is
# committed, so a rootfs cached before a cut was added gets it too. The base image carries this fingerprint of the
# cuts, and a cached base without the current one is committed again: a result must not depend on the cache.
BASE_RECIPE = $(shell printf '%s\n' '$(SLIM_EXCLUDES)' '$(SLIM_INCLUDES)' '$(BASE_LEFTOVERS)' | sha256sum | cut -c1-16)

## container-tools: install buildah and debootstrap from Debian (as root), if missing
.PHONY: container-tools
container-tools:
	@command -v buildah >/dev/null && command -v debootstrap >/dev/null || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah debootstrap; }

## container-base: a slim Debian bookworm + Python 3.11 base image built with debootstrap (cached; no registry needed)
.PHONY: container-base
container-base: container-tools
	@mkdir -p $(CONTAINER_CACHE)
	@set -e; if $(BUILDAH) inspect --type image $(LOCAL_BASE) 2>/dev/null \
	  | grep -F '"lockstep.base-recipe": "$(BASE_RECIPE)"' >/dev/null; then echo "$(LOCAL_BASE): cached"; exit 0; fi; \
	if [ ! -d $(CONTAINER_CACHE)/rootfs ]; then \
	  rm -rf $(CONTAINER_CACHE)/rootfs.tmp; \
	  debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-distutils,ca-certificates \
	    bookworm $(CONTAINER_CACHE)/rootfs.tmp http://deb.debian.org/debian; \
	  mv $(CONTAINER_CACHE)/rootfs.tmp $(CONTAINER_CACHE)/rootfs; \
	fi; \
	container=$$($(BUILDAH) from scratch); root=$$($(BUILDAH) mount $$container); \
	cp -a $(CONTAINER_CACHE)/rootfs/. "$$root/"; \
	{ printf 'path-exclude %s\n' $(foreach path,$(SLIM_EXCLUDES),'$(path)'); \
	  printf 'path-include %s\n' $(foreach path,$(SLIM_INCLUDES),'$(path)'); } > "$$root/etc/dpkg/dpkg.cfg.d/slim"; \
	for pattern in $(foreach path,$(SLIM_EXCLUDES),'$(path)'); do \
	  folder="$$root$${pattern%/*}"; [ -d "$$folder" ] || continue; \
	  find "$$folder" -mindepth 1 ! -type d $(foreach path,$(SLIM_INCLUDES),! -path "$$root"'$(path)') -delete; \
	  find "$$folder" -mindepth 1 -depth -type d -empty -delete; \
	done; \
	rm -rf $(foreach path,$(BASE_LEFTOVERS),"$$root"$(path)); \
	$(BUILDAH) config --label lockstep.base-recipe=$(BASE_RECIPE) $$container; \
	$(BUILDAH) commit --rm $$container $(LOCAL_BASE)

## image: build the serving image for the bundle in MODEL (default dist/model); BASE_IMAGE overrides the base
.PHONY: image
image: install
	@test -f $(MODEL)/manifest.json || { echo "$(MODEL) is not a bundle: run lockstep bundle (or make ci-bundle) first"; exit 2; }
	rm -rf build/image && mkdir -p build/image/wheels build/image/package
	$(UV) export --frozen --only-group serve --no-emit-project --no-header --quiet -o build/image/requirements.txt
	$(UV) tool run --python $(PYTHON_VERSION) pip download --quiet --no-deps --require-hashes --only-binary=:all: \
	  -r build/image/requirements.txt -d build/image/wheels
	$(UV) build --wheel --quiet --out-dir build/image/package
	cp -R $(MODEL) build/image/model
	$(BUILDAH) build --isolation chroot --network host --format docker --layers=false \
	  $(if $(BASE_IMAGE),--build-arg BASE_IMAGE=$(BASE_IMAGE)) \
	  --build-arg GIT_SHA=$$(git rev-parse HEAD) \
	  --build-arg MODEL_VERSION=$(MODEL_VERSION) \
	  -f Containerfile -t $(IMAGE) build/image

# Where `make push-image` pushes: REGISTRY, a repository (default ghcr.io/<GITHUB_REPOSITORY>, lower-cased),
# pushed over docker://, or a local buildah destination (oci-archive:/path, dir:/path) as the container test uses.
# With REGISTRY_PASSWORD set (CI: GITHUB_TOKEN), it logs in to the registry's host first, as REGISTRY_USER.
export REGISTRY REGISTRY_USER REGISTRY_PASSWORD

## push-image: push IMAGE to REGISTRY, tagged with the model version of the bundle in MODEL
.PHONY: push-image
push-image:
	@version=$(MODEL_VERSION); \
	registry="$${REGISTRY:-ghcr.io/$${GITHUB_REPOSITORY:?set REGISTRY (e.g. ghcr.io/owner/name) or GITHUB_REPOSITORY}}"; \
	case "$$registry" in \
	  oci:*|oci-archive:*|dir:*|docker-archive:*) destination="$$registry:$$version" ;; \
	  *) registry=$$(printf '%s' "$$registry" | tr '[:upper:]' '[:lower:]'); destination="docker://$$registry:$$version"; \
	     if [ -n "$${REGISTRY_PASSWORD:-}" ]; then \
	       printf '%s' "$$REGISTRY_PASSWORD" | $(BUILDAH) login --username "$${REGISTRY_USER:?}" --password-stdin "$${registry%%/*}"; \
	     fi ;; \
	esac; \
	echo "push $(IMAGE) -> $$destination"; \
	$(BUILDAH) push $(IMAGE) "$$destination"

## test-container: build the base (cached) and the image, run it, and compare it with the in-process server
.PHONY: test-container
test-container: install container-base
	$(BIN)/pytest -p no:xdist -m container

## bench: time dvc repro against plain Python, and the PR job's pipeline step (figures for BENCHMARKS.md)
.PHONY: bench
bench: install
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/pr_loop.py

## bench-rollout: the rollout decision over 336 hourly looks: false promotions, power, a canary's non-inferiority (BENCHMARKS.md)
.PHONY: bench-rollout
bench-rollout: install
	$(BIN)/python benchmarks/rollout_ab.py

## test-bench-smoke: run every benchmark at a tiny size, pinned, checking it still compares the same work (~3 min)
.PHONY: test-bench-smoke
test-bench-smoke: install
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadgroup -m slow tests/benchmarks

## clean: remove the environment and caches (keeps data and the DVC cache)
.PHONY: clean
clean:
	rm -rf $(VENV) .tools .pytest_cache .ruff_cache
