# Shared by the USB campaigns (kill-usb.sh, unplug-usb.sh): the xHCI bed's
# devices, their drivers' manifests, and the load.  Source after
# tests/campaign/lib.sh.
KBD_ALIAS='*ic03isc01ip01*' MOUSE_ALIAS='*ic03isc01ip02*' STICK_ALIAS='*ic08isc06ip50*'
DISK=/run/devbroker/usb-storage/DBK0STICK/disk	# usb-storage.conf's FUSEMount, serial DBK0STICK
export KBD_ALIAS STICK_ALIAS DISK
export -f usb_iface iface_driver

# The modules, and the bed's mouse and stick enumerated.
usb_camp_bed() {
	local m
	for m in xhci_pci usbhid hid_generic evdev uinput usb_storage sd_mod fuse; do modprobe "$m"; done
	wait_for 20 usb_iface "$MOUSE_ALIAS" >/dev/null || fail "no usb-mouse in the bed"
	wait_for 20 usb_iface "$STICK_ALIAS" >/dev/null || fail "no usb-storage stick in the bed"
}

# usb_camp_manifests [SED-EXPR]: usb-hid's and usb-storage's installed
# manifests, the stick bound on sight, SED-EXPR applied.
usb_camp_manifests() {
	sed -e "${1:-}" "$DBK_MANIFESTS/usb-hid.conf" > "$BRK/sys/usb-hid.conf"
	sed -e "s|^AutoBind=no|AutoBind=yes|" -e "${1:-}" \
		"$DBK_MANIFESTS/usb-storage.conf" > "$BRK/sys/usb-storage.conf"
}

# usb_camp_load_start [EXPECT]: the load: keys and motion through QMP (the
# newest keyboard and mouse get them), 20 a second, in USB_INPUT; the disk
# churn on the stick's file, in USB_CHURN.  With EXPECT, the churn proves
# nothing ("idle") unless some of its operations failed while the stick's
# driver was away and some succeeded after.
usb_camp_load_start() {
	(
		local k='{"type":"key","data":{"down":%s,"key":{"type":"qcode","data":"a"}}}'
		local r='{"type":"rel","data":{"axis":"x","value":3}}'
		while :; do
			qmp input-send-event "{\"events\":[$(printf "$k" true),$r]}" >/dev/null 2>&1
			sleep 0.025
			qmp input-send-event "{\"events\":[$(printf "$k" false)]}" >/dev/null 2>&1
			sleep 0.025
		done
	) &
	USB_INPUT=$!
	rm -f "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out"
	python3 tests/campaign/disk-churn.py "$DISK" "$DBK_VM_DIR/churn.stop" "$DBK_VM_DIR/churn.out" \
		${1:+--expect-failures} &
	USB_CHURN=$!
}

# The load stopped, and the churn's verdict as a TAP point: nothing
# acknowledged was lost, and the churn proved something.
usb_camp_load_end() {
	local crc verdict writes reads failed checked uncertain bad
	kill "$USB_INPUT" 2>/dev/null; wait "$USB_INPUT" 2>/dev/null
	touch "$DBK_VM_DIR/churn.stop"
	wait "$USB_CHURN"; crc=$?
	read -r verdict writes reads failed checked uncertain bad < "$DBK_VM_DIR/churn.out" || verdict=none
	echo "# $CAMP_NAME: disk churn: $(cat "$DBK_VM_DIR/churn.out" 2>/dev/null)"
	if [ "$crc" = 0 ] && [ "$verdict" = ok ]; then
		echo "ok - $CAMP_NAME: nothing acknowledged on the stick was lost: $writes fsynced writes, $reads reads checked, $failed failed while its driver was away; $checked blocks checked, $uncertain torn held the old or the new data"
	else
		echo "not ok - $CAMP_NAME: disk churn: $verdict ($bad blocks lost; idle: no write or read succeeded, none failed, or none after a failure)"
	fi
}
