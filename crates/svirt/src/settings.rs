//! Every way svirt's output may differ from libvirt's helper is one named
//! switch here, and one line in `docs/compatibility.md`.

/// Where libvirt keeps per-VM state (its build-time directories).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// `LOCALSTATEDIR`, normally `/var`.
    pub localstatedir: String,
    /// `RUNSTATEDIR`, normally `/run`.
    pub runstatedir: String,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            localstatedir: "/var".into(),
            runstatedir: "/run".into(),
        }
    }
}

/// The libvirt release whose helper svirt's compatibility mode reproduces,
/// and whose behaviour safe mode builds on (`libvirt = …` in
/// `/etc/svirt/virt-aa-helper.conf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LibvirtVersion {
    /// Debian 12 "bookworm". The default when the key is absent: every
    /// release of svirt before the key existed behaved so.
    #[default]
    V9_0,
    /// Debian 13 "trixie".
    V11_3,
}

impl LibvirtVersion {
    /// Every supported version, oldest first.
    pub const ALL: [LibvirtVersion; 2] = [LibvirtVersion::V9_0, LibvirtVersion::V11_3];

    /// The version as the configuration file spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            LibvirtVersion::V9_0 => "9.0",
            LibvirtVersion::V11_3 => "11.3",
        }
    }

    /// Parses `9.0` or `11.3`; a package version's patch level
    /// (`11.3.0`) is accepted, anything else is not.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let t = t
            .strip_suffix(".0")
            .filter(|t| t.contains('.'))
            .unwrap_or(t);
        LibvirtVersion::ALL.into_iter().find(|v| v.as_str() == t)
    }
}

/// The policy switches. [`Settings::libvirt_compatible`] reproduces libvirt
/// 9.0's helper byte for byte; [`Settings::default`] is the safe mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Backslash-escape AppArmor pattern characters and `@` in every path
    /// that comes from the domain, so a rule matches that one path. libvirt
    /// leaves `* ? [ ] { } ^ , @{` live inside the quotes.
    pub escape_paths: bool,
    /// Match restricted and read-only prefixes per path component, so `/lib`
    /// blocks `/lib/x` but not `/library/x`, after collapsing `.`, `..` and
    /// `//` in the part of the path that does not exist yet. libvirt
    /// compares plain string prefixes and keeps that part verbatim.
    pub component_prefixes: bool,
    /// Accept domain names that libvirt refuses only because it cannot
    /// escape them (`[ ] { } ? ^ , *`); with `escape_paths` they are safe.
    pub escaped_names: bool,
    /// Refuse a relative path in the domain with an error. libvirt skips it
    /// with a warning, leaving QEMU to be denied at run time.
    pub reject_relative_paths: bool,
    /// Grant `<tpm><backend type='passthrough'>`'s device and its sysfs
    /// `cancel` file. libvirt grants nothing, and QEMU is denied.
    pub tpm_passthrough: bool,
    /// Grant a qcow2 layer's external data file (from `<dataStore>` or its
    /// header) with the layer's access. libvirt grants nothing.
    pub qcow2_data_file: bool,
    /// Grant the extent files a VMDK descriptor names, with the layer's
    /// access. libvirt grants only the descriptor, and QEMU is denied.
    pub vmdk_extents: bool,
    /// Grant the `/dev/vhost-vdpa-N` device of `<interface type='vdpa'>` and
    /// `<disk type='vhostvdpa'>`. libvirt grants nothing.
    pub vhost_vdpa: bool,
    /// Grant chardev `<log file=…>` files. libvirt grants nothing.
    pub chardev_logs: bool,
    /// Honour a per-device `<seclabel model='apparmor' relabel='no'>` by
    /// leaving that device out of the profile. libvirt ignores it.
    pub device_relabel_no: bool,
    /// Grant a pty character device that has no number yet (before start)
    /// the pattern `/dev/pts/[0-9]*` in this VM's own rules. libvirt grants
    /// nothing and relies on its shared abstraction's console rules, which
    /// svirt's abstraction does not have.
    pub pty_allocation: bool,
    /// Follow every read-only grant (backing layers, read-only disks,
    /// kernels, firmware…) with an explicit `deny … w` rule, as libvirt 9.0
    /// to 12.0 do. An explicit deny overrides any allow and is not audited,
    /// so a write grant added later with `-F` (blockcommit, active commit,
    /// snapshot delete, backup merges) cannot take effect and QEMU gets a
    /// silent EACCES. Off in safe mode, as libvirt 12.1: writes to a
    /// read-only file are still refused (nothing allows them), and audited.
    pub quiet_write_deny: bool,
    /// A file added at run time (`virt-aa-helper -f/-F`) that the domain
    /// definition itself grants read-only keeps the definition's access
    /// (`rk`) instead of `rwk`. libvirt grants every added file `rwk`.
    /// Under libvirt, which passes the definition without the new disk on
    /// hotplug, this only ever changes block jobs, which need a backing
    /// layer writable: so it is off in safe mode too, and an opt-in for
    /// hosts that want block jobs refused. svirt's driver keeps a
    /// hot-plugged disk's backing layers read-only without it.
    pub hotplug_layer_access: bool,
    /// Grant the backing file of `<memory model='virtio-pmem'>`. libvirt
    /// 9.0's helper grants only NVDIMM backing files, and QEMU is denied.
    pub virtio_pmem: bool,
    /// Refuse a directory granted as a tree (9p share, smartcard database,
    /// `-F <dir>/{,**}`) when it is, contains or lies inside a location no
    /// VM may have as a tree ([`crate::policy::path::no_tree_locations`]):
    /// `/`, `/dev`, `/var`, libvirt's state. libvirt grants any of them, so
    /// a 9p share of `/` hands the VM the host.
    pub check_trees: bool,
    /// Treat paths named by image headers as untrusted: a data file or
    /// extent of a writable layer is not granted unless the domain names
    /// it writable; header paths that are restricted, or block and
    /// character devices, are skipped with a warning. libvirt trusts
    /// backing-file names, and a restricted one fails the run.
    pub untrusted_header_paths: bool,
    /// Grant a `/sys/devices/pci…` path only when it is a file PCI device
    /// assignment needs (`config`, `resource*`, `rom`, `reset`, `vendor`,
    /// `device`) in a PCI device directory, and only to a host device or a
    /// file the caller adds. libvirt allows any path below that prefix,
    /// from any device (`…/remove`, `…/driver_override`).
    pub pci_sysfs_exact: bool,
    /// Refuse a name from the domain that becomes one path component (an
    /// ivshmem `name`) unless it is one: no `/`, not `.` or `..`. libvirt
    /// joins it as is, so `<shmem name='../sda'>` grants `/dev/sda`.
    pub contained_names: bool,
    /// Grant VFIO only for host devices that use it (PCI with the VFIO
    /// backend, mediated devices). libvirt 9.0 reads a
    /// `<hostdev mode='capabilities' type='misc'>` (LXC) as a PCI device and
    /// grants it every VFIO group.
    pub exact_hostdev_kinds: bool,
    /// Grant `/dev/sev` (`rw`) to a domain with
    /// `<launchSecurity type='sev'>` or `type='sev-snp'`. libvirt's helper
    /// grants nothing (SEV-SNP is newer than 9.0), and QEMU is denied the
    /// device unless a shared abstraction grants it to every VM.
    pub sev_device: bool,
    /// Grant an SGX EPC memory device (`<memory model='sgx-epc'>`)
    /// `/dev/sgx_vepc` `rw` and `/dev/sgx_provision` `r`, as libvirt 11.3
    /// does. libvirt 9.0 grants nothing.
    pub sgx_epc: bool,
    /// Grant a `<pstore>` device's backing `<path>` `rw`, as libvirt 11.3
    /// does. libvirt 9.0 does not know the device.
    pub pstore: bool,
    /// Grant a host audio backend (`<audio>`) what QEMU opens for it, in
    /// this VM's own rules: ALSA's `/dev/snd/*` and read-only
    /// configuration, OSS devices, a `file` backend's WAV file, a local
    /// PulseAudio server socket. libvirt's helper grants nothing and relies
    /// on its shared abstraction, which gives sound to every VM; svirt's
    /// abstraction gives none.
    pub audio_backends: bool,
    /// Grant `<os><shim>` read-only like a kernel (`r` plus the quiet write
    /// deny), as libvirt 11.3 does. libvirt 9.0 does not know the element.
    pub os_shim: bool,
    /// Also allow read-only the firmware directories libvirt added after
    /// 9.0 (`/usr/share/edk2-ovmf/`, `/usr/share/qemu-efi-loongarch64/`,
    /// `/usr/share/qemu-efi-riscv64/`) and `/usr/share/qemu/`, where Debian
    /// 13's firmware lives. libvirt 9.0 refuses them as restricted.
    pub firmware_dirs: bool,
    /// Grant the `/dev/tap<ifindex>` of a macvtap `<interface type='direct'>`
    /// whose `<target dev>` exists on the host, in the VM's own rules, so it
    /// survives every regeneration of the profile (libvirt 12.3's fix).
    /// libvirt 9.0 adds it only at start, with `-F`, and a later full
    /// regeneration drops it.
    pub macvtap: bool,
    /// Write the profile's `.files` include as `#include if exists <…>`
    /// (libvirt 11.3), so a missing `.files` does not stop the profile from
    /// loading. libvirt 9.0 writes `#include <…>`.
    pub include_if_exists: bool,
    /// Grant a `<disk type='volume'>` its host path: the translated source
    /// libvirt ≥ 11 sends (`actualType` with `file`/`dev`/`dir`), else the
    /// path resolved from libvirt's definition of a `dir`, `fs`, `netfs`
    /// or `logical` pool (`/run/libvirt/storage/<pool>.xml`, then
    /// `/etc/libvirt/storage/<pool>.xml`). Pool and volume names must be
    /// single path components. libvirt 9.0 grants nothing, so QEMU is
    /// denied the volume.
    pub pool_volumes: bool,
    /// The operator's per-VM choices last across regenerations: the
    /// profile includes `libvirt-<uuid>.override` (`svirt allow`) when it
    /// exists, and is put in complain mode while `libvirt-<uuid>.complain`
    /// (`svirt complain`) exists. libvirt has neither.
    pub vm_overrides: bool,
    /// The profile holds, from the start, the three files libvirt's QEMU
    /// driver asks for with `-F` at every start (the per-run and channel
    /// directory trees and the master key), and a `-F` whose rules are all
    /// in `.files` already changes nothing and reloads nothing. libvirt
    /// appends and recompiles the whole profile for each.
    pub start_requests: bool,
    /// `-R` and `-D` hand `apparmor_parser -R` a one-line stand-in with
    /// the profile's name on stdin instead of the profile file, so
    /// unloading compiles nothing. libvirt parses the whole profile and
    /// its abstraction just to learn the name.
    pub unload_by_name: bool,
    /// A live domain's per-run names (`domain-<id>-<name>`, the swtpm
    /// socket and pid file) match any domain id, written with svirt's
    /// digits-only glob, when libvirt does not cut the name (20 bytes or
    /// fewer): the profile then reads the same at every start, so its
    /// compiled policy can be reused. A cut name keeps the literal id, as
    /// two VMs whose names share 20 bytes differ only by it.
    pub stable_run_dirs: bool,
    /// `-c`, `-r` and `-a` load through the VM's compiled-policy cache
    /// (`libvirt-<uuid>.cache`, [`crate::apparmor::cache`]): when the
    /// preprocessed profile, the parser and the kernel's features are what
    /// they were, the binary policy is loaded (`apparmor_parser -B`)
    /// instead of compiled again. libvirt compiles at every call.
    pub compile_cache: bool,
    /// Grant a firmware loader without `readonly='yes'` `rwk`, as libvirt
    /// 11.3 does, so a writable pflash loader is refused when it lies in a
    /// read-only firmware directory (a VM must not write firmware other
    /// VMs boot). libvirt 9.0 grants every loader `rk`, and QEMU is denied
    /// writes to a writable one.
    pub writable_loader: bool,
    /// Grant a `<disk type='volume'>` the translated source libvirt ≥ 11
    /// sends (`actualType` with `file`/`dev`/`dir`), as libvirt 11.3 does,
    /// but look nothing up in libvirt's pool definitions (that is
    /// [`Settings::pool_volumes`], which includes this).
    pub translated_volumes: bool,
    /// Judge whether a definition is valid as libvirt 11.3's parser does:
    /// accept `enrolled-keys` without `secure-boot` and a restrictive
    /// `<numatune><memory>` with other `<memnode>` modes (11.3 leaves both
    /// to the QEMU driver), refuse a disk target whose index overflows and
    /// `rawio`/`sgio` on a vhost-scsi (`scsi_host`) host device. Off: libvirt
    /// 9.0's parser.
    pub parser_11_3: bool,
    /// Fail the definition (`invalid VM definition`) when a vhost-user
    /// interface names no socket path, as libvirt 11.3's helper does for a
    /// passt backend (whose socket libvirt makes at start). Off, such an
    /// interface gets no rule. libvirt 9.0's parser refuses the passt
    /// backend; safe mode never fails on it.
    pub vhostuser_socket_required: bool,
    /// A domain with a passt network back-end (`<backend type='passt'>`)
    /// gets a child profile for passt in its own rules: the exec
    /// transition `/usr/bin/passt Cx -> passt`, and `profile passt` with
    /// the binary, SIGTERM from the managers, this VM's passt socket, pid
    /// file and log file only, and the passt package's
    /// `abstractions/passt` when installed. libvirt's helper writes
    /// nothing; Debian 13's shared abstraction gives every VM's passt
    /// every VM's passt files (`owner`, one user).
    pub passt_child: bool,
    pub layout: Layout,
}

impl Settings {
    /// Byte-for-byte libvirt 9.0 behaviour.
    pub fn libvirt_compatible() -> Self {
        Settings {
            escape_paths: false,
            component_prefixes: false,
            escaped_names: false,
            reject_relative_paths: false,
            tpm_passthrough: false,
            qcow2_data_file: false,
            vmdk_extents: false,
            vhost_vdpa: false,
            chardev_logs: false,
            device_relabel_no: false,
            pty_allocation: false,
            quiet_write_deny: true,
            hotplug_layer_access: false,
            virtio_pmem: false,
            check_trees: false,
            untrusted_header_paths: false,
            pci_sysfs_exact: false,
            contained_names: false,
            exact_hostdev_kinds: false,
            sev_device: false,
            sgx_epc: false,
            pstore: false,
            audio_backends: false,
            os_shim: false,
            firmware_dirs: false,
            macvtap: false,
            include_if_exists: false,
            pool_volumes: false,
            vm_overrides: false,
            start_requests: false,
            unload_by_name: false,
            stable_run_dirs: false,
            compile_cache: false,
            writable_loader: false,
            translated_volumes: false,
            parser_11_3: false,
            vhostuser_socket_required: false,
            passt_child: false,
            layout: Layout::default(),
        }
    }

    /// Byte-for-byte behaviour of `version`'s helper.
    pub fn libvirt_compatible_with(version: LibvirtVersion) -> Self {
        let mut s = Settings::libvirt_compatible();
        if version == LibvirtVersion::V11_3 {
            s.apply_libvirt_11_3();
        }
        s
    }

    /// Safe defaults on top of `version`'s behaviour.
    pub fn safe_with(version: LibvirtVersion) -> Self {
        let mut s = Settings::safe();
        if version == LibvirtVersion::V11_3 {
            s.apply_libvirt_11_3();
            // A libvirt 11.3 failure, not a safety check.
            s.vhostuser_socket_required = false;
        }
        s
    }

    /// What libvirt 11.3's helper does that 9.0's does not. Each is a
    /// switch of its own; this is only which ones 11.3 turns on.
    fn apply_libvirt_11_3(&mut self) {
        self.include_if_exists = true;
        self.sgx_epc = true;
        self.pstore = true;
        self.os_shim = true;
        self.firmware_dirs = true;
        self.virtio_pmem = true;
        self.exact_hostdev_kinds = true;
        self.writable_loader = true;
        self.translated_volumes = true;
        self.parser_11_3 = true;
        self.vhostuser_socket_required = true;
    }

    /// Safe defaults: every fix on (`hotplug_layer_access` is an opt-in).
    pub fn safe() -> Self {
        Settings {
            escape_paths: true,
            component_prefixes: true,
            escaped_names: true,
            reject_relative_paths: true,
            tpm_passthrough: true,
            qcow2_data_file: true,
            vmdk_extents: true,
            vhost_vdpa: true,
            chardev_logs: true,
            device_relabel_no: true,
            pty_allocation: true,
            quiet_write_deny: false,
            hotplug_layer_access: false,
            virtio_pmem: true,
            check_trees: true,
            untrusted_header_paths: true,
            pci_sysfs_exact: true,
            contained_names: true,
            exact_hostdev_kinds: true,
            sev_device: true,
            sgx_epc: true,
            pstore: true,
            audio_backends: true,
            os_shim: true,
            firmware_dirs: true,
            macvtap: true,
            include_if_exists: true,
            pool_volumes: true,
            vm_overrides: true,
            start_requests: true,
            unload_by_name: true,
            stable_run_dirs: true,
            compile_cache: true,
            writable_loader: false,
            translated_volumes: true,
            parser_11_3: false,
            vhostuser_socket_required: false,
            passt_child: true,
            layout: Layout::default(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::safe()
    }
}
