#!/bin/sh
# `ingot inspect --verify` streams a 1 GiB engine in bounded memory: peak RSS under 64 MiB
# (GNU time's "Maximum resident set size"). Also: synth, STREAM through the CLI, a corrupt
# weight named by --verify. Usage: test_verify_rss.sh INGOT WORKDIR
ingot="$1"; work="$2"; tmp=$(mktemp -d "$work/verify.XXXXXX"); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
ok()  { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
if [ ! -x /usr/bin/time ]; then
  echo "SKIP: /usr/bin/time is missing (Debian package 'time'; make deps installs it)"; exit 77
fi
avail_kb=$(df -Pk "$tmp" | awk 'NR == 2 { print $4 }')
if [ "${avail_kb:-0}" -lt 131072 ]; then
  echo "SKIP: $tmp has ${avail_kb} KiB free, the sparse 1 GiB engine needs about 64 MiB"; exit 77
fi

# Sparse: the weights are holes but for 4 KiB at each end, so writing takes little disk; the
# verifier still reads and hashes all 1 GiB.
"$ingot" synth 1g --sparse -o "$tmp/1g.engine" >/dev/null 2>"$tmp/err" && ok || bad "synth 1g: $(cat "$tmp/err")"
size=$(stat -c %s "$tmp/1g.engine" 2>/dev/null || echo 0)
[ "$size" -ge 1073741824 ] && ok || bad "1g engine is $size bytes"
/usr/bin/time -v "$ingot" inspect --verify "$tmp/1g.engine" >"$tmp/out" 2>"$tmp/time" && ok || bad "verify 1g: $(cat "$tmp/out" "$tmp/time")"
rss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$tmp/time")
echo "inspect --verify of $size bytes: peak RSS ${rss} KiB; $(cat "$tmp/out")"
[ -n "$rss" ] && [ "$rss" -lt 65536 ] && ok || bad "peak RSS ${rss} KiB, limit 65536 KiB"

# A flipped byte at the end of the last weight (w15): --verify names it and exits 1.
printf '\001' | dd of="$tmp/1g.engine" bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
if "$ingot" inspect --verify "$tmp/1g.engine" >/dev/null 2>"$tmp/err"; then
  bad "verify of a corrupt engine exited 0"
else
  grep -q "'w15'" "$tmp/err" && [ "$(wc -l < "$tmp/err")" -eq 1 ] && ok || bad "corrupt verify: $(cat "$tmp/err")"
fi

# A small runnable engine through every load mode, STREAM through the CLI's FILE* reader.
"$ingot" synth tiny -o "$tmp/tiny.engine" >/dev/null && ok || bad "synth tiny"
for m in auto read mmap stream; do
  "$ingot" run "$tmp/tiny.engine" --load-mode $m --load-stats >"$tmp/run.$m" 2>&1 && ok || bad "run --load-mode $m: $(cat "$tmp/run.$m")"
  grep -q "^loaded .*($([ $m = auto ] && echo mmap || echo $m))" "$tmp/run.$m" && ok || bad "load stats for $m: $(cat "$tmp/run.$m")"
done
grep -v '^loaded\|^ran' "$tmp/run.read" > "$tmp/a"; grep -v '^loaded\|^ran' "$tmp/run.stream" > "$tmp/b"
grep -q "^output .y.: f32 \[1,64\]" "$tmp/a" && cmp -s "$tmp/a" "$tmp/b" && ok || bad "stream and read outputs differ"
"$ingot" synth nope -o "$tmp/x.engine" 2>"$tmp/err" && bad "unknown synth name accepted" || ok
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
