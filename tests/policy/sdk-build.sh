#!/bin/bash
# A third party builds a policy against the installed SDK only: install
# the headers and devbroker-policy.pc (meson install --tags devel) into a
# staging root, take the tutorial's example out of docs/writing-a-policy.md
# and build it the way the tutorial says, with pkg-config's flags.  TAP.
# usage: sdk-build.sh BUILD_DIR CLANG TUTORIAL
set -u
build=$1 clang=$2 doc=$3
bpftool=$(command -v bpftool || echo /usr/sbin/bpftool)
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else notok "$d"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

meson install -C "$build" --no-rebuild --tags devel --destdir "$tmp/root" > "$tmp/install.log" 2>&1
check "meson install --tags devel stages the SDK" [ $? = 0 ]
pc=$(find "$tmp/root" -name devbroker-policy.pc | head -n1)
check "devbroker-policy.pc is installed ($pc)" [ -n "$pc" ]
hdr=$(find "$tmp/root" -path '*/devbroker/policy.h' | head -n1)
check "<devbroker/policy.h> is installed" [ -n "$hdr" ]
check "<linux/devbroker.h> is installed" [ -n "$(find "$tmp/root" -path '*/linux/devbroker.h')" ]
# The staged prefix: what --prefix would have been, under the staging root.
prefix=$(sed -n 's/^prefix=//p' "$pc")
export PKG_CONFIG_PATH=$(dirname "$pc")
cflags=$(pkg-config --define-variable=prefix="$tmp/root$prefix" --cflags devbroker-policy 2>"$tmp/pc.err")
check "pkg-config --cflags devbroker-policy: $cflags" [ -n "$cflags" ]
check "the include path points into the staged root, not the source tree" \
	bash -c "[[ '$cflags' == *'$tmp/root'* && '$cflags' != *'$(cd "$(dirname "$0")/../.." && pwd)'* ]]"

# The tutorial's example: the code block after "<!-- file: NAME -->".
awk '/<!-- file: edu_quiet.bpf.c -->/ { f = 1; next } f && /^```c/ { p = 1; next }
     p && /^```/ { exit } p { print }' "$doc" > "$tmp/edu_quiet.bpf.c"
check "the tutorial has the example policy ($(wc -l < "$tmp/edu_quiet.bpf.c") lines)" [ -s "$tmp/edu_quiet.bpf.c" ]
# shellcheck disable=SC2086
( cd "$tmp" && "$clang" -target bpf -O2 -g -mcpu=v3 -Wall -Werror $cflags \
	-c edu_quiet.bpf.c -o edu_quiet.tmp.o ) > "$tmp/cc.log" 2>&1
rc=$?
check "clang -target bpf \$(pkg-config --cflags devbroker-policy) builds it" [ $rc = 0 ]
[ $rc = 0 ] || sed 's/^/# /' "$tmp/cc.log"
"$bpftool" gen object "$tmp/edu_quiet.bpf.o" "$tmp/edu_quiet.tmp.o" > "$tmp/gen.log" 2>&1
check "bpftool gen object links it" [ $? = 0 ]
secs=$(llvm-objdump -h "$tmp/edu_quiet.bpf.o" 2>/dev/null || objdump -h "$tmp/edu_quiet.bpf.o")
check "it has a program on raw_tp.w/dbk_policy_grant" grep -q 'raw_tp.w/dbk_policy_grant' <<<"$secs"
check "it has a program on raw_tp.w/dbk_policy_access" grep -q 'raw_tp.w/dbk_policy_access' <<<"$secs"
check "it has BTF (for dbk-policy --map)" grep -q '\.BTF' <<<"$secs"
echo "1..$n"
[ $failed = 0 ]
