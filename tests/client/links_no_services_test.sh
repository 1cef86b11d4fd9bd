#!/usr/bin/env bash
# mt-client links mt_rpc (proto conversion, status mapping, chunking, credentials), not the
# services: neither service class nor the receiver's delivery session may be in the binary, while
# the sender (the control) has its service. Usage: links_no_services_test.sh MT_CLIENT MT_SENDER
set -euo pipefail
client="$1" sender="$2"
command -v nm >/dev/null || { echo "nm (binutils) missing: skipped"; exit 77; }
services='mt::server::(SenderService|ReceiverService|DeliverySession)'
control=$(nm -C "$sender" | grep -cE "$services" || true)
[ "$control" -gt 0 ] || { echo "FAIL: the control mt-sender has no service symbols (stripped binaries?)"; exit 1; }
found=$(nm -C "$client" | grep -cE "$services" || true)
if [ "$found" -ne 0 ]; then
  echo "FAIL: mt-client holds $found service symbols:"; nm -C "$client" | grep -E "$services" | head -5; exit 1
fi
echo "ok: mt-client holds no service symbols (mt-sender: $control)"
