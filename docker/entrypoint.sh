#!/bin/sh
# Container entrypoint (installed as /usr/local/bin/mt-entrypoint): the first argument picks the role.
#
#   sender   [mt-sender flags]     serve clients on 0.0.0.0:$MT_SENDER_PORT (50051)
#   receiver [mt-receiver flags]   serve the sender on 0.0.0.0:$MT_RECEIVER_PORT (50052)
#   client   [mt-client args]      run mt-client (e.g. client health --target receiver:50052)
#   mt-sender|mt-receiver|mt-client|mt-train|sh|bash ...   run that program as is (mt-train: CUDA image)
#
# Flags given after the role are appended, so they override the defaults below (absl: last wins).
# Settings from the environment (empty or unset = the daemon's default):
#   both      MT_MAE_CHECKPOINT (weights/mae.pt; older name MT_CHECKPOINT),
#             MT_TOKEN or MT_TOKEN_FILE (bearer token clients must send),
#             MT_TLS_CERT + MT_TLS_KEY (serve TLS), MT_TLS_CLIENT_CA (ask for client certificates),
#             MT_TLS_REQUIRE_CLIENT_CERT=1 (mTLS), MT_THREADS (--threads; default: $OMP_NUM_THREADS),
#             MT_METRICS_LISTEN (--metrics_listen, e.g. 0.0.0.0:9090: Prometheus /metrics)
#   sender    MT_RECEIVER_ADDR (receiver:50052; a list, or dns:///receiver:50052 for every replica), MT_MASKER_CHECKPOINT (weights/masker.pt), MT_KEEP_RATIO,
#             MT_RECEIVER_TOKEN or MT_RECEIVER_TOKEN_FILE (what the receiver requires; never MT_TOKEN),
#             MT_RECEIVER_TLS=1, MT_RECEIVER_CA, MT_RECEIVER_CERT + MT_RECEIVER_KEY (mTLS), MT_RECEIVER_TLS_NAME
#   receiver  MT_OUTPUT_DIR (/var/lib/mt/received), MT_RECEIVER_NAME (--name; default the host name)
# *_FILE variables name files (e.g. /run/secrets/...) so secrets stay out of `docker inspect`.
set -eu

log() { printf '[mt-entrypoint] %s\n' "$*" >&2; }

# VAR_FILE -> VAR (the VAR itself wins when both are set).
from_file() {
  eval "val=\${$1:-}; file=\${$1_FILE:-}"
  if [ -z "$val" ] && [ -n "$file" ]; then
    [ -r "$file" ] || { log "$1_FILE=$file is not readable by uid $(id -u)"; exit 64; }
    val="$(cat "$file")"
    export "$1=$val"
  fi
}
from_file MT_TOKEN
from_file MT_RECEIVER_TOKEN

is_true() { case "${1:-}" in 1|true|TRUE|yes|on) return 0 ;; *) return 1 ;; esac; }

role="${1:-sender}"
[ $# -gt 0 ] && shift
home="${MT_HOME:-/opt/mt}"
# The daemons refuse --checkpoint (the deprecated name of --mae_checkpoint) together with
# --mae_checkpoint, so a caller still passing the old name gets no default under the new one.
mae_flag="--mae_checkpoint=${MT_MAE_CHECKPOINT:-${MT_CHECKPOINT:-$home/weights/mae.pt}}"
for a in "$@"; do case "$a" in --checkpoint|--checkpoint=*) mae_flag= ;; esac; done

case "$role" in
  sender)
    bin=mt-sender
    port="${MT_SENDER_PORT:-50051}"
    set -- --listen "0.0.0.0:$port" \
      --receiver "${MT_RECEIVER_ADDR:-receiver:50052}" \
      ${mae_flag:+"$mae_flag"} \
      --masker_checkpoint "${MT_MASKER_CHECKPOINT:-$home/weights/masker.pt}" \
      ${MT_KEEP_RATIO:+--keep_ratio "$MT_KEEP_RATIO"} \
      ${MT_RECEIVER_CA:+--receiver_ca "$MT_RECEIVER_CA"} \
      ${MT_RECEIVER_CERT:+--receiver_cert "$MT_RECEIVER_CERT"} \
      ${MT_RECEIVER_KEY:+--receiver_key "$MT_RECEIVER_KEY"} \
      ${MT_RECEIVER_TLS_NAME:+--receiver_tls_name "$MT_RECEIVER_TLS_NAME"} \
      "$@"
    if is_true "${MT_RECEIVER_TLS:-}" || [ -n "${MT_RECEIVER_CA:-}" ]; then set -- --receiver_tls "$@"; fi
    ;;
  receiver)
    bin=mt-receiver
    port="${MT_RECEIVER_PORT:-50052}"
    set -- --listen "0.0.0.0:$port" \
      ${mae_flag:+"$mae_flag"} \
      --output_dir "${MT_OUTPUT_DIR:-/var/lib/mt/received}" \
      ${MT_RECEIVER_NAME:+--name "$MT_RECEIVER_NAME"} \
      "$@"
    ;;
  client) exec mt-client "$@" ;;
  mt-*|sh|bash) exec "$role" "$@" ;;
  -h|--help|help)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    log "unknown role '$role' (want sender, receiver, client, mt-<program> or sh)"
    exit 64
    ;;
esac

# Flags both daemons share. Prepended, so flags given on the command line still win.
set -- \
  ${MT_TLS_CERT:+--tls_cert "$MT_TLS_CERT"} \
  ${MT_TLS_KEY:+--tls_key "$MT_TLS_KEY"} \
  ${MT_TLS_CLIENT_CA:+--tls_client_ca "$MT_TLS_CLIENT_CA"} \
  ${MT_THREADS:+--threads "$MT_THREADS"} \
  ${MT_METRICS_LISTEN:+--metrics_listen "$MT_METRICS_LISTEN"} \
  "$@"
if is_true "${MT_TLS_REQUIRE_CLIENT_CERT:-}"; then set -- --tls_require_client_cert "$@"; fi

# The healthcheck (mt-healthcheck) asks the address this daemon listens on: the last --listen wins.
listen="0.0.0.0:$port"
prev=""
for a in "$@"; do
  case "$a" in --listen=*) listen="${a#--listen=}" ;; esac
  [ "$prev" = "--listen" ] && listen="$a"
  prev="$a"
done
health_port="${listen##*:}"
tls=0
for a in "$@"; do case "$a" in --tls_cert|--tls_cert=?*) tls=1 ;; esac; done
state="${MT_HEALTH_FILE:-/tmp/mt-health}"
printf '127.0.0.1:%s %s\n' "$health_port" "$tls" > "$state" 2>/dev/null ||
  log "cannot write $state: the healthcheck will assume 127.0.0.1:$port"

printf '[mt-entrypoint] exec %s %s\n' "$bin" "$*" | sed 's/\(token[= ]\)[^ ]*/\1***/g' >&2
exec "$bin" "$@"
