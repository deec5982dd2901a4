# The template's two commands: `make demo` (scaffold and serve) and `make test`;
# `make bench` measures what tenancy costs (bench/README.md).
# Needs only python3 (>= 3.11), git and make: uv is installed into .tools/ if missing.

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo .tools/bin/uv)
DEMO := build/demo
DEMO_CLI := my-saas-service
DEMO_USER := demo@example.com
DEMO_PASSWORD := demo-password

.PHONY: demo test bench check-tools check-pgbouncer clean

.tools/bin/uv:
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv

check-tools: $(if $(filter .tools/bin/uv,$(UV)),.tools/bin/uv)
	$(UV) sync --quiet

## Render the template with default answers into build/demo, install it, create
## two demo tenants and a user who owns both, and serve it on http://127.0.0.1:8000
## (Ctrl-C to stop).
demo: check-tools
	rm -rf $(DEMO)
	$(UV) run copier copy --quiet --defaults --vcs-ref HEAD . $(DEMO)
	cd $(DEMO) && $(abspath $(UV)) sync --quiet
	cd $(DEMO) && $(abspath $(UV)) run $(DEMO_CLI) tenants create acme --name "Acme Inc" --exist-ok
	cd $(DEMO) && $(abspath $(UV)) run $(DEMO_CLI) tenants create globex --name "Globex" --exist-ok
	cd $(DEMO) && printf '%s\n' '$(DEMO_PASSWORD)' | \
		$(abspath $(UV)) run $(DEMO_CLI) users create $(DEMO_USER) --password-stdin --exist-ok
	cd $(DEMO) && $(abspath $(UV)) run $(DEMO_CLI) users add-member $(DEMO_USER) acme --role owner
	cd $(DEMO) && $(abspath $(UV)) run $(DEMO_CLI) users add-member $(DEMO_USER) globex --role owner
	@printf '\nDemo user %s, password %s: owner of acme and globex. Log in and list notes:\n' \
		'$(DEMO_USER)' '$(DEMO_PASSWORD)'
	@printf '  %s\n' \
		"export TOKEN=\$$(curl -s -X POST http://127.0.0.1:8000/auth/login \\" \
		"     -d username=$(DEMO_USER) -d password=$(DEMO_PASSWORD) \\" \
		"     | python3 -c 'import json, sys; print(json.load(sys.stdin)[\"access_token\"])')" \
		"curl -s http://127.0.0.1:8000/api/notes -H 'X-Tenant-ID: acme' -H \"Authorization: Bearer \$$TOKEN\""
	cd $(DEMO) && $(abspath $(UV)) run $(DEMO_CLI) dev --host 127.0.0.1 --port 8000

## Run the whole template test suite: render every supported combination, lint,
## type-check and run each generated project's own tests on real PostgreSQL.
test: check-tools check-pgbouncer
	$(UV) run pytest

## The generated projects test through a real PgBouncer (Debian's package): installed with
## apt-get if missing, and the service the package starts is stopped (the tests run their own,
## on a unix socket of their own).
check-pgbouncer:
	@command -v pgbouncer >/dev/null || test -x /usr/sbin/pgbouncer || \
		(command -v apt-get >/dev/null && \
		(apt-get install -y -qq pgbouncer >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq pgbouncer >/dev/null 2>&1)) && \
		(service pgbouncer stop >/dev/null 2>&1 || true)) || \
		(echo "pgbouncer is required: install it (apt-get install pgbouncer)" && exit 1)

## Measure tenancy's cost against bare FastAPI and fastapi-tenancy 0.5.0; writes
## bench/results/report.md and report.png (~15 min; needs wrk, installed if apt can).
bench: check-tools
	@command -v wrk >/dev/null || (command -v apt-get >/dev/null && \
		(apt-get install -y -qq wrk >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1))) || \
		(echo "wrk is required: install it (apt-get install wrk)" && exit 1)
	$(UV) run python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf build .tools .venv
