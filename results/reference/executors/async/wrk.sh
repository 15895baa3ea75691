#!/bin/bash
# wrk against the suite's loopback server: wrk.sh API_SERVER CONNECTIONS LATENCY_MS BYTES SECONDS
# prints one line: requests, wrk's CPU per request (its whole process: user + system) and the
# server's (its I/O thread), in microseconds.
set -u
SERVER=$1 C=$2 L=$3 B=$4 S=$5
coproc SRV { "$SERVER"; }
read -r url <&"${SRV[0]}"
echo stats >&"${SRV[1]}"; read -r before <&"${SRV[0]}"
out=$( { /usr/bin/time -f "%U %S" wrk -t1 -c"$C" -d"${S}s" "$url/?latency_ms=$L&bytes=$B"; } 2>&1 )
echo stats >&"${SRV[1]}"; read -r after <&"${SRV[0]}"
exec {SRV[1]}>&-
wait
cpu_ms() { sed 's/.*"cpu_ms":\([0-9.e+-]*\).*/\1/' <<< "$1"; }
awk -v req="$(awk '/requests in/{print $1}' <<< "$out")" -v cpu="$(tail -1 <<< "$out")" \
    -v s0="$(cpu_ms "$before")" -v s1="$(cpu_ms "$after")" -v c="$C" -v l="$L" -v b="$B" \
  'BEGIN { split(cpu, t, " "); printf "{\"connections\":%d,\"latency_ms\":%d,\"bytes\":%d,\"requests\":%d,\"client_cpu_per_request_us\":%.2f,\"server_cpu_per_request_us\":%.2f}\n", c, l, b, req, (t[1]+t[2])*1e6/req, (s1-s0)*1e3/req }'
