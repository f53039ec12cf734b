# The two commands of the README: `make run` and `make test`. Both set up whatever is missing first.
.PHONY: run test stop setup lint bench-data backup restore replica

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

backup:         ## a pgBackRest backup of the database (full the first time, else TYPE=incr) and the imagery
	@bash scripts/backup.sh backup $(TYPE)

restore:        ## restore the database and imagery: the latest state, or TARGET='2026-12-03 17:00:00+00'
	@bash scripts/backup.sh restore "$(TARGET)"

replica:        ## start a streaming replica on this machine (DATABASE_REPLICA_URL in .data/env)
	@bash scripts/replica.sh start
