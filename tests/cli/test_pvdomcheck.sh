#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pvdomcheck and uvsim domxml (issue 14): each rule of the guide in a domain of its own
# (found, named, with the guide's chapter, exit 1), the guide's own example domain passes,
# the domain uvsim writes for a guest passes with no finding and validates against
# libvirt's schema (virt-xml-validate, when libvirt-clients is installed), and bad input
# (not XML, not a domain, too large, deeply nested, entities) gets one error line.
#
# Usage: test_pvdomcheck.sh PVDOMCHECK UVSIM PVIMG
# shellcheck disable=SC2015
set -u

[ $# -eq 3 ] || { echo "usage: test_pvdomcheck.sh PVDOMCHECK UVSIM PVIMG" >&2; exit 2; }
CHECK=$(realpath "$1")
UVSIM=$(realpath "$2")
PVIMG=$(realpath "$3")
T=60
. "$(dirname "$0")/lib.sh"

uvsim_tmp domcheck
U=("$UVSIM" --state "$S")

# dom NAME BODY: a domain that follows every rule, with BODY's sed script applied
GOOD='<domain type="kvm">
  <name>g</name>
  <memory unit="MiB">2048</memory>
  <vcpu placement="static">2</vcpu>
  <os>
    <type arch="s390x" machine="s390-ccw-virtio">hvm</type>
    <kernel>/var/lib/libvirt/images/secure-linux</kernel>
  </os>
  <features>
    <async-teardown enabled="yes"/>
  </features>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="raw" cache="none" io="native" iommu="on"/>
      <source file="/var/lib/libvirt/images/data.img"/>
      <target dev="vda" bus="virtio"/>
    </disk>
    <interface type="network">
      <source network="default"/>
      <model type="virtio"/>
      <driver iommu="on"/>
    </interface>
    <controller type="virtio-serial" index="0">
      <driver iommu="on"/>
    </controller>
    <console type="pty"><target type="virtio"/></console>
    <memballoon model="none"/>
  </devices>
</domain>'
dom() {
	printf '%s\n' "$GOOD" | sed -e "$2" >"$1.xml"
}

# rule NAME RULE SED [FIXED-STRING]: the domain changed by SED fails with RULE named, as an
# error, with the guide's chapter; nothing else is an error
rule() {
	local name=$1 r=$2 script=$3 text=${4:-}
	dom "$name" "$script"
	if ! run "rule $r ($name): found" 1 "error:" -- "$CHECK" "$name.xml"; then
		return
	fi
	if grep -E "^$name\.xml:[0-9]+: error: .*\[$r; guide ch\. [0-9]" "$tmp/out" >/dev/null; then
		pass "rule $r ($name): named with the guide's chapter"
	else
		fail "rule $r ($name): no error line naming [$r; guide ch. N]"
		sed 's/^/    /' "$tmp/out"
	fi
	if [ "$(grep -c ': error: ' "$tmp/out")" -ne "$(grep -c "\[$r;" "$tmp/out")" ]; then
		fail "rule $r ($name): other errors too"
		sed 's/^/    /' "$tmp/out"
	fi
	[ -z "$text" ] || { grep -qF -- "$text" "$tmp/out" && pass "rule $r ($name): says '$text'" ||
		fail "rule $r ($name): no '$text'"; }
}

# GOOD is configured by hand (ch. 10, "Manual domain-XML configuration"): iommu="on" on each
# virtio device, so the rules for them can be broken one at a time; its one finding is the
# warning that launchSecurity would make that the default.
dom good ''
run "a domain that follows every rule: no error" 0 "" -- "$CHECK" good.xml
check "  only the warning about launchSecurity" test "$(wc -l <"$tmp/out")" -eq 1 -a \
	"$(grep -c 'warning: domain: no <launchSecurity type="s390-pv"/>' "$tmp/out")" -eq 1
run "-v says it passed" 0 "good.xml: no errors (1 warnings)" -- "$CHECK" -v good.xml

# ---- one domain per rule
rule no-balloon memballoon '/<memballoon/d' "no <memballoon>"
rule virtio-balloon memballoon 's/model="none"/model="virtio"/' "memory ballooning"
rule disk-iommu iommu '/<disk /,/<\/disk>/s/ iommu="on"//' "(vda)"
rule nic-iommu iommu '/<interface/,/<\/interface>/{/iommu/d}'
rule nic-default-model iommu '/<interface/,/<\/interface>/{/iommu/d;/<model/d}'
rule ctl-iommu iommu '/<controller/,/<\/controller>/{/iommu/d}'
rule console-ctl iommu '/<controller/,/<\/controller>/d' "controller libvirt adds"
rule rng-iommu iommu 's|<memballoon|<rng model="virtio"><backend model="random">/dev/urandom</backend></rng>\n    <memballoon|'
rule fs-iommu iommu 's|<memballoon|<filesystem type="mount"><source dir="/srv"/><target dir="srv"/></filesystem>\n    <memballoon|'
rule iommu-off iommu 's|</devices>|</devices>\n  <launchSecurity type="s390-pv"/>|; s|<driver name="qemu" type="raw" cache="none" io="native" iommu="on"/>|<driver name="qemu" type="raw" iommu="off"/>|' \
	'takes back the bounce buffers'
rule pci hostdev 's|<memballoon|<hostdev mode="subsystem" type="pci"><source><address domain="0" bus="0" slot="1" function="0"/></source></hostdev>\n    <memballoon|' "pass-through"
rule ccw hostdev 's|<memballoon|<hostdev mode="subsystem" type="mdev" model="vfio-ccw"><source><address uuid="90c6c135-ad44-41d0-b1b7-bae47de48627"/></source></hostdev>\n    <memballoon|'
rule nic-hostdev hostdev 's|<interface type="network">|<interface type="hostdev">|'
rule hugepages hugepages 's|<vcpu|<memoryBacking><hugepages/></memoryBacking>\n  <vcpu|' "huge memory pages"
rule vcpus vcpus 's|>2</vcpu>|>248</vcpu>|' "limited to 247"
rule vcpus-current vcpus 's|<vcpu placement="static">2</vcpu>|<vcpu placement="static" current="250">250</vcpu>|'
rule kernel-path kernel-path 's|<kernel>/var/lib/libvirt/images/secure-linux</kernel>|<kernel>secure-linux</kernel>|' \
	"fully qualified path"
rule domain-type domain-type 's|<domain type="kvm">|<domain type="qemu">|'
rule arch arch 's|arch="s390x"|arch="x86_64"|'
rule machine machine 's|machine="s390-ccw-virtio"|machine="pc-q35-7.2"|'
rule ls-type launch-security 's|</devices>|</devices>\n  <launchSecurity type="sev"/>|'
dom ap 's|<memballoon|<hostdev mode="subsystem" type="mdev" model="vfio-ap"><source><address uuid="8c1e5a2e-0000-4000-8000-000000000001"/></source></hostdev>\n    <memballoon|'
run "vfio-ap mediated device: no finding" 0 "" -- "$CHECK" ap.xml
dom ls 's|</devices>|</devices>\n  <launchSecurity type="s390-pv"/>|; s| iommu="on"||g'
run "with launchSecurity s390-pv, iommu may be left out" 0 "" -- "$CHECK" ls.xml
check "  and there is nothing to say" test ! -s "$tmp/out"
# warnings: found, said, exit 0
dom no-at '/<features>/,/<\/features>/d'
run "no async teardown: a warning (ch. 1)" 0 "warning: domain: no <features><async-teardown" -- "$CHECK" no-at.xml
check "  with its rule and chapter" grep -q "\[async-teardown; guide ch. 1\]" "$tmp/out"
run "-q: warnings not shown" 0 "" -- "$CHECK" -q no-at.xml
check "  nothing shown" test ! -s "$tmp/out"
dom parts 's|</kernel>|</kernel>\n    <initrd>/boot/initrd</initrd>\n    <cmdline>root=/dev/vda</cmdline>|'
run "direct kernel boot with initrd/cmdline: a warning" 0 "[kernel-parts; guide ch. 5, ch. 10]" -- "$CHECK" parts.xml

# ---- the guide's own example domain (ch. 10), completed only where it says "..."
cat >secguest1.xml <<'EOF'
<domain type="kvm">
  <name>secguest1</name>
  <memory unit="KiB">4194304</memory>
  <vcpu placement="static">2</vcpu>
  <os>
    <type arch="s390x" machine="s390-ccw-virtio">hvm</type>
  </os>
  <devices>
    <disk type="file" device="disk">
      <driver name="qemu" type="raw" cache="none" io="native" iommu="on"/>
      <source file="/var/lib/libvirt/images/secguest1.img"/>
      <target dev="vda" bus="virtio"/>
      <address type="ccw" cssid="0xfe" ssid="0x0" devno="0x1108"/>
      <boot order="1"/>
    </disk>
    <memballoon model='none' />
  </devices>
</domain>
EOF
run "the guide's example secguest1.xml passes" 0 "" -- "$CHECK" secguest1.xml
check "  with two warnings: launchSecurity, async teardown" test "$(grep -c ': warning: ' "$tmp/out")" -eq 2

# ---- several files, JSON
run "several files: exit 1 when one fails" 1 "" -- "$CHECK" good.xml vcpus.xml secguest1.xml
run "--format json" 1 "" -- "$CHECK" --format json good.xml pci.xml
if python3 - "$tmp/out" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert [x["file"] for x in d] == ["good.xml", "pci.xml"]
assert d[0]["checked"] and d[0]["errors"] == 0 and d[0]["warnings"] == 1
assert [x["rule"] for x in d[0]["findings"]] == ["launch-security"]
f = [x for x in d[1]["findings"] if x["severity"] == "error"]
assert d[1]["errors"] == 1 and len(f) == 1 and f[0]["rule"] == "hostdev"
assert f[0]["guide"] == "ch. 4" and f[0]["line"] > 0 and "pass-through" in f[0]["message"]
EOF
then pass "--format json: files, counts, findings"; else fail "--format json"; sed 's/^/    /' "$tmp/out"; fi

# ---- bad input: one error line, exit 1
printf '<domain type="kvm"><name>x</name>' >trunc.xml
run_error "truncated XML" 1 "trunc.xml:1: not a domain XML" -- "$CHECK" trunc.xml
echo '<network><name>default</name></network>' >net.xml
run_error "not a domain" 1 "root element is <network>" -- "$CHECK" net.xml
: >empty.xml
run_error "empty file" 1 "empty.xml" -- "$CHECK" empty.xml
head -c $((17 << 20)) /dev/zero | tr '\0' ' ' >big.xml
run_error "larger than 16 MiB" 1 "big.xml" -- "$CHECK" big.xml
python3 -c 'print("<domain type=\"kvm\">" + "<x>" * 100000 + "</x>" * 100000 + "</domain>")' >deep.xml
run_error "deeply nested" 1 "deep.xml" -- "$CHECK" deep.xml
cat >lol.xml <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE domain [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY x SYSTEM "file:///etc/shadow">
]>
<domain type="kvm"><name>&f;&x;</name><vcpu>&f;</vcpu></domain>
EOF
start=$(date +%s)
timeout "$T" "$CHECK" lol.xml >"$tmp/out" 2>&1
rc=$?
[ "$rc" -le 1 ] && [ $(($(date +%s) - start)) -lt 10 ] && pass "entity expansion: answered at once (exit $rc)" ||
	fail "entity expansion: exit $rc after $(($(date +%s) - start)) s"
check "  no file content through an external entity" sh -c "! grep -q 'root:' '$tmp/out'"
mkfifo fifo.xml
(printf '%s\n' "$GOOD" >fifo.xml &)
run "a FIFO is read like a file" 0 "" -- "$CHECK" fifo.xml
run "standard input" 0 "" -- sh -c "'$CHECK' - <good.xml"
run "no file: usage error" 2 "no domain XML file given" -- "$CHECK"
run "--format yaml: usage error" 2 "--format" -- "$CHECK" --format yaml good.xml
run_error "a missing file" 1 "nothere.xml" -- "$CHECK" nothere.xml

# ---- uvsim domxml: the domain of a uvsim guest passes, with and without a disk and AP
run "uvsim host new" 0 "" -- "${U[@]}" host new z16
fake_kernel vmlinuz
if ! timeout "$T" "$PVIMG" create -i vmlinuz -k "$S/hosts/z16/hkd.crt" --no-verify -o se.img >"$tmp/out" 2>&1; then
	grep -q stage3 "$tmp/out" && { echo "no boot loaders: the uvsim part skipped"; finish; }
	fail "pvimg create"
	finish
fi
run "boot a guest with an adapter" 0 "" -- "${U[@]}" boot --host z16 --id g \
	--ap card=03,type=CEX8P,serial=93AADFK719460083,domains=0x2b,mkvp=0xdb3c3b3c3f097dd55ec7eb0e7fdbcb93 se.img
run "uvsim domxml to standard output" 0 '<launchSecurity type="s390-pv"/>' -- "${U[@]}" domxml g
run "uvsim domxml -o" 0 "" -- "${U[@]}" domxml g -o g.xml
check "  the file is that domain" sh -c "'${UVSIM}' --state '$S' domxml g | cmp -s - g.xml"
check "  direct kernel boot of the SE image" grep -q "<kernel>$tmp/se.img</kernel>" g.xml
check "  the AP queues through vfio-ap" grep -q 'model="vfio-ap"' g.xml
check "  no balloon" grep -q '<memballoon model="none"/>' g.xml
run "pvdomcheck on uvsim's domain: no finding" 0 "" -- "$CHECK" g.xml
check "  nothing to say" test ! -s "$tmp/out"
run "uvsim domxml --disk --vcpus --memory" 0 "" -- "${U[@]}" domxml g --disk se.img --vcpus 4 \
	--memory 4096 -o gd.xml
check "  a disk with iommu on, booted first" grep -q '<boot order="1"/>' gd.xml
check "  no direct kernel boot" sh -c "! grep -q '<kernel>' gd.xml"
run "pvdomcheck on the disk domain: no finding" 0 "" -- "$CHECK" gd.xml
run "uvsim domxml --vcpus 248: refused" 2 "at most 247" -- "${U[@]}" domxml g --vcpus 248
run "uvsim domxml of no guest" 2 "no guest" -- "${U[@]}" domxml nosuch
run "uvsim domxml --no-async-teardown" 0 "" -- "${U[@]}" domxml g --no-async-teardown -o old.xml
check "  without the feature" sh -c "! grep -q async-teardown old.xml"
if command -v virt-xml-validate >/dev/null 2>&1; then
	# Debian 12's libvirt 9.0 schema predates async-teardown (libvirt 9.6): validate without it.
	run "libvirt's schema accepts uvsim's domain" 0 "validates" -- virt-xml-validate old.xml domain
	"${U[@]}" domxml g --disk se.img --no-async-teardown -o old-disk.xml
	run "libvirt's schema accepts uvsim's disk domain" 0 "validates" -- virt-xml-validate old-disk.xml domain
	sed '/<features>/,/<\/features>/d' ap.xml >ap-old.xml
	run "libvirt's schema accepts the test domain" 0 "validates" -- virt-xml-validate ap-old.xml domain
	run "virt-xml-validate refuses a truncated domain (it can fail)" 1 "" -- \
		virt-xml-validate trunc.xml domain
else
	echo "# virt-xml-validate not installed (libvirt-clients): the schema checks skipped"
fi
finish
