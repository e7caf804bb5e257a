# Helpers for the broker VM tests.  Source after tests/vm/lib.sh.
BRK=/tmp/dbk-broker
# devbrokerd, devbrokerctl, the drivers and their manifests as installed in
# the guest (tests/vm/guest-install.sh); devbrokerd's policies and loader are
# its defaults, the installed ones.
CTL=$DBK_PREFIX/sbin/devbrokerctl
BROKER_LOG=$DBK_VM_DIR/devbrokerd.log
export DEVBROKER_SOCKET=/run/devbroker/control

ctl() { "$CTL" "$@"; }
# jq-like: ctl --json ARGS | json EXPR  (EXPR in Python over the parsed reply `r`)
json() { python3 -c "import json,sys; r=json.load(sys.stdin); print($1)"; }

# edu_manifest FILE [extra [Rights] lines...]; EDU_POLICY names its Policy=,
# EDU_DMA_GUARD its DMAGuard= (the same policy, trusted as edu's DMA guard).
edu_manifest() {
	local f=$1; shift
	cat > "$f" <<EOT
[Driver]
Name=$(basename "$f" .conf)
Exec=${EDU_EXEC:-$(manifest_exec edu)}
User=nobody
Restart=on-failure
${EDU_POLICY:+Policy=$EDU_POLICY}
[Match]
PCI=pci:v00001234d000011E8*
[Rights]
BARs=0
MapBARs=0
Interrupts=msi intx
Vectors=1
DMA=${EDU_DMA:-64K}
DMABits=28
UnsafeDMA=yes
${EDU_DMA_GUARD:+DMAGuard=$EDU_DMA_GUARD}
[Frontend]
CUSE=edu%i
CUSEMode=0666
EOT
}

broker_setup() {	# a manifests dir, an etc dir and limits allowing unsafe DMA (no IOMMU here)
	rm -rf "$BRK"; mkdir -p "$BRK/sys" "$BRK/etc"
	cat > "$BRK/limits.conf" <<EOT
[Limits]
MaxDMA=${LIMIT_DMA:-16M}
AllowUnsafeDMA=yes
EOT
}

broker_start() {	# DBK_NO_MODULE=1: without loading devbroker.ko
	[ "${DBK_NO_MODULE:-0}" = 1 ] || dbk_load
	modprobe cuse
	"$DBK_PREFIX/sbin/devbrokerd" --foreground --manifests-dir "$BRK/sys" --etc-dir "$BRK/etc" \
		--limits "$BRK/limits.conf" >> "$BROKER_LOG" 2>&1 &
	BROKER_PID=$!
	for i in $(seq 100); do [ -S /run/devbroker/control ] && return 0; sleep 0.1; done
	cat "$BROKER_LOG"; fail "devbrokerd did not start"
}

broker_stop() {
	kill "$BROKER_PID" 2>/dev/null; wait "$BROKER_PID" 2>/dev/null
}

dev_field() {	# dev_field ID FIELD
	ctl --json status "$1" 2>/dev/null | json "r['device']['$2']" 2>/dev/null
}

# dynamic_uid PID: the driver PID runs as a user of its own (DynamicUser=):
# not root, not nobody, in no user database, its gid the same number.
dynamic_uid() {
	local u g
	u=$(awk '/^Uid:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	g=$(awk '/^Gid:/ {print $2}' "/proc/$1/status" 2>/dev/null)
	[ -n "$u" ] && [ "$u" != 0 ] && [ "$u" != "$(id -u nobody)" ] && [ "$u" = "$g" ] &&
		! getent passwd "$u" > /dev/null
}
as_user() { setpriv --reuid 1000 --regid 1000 --clear-groups "$@"; }
fact() { as_user "$DBK_HELPERS/edu-client" fact "$1" "$2"; }
# The checks run in `bash -c`: give them the helpers.
export BRK CTL BROKER_LOG DBK_BUILD DBK_HELPERS
export -f ctl json dev_field as_user fact wait_for dynamic_uid
