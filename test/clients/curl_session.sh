#!/bin/sh
# Rebound's HTTP API with curl: the session the README's "HTTP API" section shows. Run by
# test/integration/http-client.test.ts against a real API:
#   REBOUND_URL=http://127.0.0.1:3025 REBOUND_KEY=rbk_... sh test/clients/curl_session.sh [ORDER]
# Each step prints a "## step" line, the answer's body and "HTTP <status>".
set -eu
ORDER=${1:-1234}
MESSAGE='{"from":"Shop <shop@example.com>","to":["alice@example.org"],"subject":"Your receipt","text":"Thanks!","profile":"urgent"}'
show='\nHTTP %{http_code}\n'

echo '## send'
curl -s -w "$show" -X POST "$REBOUND_URL/v1/messages" \
  -H "Authorization: Bearer $REBOUND_KEY" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: order-$ORDER-receipt" \
  -d "$MESSAGE"

echo '## repeat'
curl -s -w "$show" -X POST "$REBOUND_URL/v1/messages" \
  -H "Authorization: Bearer $REBOUND_KEY" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: order-$ORDER-receipt" \
  -d "$MESSAGE"

echo '## invalid'
curl -s -w "$show" -X POST "$REBOUND_URL/v1/messages" \
  -H "Authorization: Bearer $REBOUND_KEY" -H 'Content-Type: application/json' \
  -d '{"from":"shop@example.com","to":["bob@"],"subject":"Hi","text":"Hi"}'

echo '## status'
for i in $(seq 1 240); do
  answer=$(curl -s "$REBOUND_URL/v1/messages/order-$ORDER-receipt" -H "Authorization: Bearer $REBOUND_KEY")
  case "$answer" in *'"state":"delivered"'*|*'"state":"failed"'*|*'"state":"partially_delivered"'*|*'"state":"cancelled"'*) break ;; esac
  sleep 0.5
done
curl -s -w "$show" "$REBOUND_URL/v1/messages/order-$ORDER-receipt" -H "Authorization: Bearer $REBOUND_KEY"

echo '## no key'
curl -s -w "$show" "$REBOUND_URL/v1/messages/order-$ORDER-receipt"
