#!/bin/bash
# SPDX-License-Identifier: ISC
# What one connection costs in switchboard-handler, measured: fork + exec
# floors, CPUID traps in glibc's start-up, instructions (callgrind),
# system calls (strace -c), PSS by mapping at N idle connections, and the
# bytes each linked library brings.  Run by bench/run.sh; prints
# "COST key=value" lines (read by bench/report.mjs) and detail sections.
set -uo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
ROOT=$PWD
B=$ROOT/build/bench
HANDLER=${HANDLER:-$ROOT/build/switchboard-handler}
# musl (the default build) or glibc (make HANDLER_LIBC=glibc): a static
# glibc program carries the GNU ABI tag note, a musl one does not.
if [ -z "${HANDLER_LIBC:-}" ]; then
	HANDLER_LIBC=musl
	readelf -n "$HANDLER" 2>/dev/null | grep -q NT_GNU_ABI_TAG &&
	    HANDLER_LIBC=glibc
fi
HUBBIN=${HUBBIN:-$ROOT/build/switchboard-hub}
QUICK=${QUICK:-0}
HOLD=${HOLD:-$([ "$QUICK" = 1 ] && echo 300 || echo 1000)}
PORT=${BENCH_COST_PORT:-18690}
T=$(mktemp -d /tmp/sb-cost.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null

bench_config "$T/sb.conf" "$T"
SWITCHBOARD_LOG_STDERR=1 "$HUBBIN" -s "$T/hub.sock" -C "$T/ctl.sock" \
    -c "$T/sb.conf" 2>"$T/hub.log" &
PIDS+=($!)
wait_socket "$T/hub.sock"
export SWITCHBOARD_HUB_SOCKET=$T/hub.sock

# Run one handler under systemd-socket-activate with a wrapper (valgrind,
# strace) for one WebSocket connection: handshake on /chat, close.
one_conn() {
	local p=$1
	shift
	activator_start "$p" "$T/sa1.log" "$T/hub.sock" "$@"
	local sa=$ACTIVATOR
	"$B/wsload" churn -p "$p" -n 1 -c 1 --timeout 30 >/dev/null 2>&1
	for _ in $(seq 100); do pgrep -P "$sa" >/dev/null || break; sleep 0.1; done
	kill "$sa" 2>/dev/null
	wait "$sa" 2>/dev/null
}

echo "COST handler libc=$HANDLER_LIBC path=$HANDLER"
echo "== fork + exec + exit + wait, mean of 2000 (stdin /dev/null)"
for prog in "$B/nolibc" "$B/echo-musl" "$B/echo" "$HANDLER"; do
	[ -x "$prog" ] && "$B/spawncost" 2000 "$prog" | sed 's/^/COST /'
done
echo "(nolibc: no libc at all; echo-musl and echo: bench/echo.c linked"
echo " statically with musl and with glibc)"
echo "(the handler run reads EOF at once: it connects to the hub, gets the"
echo " settings, says hello and quits; no WebSocket work)"

echo
echo "== CPUID: each one traps to the hypervisor here"
"$B/spawncost" --cpuid | sed 's/^/COST /'
for prog in "$B/echo-musl" "$B/echo" "$HANDLER"; do
	[ -x "$prog" ] || continue
	script=$T/gdb.cmd
	{
		echo 'set pagination off'
		echo 'set $n = 0'
		for a in $(objdump -d "$prog" | awk '/\tcpuid/{sub(":","",$1); print $1}'); do
			printf 'break *0x%s\ncommands\nsilent\nset $n = $n + 1\ncontinue\nend\n' "$a"
		done
		echo 'run < /dev/null > /dev/null 2>&1'
		echo 'printf "cpuid_executed=%d\n", $n'
	} >"$script"
	n=$(gdb -batch -nx -x "$script" --args "$prog" 2>/dev/null |
	    sed -n 's/^cpuid_executed=//p')
	echo "COST cpuid prog=$prog executed=${n:-?} static_sites=$(objdump -d "$prog" | grep -c $'\tcpuid')"
done

echo
echo "== instructions for one WebSocket connection (valgrind --tool=callgrind)"
one_conn "$PORT" valgrind --tool=callgrind --callgrind-out-file="$T/cg.%p" "$HANDLER"
cg=$(ls "$T"/cg.* 2>/dev/null | head -1)
if [ -n "$cg" ]; then
	callgrind_annotate --inclusive=yes "$cg" 2>/dev/null >"$T/cg.txt"
	total=$(awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1; exit}' "$T/cg.txt")
	inmain=$(awk '$3 ~ /main\.c:main$/ {gsub(",","",$1); print $1; exit}' "$T/cg.txt")
	hub=$(awk '$3 ~ /hublink_connect$/ {gsub(",","",$1); print $1; exit}' "$T/cg.txt")
	cfg=$(awk '$3 ~ /config_apply_msg$/ {gsub(",","",$1); print $1; exit}' "$T/cg.txt")
	echo "COST instr total=$total main=$inmain libc_startup=$((total - ${inmain:-0})) hub_connect=$hub config_apply=$cfg"
	echo "top functions (inclusive):"
	grep -E '^ *[0-9,]+ \(' "$T/cg.txt" | grep -v '\[' | sed -n '2,16p'
fi

echo
echo "== system calls for one WebSocket connection (strace -f -c)"
one_conn $((PORT + 1)) strace -f -c -o "$T/strace.txt" "$HANDLER"
if [ -f "$T/strace.txt" ]; then
	tot=$(awk '$NF == "total" {print $4 + 0; exit}' "$T/strace.txt")	# % time, seconds, usecs/call, calls
	echo "COST syscalls total=$tot"
	sed -n '1,30p' "$T/strace.txt" | grep -v '^-' | head -25
fi

echo
echo "== PSS of $HOLD idle handlers (logged in, in the room), by mapping"
activator_start $((PORT + 2)) "$T/sa.log" "$T/hub.sock" "$HANDLER"
SA=$ACTIVATOR
PIDS+=($SA)
"$B/wsload" hold -p $((PORT + 2)) --steps "$HOLD" --linger 20 --timeout 200 \
    >"$T/hold.out" 2>&1 &
W=$!
PIDS+=($W)
for _ in $(seq 2000); do grep -q RESULT "$T/hold.out" && break; sleep 0.1; done
for k in $(pgrep -P "$SA"); do
	awk -v pid="$k" '
	/^[0-9a-f]+-[0-9a-f]+ /{ name = $6; perm = $2 }
	/^Pss:/ {
		if (name == "[heap]") h += $2
		else if (name == "[stack]") s += $2
		else if (name == "") a += $2
		else if (name ~ /^\[/) o += $2
		else if (perm ~ /w/) d += $2
		else if (perm ~ /x/) x += $2
		else r += $2
	}
	END { printf "%d %d %d %d %d %d %d\n", x, r, d, a, h, s, o }' "/proc/$k/smaps"
	awk '/^VmPTE:/{print "PTE", $2}' "/proc/$k/status"
done >"$T/pss.txt"
awk -v n="$HOLD" '
	$1 == "PTE" { pte += $2; np++; next }
	{ x += $1; r += $2; d += $3; a += $4; h += $5; s += $6; o += $7; k++ }
	END {
		if (k == 0) { print "COST pss handlers=0"; exit }
		printf "COST pss handlers=%d text=%.1f rodata=%.1f data=%.1f bss_anon=%.1f heap=%.1f stack=%.1f other=%.1f total=%.1f pte=%.1f\n", k, x/k, r/k, d/k, a/k, h/k, s/k, o/k, (x+r+d+a+h+s+o)/k, pte/np
	}' "$T/pss.txt"
echo "(KiB per handler, averaged; text and rodata are shared by all handlers,"
echo " so their PSS share shrinks as 1/N; page tables (pte) are not in PSS)"
kill "$W" 2>/dev/null
wait "$W" 2>/dev/null
for _ in $(seq 300); do pgrep -P "$SA" >/dev/null || break; sleep 0.1; done

echo
echo "== what each library brings into the static handler (link map, $HANDLER_LIBC)"
if [ "$HANDLER_LIBC" = musl ]; then
	odir=$ROOT/build/musl-obj
	link=(musl-gcc -L"$ROOT/build/musl/prefix/lib")
else
	odir=$ROOT/build/obj
	link=("${CC:-cc}")
fi
objs=$(ls "$odir"/handler/*.o "$odir"/common/*.o 2>/dev/null)
if "${link[@]}" -o "$T/handler-map" $objs -static -lexpat -ljansson -lbsd -lmd \
    -Wl,-Map="$T/handler.map" 2>/dev/null; then
	awk '
	function hex(s,   i, c, v) {
		v = 0; s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	/^ \.(text|rodata|data|bss|tbss|tdata)[. ]/ || /^ \.(text|rodata|data|bss)$/ {
		sec = $1
		if (NF >= 4) { size = $3; file = $4 }
		else { getline; size = $2; file = $3 }
		if (size !~ /^0x/) next
		n = hex(size)
		lib = file
		sub(/\(.*/, "", lib); sub(/.*\//, "", lib)
		if (lib ~ /\.o$/) lib = "switchboard objects"
		kind = (sec ~ /^\.text/) ? "text" : (sec ~ /^\.rodata/) ? "rodata" : (sec ~ /bss/) ? "bss" : "data"
		t[lib, kind] += n; libs[lib] = 1
	}
	END {
		for (l in libs)
			printf "COST lib name=%s text_kib=%.1f rodata_kib=%.1f data_kib=%.1f bss_kib=%.1f\n", l, t[l,"text"]/1024, t[l,"rodata"]/1024, t[l,"data"]/1024, t[l,"bss"]/1024
	}' "$T/handler.map" | sort
	size "$T/handler-map" | sed 's/^/    /'
else
	echo "(could not relink the handler from $odir)"
fi
