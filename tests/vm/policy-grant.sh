#!/bin/bash
# default (grant limits by cookie), config_guard and irq_ratelimit: grants
# refused at creation, config writes per device, interrupt enables and the
# rate cap, each against the module's behaviour without the policy.
. tests/vm/lib.sh
. tests/vm/policy-lib.sh
need_two
pol load default "$OBJ/default.bpf.o" \
	--map 'limits[7]=bar_mask=1,max_vectors=1,dma_quota=4096,flags=0x33' \
	--map 'limits[9]=bar_mask=0,max_vectors=1,dma_quota=0,flags=0x3f' \
	--map 'limits[10]=bar_mask=1,max_vectors=0,dma_quota=0,flags=0x3f' | sed 's/^/# /'
pol show default limits | sed 's/^/# /'
pt grant "$A"
pol unload default | sed 's/^/# /'
pt config "$A" "$B"
pt irq "$A"
pol_clean
exit $RC
