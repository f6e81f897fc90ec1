# policy-e2e.sh — sourced by libvirt-e2e.sh for its modes `policy` and
# `policy-debian` (issue 15): two VMs with graphics, UEFI and a per-VM NVRAM,
# swtpm, vhost-net on a tap, hugepages, a virtio-rng, a serial pty, a guest
# agent channel and a sound device, started by a real libvirtd.
#
#   policy         svirt's template and abstraction (`svirt policy install`),
#                  svirt's helper under svirt's helper profile: every feature
#                  works with no DENIED line for the VMs' own files, and VM A
#                  (its profile, as the owner of each file) cannot read, write
#                  or connect to anything of VM B, nor open sound, VFIO or
#                  render nodes;
#   policy-debian  the control: Debian's template and abstraction with
#                  libvirt's own helper, the same probes; what leaks there is
#                  printed as LEAK lines, and the known leaks must show (else
#                  the probes prove nothing).
#
# VM A: VNC on a unix socket, SPICE on TCP, ich9 sound with no host audio.
# VM B: VNC on TCP, SPICE on a unix socket, ac97 sound with SPICE audio.
# Both: q35, OVMF with NVRAM from the template, swtpm 2.0 (tpm-crb), a
# virtio NIC on a bridge with vhost, hugepages, virtio-rng, a pty serial with
# a log, the qemu-guest-agent channel, a qcow2 disk.

SVIRT_CLI=${SVIRT_E2E_CLI:-$REPO/target/release/svirt}
PBRIDGE=svirtbr0
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
QUSER=libvirt-qemu
NBD_HOST=nbd.svirt.test
# the probe tools, for both abstractions' local hooks (dd and socat under
# the VM's profile; the shipped files are not edited)
PROBE_RULES='  # tests/kernel/policy-e2e.sh: probes run under a VM profile
  /{usr/,}bin/{dd,socat} rmix,'

# the kernel's network mediation features, e.g. "network: af_mask tcp-fast-open"
aa_net_features() {
	local d
	for d in /sys/kernel/security/apparmor/features/network*; do
		[ -d "$d" ] && echo -n "${d##*/}: $(ls "$d" | tr '\n' ' ')"
	done
}

policy_setup_done=0
policy_host_setup() {
	[ "$policy_setup_done" = 1 ] && return 0
	local n
	for t in "$SVIRT_CLI" /usr/bin/socat /usr/bin/swtpm /usr/bin/swtpm_setup setpriv ip; do
		command -v "$t" >/dev/null || die "missing tool: $t (scripts/install-deps.sh)"
	done
	[ -f "$OVMF_CODE" ] && [ -f "$OVMF_VARS" ] || die "OVMF is not installed ($OVMF_CODE; package ovmf)"
	id "$QUSER" >/dev/null 2>&1 || die "no user $QUSER (libvirt-daemon-system)"
	# hugetlbfs before libvirtd starts (libvirtd reads the mounts once)
	mkdir -p /dev/hugepages
	mountpoint -q /dev/hugepages || mount -t hugetlbfs hugetlbfs /dev/hugepages || die "mount hugetlbfs"
	echo 160 >/proc/sys/vm/nr_hugepages
	n=$(cat /proc/sys/vm/nr_hugepages)
	[ "$n" -ge 128 ] || die "only $n 2 MiB huge pages (need 128 for two 128 MiB VMs)"
	# a bridge for the VMs' taps; libvirtd opens /dev/vhost-net and the tap
	modprobe tun 2>/dev/null
	modprobe vhost_net 2>/dev/null
	[ -c /dev/vhost-net ] || die "no /dev/vhost-net (modprobe vhost_net)"
	ip link show "$PBRIDGE" >/dev/null 2>&1 || ip link add "$PBRIDGE" type bridge || die "ip link add $PBRIDGE"
	ip link set "$PBRIDGE" up
	# an IPv4 address other than loopback: QEMU's listeners resolve
	# 127.0.0.1 with AI_ADDRCONFIG, which fails on a host with none
	ip -4 addr show dev "$PBRIDGE" | grep -q 192.0.2.1 || ip addr add 192.0.2.1/24 dev "$PBRIDGE"
	# host nodes no VM here declares: the driver behind them need not exist,
	# AppArmor decides at open (EACCES) before the driver does (ENXIO/ENODEV)
	# an NBD export reached by host name (/etc/hosts), for VM B's network disk
	grep -q "$NBD_HOST" /etc/hosts || echo "127.0.0.1 $NBD_HOST" >>/etc/hosts
	qemu-img create -q -f qcow2 "$IMAGES/e2e-nbd.qcow2" 16M || die "qemu-img create nbd"
	qemu-nbd --fork --persistent -x svirt -b 127.0.0.1 -p 10809 -f qcow2 "$IMAGES/e2e-nbd.qcow2" ||
		die "qemu-nbd"
	info "AppArmor network features: $(aa_net_features)"
	mkdir -p /dev/snd /dev/vfio /dev/dri
	[ -e /dev/snd/controlC0 ] || mknod /dev/snd/controlC0 c 116 0
	[ -e /dev/snd/pcmC0D0p ] || mknod /dev/snd/pcmC0D0p c 116 16
	[ -e /dev/vfio/vfio ] || mknod /dev/vfio/vfio c 10 196
	[ -e /dev/dri/renderD128 ] || mknod /dev/dri/renderD128 c 226 128
	chmod 666 /dev/snd/controlC0 /dev/snd/pcmC0D0p /dev/vfio/vfio /dev/dri/renderD128
	mkdir -p /etc/apparmor.d/abstractions/svirt-qemu.d /etc/apparmor.d/local/abstractions
	echo "$PROBE_RULES" >/etc/apparmor.d/abstractions/svirt-qemu.d/svirt-policy-probes
	if [ "${SVIRT_KERNEL_BREAK:-}" = policy ]; then
		# negative control: Debian's shared NVRAM rule in svirt's abstraction
		echo "  owner /var/lib/libvirt/qemu/nvram/*_VARS.fd rwk," >>/etc/apparmor.d/abstractions/svirt-qemu.d/svirt-policy-probes
		echo "  .. SVIRT_KERNEL_BREAK=policy: svirt's abstraction gets Debian's shared NVRAM rule"
	fi
	grep -qF 'policy-e2e.sh' /etc/apparmor.d/local/abstractions/libvirt-qemu 2>/dev/null ||
		echo "$PROBE_RULES" >>/etc/apparmor.d/local/abstractions/libvirt-qemu
	policy_setup_done=1
	info "hugetlbfs on /dev/hugepages ($n pages), bridge $PBRIDGE, /dev/vhost-net, fake sound/VFIO/render nodes"
}

policy_domain() { # $1 name $2 uuid $3 disk $4 a|b $5 xml-out
	local gfx sound
	if [ "$4" = a ]; then
		gfx="<graphics type='vnc'><listen type='socket'/></graphics>
    <graphics type='spice' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>"
		sound="<sound model='ich9'><audio id='1'/></sound>
    <audio id='1' type='none'/>"
	else
		gfx="<graphics type='vnc' autoport='yes'><listen type='address' address='127.0.0.1'/></graphics>
    <graphics type='spice'><listen type='socket'/></graphics>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='nbd' name='svirt'><host name='$NBD_HOST' port='10809'/></source>
      <target dev='vdb' bus='virtio'/>
    </disk>"
		sound="<sound model='ac97'><audio id='1'/></sound>
    <audio id='1' type='alsa'/>"
	fi
	cat >"$5" <<EOF
<domain type='qemu'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>128</memory>
  <memoryBacking><hugepages/></memoryBacking>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <loader readonly='yes' type='pflash'>$OVMF_CODE</loader>
    <nvram template='$OVMF_VARS'>/var/lib/libvirt/qemu/nvram/$1_VARS.fd</nvram>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='$PBRIDGE'/>
      <model type='virtio'/>
      <driver name='vhost'/>
    </interface>
    <serial type='pty'>
      <log file='/var/log/libvirt/qemu/$1-serial0.log'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'>
      <target type='virtio' name='org.qemu.guest_agent.0'/>
    </channel>
    $gfx
    $sound
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# attribute $2 of the first element of `virsh dumpxml $1` matching regex $3
dump_attr() {
	virsh dumpxml "$1" 2>/dev/null | grep -E "$3" | head -1 | sed -n "s/.* $2='\([^']*\)'.*/\1/p"
}

# 12-byte RFB greeting from a VNC server: $1 = socat address
vnc_greets() {
	local g
	g=$(timeout 10 socat -T5 -u "$1" - 2>/dev/null | head -c 12)
	[[ $g == RFB\ 00* ]]
}
# a SPICE link message; the server answers with its own link header "REDQ"
spice_answers() {
	local r
	r=$(printf 'REDQ\002\000\000\000\002\000\000\000\022\000\000\000\000\000\000\000\001\000\000\000\000\000\000\000\000\000\022\000\000\000' |
		timeout 20 socat -T10 -t10 - "$1" 2>/dev/null | head -c 4)
	[ "$r" = REDQ ]
}

# Open $4 for $3 (r: read, w: append-write without writing, c: connect to a
# unix socket) under profile $2 as user $1, with the group of the file's
# directory and the file's own group, so that DAC lets it through and only
# the profile decides.  0 = reached the object (opened, or an error from the
# object itself, such as ENXIO from a device with no driver), 1 = EACCES.
probe_as() {
	local user=$1 prof=$2 op=$3 f=$4 err ids
	PROBE_ERR=
	ids=(--reuid="$user" --regid="$(stat -c %g "$(dirname "$f")")" --groups="$(stat -c %g "$f")")
	case $op in
	r) err=$(setpriv "${ids[@]}" -- \
		aa-exec -p "$prof" -- dd if="$f" of=/dev/null bs=512 count=1 status=none 2>&1 </dev/null) ;;
	w) err=$(setpriv "${ids[@]}" -- \
		aa-exec -p "$prof" -- dd of="$f" oflag=append conv=notrunc status=none 2>&1 </dev/null) ;;
	c) err=$(setpriv "${ids[@]}" -- \
		aa-exec -p "$prof" -- socat -T1 -u OPEN:/dev/null "UNIX-CONNECT:$f" 2>&1 </dev/null) ;;
	esac && return 0
	case $err in *"Permission denied"*) return 1 ;; esac
	PROBE_ERR=$err
	return 0
}
owner_of() { stat -c %U "$1" 2>/dev/null; }

# features of one running VM: $1 name $2 a|b
policy_features() {
	local name=$1 v=$2 pid path port tty i
	pid=$(qemu_pid "$name")
	# VNC and SPICE
	if [ "$v" = a ]; then
		path=$(dump_attr "$name" socket "<listen type='socket'" | head -1)
		vnc_greets "UNIX-CONNECT:$path" && pass "$name: VNC on a unix socket greets ($path)" ||
			fail "$name: no RFB greeting on VNC socket '$path'"
		port=$(dump_attr "$name" port "<graphics type='spice'")
		spice_answers "TCP:127.0.0.1:$port" && pass "$name: SPICE on TCP 127.0.0.1:$port answers a link message" ||
			fail "$name: SPICE on TCP port '$port' does not answer"
	else
		port=$(dump_attr "$name" port "<graphics type='vnc'")
		vnc_greets "TCP:127.0.0.1:$port" && pass "$name: VNC on TCP 127.0.0.1:$port greets" ||
			fail "$name: no RFB greeting on VNC TCP port '$port'"
		path=$(virsh dumpxml "$name" | sed -n "/<graphics type='spice'/,/<\/graphics>/p" | sed -n "s/.*socket='\([^']*\)'.*/\1/p" | head -1)
		spice_answers "UNIX-CONNECT:$path" && pass "$name: SPICE on a unix socket answers a link message ($path)" ||
			fail "$name: SPICE socket '$path' does not answer"
	fi
	path=/var/lib/libvirt/qemu/nvram/${name}_VARS.fd
	if ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- "-> $path\$"; then
		pass "$name: QEMU holds its NVRAM $path open"
	else
		fail "$name: QEMU does not hold $path open"
	fi
	# swtpm
	if virsh qemu-monitor-command --hmp "$name" 'info tpm' 2>/dev/null | grep -q 'TPM-Emulator\|emulator'; then
		pass "$name: QEMU's TPM is the emulator ($(pgrep -f "swtpm socket.*$name" | head -1 | sed 's/^/swtpm pid /'))"
	else
		fail "$name: 'info tpm' shows no emulator: $(virsh qemu-monitor-command --hmp "$name" 'info tpm' 2>&1 | tr '\n' ' ')"
	fi
	# the tap, opened by libvirtd and passed in (a TCG guest gets no vhost)
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- '-> /dev/net/tun$' &&
		pass "$name: QEMU holds its tap" || fail "$name: no tap descriptor in QEMU"
	# hugepages
	if grep -q '/dev/hugepages/libvirt/qemu/' "/proc/$pid/maps" 2>/dev/null; then
		pass "$name: guest RAM is mapped from $(grep -o -m1 '/dev/hugepages/libvirt/qemu/[^ ]*' "/proc/$pid/maps")"
	else
		fail "$name: guest RAM is not on hugetlbfs"
	fi
	# virtio-rng, the pty serial, the agent channel, sound
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -q -- '-> /dev/urandom$' &&
		pass "$name: virtio-rng backend /dev/urandom open" || fail "$name: the rng backend /dev/urandom is not open"
	tty=$(virsh ttyconsole "$name" 2>/dev/null)
	[ -c "$tty" ] && ls -l "/proc/$pid/fd" | grep -q -- '-> /dev/ptmx$' &&
		pass "$name: serial on pty $tty" || fail "$name: no pty serial (ttyconsole '$tty')"
	path=$(virsh dumpxml "$name" | grep -o "path='[^']*org.qemu.guest_agent.0'" | sed "s/path='//; s/'$//")
	[ -S "$path" ] && socat -T1 -u OPEN:/dev/null "UNIX-CONNECT:$path" 2>/dev/null &&
		pass "$name: guest agent channel listens ($path)" || fail "$name: guest agent channel '$path' does not listen"
	if virsh qemu-monitor-command --hmp "$name" 'info qtree' 2>/dev/null | grep -q 'dev: \(ich9-intel-hda\|AC97\)'; then
		pass "$name: sound device $(virsh qemu-monitor-command --hmp "$name" 'info qtree' | grep -o -m1 'dev: \(ich9-intel-hda\|AC97\)')"
	else
		fail "$name: no sound device in 'info qtree'"
	fi
}

# UEFI: OVMF runs (its boot manager's lines reach the serial log); both VMs
# boot OVMF at once under the rig's TCG, so this waits last, up to 4*WAIT s
policy_ovmf() { # $1 name
	local name=$1 log=/var/log/libvirt/qemu/$1-serial0.log i
	for ((i = 0; i < 4 * WAIT; i++)); do
		grep -qa 'BdsDxe' "$log" 2>/dev/null && break
		sleep 1
	done
	if grep -qa 'BdsDxe' "$log" 2>/dev/null; then
		pass "$name: OVMF runs (serial: '$(grep -ao -m1 'BdsDxe[^[:cntrl:]]*' "$log" | head -1 | cut -c1-70)')"
	else
		fail "$name: no OVMF output in $log after $((4 * WAIT))s"
	fi
}

# vhost-net: libvirt opens /dev/vhost-net for KVM guests only; this one starts
# paused (no nested guest code runs), which is enough for the descriptors
policy_vhost() { # $1 name $2 uuid $3 disk
	local xml=$T/$1-$MODE.xml pid r
	cat >"$xml" <<XML
<domain type='kvm'>
  <name>$1</name>
  <uuid>$2</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$3'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='bridge'>
      <source bridge='$PBRIDGE'/>
      <model type='virtio'/>
      <driver name='vhost'/>
    </interface>
    <memballoon model='none'/>
  </devices>
</domain>
XML
	virsh -q define "$xml" >/dev/null || { fail "virsh define $1"; return; }
	timed "start-$1" virsh start --paused "$1"
	record
	if [ "$RC" != 0 ]; then
		fail "virsh start --paused $1 (kvm, vhost): $OUT"
	else
		pid=$(qemu_pid "$1")
		r=$(cat "/proc/$pid/attr/current" 2>/dev/null)
		if [ "$r" = "libvirt-$2 (enforce)" ] && ls -l "/proc/$pid/fd" | grep -q -- '-> /dev/vhost-net$' &&
			ls -l "/proc/$pid/fd" | grep -q -- '-> /dev/net/tun$'; then
			pass "$1: a KVM guest's QEMU ($r) holds /dev/vhost-net and its tap, passed by libvirtd"
		else
			fail "$1: label '$r', descriptors: $(ls -l "/proc/$pid/fd" 2>&1 | grep -o -- '-> /dev/[^ ]*' | sort -u | tr '\n' ' ')"
		fi
	fi
	virsh destroy "$1" >/dev/null 2>&1
	virsh -q undefine "$1" >/dev/null 2>&1
}

POLICY_RESULTS=$T/policy-results.tsv # mode what op outcome
policy_mode() {
	local a=e2e-pa b=e2e-pb ua ub pa pb da db xa xb mark id_b f op own r n leaks expected
	local debian=0
	[ "$MODE" = policy-debian ] && debian=1
	policy_host_setup
	if [ "$debian" = 1 ]; then
		"$SVIRT_CLI" policy restore >"$T/policy.out" 2>&1 || { fail "svirt policy restore: $(cat "$T/policy.out")"; return; }
		start_libvirtd libvirt
	else
		# the repository's abstraction (install keeps one already there)
		cp "$REPO/policy/abstractions/svirt-qemu" /etc/apparmor.d/abstractions/svirt-qemu || die "cp abstraction"
		"$SVIRT_CLI" policy install >"$T/policy.out" 2>&1 || { fail "svirt policy install: $(cat "$T/policy.out")"; return; }
		pass "svirt policy install: $(head -1 "$T/policy.out")"
		start_libvirtd ours-profile
	fi
	"$SVIRT_CLI" policy status >"$T/policy.out" 2>&1
	info "svirt policy status: $(head -1 "$T/policy.out")"
	ua=$(cat /proc/sys/kernel/random/uuid)
	ub=$(cat /proc/sys/kernel/random/uuid)
	pa=libvirt-$ua pb=libvirt-$ub
	da=$IMAGES/$a.qcow2 db=$IMAGES/$b.qcow2
	xa=$T/$a-$MODE.xml xb=$T/$b-$MODE.xml
	rm -f /var/lib/libvirt/qemu/nvram/e2e-p*_VARS.fd /var/log/libvirt/qemu/e2e-p*
	qemu-img create -q -f qcow2 "$da" 16M && qemu-img create -q -f qcow2 "$db" 16M &&
		qemu-img create -q -f qcow2 "$IMAGES/e2e-pc.qcow2" 16M || die "qemu-img create"
	policy_domain "$a" "$ua" "$da" a "$xa"
	policy_domain "$b" "$ub" "$db" b "$xb"
	mark=$(dmesg | wc -l)
	for n in "$a" "$b"; do
		virsh -q define "$T/$n-$MODE.xml" >/dev/null || { fail "virsh define $n"; return; }
		# only A runs guest code (OVMF); B's checks need no running vCPU,
		# and the control needs none at all (two OVMF boots at once under
		# the rig's TCG would take minutes)
		if [ "$n" = "$a" ] && [ "$debian" = 0 ]; then
			timed "start-$n" virsh start "$n"
		else
			timed "start-$n" virsh start --paused "$n"
		fi
		record
		[ "$RC" = 0 ] || { fail "virsh start $n: $OUT"; virsh -q undefine --nvram "$n" >/dev/null 2>&1; return; }
	done
	for n in "$a:$pa" "$b:$pb"; do
		r=$(cat "/proc/$(qemu_pid "${n%%:*}")/attr/current" 2>/dev/null)
		[ "$r" = "${n#*:} (enforce)" ] && pass "${n%%:*}: QEMU runs as '$r'" || fail "${n%%:*}: QEMU label '$r'"
	done
	if [ "$debian" = 0 ]; then
		grep -q 'abstractions/svirt-qemu' "$PDIR/$pa" && ! grep -q 'abstractions/libvirt-qemu' "$PDIR/$pa" &&
			pass "$pa is made from svirt's template (abstractions/svirt-qemu)" ||
			fail "$pa does not include svirt's abstraction: $(grep include "$PDIR/$pa" | tr '\n' ' ')"
	fi
	policy_features "$a" a
	policy_features "$b" b
	[ "$debian" = 0 ] && policy_ovmf "$a"
	if virsh qemu-monitor-command --hmp "$b" 'info block' 2>/dev/null | grep -q "nbd.*$NBD_HOST"; then
		pass "$b: network disk by host name ($NBD_HOST, resolved in QEMU) attached"
	else
		fail "$b: no NBD disk on $NBD_HOST: $(virsh qemu-monitor-command --hmp "$b" 'info block' 2>&1 | tr '\n' ' ')"
	fi
	# no denial for the VMs' own files while all of that ran
	sleep 1
	dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | grep -E "profile=\"($pa|$pb)\"" >"$T/denied-$MODE-own.log"
	if [ -s "$T/denied-$MODE-own.log" ] && [ "$debian" = 1 ]; then
		info "control: Debian's policy denies, while the VMs run:"
		sed -E 's/.*apparmor="DENIED" //; s/ pid=[0-9]+//; s/ fsuid=[0-9]+ ouid=[0-9]+//' "$T/denied-$MODE-own.log" | sort | uniq -c | sed 's/^/    /'
	elif [ -s "$T/denied-$MODE-own.log" ]; then
		fail "DENIED lines for the VMs' profiles while they ran:"
		sed -E 's/.*apparmor="DENIED" //; s/ pid=[0-9]+//; s/ fsuid=[0-9]+ ouid=[0-9]+//' "$T/denied-$MODE-own.log" | sort | uniq -c | sed 's/^/    /'
	else
		pass "no DENIED line for $pa or $pb while both VMs ran every feature"
	fi

	# isolation: VM A's profile against VM B's files, as each file's owner
	id_b=$(virsh domid "$b")
	local sock_b spice_b ch_b
	ch_b=$(virsh dumpxml "$b" | grep -o "path='[^']*org.qemu.guest_agent.0'" | sed "s/path='//; s/'$//")
	spice_b=$(virsh dumpxml "$b" | sed -n "/<graphics type='spice'/,/<\/graphics>/p" | sed -n "s/.*socket='\([^']*\)'.*/\1/p" | head -1)
	local B_FILES=(
		"NVRAM|rw|/var/lib/libvirt/qemu/nvram/${b}_VARS.fd"
		"disk|rw|$db"
		"swtpm state|rw|/var/lib/libvirt/swtpm/$ub/tpm2/tpm2-00.permall"
		"swtpm log|rw|/var/log/swtpm/libvirt/qemu/$b-swtpm.log"
		"QEMU log|rw|/var/log/libvirt/qemu/$b.log"
		"serial log|rw|/var/log/libvirt/qemu/$b-serial0.log"
		"pid file|rw|/run/libvirt/qemu/$b.pid"
		"monitor socket|c|/var/lib/libvirt/qemu/domain-$id_b-$b/monitor.sock"
		"agent socket|c|$ch_b"
		"SPICE socket|c|$spice_b"
		"swtpm socket|c|/run/libvirt/qemu/swtpm/$id_b-$b-swtpm.sock"
		"sound control|rw|/dev/snd/controlC0"
		"sound pcm|rw|/dev/snd/pcmC0D0p"
		"VFIO container|rw|/dev/vfio/vfio"
		"render node|rw|/dev/dri/renderD128"
	)
	# the same probes reach A's own files (else a refusal proves nothing)
	local A_FILES=(
		"NVRAM|rw|/var/lib/libvirt/qemu/nvram/${a}_VARS.fd"
		"disk|rw|$da"
		"swtpm state|rw|/var/lib/libvirt/swtpm/$ua/tpm2/tpm2-00.permall"
		"agent socket|c|$(virsh dumpxml "$a" | grep -o "path='[^']*org.qemu.guest_agent.0'" | sed "s/path='//; s/'$//")"
	)
	mark=$(dmesg | wc -l)
	local e what ops path own_ok=1
	for e in "${A_FILES[@]}"; do
		IFS='|' read -r what ops path <<<"$e"
		own=$(owner_of "$path")
		[ -n "$own" ] || { fail "A's $what $path does not exist"; own_ok=0; continue; }
		for op in $(echo "$ops" | sed 's/rw/r w/'); do
			if probe_as "$own" "$pa" "$op" "$path"; then :; else
				fail "$pa cannot $op its OWN $what $path (as $own): the probe is broken"
				own_ok=0
			fi
		done
	done
	[ "$own_ok" = 1 ] && pass "$pa reaches its own NVRAM, disk, swtpm state and agent socket (the probes work)"
	leaks=()
	local unmediated=()
	for e in "${B_FILES[@]}"; do
		IFS='|' read -r what ops path <<<"$e"
		own=$(owner_of "$path")
		[ -n "$own" ] || { fail "B's $what '$path' does not exist"; continue; }
		case $path in /dev/*) own=$QUSER ;; esac
		for op in $(echo "$ops" | sed 's/rw/r w/'); do
			if ! probe_as "$own" "$pa" "$op" "$path"; then
				printf '%s\t%s\t%s\t%s\n' "$MODE" "$what" "$op" denied >>"$POLICY_RESULTS"
			elif [ "$op" = c ] && [ "$debian" = 0 ]; then
				unmediated+=("$what")
				printf '%s\t%s\t%s\t%s\n' "$MODE" "$what" "$op" "kernel: open" >>"$POLICY_RESULTS"
			else
				leaks+=("$what:$op")
				printf '%s\t%s\t%s\t%s\n' "$MODE" "$what" "$op" leak >>"$POLICY_RESULTS"
				[ "$debian" = 1 ] && echo "  LEAK: [control] $pa $op $what $path (as $own)${PROBE_ERR:+: $PROBE_ERR}"
			fi
			PROBE_ERR=
		done
	done
	if [ "$debian" = 0 ]; then
		if [ ${#leaks[@]} = 0 ]; then
			pass "$pa cannot read or write any of B's files, nor open sound, VFIO or render nodes ($((${#B_FILES[@]} - 4)) objects, as their owners)"
		else
			fail "$pa reaches B's or the host's: ${leaks[*]}"
		fi
		if [ ${#unmediated[@]} -gt 0 ]; then
			if [ -e /sys/kernel/security/apparmor/features/network/af_unix ] ||
				[ -e /sys/kernel/security/apparmor/features/network_v8/af_unix ]; then
				info "this kernel mediates AF_UNIX, but ABI 3.0 policy does not use it: $pa connects to B's ${unmediated[*]}"
			else
				info "KNOWN LIMIT: this kernel does not mediate AF_UNIX connect by path ($(aa_net_features)): $pa connects to B's ${unmediated[*]} under any policy (docs/policy.md)"
			fi
		fi
		# B declares a host audio backend (alsa): B's profile, not A's, opens the sound nodes
		if probe_as "$QUSER" "$pb" r /dev/snd/controlC0 && probe_as "$QUSER" "$pb" w /dev/snd/pcmC0D0p; then
			pass "$pb (<audio type='alsa'>) reaches /dev/snd/*: its own rules (audio_backends), not the abstraction"
		else
			fail "$pb (<audio type='alsa'>) cannot open /dev/snd nodes"
		fi
		sleep 1
		dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | grep "profile=\"$pa\"" >"$T/denied-$MODE-probes.log"
		local missing=""
		for e in "${B_FILES[@]}"; do
			IFS='|' read -r what ops path <<<"$e"
			[ "$ops" = c ] && continue
			grep -qF "name=\"$path\"" "$T/denied-$MODE-probes.log" || missing+=" $path"
		done
		[ -z "$missing" ] && pass "every refusal has an AppArmor DENIED line naming $pa" ||
			fail "refused without a DENIED line for:$missing"
	else
		info "control: Debian's policy lets $pa reach ${#leaks[@]} of B's or the host's objects: ${leaks[*]}"
		# what the control must show, or the probes would be blind
		for expected in NVRAM:w "sound control:r" "VFIO container:r"; do
			printf '%s\n' "${leaks[@]}" | grep -qxF "$expected" &&
				pass "control: Debian's abstraction lets $pa $expected of B/the host (apparmor-facts §5), as expected" ||
				fail "control: expected leak '$expected' did not show under Debian's policy"
		done
	fi
	# save and restore B (libvirtd writes and reads the state file; QEMU
	# gets descriptors): no denial, B comes back under its own profile
	local save=$IMAGES/$b.save
	rm -f "$save"
	mark=$(dmesg | wc -l)
	timed "save-$b" virsh save "$b" "$save"
	record
	if [ "$RC" = 0 ]; then
		timed "restore-$b" virsh restore "$save" --paused
		record
		r=$(cat "/proc/$(qemu_pid "$b")/attr/current" 2>/dev/null)
		if [ "$RC" = 0 ] && [ "$r" = "$pb (enforce)" ]; then
			pass "$b: virsh save and restore work; restored QEMU runs as '$r'"
		else
			fail "$b: virsh restore rc $RC, label '$r': $OUT"
		fi
	else
		fail "$b: virsh save: $OUT"
	fi
	sleep 0.5
	if dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | grep -qE "profile=\"($pa|$pb)\""; then
		[ "$debian" = 1 ] && info "control: save/restore denials: $(dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | sed -E 's/.*(operation="[^"]*").*(name="[^"]*").*/\1 \2/' | sort -u | tr '\n' ';')" ||
			fail "DENIED lines during save/restore: $(dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | sed -E 's/.*apparmor="DENIED" //; s/ pid=[0-9]+//' | sort -u | tr '\n' ';')"
	else
		pass "no DENIED line during save and restore"
	fi
	rm -f "$save"
	info "B's socket directories: $(ls -ld /var/lib/libvirt/qemu/domain-$id_b-$b /var/lib/libvirt/qemu/channel/target/domain-$id_b-$b /run/libvirt/qemu/swtpm 2>&1 | awk '{print $1, $3, $4, $NF}' | tr '\n' ';')"
	for n in "$a" "$b"; do
		virsh destroy "$n" >/dev/null 2>&1
		virsh -q undefine --nvram "$n" >/dev/null 2>&1
	done
	policy_vhost e2e-pc "$(cat /proc/sys/kernel/random/uuid)" "$IMAGES/e2e-pc.qcow2"
	sleep 0.5
	loaded "$pa" || loaded "$pb" && fail "a profile is still loaded after destroy" ||
		pass "destroy unloaded $pa and $pb"
	[ "$debian" = 0 ] && { "$SVIRT_CLI" policy restore >/dev/null 2>&1 || fail "svirt policy restore"; }
}

policy_summary() {
	[ -s "$POLICY_RESULTS" ] || return 0
	echo
	echo "--- VM A's profile against VM B's files and host devices (owner of each file; r/w/c = read/write/connect)"
	awk -F'\t' '
		{ k = $2 " " $3; if (!(k in seen)) { seen[k] = 1; order[++n] = k }
		  if (!($1 in ms)) { ms[$1] = 1; modes[++m] = $1 } v[$1, k] = $4 }
		END {
			printf "  %-22s", "object op"; for (j = 1; j <= m; j++) printf " | %-14s", modes[j]; printf "\n"
			for (i = 1; i <= n; i++) {
				printf "  %-22s", order[i]
				for (j = 1; j <= m; j++) printf " | %-14s", ((modes[j], order[i]) in v) ? v[modes[j], order[i]] : "-"
				printf "\n"
			}
		}' "$POLICY_RESULTS" | tee "$T/policy-isolation.log"
}

# Mode `passt` (libvirt 11 only, issue 16): two VMs with a passt user-mode
# NIC under svirt's template (svirt policy install). libvirtd starts passt
# in the VM's profile; svirt's helper gives it the child profile
# libvirt-<uuid>//passt with this VM's passt socket and pid file only.
passt_mode() {
	local a=e2e-na b=e2e-nb ua ub n x pid ppid r mark own_ok=1
	[ "$V11" = 1 ] || { fail "mode passt needs libvirt 11 (passt backends)"; return; }
	command -v passt >/dev/null || { fail "passt is not installed in this root"; return; }
	cp "$REPO/policy/abstractions/svirt-qemu" /etc/apparmor.d/abstractions/svirt-qemu || die "cp abstraction"
	"$SVIRT_CLI" policy install >"$T/policy.out" 2>&1 || { fail "svirt policy install: $(cat "$T/policy.out")"; return; }
	start_libvirtd ours-profile
	ua=$(cat /proc/sys/kernel/random/uuid)
	ub=$(cat /proc/sys/kernel/random/uuid)
	mark=$(dmesg | wc -l)
	for n in "$a:$ua" "$b:$ub"; do
		x=$T/${n%%:*}.xml
		qemu-img create -q -f qcow2 "$IMAGES/${n%%:*}.qcow2" 16M || die "qemu-img create"
		cat >"$x" <<XML
<domain type='qemu'>
  <name>${n%%:*}</name>
  <uuid>${n#*:}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$IMAGES/${n%%:*}.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='user'>
      <backend type='passt'/>
      <model type='virtio'/>
    </interface>
    <memballoon model='none'/>
  </devices>
</domain>
XML
		virsh -q define "$x" >/dev/null || { fail "virsh define ${n%%:*}"; return; }
		timed "start-${n%%:*}" virsh start --paused "${n%%:*}"
		record
		[ "$RC" = 0 ] || { fail "virsh start ${n%%:*} (passt): $OUT"; return; }
	done
	local pa=libvirt-$ua pb=libvirt-$ub
	grep -q '^  profile passt {' "$PDIR/$pa.files" &&
		pass "$pa.files has its own passt child profile: $(grep -F '/run/libvirt/qemu/passt/' "$PDIR/$pa.files" | sed 's/^ *//' | tr '\n' ' ')" ||
		fail "$pa.files has no passt child profile"
	for n in "$a:$pa" "$b:$pb"; do
		pid=$(qemu_pid "${n%%:*}")
		r=$(cat "/proc/$pid/attr/current" 2>/dev/null)
		[ "$r" = "${n#*:} (enforce)" ] && pass "${n%%:*}: QEMU runs as '$r'" || fail "${n%%:*}: QEMU label '$r'"
		ppid=$(pgrep -f "passt.*${n%%:*}" | head -1)
		r=$(cat "/proc/$ppid/attr/current" 2>/dev/null)
		[ -n "$ppid" ] && [ "$r" = "${n#*:}//passt (enforce)" ] &&
			pass "${n%%:*}: passt (pid $ppid) runs as '$r'" || fail "${n%%:*}: passt pid '$ppid' label '$r'"
	done
	sleep 1
	dmesg | tail -n +"$((mark + 1))" | grep 'apparmor="DENIED"' | grep -E "profile=\"($pa|$pb)" >"$T/denied-passt.log"
	if [ -s "$T/denied-passt.log" ]; then
		fail "DENIED lines while the passt VMs started:"
		sed -E 's/.*apparmor="DENIED" //; s/ pid=[0-9]+//' "$T/denied-passt.log" | sort | uniq -c | sed 's/^/    /'
	else
		pass "no DENIED line for $pa, $pb or their passt children"
	fi
	# A's passt against B's passt files: its own pid file is readable, B's is not
	local pida pidb
	pida=$(ls /run/libvirt/qemu/passt/*-"$a"-*-passt.pid 2>/dev/null | head -1)
	pidb=$(ls /run/libvirt/qemu/passt/*-"$b"-*-passt.pid 2>/dev/null | head -1)
	if [ -z "$pida" ] || [ -z "$pidb" ]; then
		fail "passt pid files not found: $(ls /run/libvirt/qemu/passt/ 2>&1 | tr '\n' ' ')"
	else
		probe_as "$(owner_of "$pida")" "$pa//passt" r "$pida" && pass "$pa//passt reads its own $pida" ||
			fail "$pa//passt cannot read its own $pida (the probe is broken)"
		if probe_as "$(owner_of "$pidb")" "$pa//passt" r "$pidb" || probe_as "$(owner_of "$pidb")" "$pa//passt" w "$pidb"; then
			fail "$pa//passt reaches B's $pidb"
		else
			pass "$pa//passt cannot read or write B's $pidb"
		fi
	fi
	for n in "$a" "$b"; do
		virsh destroy "$n" >/dev/null 2>&1
		virsh -q undefine "$n" >/dev/null 2>&1
	done
	sleep 0.5
	pgrep -f "passt.*e2e-n" >/dev/null && fail "a passt process is left after destroy" || pass "destroy stopped both passt processes"
	"$SVIRT_CLI" policy restore >/dev/null 2>&1 || fail "svirt policy restore"
}
