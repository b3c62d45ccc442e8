#!/usr/bin/env bash
# `netstack tunnel --direct` over a real TUN, measured against the kernel's own path in the same run.
#
#   sudo scripts/bench-tunnel.sh [ROUNDS]     (ROUNDS curl rounds, default 5; medians are reported)
#
# Three namespaces, created here and deleted on exit (even on failure or Ctrl-C):
#   server  203.0.113.1/24 on veth-s (to the proxy) and 192.0.2.2/24 on veth-d (to the client):
#           `python3 -m http.server` on a BYTES-long random file in /dev/shm, and a TCP
#           listener on port 7 that accepts and holds connections (for the idle flows)
#   proxy   203.0.113.2/24 on veth-p; `netstack tunnel --direct --outbound-interface veth-p` on
#           TUN tun0, which moves to the client's namespace after `ready` (as in
#           Tests/NetStackInteropTests/TunnelInteropTests.swift)
#   client  198.51.100.2/24 on tun0 with the default route through it, and 192.0.2.1/24 on veth-c
#           straight to the server: curl http://203.0.113.1:8000/ goes through NetStack,
#           curl http://192.0.2.2:8000/ goes kernel to kernel; the same file, same server
# Then:
#   1. ROUNDS rounds, each one curl through the tunnel and one direct (written to /dev/shm and
#      checked with sha256), interleaved (a drift of the
#      machine hits both alike): median download rates, their ratio, and the median of the
#      rounds' own ratios (less sensitive to a drift of the machine).
#   2. A fresh `netstack tunnel` process: VmRSS with no flow, then with 2,000 and 10,000 idle TCP
#      flows held through it (a python client in the client namespace, the server's listener at
#      the far end), read from /proc/PID/status.
#
# Env: BYTES (268435456), IDLE ("2000 10000": the idle-flow counts, ascending, at most 15000),
#      NETSTACK (a prebuilt binary; default: build and use .build-release/release/netstack).
#
# Network safety: traffic stays inside the three namespaces; addresses from 192.0.2.0/24,
# 198.51.100.0/24 and 203.0.113.0/24 only. Every wait is bounded; only processes this script
# started are signalled.
set -u
[ "$(id -u)" = 0 ] || { echo "bench-tunnel.sh: needs root (ip netns, TUN devices)" >&2; exit 2; }
for tool in ip curl python3 sha256sum timeout; do
    command -v "$tool" >/dev/null || { echo "bench-tunnel.sh: needs $tool" >&2; exit 2; }
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${1:-5}"
[[ "$ROUNDS" =~ ^[1-9][0-9]?$ ]] || { echo "usage: bench-tunnel.sh [ROUNDS 1-99]" >&2; exit 2; }
BYTES="${BYTES:-268435456}"
[[ "$BYTES" =~ ^[0-9]+$ ]] && [ "$BYTES" -ge 1048576 ] && [ "$BYTES" -le 4294967296 ] ||
    { echo "bench-tunnel.sh: BYTES must be 1 MiB to 4 GiB" >&2; exit 2; }
# The file and each download's copy live in /dev/shm (memory): room for both, or stop now.
shm_free=$(( $(df --output=avail -k /dev/shm | tail -1) * 1024 ))
[ "$shm_free" -ge $(( 2 * BYTES + 67108864 )) ] ||
    { echo "bench-tunnel.sh: /dev/shm has $shm_free bytes free; BYTES=$BYTES needs twice that and 64 MiB" >&2; exit 2; }
IDLE="${IDLE:-2000 10000}"
for n in $IDLE; do
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 15000 ] || { echo "bench-tunnel.sh: IDLE counts must be 1-15000" >&2; exit 2; }
done

TAG="bt$$"
NS_P="$TAG-proxy" NS_S="$TAG-server" NS_C="$TAG-client"
SERVER_T=203.0.113.1 PROXY_T=203.0.113.2 SERVER_D=192.0.2.2 CLIENT_D=192.0.2.1
TUN_NET=198.51.100.1 CLIENT_TUN=198.51.100.2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/benchtun.XXXXXX")
WWW=$(mktemp -d /dev/shm/benchtun.XXXXXX)
BG_PIDS=""       # every background process this script started (ip netns exec execs, so these are the programs)
TUNNEL_PID=""    # the `timeout` wrapping `netstack tunnel`
NETSTACK_PID=""  # netstack itself (timeout's child)

cleanup() {
    [ "$BASHPID" = "$$" ] || return 0  # a subshell must not tear the bench down
    stop_tunnel
    for pid in $BG_PIDS; do kill -TERM "$pid" 2>/dev/null; done
    for pid in $BG_PIDS; do wait "$pid" 2>/dev/null; done
    for ns in "$NS_C" "$NS_P" "$NS_S"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$WWW" "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "NA"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.0f\n", (v[NR/2]+v[NR/2+1])/2}'; }
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
wait_for_line() {  # FILE PREFIX SECONDS PID: true once FILE has a line starting with PREFIX
    local i
    for i in $(seq $(($3 * 10))); do
        grep -q "^$2" "$1" 2>/dev/null && return 0
        kill -0 "$4" 2>/dev/null || break
        sleep 0.1
    done
    grep -q "^$2" "$1" 2>/dev/null
}

# Raise the descriptor limit for everything started from here: 10,000 flows are 10,000 sockets
# in the client, the relay (upstream side) and the server alike.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

if [ -z "${NETSTACK:-}" ]; then
    echo "== swift build -c release --product netstack --build-path .build-release"
    if ! (cd "$ROOT" && swift build -c release --product netstack --build-path .build-release >"$WORK/build.log" 2>&1); then
        grep -m3 'error:' "$WORK/build.log" >&2
        echo "WARNING: the release build failed; measuring the previous build" >&2
    fi
    NETSTACK="$ROOT/.build-release/release/netstack"
fi
"$NETSTACK" tunnel --help 2>&1 | grep -q -- '--direct' || { echo "bench-tunnel.sh: $NETSTACK has no 'tunnel --direct'" >&2; exit 1; }

echo "# bench-tunnel.sh ROUNDS=$ROUNDS BYTES=$BYTES IDLE='$IDLE' netstack=$NETSTACK" \
     "($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo '+uncommitted'))"
echo "# $(uname -r), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); a shared machine: ratios matter more than absolutes"

# --- namespaces --------------------------------------------------------------------------------
for ns in "$NS_P" "$NS_S" "$NS_C"; do
    ip netns add "$ns" || exit 1
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
done
set -e
ip -n "$NS_P" link add veth-p type veth peer name veth-s netns "$NS_S"
ip -n "$NS_P" addr add "$PROXY_T/24" dev veth-p
ip -n "$NS_P" link set veth-p up
ip -n "$NS_S" addr add "$SERVER_T/24" dev veth-s
ip -n "$NS_S" link set veth-s up
ip -n "$NS_C" link add veth-c type veth peer name veth-d netns "$NS_S"
ip -n "$NS_C" addr add "$CLIENT_D/24" dev veth-c
ip -n "$NS_C" link set veth-c up
ip -n "$NS_S" addr add "$SERVER_D/24" dev veth-d
ip -n "$NS_S" link set veth-d up
set +e

# --- the server: HTTP on a random file, and a listener that holds connections --------------------
head -c "$BYTES" /dev/urandom >"$WWW/big.bin" || { echo "cannot write $WWW/big.bin" >&2; exit 1; }
SHA=$(sha256sum "$WWW/big.bin" | cut -d' ' -f1)
ip netns exec "$NS_S" timeout 3600 python3 -u -m http.server 8000 --bind 0.0.0.0 --directory "$WWW" \
    >"$WORK/http.out" 2>"$WORK/http.err" &
HTTP_SERVER=$!
BG_PIDS="$BG_PIDS $HTTP_SERVER"
cat >"$WORK/hold_server.py" <<'EOF'
# Accepts connections on argv[1]:7 and holds them (reads and discards) until this process ends.
import resource, selectors, socket, sys
try: resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
except (ValueError, OSError): pass
listener = socket.socket(); listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((sys.argv[1], 7)); listener.listen(4096); listener.setblocking(False)
selector = selectors.DefaultSelector(); selector.register(listener, selectors.EVENT_READ)
print("listening", flush=True)
while True:
    for key, _ in selector.select():
        if key.fileobj is listener:
            while True:
                try: connection, _ = listener.accept()
                except (BlockingIOError, OSError): break
                connection.setblocking(False); selector.register(connection, selectors.EVENT_READ)
        else:
            try: data = key.fileobj.recv(65536)
            except OSError: data = b""
            if not data: selector.unregister(key.fileobj); key.fileobj.close()
EOF
ip netns exec "$NS_S" timeout 3600 python3 -u "$WORK/hold_server.py" "$SERVER_T" >"$WORK/hold.out" 2>"$WORK/hold.err" &
HOLD_SERVER=$!
BG_PIDS="$BG_PIDS $HOLD_SERVER"
wait_for_line "$WORK/http.out" "Serving HTTP" 20 "$HTTP_SERVER" || { echo "http.server did not start:"; cat "$WORK/http.err"; exit 1; } >&2
wait_for_line "$WORK/hold.out" listening 20 "$HOLD_SERVER" || { echo "hold server did not start:"; cat "$WORK/hold.err"; exit 1; } >&2

# --- the tunnel ------------------------------------------------------------------------------------
start_tunnel() {  # a fresh tun0 in the proxy, netstack on it, then tun0 moved to the client and routed
    ip -n "$NS_C" link del tun0 2>/dev/null
    ip -n "$NS_P" tuntap add dev tun0 mode tun || return 1
    : >"$WORK/tunnel.out"
    ip netns exec "$NS_P" timeout 3600 "$NETSTACK" tunnel --tun tun0 --address "$TUN_NET/24" --direct \
        --outbound-interface veth-p --max-flows 20000 --control "$WORK/control.sock" >"$WORK/tunnel.out" 2>"$WORK/tunnel.err" &
    TUNNEL_PID=$!
    wait_for_line "$WORK/tunnel.out" ready 20 "$TUNNEL_PID" || { echo "netstack tunnel did not get ready:"; cat "$WORK/tunnel.err"; return 1; } >&2
    NETSTACK_PID=$(awk '{print $1}' "/proc/$TUNNEL_PID/task/$TUNNEL_PID/children" 2>/dev/null)
    ip -n "$NS_P" link set tun0 netns "$NS_C" &&
        ip -n "$NS_C" addr add "$CLIENT_TUN/24" dev tun0 &&
        ip -n "$NS_C" link set tun0 up &&
        ip -n "$NS_C" route add default dev tun0
}
stop_tunnel() {  # SIGTERM, up to 10 s for a clean exit, then SIGKILL
    [ -n "$TUNNEL_PID" ] || return 0
    kill -TERM "$TUNNEL_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$TUNNEL_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$TUNNEL_PID" 2>/dev/null && { echo "netstack tunnel ignored SIGTERM for 10 s: killed" >&2; kill -KILL "$TUNNEL_PID" 2>/dev/null; }
    wait "$TUNNEL_PID" 2>/dev/null
    TUNNEL_PID="" NETSTACK_PID=""
}
start_tunnel || exit 1

# --- 1. curl through the tunnel and straight, interleaved ---------------------------------------
fetch() {  # URL -> "bytes/s" on stdout when the whole file arrived intact, nothing otherwise
    local out
    out=$(ip netns exec "$NS_C" timeout 300 curl -sS --max-time 290 -o "$WWW/got.bin" \
        -w '%{size_download} %{speed_download}\n' "$1") || return 1
    [ "${out%% *}" = "$BYTES" ] || return 1
    [ "$(sha256sum "$WWW/got.bin" | cut -d' ' -f1)" = "$SHA" ] || { echo "  download from $1 differs" >&2; return 1; }
    rm -f "$WWW/got.bin"
    echo "${out##* }"
}
echo "== curl $BYTES bytes, $ROUNDS rounds: through tunnel --direct (http://$SERVER_T:8000/) and straight (http://$SERVER_D:8000/)"
T_RATES=() D_RATES=() RATIOS=()
for round in $(seq "$ROUNDS"); do
    t=$(fetch "http://$SERVER_T:8000/big.bin") || { echo "  round $round: the download through the tunnel failed" >&2; t=""; }
    d=$(fetch "http://$SERVER_D:8000/big.bin") || { echo "  round $round: the direct download failed" >&2; d=""; }
    [ -n "$t" ] && T_RATES+=("$t")
    [ -n "$d" ] && D_RATES+=("$d")
    [ -n "$t" ] && [ -n "$d" ] && RATIOS+=("$(awk -v t="$t" -v d="$d" 'BEGIN {printf "%.3f", t / d}')")
    printf '  round %d: tunnel %s MB/s, direct %s MB/s\n' "$round" \
        "$(awk -v r="${t:-0}" 'BEGIN {printf "%.0f", r / 1e6}')" "$(awk -v r="${d:-0}" 'BEGIN {printf "%.0f", r / 1e6}')"
done
T_MED=$(median "${T_RATES[@]}") D_MED=$(median "${D_RATES[@]}")
R_MED=$(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "NA"; else if (NR % 2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}')

# --- 2. idle flows: VmRSS of a fresh tunnel process ------------------------------------------------
stop_tunnel
start_tunnel || exit 1
sleep 1
RSS0=$(rss_kib "$NETSTACK_PID")
cat >"$WORK/idle_client.py" <<'EOF'
# Opens connections to argv[1]:7 up to each count of argv[3:] in turn; after each, prints
# `held N` and waits (at most 120 s) for the file argv[2]+".N" to appear. Exits after the last.
import os, resource, socket, sys, time
try: resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
except (ValueError, OSError): pass
server, flag, counts = sys.argv[1], sys.argv[2], [int(c) for c in sys.argv[3:]]
held = []
for count in counts:
    while len(held) < count:
        held.append(socket.create_connection((server, 7), timeout=10))
    print("held", len(held), flush=True)
    deadline = time.time() + 120
    while not os.path.exists("%s.%d" % (flag, count)) and time.time() < deadline: time.sleep(0.1)
EOF
ip netns exec "$NS_C" timeout 900 python3 -u "$WORK/idle_client.py" "$SERVER_T" "$WORK/go" $IDLE >"$WORK/idle.out" 2>"$WORK/idle.err" &
IDLE_CLIENT=$!
BG_PIDS="$BG_PIDS $IDLE_CLIENT"
declare -A RSS ESTABLISHED
for n in $IDLE; do
    if ! wait_for_line "$WORK/idle.out" "held $n" 300 "$IDLE_CLIENT"; then
        echo "  could not hold $n idle flows: $(tail -2 "$WORK/idle.err")" >&2
        break
    fi
    sleep 2  # delayed ACKs and buffer releases run out
    RSS[$n]=$(rss_kib "$NETSTACK_PID")
    ESTABLISHED[$n]=$("$NETSTACK" netstat --control "$WORK/control.sock" 2>/dev/null | grep -c 'ESTABLISHED$')
    touch "$WORK/go.$n"
done
wait "$IDLE_CLIENT" 2>/dev/null

# --- the table -------------------------------------------------------------------------------------
mb() { awk -v r="$1" 'BEGIN {if (r == "NA") print "NA"; else printf "%.0f", r / 1e6}'; }
echo
echo "| measurement | value |"
echo "|---|---|"
echo "| curl through tunnel --direct, median of ${#T_RATES[@]} | $(mb "$T_MED") MB/s |"
echo "| curl straight (kernel veth), median of ${#D_RATES[@]} | $(mb "$D_MED") MB/s |"
echo "| ratio tunnel / straight, median of the rounds' ratios | $R_MED |"
echo "| ratio of the medians | $(awk -v t="$T_MED" -v d="$D_MED" 'BEGIN {if (t == "NA" || d == "NA" || d == 0) print "NA"; else printf "%.2f", t / d}') |"
echo "| netstack VmRSS, fresh, no flow | ${RSS0:-NA} KiB |"
for n in $IDLE; do
    r="${RSS[$n]:-}"
    if [ -n "$r" ] && [ -n "$RSS0" ]; then
        echo "| netstack VmRSS, $n idle TCP flows | $r KiB ($(awk -v r="$r" 'BEGIN {printf "%.1f", r / 1024}') MiB; $(awk -v r="$r" -v z="$RSS0" -v n="$n" 'BEGIN {printf "%.0f", (r - z) * 1024 / n}') B per flow over the fresh process; ${ESTABLISHED[$n]:-?} established on the stack) |"
    else
        echo "| netstack VmRSS, $n idle TCP flows | NA |"
    fi
done
[ ${#T_RATES[@]} = "$ROUNDS" ] && [ ${#D_RATES[@]} = "$ROUNDS" ] && [ -n "${RSS[${IDLE##* }]:-}" ]
