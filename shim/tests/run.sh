#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the tests of libkmemlab-malloc: every tests/t_* program (each a
# kselftest_harness.h program, one TAP line per test) under LD_PRELOAD, then
# unmodified programs (sort, gzip, find, python3) with and without the
# library, comparing their output. Prints one flat TAP stream (each
# program's results renumbered, its other lines and its stderr, where the
# harness logs failures, as "# " comments) and ends with "N passed, N
# failed"; exits 1 on failure.
#
# Environment: KMEMLAB_MALLOC_BACKEND (default sys: the host tests),
# KMM_HOSTBIN (where sort, gzip, find and python3 are, default /usr/bin; the
# VM has copies of the host's in /kmemlab/host/bin, and its busybox applets
# would be static), KMM_FIND_DIR (the tree find walks, default /usr/include).

cd "$(dirname "$0")/.." || exit 1
LIB=$(pwd)/libkmemlab-malloc.so
export KMEMLAB_MALLOC_BACKEND=${KMEMLAB_MALLOC_BACKEND:-sys}
BIN=${KMM_HOSTBIN:-/usr/bin}
FIND_DIR=${KMM_FIND_DIR:-/usr/include}
HEAPS=/sys/kernel/debug/kmemlab/heaps
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

note() { printf '# %s\n' "$*"; }
result() {	# result STATUS NAME
	if [ "$1" = 0 ]; then
		pass=$((pass + 1))
		echo "ok $((pass + fail)) $2"
	else
		fail=$((fail + 1))
		echo "not ok $((pass + fail)) $2"
	fi
}

echo "TAP version 13"
note "libkmemlab-malloc on the $KMEMLAB_MALLOC_BACKEND backend"
for t in tests/t_*; do
	case $t in *.c) continue ;; esac
	[ -x "$t" ] || continue
	# stdout is unbuffered (shim_test.h): both streams stay in order.
	LD_PRELOAD=$LIB timeout 1200 "./$t" >"$tmp/out" 2>&1
	rc=$?
	p=0 f=0
	while IFS= read -r line; do
		case $line in
		"ok "*) p=$((p + 1)); result 0 "${t#tests/}: ${line#ok [0-9]* }" ;;
		"not ok "*) f=$((f + 1)); result 1 "${t#tests/}: ${line#not ok [0-9]* }" ;;
		"TAP version "* | 1..*) ;;
		*) note "$line" ;;
		esac
	done <"$tmp/out"
	if [ "$rc" != 0 ] && [ "$f" = 0 ] || [ "$p$f" = 00 ]; then
		result 1 "${t#tests/} exited with status $rc"
	fi
done

note "unmodified programs under LD_PRELOAD"
seq 1 200000 | awk '{ print ($1 * 7919) % 100003, $1 }' >"$tmp/in"
preload() { LD_PRELOAD=$LIB "$@"; }

"$BIN/sort" -n "$tmp/in" >"$tmp/a" && preload "$BIN/sort" -n "$tmp/in" >"$tmp/b" &&
	cmp -s "$tmp/a" "$tmp/b"
result $? "sort -n of 200000 lines: same output"

"$BIN/gzip" -9c "$tmp/in" >"$tmp/a.gz" && preload "$BIN/gzip" -9c "$tmp/in" >"$tmp/b.gz" &&
	cmp -s "$tmp/a.gz" "$tmp/b.gz" && preload "$BIN/gzip" -dc "$tmp/b.gz" | cmp -s - "$tmp/in"
result $? "gzip -9 and gzip -d: same output, round trip"

"$BIN/find" "$FIND_DIR" -name '*.py' -o -name '*.h' | sort >"$tmp/a" &&
	preload "$BIN/find" "$FIND_DIR" -name '*.py' -o -name '*.h' | sort >"$tmp/b" &&
	[ -s "$tmp/a" ] && cmp -s "$tmp/a" "$tmp/b"
result $? "find $FIND_DIR: same output"

PY=$BIN/python3
cat >"$tmp/t.py" <<'PYEOF'
import ctypes, hashlib, json, threading
d = {str(i): [i] * (i % 50) for i in range(20000)}
s = json.dumps(d, sort_keys=True)
out = []
def work(n):
    out.append(hashlib.sha256((s * (n + 1)).encode()).hexdigest())
ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in ts: t.start()
for t in ts: t.join()
b = bytearray()
for i in range(2000):
    b += bytes(i % 256 for _ in range(i % 300))
print(len(s), sorted(out), hashlib.md5(b).hexdigest())
try:
    f = ctypes.CDLL(None).kml_malloc_backend
    f.restype = ctypes.c_char_p
    print("shim", f(), file=__import__("sys").stderr)
except AttributeError:
    print("no shim", file=__import__("sys").stderr)
PYEOF
"$PY" "$tmp/t.py" >"$tmp/a" 2>/dev/null && preload "$PY" "$tmp/t.py" >"$tmp/b" 2>"$tmp/e" &&
	cmp -s "$tmp/a" "$tmp/b" && grep -q "shim b'$KMEMLAB_MALLOC_BACKEND'" "$tmp/e"
result $? "python3 (json, hashlib, threads): same output, shim active"

if [ "$KMEMLAB_MALLOC_BACKEND" = kmemlab ] && [ -r "$HEAPS" ]; then
	# sort holds its input in the heap until the writer closes the fifo.
	mkfifo "$tmp/fifo"
	LD_PRELOAD=$LIB "$BIN/sort" "$tmp/fifo" >"$tmp/sorted" &
	exec 3>"$tmp/fifo"
	cat "$tmp/in" >&3
	# sort has read all but the pipe's last buffer: wait (up to a minute
	# on a slow guest) until its heap has pages.
	for _ in $(seq 600); do
		line=$(awk -v pid=$! '$1 == pid && $8 > 0' "$HEAPS")
		[ -n "$line" ] && break
		sleep 0.1
	done
	exec 3>&-
	wait
	note "heaps: $line"
	"$BIN/sort" "$tmp/in" | cmp -s - "$tmp/sorted"
	same=$?
	set -- $line
	[ "$2" = sort ] && [ "${8:-0}" -gt 0 ] && [ "$same" = 0 ]
	result $? "debugfs heaps shows sort's heap while it runs (${8:-0} pages resident)"
fi

echo "1..$((pass + fail))"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
