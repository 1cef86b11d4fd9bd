#!/usr/bin/env bash
# Docker smoke test, end to end: build the image (docker/Dockerfile), bring docker/compose.yaml up,
# wait until both daemons report grpc.health.v1 SERVING, send the held-out sample photos with
# mt-client from a client container on the host network (through the published port), check that
# every reconstruction landed in the receiver's volume as a PNG of the photo's size, and tear
# everything down (compose down -v).
#
# Not part of the default CI run (.ci/run -> scripts/test.sh): measured on the 2-core dev VM, a cold
# run (no engine, no base image) took 18 min, 13 of them the image build; with the image built,
# `--both --no-build` takes ~3.5 min.
#
# Usage: docker/smoke.sh [--tls | --both | --scale | --all] [--no-build] [--rmi] [--keep]
#   (default)  plaintext, random bearer tokens: MT_TOKEN (clients -> sender), MT_RECEIVER_TOKEN (sender -> receiver)
#   --tls      TLS + token from files (docker/compose.tls.yaml): client -TLS-> sender -mTLS-> receiver
#   --both     plaintext run, then the TLS run
#   --scale    plaintext, `up --scale receiver=3` with docker/compose.metrics.yaml: every receiver
#              stores a share (the replies name them) and Debian's Prometheus scrapes all four daemons
#   --all      plaintext, TLS, then scale
#   --rmi      remove the image afterwards (several GB with the vfs storage driver)
#   --keep     leave the stack running (no teardown) to poke at it; `down -v` is printed
#   --no-build use the existing $MT_IMAGE as is (it is built only when missing)
# Environment: MT_IMAGE (mt:cpu), JOBS (2, compile jobs in the image build),
#   SMOKE_SENDER_PORT / SMOKE_RECEIVER_PORT (15051 / 15052: host ports, away from the demo's),
#   SMOKE_PHOTOS (default: every data/photos/val/* photo), SMOKE_TIMEOUT_S (300: healthy wait)
#
# When there is no Docker engine or no debian:bookworm image, it sets them up and says so:
#   - no docker/dockerd: apt-get install docker.io docker-compose debootstrap
#   - no engine answering: starts `nice -n 19 dockerd --storage-driver=vfs --iptables=false
#     --bridge=none` in the background (stopped again at the end)
#   - no debian:bookworm: tries `docker pull`, else builds it with
#     `debootstrap --variant=minbase bookworm` and `docker import`
# Builds use --network host (the engine above has no default bridge).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
log() { printf '[smoke %4ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
die() { printf '[smoke] FAIL: %s\n' "$*" >&2; exit 1; }

MODES=(plain) RMI=0 KEEP=0 BUILD=1
for a in "$@"; do
  case "$a" in
    --tls) MODES=(tls) ;;
    --both) MODES=(plain tls) ;;
    --scale) MODES=(scale) ;;
    --all) MODES=(plain tls scale) ;;
    --rmi) RMI=1 ;;
    --keep) KEEP=1 ;;
    --no-build) BUILD=0 ;;
    -h|--help) sed -n '2,32p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $a (see --help)" ;;
  esac
done
IMAGE="${MT_IMAGE:-mt:cpu}"
export MT_IMAGE="$IMAGE"
SPORT="${SMOKE_SENDER_PORT:-15051}" RPORT="${SMOKE_RECEIVER_PORT:-15052}" PPORT="${SMOKE_PROMETHEUS_PORT:-19090}"
PROJECT="mt-smoke"
CLIENT="$PROJECT-client"
TIMEOUT_S="${SMOKE_TIMEOUT_S:-300}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo

# Cleanup on any exit: compose stack, client container, --rmi, and a dockerd this script started.
STARTED_DOCKERD="" WORK="" COMPOSE=() COMPOSE_FILES=()
compose() { "${COMPOSE[@]}" -p "$PROJECT" "${COMPOSE_FILES[@]}" "$@"; }
teardown() {
  docker rm -f "$CLIENT" >/dev/null 2>&1 || true
  if [ ${#COMPOSE_FILES[@]} -gt 0 ]; then
    if [ "$KEEP" = 1 ]; then
      log "--keep: stack left running; stop it with: ${COMPOSE[*]} -p $PROJECT ${COMPOSE_FILES[*]} down -v"
    else
      compose down -v --remove-orphans >/dev/null 2>&1 || true
    fi
  fi
}
finish() {
  rc=$?
  if [ $rc -ne 0 ] && [ ${#COMPOSE_FILES[@]} -gt 0 ]; then
    echo "---- compose logs (last 30 lines each) ----" >&2
    compose logs --no-color --tail 30 >&2 2>&1 || true
  fi
  teardown
  [ "$RMI" = 1 ] && { log "--rmi: removing $IMAGE"; docker rmi "$IMAGE" >/dev/null 2>&1 || true; }
  if [ -n "$STARTED_DOCKERD" ]; then
    log "stopping the dockerd this script started (pid $STARTED_DOCKERD)"
    $SUDO kill "$STARTED_DOCKERD" 2>/dev/null || true
    for _ in $(seq 1 30); do $SUDO kill -0 "$STARTED_DOCKERD" 2>/dev/null || break; sleep 1; done
  fi
  if [ -n "$WORK" ]; then
    [ $rc -eq 0 ] && rm -rf "$WORK"
    [ $rc -eq 0 ] || echo "[smoke] kept $WORK for inspection" >&2
  fi
  log "total $(($(date +%s) - T0)) s, exit $rc"
}
trap finish EXIT

# --- 1. Docker engine -------------------------------------------------------------------------
if ! command -v docker >/dev/null || ! command -v dockerd >/dev/null ||
   { ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; }; then
  log "installing Docker from Debian: apt-get install docker.io docker-compose debootstrap"
  $SUDO apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
    docker.io docker-compose debootstrap >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answering: starting dockerd (vfs storage, no iptables, no default bridge, nice 19)"
  log "  its log: /tmp/mt-smoke-dockerd.log"
  $SUDO sh -c 'nice -n 19 dockerd --storage-driver=vfs --iptables=false --bridge=none \
    > /tmp/mt-smoke-dockerd.log 2>&1 & echo $! > /tmp/mt-smoke-dockerd.pid'
  STARTED_DOCKERD="$(cat /tmp/mt-smoke-dockerd.pid)"
  for i in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || die "dockerd did not come up; see /tmp/mt-smoke-dockerd.log"
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
log "engine: Docker $(docker version -f '{{.Server.Version}}' 2>/dev/null), compose: ${COMPOSE[*]}"

# --- 2. Base image --------------------------------------------------------------------------
if ! docker image inspect debian:bookworm >/dev/null 2>&1; then
  log "no debian:bookworm image: trying docker pull (60 s)"
  if ! timeout 60 docker pull -q debian:bookworm >/dev/null 2>&1; then
    command -v debootstrap >/dev/null || {
      log "installing debootstrap"; DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q debootstrap >/dev/null; }
    rootfs="$(mktemp -d /tmp/mt-smoke-rootfs.XXXXXX)"
    chmod 0755 "$rootfs"  # becomes the image's "/": mktemp's 0700 would lock out the non-root user
    log "no registry: debootstrap --variant=minbase bookworm $rootfs (about a minute)"
    $SUDO nice -n 19 debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian \
      > /tmp/mt-smoke-debootstrap.log 2>&1 || die "debootstrap failed; see /tmp/mt-smoke-debootstrap.log"
    # Same apt sources as the official image (updates + security), no cached .debs or lists.
    $SUDO rm -f "$rootfs/etc/apt/sources.list"
    $SUDO tee "$rootfs/etc/apt/sources.list.d/debian.sources" >/dev/null <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    $SUDO sh -c "rm -rf '$rootfs'/var/cache/apt/archives/*.deb '$rootfs'/var/lib/apt/lists/*"
    log "docker import of the rootfs as debian:bookworm"
    $SUDO tar -C "$rootfs" -c . | docker import -c 'CMD ["bash"]' - debian:bookworm >/dev/null
    $SUDO rm -rf "$rootfs"
  fi
fi
log "base image: debian:bookworm $(docker image inspect -f '{{.Id}}' debian:bookworm | cut -c8-19)"

# --- 3. Image ---------------------------------------------------------------------------------
for w in weights/mae.pt weights/masker.pt; do [ -f "$w" ] || die "missing $w (the image ships it)"; done
if [ "$BUILD" = 1 ] || ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "docker build --network host -f docker/Dockerfile -t $IMAGE . (log: /tmp/mt-smoke-build.log;"
  log "  compiles the project unless the sources are unchanged since the last build)"
  tb=$(date +%s)
  nice -n 10 docker build --network host --build-arg JOBS="${JOBS:-2}" -f docker/Dockerfile -t "$IMAGE" . \
    > /tmp/mt-smoke-build.log 2>&1 || { tail -n 40 /tmp/mt-smoke-build.log >&2; die "image build failed (log: /tmp/mt-smoke-build.log)"; }
  log "image built in $(($(date +%s) - tb)) s: $IMAGE $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
else
  log "--no-build: using $IMAGE as it is ($(docker image inspect -f '{{.Created}}' "$IMAGE" | cut -c1-19))"
fi
probe="$(docker run --rm --entrypoint sh "$IMAGE" -c 'echo "$(id -un) $(readlink -f /usr/lib/*/libblas.so.3)"')" ||
  die "cannot run a shell in $IMAGE as its user"
read -r user blas <<< "$probe"
[ "$user" = mt ] || die "image runs as '$user', not mt"
case "$blas" in *openblas*) ;; *) die "libblas.so.3 is $blas, not OpenBLAS" ;; esac
log "image runs as '$user'; libblas.so.3 -> $blas"

# --- 4. Photos ----------------------------------------------------------------------------------
[ -d data/photos/val ] || { log "no data/photos/val: scripts/fetch_photos.sh"; ./scripts/fetch_photos.sh; }
if [ -n "${SMOKE_PHOTOS:-}" ]; then read -r -a PHOTOS <<< "$SMOKE_PHOTOS"; else
  PHOTOS=(); for f in data/photos/val/*; do PHOTOS+=("$(basename "$f")"); done; fi
[ ${#PHOTOS[@]} -gt 0 ] || die "no photos to send"

# --- 5. Compose up, send, check, down -----------------------------------------------------------
WORK="$(mktemp -d /tmp/mt-smoke.XXXXXX)"

status() { docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}' "$1" 2>/dev/null; }

# --scale: every receiver replica stored a share (the send report names them), and Prometheus
# scraped all of them and counts the sent photos.
check_scale_out() {
  local photos="$1" names
  names="$(grep -oE '^stored by [^ ]+' "$WORK/send.txt" | sort -u | wc -l)"
  grep '^stored by' "$WORK/send.txt" | sed 's/^/    /'
  [ "$names" = 3 ] || die "expected 3 receivers to store a share, the send report names $names"
  log "[scale] Prometheus at 127.0.0.1:$PPORT: waiting for 4 targets up and $photos OK sends"
  python3 - "$PPORT" "$photos" <<'PY' || die "Prometheus did not see the daemons' metrics"
import json, sys, time, urllib.parse, urllib.request
port, photos = sys.argv[1], float(sys.argv[2])
def query(q):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    r = json.load(urllib.request.urlopen(url, timeout=5))["data"]["result"]
    return float(r[0]["value"][1]) if r else 0.0
deadline, last = time.time() + 60, None
while time.time() < deadline:
    try:
        last = (query('count(up{job="mt-receiver"} == 1)'), query('count(up{job="mt-sender"} == 1)'),
                query('sum(mt_requests_total{role="sender",code="OK"})'),
                query('count(mt_requests_total{role="receiver",code="OK"} > 0)'))
        if last == (3.0, 1.0, photos, 3.0):
            print(f"    prometheus: 3 receivers + 1 sender up; {photos:.0f} OK sends; 3 receivers with stored packets")
            sys.exit(0)
    except Exception as e:  # not up yet
        last = repr(e)
    time.sleep(2)
sys.exit(f"last answer (receivers up, senders up, OK sends, receivers storing): {last}")
PY
}

run_mode() {
  local mode="$1" token client_env=() client_tls=() certs=""
  token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  local receiver_token; receiver_token="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"  # the sender's own
  COMPOSE_FILES=(-f docker/compose.yaml)
  export MT_SENDER_PUBLISH="127.0.0.1:$SPORT" MT_RECEIVER_PUBLISH="127.0.0.1:$RPORT"
  local replicas=1 up_args=()
  if [ "$mode" = scale ]; then
    replicas=3 up_args=(--scale receiver=3)
    export MT_RECEIVER_PUBLISH="127.0.0.1:" MT_PROMETHEUS_PUBLISH="127.0.0.1:$PPORT"  # an ephemeral port per replica
    COMPOSE_FILES+=(-f docker/compose.metrics.yaml)
    log "[$mode] building the Prometheus image (Debian's prometheus package; log /tmp/mt-smoke-prometheus.log)"
    compose build prometheus > /tmp/mt-smoke-prometheus.log 2>&1 || { tail -n 20 /tmp/mt-smoke-prometheus.log >&2; die "prometheus image build failed"; }
  fi
  if [ "$mode" = tls ]; then
    certs="$WORK/certs"
    log "[$mode] scripts/make_certs.sh (server certificate for localhost, receiver, 127.0.0.1) + token file"
    ./scripts/make_certs.sh "$certs" "localhost receiver" >/dev/null
    printf '%s' "$token" > "$certs/token"
    printf '%s' "$receiver_token" > "$certs/receiver_token"
    # The daemons run as uid 10001 and compose mounts secrets with the host's owner and mode.
    $SUDO chown 10001 "$certs"/*.key "$certs/token" "$certs/receiver_token" 2>/dev/null ||
      chmod 0644 "$certs"/*.key "$certs/token" "$certs/receiver_token"
    export MT_CERTS_DIR="$certs" MT_TOKEN="" MT_RECEIVER_TOKEN=""
    COMPOSE_FILES+=(-f docker/compose.tls.yaml)
    client_tls=(-v "$certs:/certs:ro")
    client_flags=(--tls_ca /certs/ca.pem)
  else
    export MT_TOKEN="$token" MT_RECEIVER_TOKEN="$receiver_token"
    client_flags=()
  fi
  # One client container on the host network for all mt-client calls (docker exec: creating a
  # container per call costs ~20 s each with the vfs storage driver).
  client_env=(-e MT_TOKEN="$token" -e OMP_NUM_THREADS=1 -e OMP_WAIT_POLICY=passive)
  client() { docker exec "$CLIENT" mt-client "$@"; }

  compose down -v --remove-orphans >/dev/null 2>&1 || true
  log "[$mode] ${COMPOSE[*]} -p $PROJECT ${COMPOSE_FILES[*]} up -d  (sender waits for a healthy receiver)"
  local tu; tu=$(date +%s)
  compose up -d --no-build "${up_args[@]}" 2>&1 | sed 's/^/    /' || die "compose up failed"
  local rid sid rids
  read -r -a rids <<< "$(compose ps -q receiver | tr '\n' ' ')"
  rid="${rids[0]:-}" sid="$(compose ps -q sender)"
  [ "${#rids[@]}" = "$replicas" ] && [ -n "$sid" ] || die "compose did not create $replicas receiver(s) and a sender"
  for i in $(seq 1 "$TIMEOUT_S"); do
    local all=1 r
    for r in "${rids[@]}" "$sid"; do [ "$(status "$r")" = healthy ] || all=0; done
    [ "$all" = 1 ] && break
    [ "$i" = "$TIMEOUT_S" ] && die "not healthy after ${TIMEOUT_S}s: receiver $(status "$rid"), sender $(status "$sid")"
    sleep 1
  done
  log "[$mode] both healthy $(($(date +%s) - tu)) s after up (docker healthchecks: mt-healthcheck -> grpc.health.v1)"

  docker rm -f "$CLIENT" >/dev/null 2>&1 || true
  docker run -d --rm --name "$CLIENT" --network host "${client_env[@]}" "${client_tls[@]}" \
    -v "$PWD/data/photos/val:/photos:ro" --entrypoint sleep "$IMAGE" infinity >/dev/null
  log "[$mode] client container $CLIENT (host network) -> published ports: health, info, token check"
  client health --sender "127.0.0.1:$SPORT" "${client_flags[@]}" --deadline_s 5 | sed 's/^/    /'
  # With --tls the receiver requires a client certificate (mTLS): present the test client's.
  if [ "$mode" != scale ]; then
    client health --target "127.0.0.1:$RPORT" "${client_flags[@]}" \
      ${certs:+--client_cert /certs/client.pem --client_key /certs/client.key} --deadline_s 5 | sed 's/^/    /'
  fi
  client info --sender "127.0.0.1:$SPORT" "${client_flags[@]}" --deadline_s 10 > "$WORK/info.txt" ||
    die "info failed: $(cat "$WORK/info.txt")"
  grep -E "model fingerprint|receiver " "$WORK/info.txt" | sed 's/^/    /'
  if docker exec -e MT_TOKEN=wrong-token "$CLIENT" mt-client info --sender "127.0.0.1:$SPORT" "${client_flags[@]}" --deadline_s 10 > "$WORK/denied.txt" 2>&1; then
    die "a wrong token was accepted"
  fi
  grep -q UNAUTHENTICATED "$WORK/denied.txt" || die "wrong token: expected UNAUTHENTICATED, got $(cat "$WORK/denied.txt")"
  log "[$mode] wrong token refused: $(grep -o 'UNAUTHENTICATED.*' "$WORK/denied.txt" | head -1)"
  # Per-hop credentials: the clients' token does not open the receiver (only the sender's does).
  if [ "$mode" != scale ]; then
    if client info --target "127.0.0.1:$RPORT" --role receiver "${client_flags[@]}" \
        ${certs:+--client_cert /certs/client.pem --client_key /certs/client.key} --deadline_s 10 > "$WORK/rx_denied.txt" 2>&1; then
      die "the receiver accepted the clients' token"
    fi
    grep -q UNAUTHENTICATED "$WORK/rx_denied.txt" || die "receiver with the clients' token: expected UNAUTHENTICATED, got $(cat "$WORK/rx_denied.txt")"
    log "[$mode] the clients' token is refused by the receiver (per-hop credentials)"
  fi

  local args=() p
  for p in "${PHOTOS[@]}"; do args+=("/photos/$p"); done
  log "[$mode] mt-client send ${#PHOTOS[@]} photos (full size) to 127.0.0.1:$SPORT"
  local ts; ts=$(date +%s)
  client send "${args[@]}" \
    --sender "127.0.0.1:$SPORT" "${client_flags[@]}" --deadline_s 600 > "$WORK/send.txt" 2>&1 ||
    { cat "$WORK/send.txt" >&2; die "mt-client send failed"; }
  sed 's/^/    /' "$WORK/send.txt"
  log "[$mode] sent in $(($(date +%s) - ts)) s"
  # The sender opens its stream to the receiver on the first image; now it must be up.
  client info --sender "127.0.0.1:$SPORT" "${client_flags[@]}" --deadline_s 10 > "$WORK/info.txt" ||
    die "info failed: $(cat "$WORK/info.txt")"
  grep -q "receiver .*connected" "$WORK/info.txt" || die "the sender is not connected to the receiver: $(cat "$WORK/info.txt")"
  log "[$mode] info: $(grep "receiver " "$WORK/info.txt" | tr -s ' ')"
  if [ "$mode" = scale ]; then check_scale_out "${#PHOTOS[@]}"; fi

  # The receiver stores <id>.png in its volume; copy the folder out and check each file.
  rm -rf "$WORK/received"
  docker cp "$rid:/var/lib/mt/received" "$WORK/received" >/dev/null
  local vol; vol="$(docker inspect -f '{{range .Mounts}}{{if eq .Destination "/var/lib/mt/received"}}{{.Type}} {{.Name}}{{end}}{{end}}' "$rid")"
  [ "${vol%% *}" = volume ] || die "the receiver's output is not on a volume ($vol)"
  local n=0 f id w h sw sh
  for p in "${PHOTOS[@]}"; do
    id="${p%.*}"
    f="$WORK/received/$id.png"
    [ -s "$f" ] || die "no $id.png in volume ${vol#* }"
    [ "$(od -An -tx1 -N8 "$f" | tr -d ' \n')" = 89504e470d0a1a0a ] || die "$id.png is not a PNG"
    w=$((16#$(od -An -tx1 -j16 -N4 "$f" | tr -d ' \n'))) h=$((16#$(od -An -tx1 -j20 -N4 "$f" | tr -d ' \n')))
    # The client's report row: "<id> ... WxH ..." — the reconstruction must have the photo's size.
    read -r sw sh < <(grep -E "^$id " "$WORK/send.txt" | grep -oE '\b[0-9]+x[0-9]+\b' | head -1 | tr x ' ')
    [ "$w" = "${sw:-}" ] && [ "$h" = "${sh:-}" ] || die "$id.png is ${w}x$h, the photo ${sw:-?}x${sh:-?}"
    n=$((n + 1))
  done
  log "[$mode] volume ${vol#* }: $n/${#PHOTOS[@]} reconstructions, PNGs of the photos' sizes: $(ls "$WORK/received" | tr '\n' ' ')"

  if [ "$KEEP" = 1 ] && [ "$mode" = "${MODES[-1]}" ]; then return; fi
  log "[$mode] ${COMPOSE[*]} down -v"
  compose stop -t 15 >/dev/null 2>&1
  for c in "${rids[@]}" "$sid"; do
    code="$(docker inspect -f '{{.State.ExitCode}}' "$c")"
    [ "$code" = 0 ] || die "container $(docker inspect -f '{{.Name}}' "$c") exited with $code on SIGTERM"
  done
  compose logs --no-color > "$WORK/compose-$mode.log" 2>&1 || true
  [ "$(grep -c "bye" "$WORK/compose-$mode.log")" -ge 2 ] || die "no graceful shutdown message from both daemons"
  compose down -v --remove-orphans >/dev/null 2>&1
  docker rm -f "$CLIENT" >/dev/null 2>&1 || true
  COMPOSE_FILES=()
  log "[$mode] passed: both daemons exited 0 on SIGTERM; containers, network and volume removed"
}

for m in "${MODES[@]}"; do run_mode "$m"; done
log "docker smoke test passed (${MODES[*]}); image $IMAGE $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
