#!/bin/sh
# Docker HEALTHCHECK (installed as /usr/local/bin/mt-healthcheck): the standard grpc.health.v1 Check
# against this container's own daemon, through mt-client health. Exit 0 = SERVING.
#
# The address and whether the daemon serves TLS come from the file mt-entrypoint writes
# ($MT_HEALTH_FILE, default /tmp/mt-health); MT_HEALTH_TARGET overrides the address.
# TLS: the health client trusts $MT_TLS_CA (the CA that signed the daemon's certificate; the
# certificate must name 127.0.0.1 or $MT_HEALTH_TLS_NAME) and presents $MT_HEALTH_CERT/$MT_HEALTH_KEY
# when the daemon requires client certificates. The health service needs no bearer token.
set -eu
state="${MT_HEALTH_FILE:-/tmp/mt-health}"
target="" tls=0
[ -r "$state" ] && read -r target tls < "$state"
target="${MT_HEALTH_TARGET:-${target:-127.0.0.1:50051}}"
set -- health --target "$target" --deadline_s "${MT_HEALTH_DEADLINE_S:-3}"
if [ "$tls" = 1 ]; then
  set -- "$@" --tls ${MT_TLS_CA:+--tls_ca "$MT_TLS_CA"} ${MT_HEALTH_TLS_NAME:+--tls_name "$MT_HEALTH_TLS_NAME"} \
    ${MT_HEALTH_CERT:+--client_cert "$MT_HEALTH_CERT"} ${MT_HEALTH_KEY:+--client_key "$MT_HEALTH_KEY"}
fi
exec mt-client "$@"
