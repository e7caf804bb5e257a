#!/bin/bash
# The SDK's ABI (TAP): libdevbroker.so exports exactly the symbols of its
# version script, each in a DEVBROKER_ node, and matches the baseline in
# libdev/abi/ (abidiff from abigail-tools: no symbol removed, no public type
# changed).  A change that only adds symbols (in a new node) updates the
# baseline on purpose:
#   tests/abi-check.sh BUILD_DIR SRC_ROOT --update
# usage: abi-check.sh BUILD_DIR SRC_ROOT [--update]
build=$1 src=$2
lib=$build/libdev/libdevbroker.so.1
sym=$src/libdev/libdevbroker.sym
base=$src/libdev/abi/libdevbroker.abi
hdrs=(--headers-dir2 "$src/libdev/include/devbroker" --headers-dir2 "$src/kmod/include/uapi/linux")
# Locations as file names only: the baseline must not depend on the clone's path.
abidw_opts=(--no-corpus-path --no-comp-dir-path --short-locs)

if [ "${3:-}" = --update ]; then
	abidw "${abidw_opts[@]}" "$lib" > "$base" && echo "wrote $base"
	exit
fi

n=0 failed=0
result() {	# result OK DESCRIPTION [DETAILS]
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
	[ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"
	return 0
}

# Defined, global, dynamic symbols: name@@version.
exported=$(readelf --dyn-syms -W "$lib" | awk '$5 == "GLOBAL" && $7 != "UND" && $7 != "ABS" { print $8 }' | sort)
names=$(sed 's/@.*//' <<<"$exported")
listed=$(sed -n 's/^\t\(dbk_[a-z0-9_]*\);$/\1/p' "$sym" | sort)
diff=$(diff <(echo "$listed") <(echo "$names"))
result $? "the library exports exactly the version script's $(wc -l <<<"$listed") symbols" "$diff"
unversioned=$(grep -v '@@DEVBROKER_[0-9.]*$' <<<"$exported")
[ -z "$unversioned" ]
result $? "every export has a DEVBROKER_ version" "$unversioned"
# Nothing internal leaks through the static pieces linked in (dbk__*, libfuse...).
leaked=$(grep -v '^dbk_' <<<"$names"; grep '^dbk__' <<<"$names")
[ -z "$leaked" ]
result $? "no internal symbol is exported" "$leaked"

if ! command -v abidiff >/dev/null; then
	echo "ok $((n + 1)) # SKIP abidiff (abigail-tools) not installed"
	n=$((n + 1))
elif ! readelf -S -W "$lib" | grep -q '\.debug_info'; then
	echo "ok $((n + 1)) # SKIP the library has no debug info (buildtype without -g)"
	n=$((n + 1))
else
	out=$(abidiff "${hdrs[@]}" "$base" "$lib" 2>&1)
	rc=$?
	result $rc "the ABI matches libdev/abi/libdevbroker.abi (abidiff status $rc)" \
		"$([ $rc = 0 ] || printf '%s\n%s' "$out" "If only symbols were added (in a new version node): $0 BUILD_DIR SRC_ROOT --update")"
fi
echo "1..$n"
exit $failed
