#!/bin/sh
# The hostile tests of issue 20 at their full size, in the namespace lab (as root): an unprivileged
# drain, 10,000 idle connections from one host, 300 slow readers of an 8 MiB response, and
# 100,000 datagrams a second for 10 s at the holder's heartbeat port from a non-member and spoofed
# from a member, each while a client connects through the VIP every 50 ms. CI runs the short forms
# (HostileIT without -Dapivip.hostile.long). Prints one "hostile:" line of figures per attack.
set -eu
cd "$(dirname "$0")/../.."
log=$(mktemp)
status=0
mvn -B -ntp -o -pl lb-daemon -am verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=HostileIT -Dapivip.netns.required=true -Dapivip.hostile.long=true >"$log" 2>&1 || status=$?
echo "hostile tests, long forms, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores"
grep '^hostile: ' "$log" | sort -u
if [ "$status" -ne 0 ]; then
  echo "FAILED (exit $status); the log: $log"
  grep -E 'FAIL|ERROR\]' "$log" | head -20
  exit "$status"
fi
rm -f "$log"
