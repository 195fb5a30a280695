#!/usr/bin/env bash
# `make demo`: redis-server + jitgate + Envoy + a small upstream, all on loopback ports chosen
# at run time, then a guided walk through allowed, denied, revoked and expired calls, ending on
# the web page (/ui/) with a request waiting for approval: its link and a token are printed, and
# the stack stays up until Enter (or for JITGATE_DEMO_HOLD seconds when not on a terminal).
# Everything this script starts is stopped on exit, by PID. Every step checks its result, so a
# broken demo fails loudly instead of printing something misleading.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
JITGATE=${JITGATE_BIN:-$root/target/debug/jitgate}
unset JITGATE_BIN
ENVOY=${ENVOY_BIN:-envoy}
work=$root/.demo
rm -rf "$work" && mkdir -p "$work"

bold=$'\e[1m'; dim=$'\e[2m'; green=$'\e[32m'; red=$'\e[31m'; reset=$'\e[0m'
[ -t 1 ] || { bold=; dim=; green=; red=; reset=; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # url, what
  for _ in $(seq 1 150); do curl -fsS -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "${red}$2 did not start; logs are in $work${reset}" >&2; exit 1
}

redis_port=$(free_port); grpc_port=$(free_port); http_port=$(free_port)
upstream_port=$(free_port); envoy_port=$(free_port); admin_port=$(free_port); hook_port=$(free_port)
export JITGATE_DEV_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export JITGATE_WEBHOOK_SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export JITGATE_NOTIFICATIONS_SIGNING_SECRET_ENV=JITGATE_WEBHOOK_SECRET
export JITGATE_AUDIT_CHECKPOINT_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
export JITGATE_AUDIT_CHECKPOINTS_FILE=$work/checkpoints.log
export JITGATE_LISTEN_GRPC=127.0.0.1:$grpc_port JITGATE_LISTEN_HTTP=127.0.0.1:$http_port
export JITGATE_REDIS_URL=redis://127.0.0.1:$redis_port
export JITGATE_SERVER=http://127.0.0.1:$http_port JITGATE_CONFIG=$here/jitgate.yaml
# Deny hints and webhook messages link to the web page.
export JITGATE_CHECK_PUBLIC_URL=http://127.0.0.1:$http_port

echo "${bold}Starting the stack on loopback${reset} ${dim}(logs in .demo/)${reset}"
redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
python3 "$here/upstream.py" "$upstream_port" >"$work/upstream.log" 2>&1 &
pids+=($!)
python3 "$here/webhook.py" "$hook_port" "$work/webhooks.log" >"$work/webhook.log" 2>&1 &
pids+=($!)
"$JITGATE" serve >"$work/jitgate.log" 2>&1 &
pids+=($!)
sed -e "s/port_value: 10000 /port_value: $envoy_port /" -e "s/port_value: 9901 /port_value: $admin_port /" \
    -e "s/port_value: 9191 /port_value: $grpc_port /" -e "s/port_value: 8081 /port_value: $upstream_port /" \
    "$root/envoy/front-proxy.yaml" >"$work/envoy.yaml"
"$ENVOY" -c "$work/envoy.yaml" --use-dynamic-base-id --concurrency 1 --log-level warn >"$work/envoy.log" 2>&1 &
pids+=($!)
wait_for "http://127.0.0.1:$http_port/readyz" jitgate
wait_for "http://127.0.0.1:$admin_port/ready" Envoy
echo "  redis :$redis_port   jitgate gRPC :$grpc_port REST :$http_port   upstream :$upstream_port   Envoy :$envoy_port   webhooks :$hook_port"

step=0
say() { step=$((step + 1)); printf '\n%s%d. %s%s\n' "$bold" "$step" "$1" "$reset"; }
# call EXPECTED_STATUS PATH [TOKEN [METHOD]]: one request through Envoy, summarized and checked.
call() {
  local want=$1 path=$2 token=${3:-} method=${4:-GET} args=(-s -D "$work/headers" -o "$work/body" -w '%{http_code}')
  [ -n "$token" ] && args+=(-H "authorization: Bearer $token")
  local got; got=$(curl "${args[@]}" -X "$method" "http://127.0.0.1:$envoy_port$path")
  printf '   %s$ curl -X %s %s%s%s → %s%s%s\n' "$dim" "$method" "${token:+-H 'authorization: Bearer …' }" "$path" "$reset" "$bold" "$got" "$reset"
  python3 "$here/summarize.py" "$work/headers" "$work/body" | sed 's/^/     /'
  if [ "$got" != "$want" ]; then echo "${red}   expected $want, got $got${reset}"; exit 1; fi
  echo "   ${green}✓ $want as expected${reset}"
}

alice=$("$JITGATE" token --sub alice --group eng 2>/dev/null)
admin=$("$JITGATE" token --sub root --group platform 2>/dev/null)

say "No token: Envoy asks jitgate, jitgate answers 401 and the upstream is never reached"
call 401 /orders/7

say "Alice has a valid token but no grant: 403, with the missing scope and a ready-made request"
call 403 /orders/7 "$alice"

say "An admin grants Alice GET /orders/** on service 'orders' for 15 minutes"
echo "   ${dim}\$ jitgate grants create --subject user:alice --service orders --method GET --path '/orders/**' --ttl 15m --reason INC-42${reset}"
JITGATE_TOKEN=$admin "$JITGATE" grants create --subject user:alice --service orders --method GET \
  --path '/orders/**' --ttl 15m --reason INC-42 | sed 's/^/   /'
grant=$(JITGATE_TOKEN=$admin "$JITGATE" grants list --subject user:alice -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["grants"][0]["id"])')

say "Alice is allowed: the upstream sees who she is, set by jitgate (x-jitgate-*)"
call 200 /orders/7 "$alice"

say "A different method or service is still closed"
call 403 /datasets/7 "$alice"

say "The admin revokes the grant: the very next call is denied"
JITGATE_TOKEN=$admin "$JITGATE" grants revoke "$grant" --reason "incident over" -o json >/dev/null
echo "   ${dim}\$ jitgate grants revoke $grant${reset}"
call 403 /orders/7 "$alice"

say "A 3-second grant: allowed now, denied once it expires (jitgate's own clock decides)"
JITGATE_TOKEN=$admin "$JITGATE" grants create --subject user:alice --service orders --method GET \
  --path '/orders/**' --ttl 3s --reason demo -o json >/dev/null
call 200 /orders/8 "$alice"
echo "   ${dim}… waiting 3.5 s${reset}"; sleep 3.5
call 403 /orders/8 "$alice"

say "A platform admin publishes an access policy (deploy/local/policy.yaml)"
sed "s#WEBHOOK_URL#http://127.0.0.1:$hook_port/hook#" "$here/policy.yaml" >"$work/policy.yaml"
JITGATE_TOKEN=$admin "$JITGATE" policy put -f "$work/policy.yaml" | sed 's/^/   /'
bob=$("$JITGATE" token --sub bob --group leads 2>/dev/null)

say "Alice asks for GET /orders/** for 30 minutes, with a ticket; the policy needs a lead's approval"
echo "   ${dim}\$ jitgate request create --service orders --method GET --path '/orders/**' --ttl 30m --reason 'INC-4312 latency'${reset}"
JITGATE_TOKEN=$alice "$JITGATE" request create --service orders --method GET --path '/orders/**' \
  --ttl 30m --reason 'INC-4312 latency' -o json >"$work/request.json"
request=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["id"]); print("   status:", r["status"], "— approvers:", ", ".join(r["current_approvers"]), file=sys.stderr)' "$work/request.json")
call 403 /orders/9 "$alice"

say "Bob, a lead, sees what he may approve, and approves it"
echo "   ${dim}\$ jitgate request list${reset}"
JITGATE_TOKEN=$bob "$JITGATE" request list | sed 's/^/   /'
echo "   ${dim}\$ jitgate request approve $request --comment 'go ahead'${reset}"
JITGATE_TOKEN=$bob "$JITGATE" request approve "$request" --comment 'go ahead' -o json >"$work/approved.json"
approved=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["grant"]["id"]); print("   status:", r["status"], "— grant", r["grant"]["id"], "expires", r["grant"]["expires_at"], file=sys.stderr)' "$work/approved.json")
call 200 /orders/9 "$alice"
call 200 /orders/10 "$alice"

say "Deleting a billing dataset needs a one-time approval: jitgate files it when Alice tries"
call 403 /datasets/42 "$alice" DELETE
otr=$(awk 'tolower($1)=="x-jitgate-request-id:" {print $2}' "$work/headers" | tr -d '\r')
echo "   ${dim}\$ jitgate request approve $otr${reset}"
JITGATE_TOKEN=$bob "$JITGATE" request approve "$otr" -o json >/dev/null
call 200 /datasets/42 "$alice" DELETE
echo "   ${dim}… the approval was for that one call:${reset}"
call 403 /datasets/42 "$alice" DELETE

say "Every step reached the policy's webhook, signed (HMAC-SHA256, checked by the receiver)"
sleep 0.5
sed 's/^/   /' "$work/webhooks.log"

say "Every step is in the tamper-evident audit log: who did what, who approved it, every decision"
echo "   ${dim}\$ jitgate audit query --kind 'grant.*,request.*,policy.*' --order asc${reset}"
JITGATE_TOKEN=$admin "$JITGATE" audit query --kind 'grant.*,request.*,policy.*' --order asc | sed 's/^/   /'
decision=$(awk 'tolower($1)=="x-jitgate-decision-id:" {print $2}' "$work/headers" | tr -d '\r')
echo "   ${dim}\$ jitgate audit query --decision $decision   (the x-jitgate-decision-id of the last call)${reset}"
JITGATE_TOKEN=$admin "$JITGATE" audit query --decision "$decision" | sed 's/^/   /'
echo "   ${dim}\$ jitgate grants get $approved   (its usage ledger)${reset}"
JITGATE_TOKEN=$admin "$JITGATE" grants get "$approved" | tail -n 4 | sed 's/^/   /'
sleep 1.2   # let a signed checkpoint cover the latest entry
echo "   ${dim}\$ jitgate audit verify --checkpoints .demo/checkpoints.log${reset}"
JITGATE_TOKEN=$admin "$JITGATE" audit verify --checkpoints "$work/checkpoints.log" | sed 's/^/   /'

say "The web page: the approval flow for people (requesters, approvers, SREs)"
JITGATE_TOKEN=$alice "$JITGATE" request create --service orders --method GET --path '/orders/**' \
  --ttl 30m --reason 'INC-4313 refunds stuck' -o json >"$work/pending.json"
pending=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$work/pending.json")
ui="http://127.0.0.1:$http_port/ui/#/requests/$pending"
page=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$http_port/ui/")
[ "$page" = 200 ] || { echo "${red}   the page did not answer (HTTP $page)${reset}"; exit 1; }
for _ in $(seq 1 30); do grep -q "ui/#/requests/$pending" "$work/webhooks.log" && break; sleep 0.1; done
grep "ui/#/requests/$pending" "$work/webhooks.log" | sed 's/^/   /' \
  || { echo "${red}   the webhook message did not link to the request's page${reset}"; exit 1; }
echo "   Alice asked for access again; the webhook message above links to the request's page:"
echo "   ${bold}$ui${reset}"
echo "   Sign in there as Bob (a lead) by pasting this token (valid 1 hour):"
echo "   $bob"
echo "   ${dim}Alice: $alice${reset}"
echo "   ${dim}Admin (live grants, revoke, audit trail): $admin${reset}"
echo "   ${green}✓ page served; the request is pending, waiting for Bob${reset}"

stats=$(curl -s "http://127.0.0.1:$admin_port/stats?filter=^http.ingress.ext_authz.(ok|denied|error|failure_mode_allowed)$" | sed 's/http.ingress.ext_authz.//' | tr '\n' ' ')
printf '\n%sDone.%s Envoy ext_authz counters: %s\n' "$bold" "$reset" "$stats"
if [ -t 0 ] && [ -t 1 ]; then
  read -r -p "The stack stays up for the page: press Enter to stop everything this demo started. " _ || true
elif [ "${JITGATE_DEMO_HOLD:-0}" -gt 0 ]; then
  echo "Keeping the stack up for ${JITGATE_DEMO_HOLD}s (JITGATE_DEMO_HOLD)."; sleep "$JITGATE_DEMO_HOLD"
fi
echo "Stopping everything this demo started."
