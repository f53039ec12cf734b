# The two commands of the README: `make run` and `make test`. Both set up whatever is missing first.
.PHONY: run test stop setup lint bench-data

run:            ## set up, load the demo data and serve on http://127.0.0.1:$${PORT:-8000}
	@bash scripts/run.sh

test:           ## set up, then run the whole test suite
	@bash scripts/test.sh

stop:           ## stop the project's own PostGIS
	@bash scripts/pg.sh stop

setup:          ## only the set-up (system packages, .venv, PostGIS, migrations)
	@bash scripts/setup.sh

lint:
	@.venv/bin/ruff check .
