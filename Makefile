# Targets a newcomer needs; README.md lists them.  Everything runs from .venv, which the
# first target that needs it creates.
.DEFAULT_GOAL := help
VENV_STAMP := .venv/.installed-$(shell sha256sum requirements/dev.txt | cut -c1-12)
PO_FILES := $(wildcard locale/*/LC_MESSAGES/django.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: help run test lint format messages lock frontend bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

run: $(VENV_STAMP) $(MO_FILES) ## set up and run the site with demo data (web + worker + beat)
	@scripts/run.sh

test: $(VENV_STAMP) $(MO_FILES) ## run the whole test suite, lint included (ARGS="..." for pytest)
	@scripts/test.sh $(ARGS)

lint: $(VENV_STAMP) ## ruff format check and lint
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .

format: $(VENV_STAMP) ## apply ruff's formatting and safe fixes
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

messages: $(VENV_STAMP) ## extract new strings into the French and Arabic catalogues
	.venv/bin/python manage.py makemessages -l fr -l ar --no-location --ignore=.venv --ignore=staticfiles

lock: $(VENV_STAMP) ## re-pin requirements/*.txt from pyproject.toml
	.venv/bin/python -m pip install --quiet pip-tools
	.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements/base.txt pyproject.toml
	.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links --extra dev -o requirements/dev.txt pyproject.toml

frontend: ## rebuild the browser code (frontend/) into static/frontend/, to commit
	@scripts/frontend.sh build

bench: $(VENV_STAMP) ## measure sealing, intake, queue, routing and bundle speed and memory (docs/BENCHMARKS.md)
	@. scripts/lib.sh && ensure_age
	.venv/bin/python bench/seal.py --rounds 5
	@. scripts/lib.sh && ensure_postgres
	.venv/bin/python bench/intake.py --seconds 30 --clients 4 --upload-mib 1024
	.venv/bin/python bench/queue.py --cases 100000 --requests 100
	@. scripts/lib.sh && ensure_command redis-server redis-server
	.venv/bin/python bench/routing.py --reports 1000 --clients 4
	.venv/bin/python bench/load.py --reporters 50 --seconds 60 --workers 4
	.venv/bin/python bench/bundle.py --size-mib 1024 --files 4

clean: ## remove .venv, compiled catalogues, frontend/node_modules and local data under var/
	rm -rf .venv var staticfiles frontend/node_modules $(MO_FILES)

$(VENV_STAMP): requirements/dev.txt
	@scripts/bootstrap.sh
	@rm -f .venv/.installed-*
	@touch $@

%.mo: %.po
	@. scripts/lib.sh && ensure_command msgfmt gettext
	@msgfmt --check --output-file=$@ $<
