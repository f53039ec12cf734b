"""gunicorn's configuration for every way the service is run (`make run`, the container, the tests):
`gunicorn -c python:blueprint.gunicorn_conf blueprint.wsgi`.

gunicorn writes `Server: gunicorn` on every response and has no setting to leave it out; the
banner tells an attacker which server (and, from its behaviour, which version) to aim at, so the
response's default headers are taken without it. Loaded in the master, before the workers fork.
"""

import os

from gunicorn.http import wsgi

# A web request waits at most 5 s for a lock and 60 s for any statement (blueprint/settings.py),
# then answers 503: a long lock on a layer table must not freeze every worker (issue 19). Set in
# the master before the workers load the settings; the environment may say otherwise.
os.environ.setdefault("DB_LOCK_TIMEOUT_MS", "5000")
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "60000")

_default_headers = wsgi.Response.default_headers


def _without_server_banner(self) -> list[str]:
    return [line for line in _default_headers(self) if not line.lower().startswith("server:")]


wsgi.Response.default_headers = _without_server_banner

# gunicorn's own 414 (and 400 for an over-long request line) is an HTML page: the limit is lifted so
# that the app answers an over-long URI itself, in the path's error form (MAX_URI_LENGTH, a 414).
# A reverse proxy in front keeps its own limit (nginx: 8 KiB).
limit_request_line = 0
