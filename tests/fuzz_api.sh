#!/usr/bin/env bash
# Schema-driven fuzz run of the API: schemathesis generates requests from the project's own
# OpenAPI schema and sends them to a server on 127.0.0.1, with a curator's token (reads and
# ratings). It fails on any 500, any response that breaks the schema (body, status code, content
# type, headers). A fresh SQLite database in a temporary directory, or FUZZ_DATABASE_URL: an
# existing throwaway database, which is emptied first (CI uses PostgreSQL, which is stricter:
# NUL characters, integer and time-zone ranges).
# Usage: tests/fuzz_api.sh [extra schemathesis options]. FUZZ_EXAMPLES (default 25) per operation.
set -euo pipefail
cd "$(dirname "$0")/.."

workdir="$(mktemp -d)"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

export DJANGO_SETTINGS_MODULE=newsroom.settings.test
export DATABASE_URL="${FUZZ_DATABASE_URL:-sqlite:///$workdir/fuzz.sqlite3}"
export CELERY_BROKER_URL= CELERY_TASK_ALWAYS_EAGER=true CACHE_URL=locmemcache://fuzz
# The fuzzer sends thousands of requests a minute: the throttles are tested elsewhere.
export NEWSROOM_API_ANON_RATE=100000/minute NEWSROOM_API_USER_RATE=100000/minute NEWSROOM_API_TOKEN_RATE=100000/minute

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py flush --noinput -v 0
key="$(.venv/bin/python manage.py shell -v 0 -c 'from tests.fuzz_seed import seed; print(seed())' | tail -n 1)"
port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
.venv/bin/python manage.py runserver --noreload "127.0.0.1:$port" >"$workdir/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 50); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.2
done

status=0
repo="$(pwd)"
# The first Ask loads the sentence encoder inside its request (12-17 s on a quiet machine, more on a
# busy one), hence the long request timeout below; loading the models at start-up is issue 20.
# From the temporary directory: schemathesis keeps its files in the working directory.
cd "$workdir"
"$repo/.venv/bin/st" run "http://127.0.0.1:$port/api/schema/?format=json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance \
  --header "Authorization: Bearer $key" \
  --max-examples "${FUZZ_EXAMPLES:-25}" --seed 20261121 --generation-database none \
  --workers 1 --no-color --request-timeout 90 "$@" || status=$?
if [[ $status -ne 0 ]]; then
  echo "--- server log (tail)" >&2
  tail -n 60 "$workdir/server.log" >&2
fi
exit $status
