# SPDX-License-Identifier: MIT
# The guest's side of scripts/demo.sh, run inside the booted s390x guest by its
# /init (scripts/make-initramfs.sh --job), so part of the measured image. The UV
# is reached over the virtio-serial port (PVKIT_UV_DEVICE=vport:org.pvkit.uv),
# the sysfs view and the files from and to the trusted side over 9p.
S=/run/pvkit/share
show() {
	echo "guest# $*"
	"$@"
}
echo "--- in the guest ($(uname -m)): PVKIT_UV_DEVICE=$PVKIT_UV_DEVICE"
show cat "$PVKIT_SYSFS_ROOT/firmware/uv/prot_virt_guest"
show pvattest perform -i "$S/attest.req" -o "$S/attest.resp" -u "$S/userdata"
touch "$S/attest.done"
echo "--- in the guest: waiting for the trusted side's secret"
i=0
while [ ! -e "$S/secret.ready" ] && [ $i -lt 1800 ]; do
	sleep 0.1
	i=$((i + 1))
done
show pvsecret add "$S/secret.req"
show pvsecret list
show lszcrypt -V
mkdir -p /run/lock
show pvapconfig -c "$S/apconfig.yaml"
show lszcrypt -V
show lszcrypt -c 03.002b
show pvsecret lock
show pvsecret add --force "$S/secret.req" || echo "(exit $?: as expected, the store is locked)"
show pvattest perform "$S/attest2.req" "$S/attest2.resp"
if [ -e "$S/agent.go" ]; then
	echo "--- in the guest: attest to pvattestd over the virtio-serial port org.pvkit.attest"
	mkdir -p "$S/released"
	show pvattest-agent -v --via org.pvkit.attest --url http://pvattestd --image demo -o "$S/released"
fi
