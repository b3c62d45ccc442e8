#!/usr/bin/env bash
# NetStack over a real TAP device, measured against the anchors in the same run (and over a TUN device).
#
#   sudo scripts/bench-tap.sh [RUNS]     (RUNS rounds, default 3; medians are reported)
#   sudo DEVICES=tap scripts/bench-tap.sh [RUNS]   (TAP only, as before the TUN rows)
#
# Each round runs, one after the other (so a slow drift of the machine hits all alike):
#   the anchors (../shared/anchors, see its README.md), one run each:
#     03_lwip.sh tap          kernel TCP -> lwIP on a TAP device: the floor to beat
#     04_tap.sh tcp_ack2      kernel TCP -> a do-nothing receiver that ACKs every 2nd segment:
#                             the receive ceiling of one read() per frame
#     04_tap.sh tx_udp1472    one write() per 1514-byte frame -> kernel: the send ceiling
#     04_tap.sh tcp_vnet_ack2 the same receiver with IFF_VNET_HDR + TSO: the kernel hands over ~64 KiB
#                             frames; the receive ceiling with offload
#   and this repository's Benchmarks/ceilings/tapgsotx.c on NetStack's TAP, into a kernel socat:
#     tapgsotx                a do-nothing TCP sender of prebuilt 64 KiB TSO super-segments (one
#                             write() each, no stack work): the send ceiling with offload
#   NetStack (`netstack serve`, release build) in namespace `tapbench` on TAP tap0 at
#   192.0.2.2/24 (kernel side 192.0.2.1/24, MTU 1500, IPv6 off), a fresh process per round and
#   offload mode (`--offload on`, then `--offload off`; a refusal is logged and marked in the table):
#     kernel -> NetStack      `blast tcp 192.0.2.2 9 BYTES 60` into the discard service (the
#                             sender the anchors use, so every receiver gets the same load)
#     NetStack -> kernel      curl downloads a BYTES-long file from NetStack's HTTP server
#                             (random bytes in /dev/shm, deleted afterwards)
#     1-byte round trip       `rr pingpong 192.0.2.2 7 RR_N` against the TCP echo service, once per
#                             BUSY_POLL value (`serve --busy-poll US`; a fresh serve for each value but 0)
#   with NetStack's CPU time per measurement (/proc/PID/stat utime+stime) and the frames
#   that crossed the TAP device (kernel-side counters). wait_quiet before every measurement.
#   With FAMILIES="4 6", IPv6 too (tap0 also 2001:db8::1/64, NetStack also 2001:db8::2/64), in
#   the same serve, each IPv6 transfer next to its IPv4 twin so that both see the same machine
#   (IPv4 first in odd rounds, IPv6 first in even ones):
#     kernel -> NetStack      Benchmarks/ceilings/tcpsend.c (blast's "tcp" for either family) to
#                             192.0.2.2 and to 2001:db8::2, into the discard service
#     NetStack -> kernel      curl -6 of the same file from http://[2001:db8::2]:8080, and curl -4
#   and, when OFFLOADS has "off", after NetStack each round (serve not running, on the same tap0):
#     tapack                  Benchmarks/ceilings/tapack.c, a do-nothing TCP receiver for both
#                             families (one read() per frame, no virtio-net header), tcpsend into
#                             192.0.2.2 and into 2001:db8::2 (order alternating as above): the
#                             device's own IPv6/IPv4 ratio, beside NetStack's offload-off one
#   and a second table: IPv4 and IPv6 medians, IPv6/IPv4 per direction and offload mode.
#   With "tun" in DEVICES (the default), NetStack over TUN too, each round after the TAP serves (and
#   before tapack): `netstack serve --tun tun0 --address 192.0.2.2/24` (IPv6: also 2001:db8::2/64),
#   the TAP's flags but --mac, a fresh process per round and offload mode (OFFLOADS, as for TAP),
#   on tun0 in the same namespace, point-to-point: kernel side 192.0.2.1 peer 192.0.2.2 (IPv6:
#   2001:db8::1 peer 2001:db8::2), MTU 1500, txqueuelen 1000 as tap0's (a TUN's default is 500).
#   tun0 exists only while its serve runs (created before, deleted after): its host route to
#   192.0.2.2 would otherwise take the TAP's traffic. Measured as for TAP, with NetStack's CPU time
#   and the frames that crossed tun0: kernel -> NetStack (blast into the discard service; with
#   FAMILIES="4 6" also the tcpsend IPv4/IPv6 twins) and NetStack -> kernel (curl, -4 and -6), one
#   sha256-checked download per mode in round 1. The anchors, lwIP, the ceilings (tapgsotx and
#   tapack included) and the 1-byte round trip stay TAP-only: there are no TUN anchors, so the TUN
#   rows are set beside NetStack over TAP in the same rounds. Per-run lines for TUN say
#   "device=tun"; DEVICES=tun alone skips the anchors and every TAP row.
# Then one Markdown table: NetStack, lwIP, the ceilings, the ratios; with TUN a second one after it,
# NetStack over TUN beside NetStack over TAP ("–" where TUN has no number: the round trip); with
# IPv6 the IPv4/IPv6 table, for TAP and then for TUN.
#
# Env: BYTES (1073741824), RR_N (100000 round trips), OFFLOADS ("on off": the --offload modes, in order),
#      FAMILIES ("4"; "4 6" adds the IPv6 rows),
#      DEVICES ("tap tun": words from tap, tun; TAP is measured first, then TUN; "tap" alone is the
#      old TAP-only run, "tun" alone skips the anchors and the TAP rows),
#      BUSY_POLL ("0 50": the --busy-poll microseconds the round trip is measured with; the transfers use 0),
#      PIN ("" = the scheduler decides |
#      "split" = kernel side on cpu0, user-space stack on cpu1; passed on to the anchors),
#      TAPACK_EVERY (2: tapack ACKs every K data frames and when its queue drains; NetStack's own
#      ACK rate is in its frames_from_netstack column),
#      SKIP_ANCHORS=1 (NetStack only), NETSTACK (a prebuilt binary; default: build and use
#      .build-bench/release/netstack, a plain release build), RES_DIR (logs; default the anchors' results dir).
#
# Network safety: traffic stays in namespace `tapbench` (created and deleted here, with its tap0 and
# tun0, also on failure) and in the anchors' own namespaces; addresses from 192.0.2.0/24 and
# 2001:db8::/64 only. Every wait is bounded; only processes this script started are signalled.
set -u
[ "$(id -u)" = 0 ] || { echo "bench-tap.sh: needs root (ip netns, TAP devices)" >&2; exit 2; }

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ENV_RUNS="${RUNS:-}"   # common.sh would default RUNS to 5
ANCHORS="${ANCHORS:-$(cd "$ROOT/../shared/anchors" 2>/dev/null && pwd)}"
[ -f "$ANCHORS/common.sh" ] || { echo "bench-tap.sh: anchors not found at $ROOT/../shared/anchors" >&2; exit 2; }
# common.sh: BIN_DIR, RES_DIR, build_c, need, wait_quiet, offload_summary, dev_stat, sysinfo, kill_bg.
source "$ANCHORS/common.sh"
need gcc ip ethtool curl nstat taskset sha256sum

RUNS="${1:-${ENV_RUNS:-3}}"
[[ "$RUNS" =~ ^[1-9][0-9]?$ ]] || { echo "usage: bench-tap.sh [RUNS 1-99]" >&2; exit 2; }
BYTES="${BYTES:-1073741824}"
RR_N="${RR_N:-100000}"
TAPACK_EVERY="${TAPACK_EVERY:-2}"
case "$TAPACK_EVERY" in ''|*[!0-9]*|0*) echo "bench-tap.sh: bad TAPACK_EVERY '$TAPACK_EVERY': a positive count of frames" >&2; exit 2 ;; esac
OFFLOADS="${OFFLOADS:-on off}"
for mode in $OFFLOADS; do
    case "$mode" in on|off|auto) ;; *) echo "bench-tap.sh: bad OFFLOADS '$OFFLOADS': words from on, off, auto" >&2; exit 2 ;; esac
done
BUSY_POLL="${BUSY_POLL:-0 50}"
for bp in $BUSY_POLL; do
    [[ "$bp" =~ ^[0-9]{1,7}$ ]] && [ "$bp" -le 1000000 ] ||
        { echo "bench-tap.sh: bad BUSY_POLL '$BUSY_POLL': microseconds, 0 to 1000000" >&2; exit 2; }
done
FAMILIES="${FAMILIES:-4}"
case " $FAMILIES " in *" 4 "*) ;; *) echo "bench-tap.sh: FAMILIES '$FAMILIES' must include 4 (IPv6 is measured beside IPv4)" >&2; exit 2 ;; esac
for family in $FAMILIES; do
    case "$family" in 4|6) ;; *) echo "bench-tap.sh: bad FAMILIES '$FAMILIES': words from 4, 6" >&2; exit 2 ;; esac
done
V6=0; case " $FAMILIES " in *" 6 "*) V6=1 ;; esac
DEVICES="${DEVICES:-tap tun}"
for device in $DEVICES; do
    case "$device" in tap|tun) ;; *) echo "bench-tap.sh: bad DEVICES '$DEVICES': words from tap, tun" >&2; exit 2 ;; esac
done
TAP_ON=0; case " $DEVICES " in *" tap "*) TAP_ON=1 ;; esac
TUN_ON=0; case " $DEVICES " in *" tun "*) TUN_ON=1 ;; esac
[ "$TAP_ON$TUN_ON" != 00 ] || { echo "bench-tap.sh: bad DEVICES '$DEVICES': words from tap, tun" >&2; exit 2; }
ACK_ROW=0  # the do-nothing receiver for both families: with IPv6, beside the offload-off rows (TAP only)
[ "$V6" = 1 ] && [ "$TAP_ON" = 1 ] && case " $OFFLOADS " in *" off "*) ACK_ROW=1 ;; esac
PIN="${PIN:-}"
if [ "$PIN" = split ]; then TK="taskset -c 0"; TU="taskset -c 1"; else TK=""; TU=""; fi

NS=tapbench
DEV=tap0
TUN_DEV=tun0
KADDR=192.0.2.1
NADDR=192.0.2.2
KADDR6=2001:db8::1
NADDR6=2001:db8::2
NMAC=02:00:00:00:00:02
PORT_DISCARD=9
PORT_ECHO=7
PORT_HTTP=8080
LOG="$RES_DIR/netstack_tap.txt"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tapbench.XXXXXX")
WWW=$(mktemp -d /dev/shm/tapbench.XXXXXX)

# --- the serve process ---------------------------------------------------------------------
SERVE_PID=""     # the `timeout` that wraps `netstack serve` (forwards SIGTERM, returns its status)
NS_PID=""        # netstack itself, whose CPU time is counted
SERVE_STATUS=""
ACK_PID=""       # the `timeout` that wraps tapack, while one runs
# The device NetStack is measured on: tap0, or tun0 while a TUN serve runs (see measure_netstack).
KIND=tap         # tap | tun
CUR_DEV="$DEV"   # the kernel-side device whose counters snap reads
K=""             # the prefix of the table keys: "" for TAP, "tun-" for TUN
T=""             # the per-run lines' tag: "" for TAP, "device=tun " for TUN

start_serve() {  # in the namespace; waits (max 10 s) for "ready", then (max 10 s) for a ping answer (each family)
    local v6args=() devargs=(--tap "$DEV") macargs=(--mac "$NMAC")
    [ "$V6" = 1 ] && v6args=(--address "$NADDR6/64")
    [ "$KIND" = tun ] && { devargs=(--tun "$TUN_DEV"); macargs=(); }
    ip netns exec "$NS" timeout 1800 $TU "$NETSTACK" serve "${devargs[@]}" --address "$NADDR/24" "${v6args[@]}" "${macargs[@]}" \
        --offload "${OFFLOAD:-auto}" --busy-poll "${BUSYPOLL:-0}" --verbose \
        --discard "$PORT_DISCARD" --echo "$PORT_ECHO" --http "$PORT_HTTP" --root "$WWW" \
        --control "$WORK/control.sock" >"$WORK/serve.out" 2>"$WORK/serve.err" &
    SERVE_PID=$!
    local i
    for i in $(seq 100); do
        grep -q '^ready' "$WORK/serve.out" 2>/dev/null && break
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^ready' "$WORK/serve.out" || { echo "netstack serve did not get ready:"; cat "$WORK/serve.err"; return 1; } >&2
    NS_PID=$(awk '{print $1}' "/proc/$SERVE_PID/task/$SERVE_PID/children" 2>/dev/null)  # taskset execs netstack
    local answered=0
    for i in $(seq 10); do ip netns exec "$NS" ping -c1 -W1 "$NADDR" >/dev/null 2>&1 && { answered=1; break; }; done
    [ "$answered" = 1 ] || { echo "netstack serve does not answer ping" >&2; return 1; }
    [ "$V6" = 1 ] || return 0
    for i in $(seq 10); do ip netns exec "$NS" ping -6 -c1 -W1 "$NADDR6" >/dev/null 2>&1 && return 0; done
    echo "netstack serve does not answer ping -6" >&2
    return 1
}

stop_serve() {  # SIGTERM, then up to 10 s for a clean exit; SIGKILL only if it hangs. Sets SERVE_STATUS.
    [ -n "$SERVE_PID" ] || return 0
    kill -TERM "$SERVE_PID" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$SERVE_PID" 2>/dev/null; then
        echo "  netstack serve did not exit within 10 s of SIGTERM: killed" | tee -a "$LOG" >&2
        kill -KILL "$SERVE_PID" 2>/dev/null
    fi
    wait "$SERVE_PID" 2>/dev/null; SERVE_STATUS=$?
    SERVE_PID=""
}

add_tun() {  # tun0 in the namespace, point-to-point: kernel side KADDR peer NADDR (and KADDR6 peer NADDR6)
    # Its host routes to NADDR (and NADDR6) outrank tap0's /24 (and /64): tun0 exists only while a TUN serve runs.
    ip -n "$NS" tuntap add dev "$TUN_DEV" mode tun || return 1
    # txqueuelen 1000 as tap0's (a TUN's own default is 500), so that the TUN/TAP ratios compare like with like
    ip -n "$NS" link set "$TUN_DEV" mtu 1500 txqueuelen 1000 || return 1
    ip -n "$NS" addr add "$KADDR" peer "$NADDR" dev "$TUN_DEV" || return 1
    [ "$V6" = 1 ] && { ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$TUN_DEV.disable_ipv6=0" || return 1; }
    ip -n "$NS" link set "$TUN_DEV" up || return 1
    # IPv6 (disabled in the namespace by default) once tun0 is up: an IPv6 peer address added while
    # the device is down gets no route to the peer. nodad: usable at once.
    [ "$V6" = 1 ] || return 0
    ip -n "$NS" -6 addr add "$KADDR6" peer "$NADDR6" dev "$TUN_DEV" nodad
}
del_tun() { ip -n "$NS" link del "$TUN_DEV" 2>/dev/null || true; }

bench_cleanup() {
    [ "$BASHPID" = "$$" ] || return 0  # a subshell (pipeline, $(…)) must not tear the bench down
    stop_serve
    [ -n "$ACK_PID" ] && kill "$ACK_PID" 2>/dev/null
    kill_bg
    del_tun
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WWW" "$WORK"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# --- small helpers -------------------------------------------------------------------------
field() { sed -nE "s/.*[ ^]$1=([0-9.]+).*/\1/p" <<<" $2" | head -1; }
summary() {  # v1 v2 ... -> "min median max" ("NA NA NA" when there is no number)
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g | awk '
        {a[NR]=$1}
        END { if (NR==0) {print "NA NA NA"; exit}
              m = (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2
              printf "%.6g %.6g %.6g\n", a[1], m, a[NR] }'
}
median() { summary "$@" | awk '{print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a+0>0 && b+0>0) printf "%.2f", a/b; else print "–" }'; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.*f", d, v; else print "–" }'; }
range() {  # range DECIMALS v1 v2 ... -> "**median** (min–max)"
    local d="$1" s; shift; s=($(summary "$@"))
    echo "**$(fmt "${s[1]}" "$d")** ($(fmt "${s[0]}" "$d")–$(fmt "${s[2]}" "$d"))"
}

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" 2>/dev/null | awk '{print $12 + $13}'; }  # utime+stime
kstat() { dev_stat "$NS" "$CUR_DEV" "$1"; }
nstat_get() { ip netns exec "$NS" nstat -az "$1" 2>/dev/null | awk -v k="$1" '$1==k {print $2}'; }

snap() {  # snap a|b: NetStack's CPU ticks, kernel-side TAP (or TUN) counters, kernel TCP retransmissions
    printf -v "$1_cpu" '%s' "$(cpu_ticks "$NS_PID")"
    printf -v "$1_tx" '%s' "$(kstat tx_packets)"; printf -v "$1_rx" '%s' "$(kstat rx_packets)"
    printf -v "$1_txb" '%s' "$(kstat tx_bytes)"; printf -v "$1_rxb" '%s' "$(kstat rx_bytes)"
    printf -v "$1_drop" '%s' "$(kstat tx_dropped)"; printf -v "$1_retr" '%s' "$(nstat_get TcpRetransSegs)"
}
LAST_CPU=""; DELTA=""
delta() {  # between snap a and b: sets LAST_CPU (NetStack CPU seconds) and DELTA (the log text)
    LAST_CPU=$(awk -v a="${a_cpu:-0}" -v b="${b_cpu:-0}" -v t="$CLK_TCK" 'BEGIN{printf "%.2f", (b-a)/t}')
    local to=$((b_tx - a_tx)) from=$((b_rx - a_rx))
    DELTA="netstack_cpu_s=$LAST_CPU frames_to_netstack=$to (avg $(( to > 0 ? (b_txb - a_txb) / to : 0 )) B)"
    DELTA+=" frames_from_netstack=$from (avg $(( from > 0 ? (b_rxb - a_rxb) / from : 0 )) B)"
    DELTA+=" ${KIND}_tx_dropped=$((b_drop - a_drop)) kernel_retrans=$(( ${b_retr:-0} - ${a_retr:-0} ))"
}

# --- build and set up ----------------------------------------------------------------------
build_c blast
build_c rr
gcc -O2 -o "$WORK/tapgsotx" "$ROOT/Benchmarks/ceilings/tapgsotx.c" ||
    { echo "bench-tap.sh: cannot compile Benchmarks/ceilings/tapgsotx.c" >&2; exit 1; }
gcc -O2 -o "$WORK/tcpsend" "$ROOT/Benchmarks/ceilings/tcpsend.c" ||
    { echo "bench-tap.sh: cannot compile Benchmarks/ceilings/tcpsend.c" >&2; exit 1; }
gcc -O2 -o "$WORK/tapack" "$ROOT/Benchmarks/ceilings/tapack.c" ||
    { echo "bench-tap.sh: cannot compile Benchmarks/ceilings/tapack.c" >&2; exit 1; }
if [ -z "${NETSTACK:-}" ]; then
    # Its own scratch path: scripts/test.sh builds .build-release with -enable-testing, which leaves
    # Swift's dynamic exclusivity checks on internal state and slows the stack 2-3x.
    echo "== swift build -c release --product netstack --scratch-path .build-bench"
    if ! (cd "$ROOT" && swift build -c release --product netstack --scratch-path .build-bench >"$WORK/build.log" 2>&1); then
        grep -m3 'error:' "$WORK/build.log" >&2
        echo "WARNING: the release build failed (someone mid-edit?); measuring the previous build" >&2
    fi
    NETSTACK="$ROOT/.build-bench/release/netstack"
fi
"$NETSTACK" serve --help 2>&1 | grep -q -- '--discard' ||
    { echo "bench-tap.sh: $NETSTACK has no 'serve --discard' (not built yet?)" >&2; exit 1; }

{ sysinfo
  echo "# bench-tap.sh RUNS=$RUNS BYTES=$BYTES RR_N=$RR_N BUSY_POLL='$BUSY_POLL' FAMILIES='$FAMILIES' PIN=${PIN:-none} netstack=$NETSTACK" \
       "($(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null)$(cd "$ROOT" && git diff --quiet 2>/dev/null || echo '+uncommitted'))"
} | tee -a "$LOG"

echo "== creating $BYTES random bytes in $WWW"
head -c "$BYTES" /dev/urandom >"$WWW/big.bin" || { echo "cannot write $WWW/big.bin" >&2; exit 1; }
SHA=$(sha256sum "$WWW/big.bin" | cut -d' ' -f1)

ip netns del "$NS" 2>/dev/null || true
ip netns add "$NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
if [ "$TAP_ON" = 1 ]; then
    ip -n "$NS" tuntap add dev "$DEV" mode tap
    ip -n "$NS" link set "$DEV" mtu 1500
    ip -n "$NS" addr add "$KADDR/24" dev "$DEV"
    if [ "$V6" = 1 ]; then  # IPv6 on tap0 alone, its address usable at once (nodad)
        ip netns exec "$NS" sysctl -qw "net.ipv6.conf.$DEV.disable_ipv6=0"
        ip -n "$NS" -6 addr add "$KADDR6/64" dev "$DEV" nodad
    fi
    ip -n "$NS" link set "$DEV" up
    echo "## netstack serve pin=${PIN:-none}: namespace $NS, TAP $DEV mtu=1500 kernel-side [$(offload_summary "$NS" "$DEV")] txqueuelen=$(ip netns exec "$NS" cat "/sys/class/net/$DEV/tx_queue_len")" | tee -a "$LOG"
fi
if [ "$TUN_ON" = 1 ]; then  # a trial tun0, for the log line; measure_netstack creates one per serve
    add_tun || { echo "bench-tap.sh: cannot create TUN $TUN_DEV in namespace $NS" >&2; exit 1; }
    echo "## netstack serve over TUN pin=${PIN:-none}: namespace $NS, TUN $TUN_DEV mtu=1500, kernel side $KADDR peer $NADDR$([ "$V6" = 1 ] && echo ", $KADDR6 peer $NADDR6"), created per serve; kernel-side [$(offload_summary "$NS" "$TUN_DEV")] txqueuelen=$(ip netns exec "$NS" cat "/sys/class/net/$TUN_DEV/tx_queue_len")" | tee -a "$LOG"
    del_tun
fi

# --- the rounds ----------------------------------------------------------------------------
# NetStack runs once per offload mode (OFFLOADS) per round; its numbers go to $WORK/MODE.KEY,
# one value a line, for the table.
SERVE_EXITS=(); VERIFY=""; SERVE_EXITS_TUN=(); VERIFY_TUN=""
: >"$WORK/lwip.out"; : >"$WORK/tap.out"; : >"$WORK/vnet.out"
put() { echo "$3" >>"$WORK/$1.$2"; }       # put MODE KEY VALUE
got() { cat "$WORK/$1.$2" 2>/dev/null; }   # got MODE KEY: the values, one a line

gso_ceiling() {  # gso_ceiling ROUND: tapgsotx on NetStack's TAP (serve not running) into a kernel socat
    local out kmac
    kmac=$(ip -n "$NS" link show "$DEV" | awk '/ether/{print $2}')
    ip -n "$NS" neigh replace "$NADDR" lladdr "$NMAC" dev "$DEV" nud permanent
    ip netns exec "$NS" timeout 90 socat -u -b 262144 TCP-LISTEN:9000,reuseaddr - >/dev/null 2>&1 &
    local sink=$!
    sleep 0.3
    wait_quiet
    out=$(ip netns exec "$NS" timeout 80 $TU "$WORK/tapgsotx" "$DEV" "$BYTES" 60 "$kmac" 2>&1)
    wait "$sink" 2>/dev/null
    ip -n "$NS" neigh del "$NADDR" dev "$DEV" 2>/dev/null
    echo "  run $1: $out" | tee -a "$LOG"
    [ "$(field bytes_acked "$out")" = "$BYTES" ] && put gso tx "$(field MBps "$out")"
}

tapack_ceiling() {  # tapack_ceiling ROUND FAMILY ADDR KEY: tcpsend BYTES into tapack on tap0 (serve not running)
    local s="" a=""
    wait_quiet
    ip netns exec "$NS" timeout 90 $TU "$WORK/tapack" "$DEV" 70 1000 --ackevery "$TAPACK_EVERY" >"$WORK/tapack.out" 2>&1 &
    ACK_PID=$!
    for _ in $(seq 50); do grep -q '^ready' "$WORK/tapack.out" 2>/dev/null && break; sleep 0.1; done
    if grep -q '^ready' "$WORK/tapack.out"; then
        s=$(ip netns exec "$NS" timeout 80 $TK "$WORK/tcpsend" "$3" "$PORT_DISCARD" "$BYTES" 60)
    fi
    wait "$ACK_PID" 2>/dev/null; ACK_PID=""
    a=$(grep -v '^ready' "$WORK/tapack.out" | tr '\n' ' ')
    echo "  run $1 kernel->tapack IPv$2: ${s:-tcpsend failed} | ${a:-tapack said nothing} | bg_busy_before=${LAST_BUSY}%" | tee -a "$LOG"
    [ "$(field bytes "$s")" = "$BYTES" ] && [ "$(field bytes "$a")" = "$BYTES" ] &&
        { put ack "$4" "$(field MBps "$s")"; put ack "$4_cpu" "$(field receiver_cpu_s "$a")"; }
}

send_rx() {  # send_rx MODE ROUND FAMILY ADDR KEY: tcpsend BYTES into the discard service at ADDR
    local s
    wait_quiet; snap a
    s=$(ip netns exec "$NS" timeout 80 $TK "$WORK/tcpsend" "$4" "$PORT_DISCARD" "$BYTES" 60)
    snap b; delta
    echo "  run $2 ${T}offload=$1 kernel->netstack IPv$3: ${s:-tcpsend failed} | $DELTA | bg_busy_before=${LAST_BUSY}%" | tee -a "$LOG"
    [ "$(field bytes "$s")" = "$BYTES" ] && { put "$K$1" "$5" "$(field MBps "$s")"; put "$K$1" "$5_cpu" "$LAST_CPU"; }
}

download_tx() {  # download_tx MODE ROUND FAMILY URL KEY: curl -FAMILY downloads BYTES from NetStack
    local c mbps
    wait_quiet; snap a
    c=$(ip netns exec "$NS" timeout 80 $TK curl "-$3" -g -sS -o /dev/null --max-time 70 \
        -w 'http=%{http_code} bytes=%{size_download} secs=%{time_total} Bps=%{speed_download}' "$4" 2>&1)
    snap b; delta
    mbps=$(awk -v b="$(field Bps "$c")" 'BEGIN{printf "%.1f", b/1e6}')
    echo "  run $2 ${T}offload=$1 netstack->kernel IPv$3: curl $c MBps=$mbps | $DELTA | bg_busy_before=${LAST_BUSY}%" | tee -a "$LOG"
    [ "$(field bytes "$c")" = "$BYTES" ] && { put "$K$1" "$5" "$mbps"; put "$K$1" "$5_cpu" "$LAST_CPU"; }
}

check_sha() {  # check_sha URL [curl options]: one untimed download; "ok" or "MISMATCH (got SHA)"
    local sha
    sha=$(ip netns exec "$NS" timeout 120 curl "${@:2}" -sS --max-time 110 "$1" | sha256sum | cut -d' ' -f1)
    if [ "$sha" = "$SHA" ]; then echo ok; else echo "MISMATCH (got $sha)"; fi
}

measure_netstack() {  # measure_netstack MODE ROUND [tap|tun]: serve with --offload MODE, then the measurements
    local mode="$1" i="$2" s c r mbps ok
    KIND="${3:-tap}"
    if [ "$KIND" = tun ]; then
        CUR_DEV="$TUN_DEV"; K="tun-"; T="device=tun "
        add_tun || { echo "bench-tap.sh: cannot create TUN $TUN_DEV in namespace $NS" >&2; exit 1; }
    else
        CUR_DEV="$DEV"; K=""; T=""
    fi
    OFFLOAD="$mode"
    start_serve || exit 1
    # --verbose: serve says on stderr when the kernel refused offload; the numbers are then per-frame ones.
    if grep -q 'offload off' "$WORK/serve.err"; then
        echo "  run $i ${T}offload=$mode: $(grep -m1 'offload off' "$WORK/serve.err")" | tee -a "$LOG"
        put "$K$mode" refused 1
    fi
    if [ "$i" = 1 ]; then  # once per mode, untimed: the download arrives intact
        ok=$(check_sha "http://$NADDR:$PORT_HTTP/big.bin")
        if [ "$KIND" = tun ]; then VERIFY_TUN+="offload $mode $ok; "; else VERIFY+="offload $mode $ok; "; fi
        echo "  verify ${T}offload=$mode: HTTP download of $BYTES B sha256 $ok; " | tee -a "$LOG"
        if [ "$V6" = 1 ]; then
            ok=$(check_sha "http://[$NADDR6]:$PORT_HTTP/big.bin" -6 -g)
            if [ "$KIND" = tun ]; then VERIFY_TUN+="IPv6 offload $mode $ok; "; else VERIFY+="IPv6 offload $mode $ok; "; fi
            echo "  verify ${T}offload=$mode: HTTP download over IPv6 of $BYTES B sha256 $ok; " | tee -a "$LOG"
        fi
    fi

    wait_quiet; snap a
    s=$(ip netns exec "$NS" timeout 80 $TK "$BIN_DIR/blast" tcp "$NADDR" "$PORT_DISCARD" "$BYTES" 60)
    snap b; delta
    echo "  run $i ${T}offload=$mode kernel->netstack: ${s:-blast failed} | $DELTA | bg_busy_before=${LAST_BUSY}%" | tee -a "$LOG"
    [ "$(field bytes "$s")" = "$BYTES" ] && { put "$K$mode" rx "$(field MBps "$s")"; put "$K$mode" rx_cpu "$LAST_CPU"; }

    # The same sender for both families, the twins back to back; IPv6 goes first in even rounds,
    # so that neither family always runs second (a systematic order effect would read as a family's cost).
    if [ "$V6" = 1 ] && [ $((i % 2)) = 0 ]; then
        send_rx "$mode" "$i" 6 "$NADDR6" rx6
        send_rx "$mode" "$i" 4 "$NADDR" rx4s
    elif [ "$V6" = 1 ]; then
        send_rx "$mode" "$i" 4 "$NADDR" rx4s
        send_rx "$mode" "$i" 6 "$NADDR6" rx6
    fi

    if [ "$V6" = 1 ] && [ $((i % 2)) = 0 ]; then
        download_tx "$mode" "$i" 6 "http://[$NADDR6]:$PORT_HTTP/big.bin" tx6
        download_tx "$mode" "$i" 4 "http://$NADDR:$PORT_HTTP/big.bin" tx
    else
        download_tx "$mode" "$i" 4 "http://$NADDR:$PORT_HTTP/big.bin" tx
        [ "$V6" = 1 ] && download_tx "$mode" "$i" 6 "http://[$NADDR6]:$PORT_HTTP/big.bin" tx6
    fi

    ip netns exec "$NS" timeout 10 "$NETSTACK" netstat --verbose --control "$WORK/control.sock" >"$WORK/netstat.txt" 2>&1 &&
        sed "s/^/    ${T}netstat: /" "$WORK/netstat.txt" >>"$LOG"

    if [ "$KIND" = tun ]; then  # no round trip over TUN (TAP only); tun0 goes with its serve
        stop_serve; SERVE_EXITS_TUN+=("$mode:$SERVE_STATUS")
        echo "  run $i ${T}offload=$mode: netstack serve exit status after SIGTERM: $SERVE_STATUS" | tee -a "$LOG"
        del_tun
        KIND=tap; CUR_DEV="$DEV"; K=""; T=""
        return 0
    fi

    local bp
    for bp in $BUSY_POLL; do
        if [ "$bp" != 0 ]; then  # a fresh serve that busy-polls, for the round trip only
            stop_serve; SERVE_EXITS+=("$mode:$SERVE_STATUS")
            BUSYPOLL="$bp"; start_serve || exit 1; BUSYPOLL=0
        fi
        wait_quiet; snap a
        r=$(ip netns exec "$NS" timeout 130 $TK "$BIN_DIR/rr" pingpong "$NADDR" "$PORT_ECHO" "$RR_N")
        snap b; delta
        echo "  run $i offload=$mode busy-poll=${bp}us round trip: ${r:-rr failed} | $DELTA | bg_busy_before=${LAST_BUSY}%" | tee -a "$LOG"
        if [ -n "$(field mean_us "$r")" ]; then
            put "$mode" "rt_bp$bp" "$(field mean_us "$r")"
            put "$mode" "p50_bp$bp" "$(field p50_us "$r")"; put "$mode" "p99_bp$bp" "$(field p99_us "$r")"
            # rr makes 1000 warm-up round trips before the N it times
            put "$mode" "rt_cpu_bp$bp" "$(awk -v c="$LAST_CPU" -v n="$RR_N" 'BEGIN{printf "%.2f", c*1e6/(n+1000)}')"
        fi
    done

    stop_serve; SERVE_EXITS+=("$mode:$SERVE_STATUS")
    echo "  run $i offload=$mode: netstack serve exit status after SIGTERM: $SERVE_STATUS" | tee -a "$LOG"
}

for i in $(seq "$RUNS"); do
    if [ "${SKIP_ANCHORS:-0}" != 1 ] && [ "$TAP_ON" = 1 ]; then
        echo "== round $i/$RUNS: anchors (03_lwip.sh tap, 04_tap.sh tcp_ack2 tx_udp1472 tcp_vnet_ack2; pin=${PIN:-none})"
        RUNS=1 PIN="$PIN" BYTES="$BYTES" "$ANCHORS/03_lwip.sh" tap 2>&1 | tee -a "$WORK/lwip.out"
        RUNS=1 PIN="$PIN" BYTES="$BYTES" "$ANCHORS/04_tap.sh" tcp_ack2 tx_udp1472 2>&1 | tee -a "$WORK/tap.out"
        RUNS=1 PIN="$PIN" BYTES="$BYTES" "$ANCHORS/04_tap.sh" tcp_vnet_ack2 2>&1 | tee -a "$WORK/vnet.out"
        echo "== round $i/$RUNS: the GSO send ceiling (Benchmarks/ceilings/tapgsotx.c)"
        gso_ceiling "$i"
    fi
    if [ "$TAP_ON" = 1 ]; then
        for mode in $OFFLOADS; do
            echo "== round $i/$RUNS: NetStack --offload $mode"
            measure_netstack "$mode" "$i"
        done
    fi
    if [ "$TUN_ON" = 1 ]; then
        for mode in $OFFLOADS; do
            echo "== round $i/$RUNS: NetStack over TUN --offload $mode"
            measure_netstack "$mode" "$i" tun
        done
    fi
    # The device's own IPv6/IPv4 ratio, for the offload-off rows (tapack has no virtio-net header):
    # the do-nothing receiver on the same tap0 (serve stopped), the families' order as for NetStack.
    if [ "$ACK_ROW" = 1 ]; then
        echo "== round $i/$RUNS: the do-nothing receiver for both families (Benchmarks/ceilings/tapack.c)"
        if [ $((i % 2)) = 0 ]; then
            tapack_ceiling "$i" 6 "$NADDR6" rx6; tapack_ceiling "$i" 4 "$NADDR" rx4
        else
            tapack_ceiling "$i" 4 "$NADDR" rx4; tapack_ceiling "$i" 6 "$NADDR6" rx6
        fi
    fi
done
ip netns list | grep -q '^bnch_' && echo "WARNING: the anchors left a namespace behind" >&2

# --- the anchors' per-run lines ------------------------------------------------------------
LW_MB=(); LW_SEND=(); LW_CPU=(); CEIL_MB=(); CEIL_SEND=(); CEIL_CPU=(); TX_MB=()
while read -r line; do
    LW_MB+=("$(field MBps "${line%%|*}")"); LW_CPU+=("$(field lwip_cpu_s "$line")")
    LW_SEND+=("$(field MBps "${line#*sender:}")")
done < <(grep -E '^  run [0-9]+: lwip_tap ' "$WORK/lwip.out")
while read -r line; do
    CEIL_MB+=("$(field MBps "${line%%|*}")"); CEIL_CPU+=("$(field receiver_cpu_s "$line")")
    CEIL_SEND+=("$(field MBps "${line#*sender:}")")
done < <(grep -E '^  run [0-9]+: tap_tcp ' "$WORK/tap.out")
VNET_MB=(); VNET_SEND=(); VNET_CPU=()
while read -r line; do
    VNET_MB+=("$(field MBps "${line%%|*}")"); VNET_CPU+=("$(field receiver_cpu_s "$line")")
    VNET_SEND+=("$(field MBps "${line#*sender:}")")
done < <(grep -E '^  run [0-9]+: tap_tcp ' "$WORK/vnet.out")
while read -r line; do  # the payload the kernel's UDP socket received (1472 B per frame), in MB/s
    TX_MB+=("$(awk -v g="$(field Gbps_payload "${line#*kernel:}")" 'BEGIN{printf "%.1f", g*1000/8}')")
done < <(grep -E '^  run [0-9]+: writer: tap_tx ' "$WORK/tap.out")
{ echo "  anchors lwip_tap MBps (receiver / blast sender) per round: ${LW_MB[*]:-} / ${LW_SEND[*]:-}"
  echo "  anchors tcp_ack2 MBps (receiver / blast sender) per round: ${CEIL_MB[*]:-} / ${CEIL_SEND[*]:-}"
  echo "  anchors tcp_vnet_ack2 MBps (receiver / blast sender) per round: ${VNET_MB[*]:-} / ${VNET_SEND[*]:-}"
  echo "  anchors tx_udp1472 kernel-received payload MB/s per round: ${TX_MB[*]:-}"; } >>"$LOG"

# --- the table -----------------------------------------------------------------------------
lw=$(median "${LW_SEND[@]}"); ce=$(median "${CEIL_SEND[@]}"); txc=$(median "${TX_MB[@]}"); cv=$(median "${VNET_SEND[@]}")
per_gib() { awk -v c="$1" -v b="$BYTES" 'BEGIN{ if (c ~ /^[0-9.]+$/) printf "%.2f", c*1073741824/b; else print "–" }'; }
cpu_lw=$(per_gib "$(median "${LW_CPU[@]}")"); cpu_ce=$(per_gib "$(median "${CEIL_CPU[@]}")")
cpu_cv=$(per_gib "$(median "${VNET_CPU[@]}")")
gbit() { awk -v m="$1" 'BEGIN{ if (m ~ /^[0-9.]+$/) printf "%.2f", m*8/1000; else print "–" }'; }

[ "$TAP_ON" = 1 ] && {
echo
echo "### NetStack over TAP vs. the anchors — $(date -u +%Y-%m-%dT%H:%M:%SZ), $RUNS rounds, pin=${PIN:-none}, $BYTES B per transfer, offload: $OFFLOADS"
echo
echo "| metric | NetStack median (min–max) | lwIP on TAP | ceiling | NetStack / lwIP | NetStack / ceiling |"
echo "|---|---|---|---|---|---|"
for mode in $OFFLOADS; do
    rx=($(got "$mode" rx)); tx=($(got "$mode" tx))
    rx_med=$(median "${rx[@]}"); tx_med=$(median "${tx[@]}")
    cpu_rx=$(per_gib "$(median $(got "$mode" rx_cpu))"); cpu_tx=$(per_gib "$(median $(got "$mode" tx_cpu))")
    tag="offload $mode"; [ -n "$(got "$mode" refused)" ] && tag+=" (refused: per-frame)"
    if [ "$mode" = off ]; then
        ceil_rx="$(range 1 "${CEIL_SEND[@]}") tcp_ack2"; c_rx="$ce"; ceil_cpu="$cpu_ce"
        ceil_tx="$(range 1 "${TX_MB[@]}") tx_udp1472"; c_tx="$txc"
    else
        ceil_rx="$(range 1 "${VNET_SEND[@]}") tcp_vnet_ack2"; c_rx="$cv"; ceil_cpu="$cpu_cv"
        ceil_tx="$(range 1 $(got gso tx)) tapgsotx"; c_tx=$(median $(got gso tx))
    fi
    echo "| kernel → stack, MB/s, $tag | $(range 1 "${rx[@]}") | $(range 1 "${LW_SEND[@]}") | $ceil_rx | $(ratio "$rx_med" "$lw") | $(ratio "$rx_med" "$c_rx") |"
    echo "| stack CPU s per GiB received, $tag | $cpu_rx | $cpu_lw | $ceil_cpu | $(ratio "$cpu_rx" "$cpu_lw") | $(ratio "$cpu_rx" "$ceil_cpu") |"
    echo "| stack → kernel, MB/s, $tag | $(range 1 "${tx[@]}") | – | $ceil_tx | – | $(ratio "$tx_med" "$c_tx") |"
    echo "| stack CPU s per GiB sent, $tag | $cpu_tx | – | – | – | – |"
    for bp in $BUSY_POLL; do
        rt=($(got "$mode" "rt_bp$bp")); rt_med=$(median "${rt[@]}"); bptag="$tag, busy-poll $bp µs"
        echo "| 1-byte round trip, µs (mean), $bptag | $(range 2 "${rt[@]}") | – | kernel veth 52.13 (one cpu 13.87)¹ | – | $(ratio "$rt_med" 52.13) × kernel veth |"
        echo "| round trip p50 / p99, µs, $bptag | $(fmt "$(median $(got "$mode" "p50_bp$bp"))") / $(fmt "$(median $(got "$mode" "p99_bp$bp"))") | – | kernel veth 54.4 / 71.6¹ | – | – |"
        echo "| stack CPU µs per round trip, $bptag | $(fmt "$(median $(got "$mode" "rt_cpu_bp$bp"))" 2) | – | – | – | – |"
    done
done
echo
echo "kernel → stack: \`blast tcp\` (the anchors' sender) into NetStack's discard service, lwIP's and tcp_ack2's"
echo "receivers; MB/s as blast reports it (connect to the peer's FIN), the same tool for all three."
echo "stack → kernel: \`curl\` downloading the file from NetStack's HTTP server; ceiling = UDP payload the kernel"
echo "received from one write() per 1514-byte frame. Round trip: \`rr pingpong\` against NetStack's echo service,"
echo "with \`serve --busy-poll\` each of: $BUSY_POLL µs (0 = sleeping in epoll_wait between frames; its CPU time counts the spinning)."
echo "Offload on: serve --offload on (virtio-net headers, TSO4, TSO6 + checksum offload): the kernel hands over and"
echo "cuts TCP super-segments of up to 64 KiB; its ceiling tcp_vnet_ack2 is the do-nothing receiver with IFF_VNET_HDR,"
echo "and tapgsotx the do-nothing sender of prebuilt 64 KiB TSO frames (into socat; the kernel delivers them uncut)."
for mode in $OFFLOADS; do
    rx_med=$(median $(got "$mode" rx)); tx_med=$(median $(got "$mode" tx))
    echo "Offload $mode in Gbit/s: kernel → NetStack $(gbit "$rx_med"), NetStack → kernel $(gbit "$tx_med");" \
         "floor (faster than lwIP on TAP): $(awk -v a="$rx_med" -v b="$lw" 'BEGIN{ if (a+0>0 && b+0>0) print (a>b ? "met" : "NOT met"); else print "not measured" }')."
done
echo "Download integrity (sha256 of one full download): ${VERIFY:-not checked}; serve exit statuses after SIGTERM: ${SERVE_EXITS[*]:-none}."
echo "¹ kernel TCP over veth, ../shared/anchors/README.md §2 (02_kernel_rr.sh, pin none), not re-measured here."
echo "Per-run lines: $LOG; the anchors' own logs: $RES_DIR/lwip.txt, $RES_DIR/tap.txt (tcp_vnet_ack2 there too)."
} | tee -a "$LOG"

# NetStack over TUN: no anchors, no ceilings, no round trip (TAP only); beside NetStack over TAP, same rounds.
[ "$TUN_ON" = 1 ] && {
echo
echo "### NetStack over TUN vs. NetStack over TAP — $(date -u +%Y-%m-%dT%H:%M:%SZ), $RUNS rounds, pin=${PIN:-none}, $BYTES B per transfer, offload: $OFFLOADS"
echo
echo "| metric | NetStack over TUN median (min–max) | NetStack over TAP median (min–max) | TUN / TAP |"
echo "|---|---|---|---|"
for mode in $OFFLOADS; do
    tag="offload $mode"; [ -n "$(got "tun-$mode" refused)" ] && tag+=" (refused: per-frame)"
    [ -n "$(got "$mode" refused)" ] && tag+=" (TAP refused: per-frame)"
    for row in "kernel → NetStack, MB/s:rx:1" "NetStack CPU s per GiB received:rx_cpu:cpu" \
               "NetStack → kernel, MB/s:tx:1" "NetStack CPU s per GiB sent:tx_cpu:cpu"; do
        IFS=: read -r label key d <<<"$row"
        vu=($(got "tun-$mode" "$key")); va=($(got "$mode" "$key"))
        if [ "$d" = cpu ]; then
            cu=$(per_gib "$(median "${vu[@]}")"); ca=$(per_gib "$(median "${va[@]}")")
            echo "| NetStack over TUN, $label, $tag | $cu | $ca | $(ratio "$cu" "$ca") |"
        else
            ra="–"; [ "$TAP_ON" = 1 ] && ra=$(range "$d" "${va[@]}")
            echo "| NetStack over TUN, $label, $tag | $(range "$d" "${vu[@]}") | $ra |" \
                 "$(ratio "$(median "${vu[@]}")" "$(median "${va[@]}")") |"
        fi
    done
done
echo "| NetStack over TUN, 1-byte round trip | – (TAP only) | see the TAP table | – |"
echo
echo "Over TUN: \`netstack serve --tun $TUN_DEV --address $NADDR/24\` with the TAP's flags but --mac, on $TUN_DEV in namespace"
echo "$NS (point-to-point, kernel side $KADDR peer $NADDR; created for each serve, deleted after it); kernel → NetStack:"
echo "the same \`blast tcp\` into the discard service, NetStack → kernel: curl of the same file; CPU per GiB as for TAP."
echo "There are no TUN anchors: lwIP, the ceilings (tcp_ack2, tcp_vnet_ack2, tx_udp1472, tapgsotx, tapack) and the"
echo "1-byte round trip are measured on TAP only; the TAP column is NetStack over TAP in the same rounds (– without TAP)."
for mode in $OFFLOADS; do
    echo "TUN offload $mode in Gbit/s: kernel → NetStack $(gbit "$(median $(got "tun-$mode" rx))"), NetStack → kernel $(gbit "$(median $(got "tun-$mode" tx))")."
done
vt="${VERIFY_TUN%; }"
echo "Download integrity over TUN (sha256 of one full download): ${vt:-not checked}; serve exit statuses after SIGTERM: ${SERVE_EXITS_TUN[*]:-none}."
echo "Per-run lines: $LOG (the TUN ones say device=tun)."
} | tee -a "$LOG"

[ "$V6" = 1 ] || exit 0
v6_table() {  # v6_table tap|tun: IPv4 and IPv6 medians side by side, per direction and offload mode
    local kind="$1" k="" dname=TAP
    [ "$kind" = tun ] && { k="tun-"; dname=TUN; }
{
echo
echo "### IPv6 vs. IPv4 over $dname, same serve, interleaved — $RUNS rounds, $BYTES B per transfer"
echo
echo "| direction, offload | IPv4 MB/s median (min–max) | IPv6 MB/s median (min–max) | IPv6 / IPv4 | stack CPU s per GiB, IPv4 / IPv6 |"
echo "|---|---|---|---|---|"
for mode in $OFFLOADS; do
    tag="offload $mode"; [ -n "$(got "$k$mode" refused)" ] && tag+=" (refused: per-frame)"
    for pair in "kernel → stack (tcpsend):rx4s:rx6" "stack → kernel (curl):tx:tx6"; do
        IFS=: read -r label k4 k6 <<<"$pair"
        v4=($(got "$k$mode" "$k4")); v6=($(got "$k$mode" "$k6"))
        echo "| $label, $tag | $(range 1 "${v4[@]}") | $(range 1 "${v6[@]}") |" \
             "$(ratio "$(median "${v6[@]}")" "$(median "${v4[@]}")") |" \
             "$(per_gib "$(median $(got "$k$mode" "${k4}_cpu"))") / $(per_gib "$(median $(got "$k$mode" "${k6}_cpu"))") |"
    done
    if [ "$mode" = off ] && [ "$kind" = tap ]; then
        v4=($(got ack rx4)); v6=($(got ack rx6))
        echo "| do-nothing receiver (tapack), offload off | $(range 1 "${v4[@]}") | $(range 1 "${v6[@]}") |" \
             "$(ratio "$(median "${v6[@]}")" "$(median "${v4[@]}")") |" \
             "$(per_gib "$(median $(got ack rx4_cpu))") / $(per_gib "$(median $(got ack rx6_cpu))") |"
    fi
done
echo
echo "IPv4 and IPv6 share the serve process, the device and the file; in each round every IPv6 transfer runs next"
echo "to its IPv4 twin, IPv4 first in odd rounds and IPv6 first in even ones. kernel → stack: Benchmarks/ceilings/tcpsend.c"
echo "(64 KiB writes, shutdown, the peer's FIN) into the discard service at $NADDR and at $NADDR6; stack → kernel:"
echo "curl -4 and curl -6 of the same file."
if [ "$ACK_ROW" = 1 ] && [ "$kind" = tap ]; then
    echo "do-nothing receiver (tapack): the same tcpsend into Benchmarks/ceilings/tapack.c on the same tap0 (serve stopped),"
    echo "a receiver that does nothing but ACK (every ${TAPACK_EVERY} data frames, TAPACK_EVERY, and when the queue is drained; one read() per frame, no"
    echo "checksums checked), as $NADDR and as $NADDR6 with the same TCP options, in each round after NetStack and in the"
    echo "same alternating order: the kernel's own IPv6/IPv4 ratio into a TAP, for NetStack's offload-off kernel → stack row"
    echo "to be read against. Its CPU column is tapack's own."
fi
if [ "$kind" = tun ]; then
    echo "Over TUN: tun0 is $KADDR6 peer $NADDR6 on the kernel side; there is no do-nothing receiver for TUN (tapack is TAP only)."
fi
} | tee -a "$LOG"
}
[ "$TAP_ON" = 1 ] && v6_table tap
[ "$TUN_ON" = 1 ] && v6_table tun
exit 0
