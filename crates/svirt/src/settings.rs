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
    /// A file added at run time (`virt-aa-helper -f/-F`, hotplug) that the
    /// domain definition itself grants keeps the definition's access: a
    /// hot-plugged disk's backing layer stays `rk` with the quiet write
    /// deny, as at start. libvirt grants every added file `rwk`, so backing
    /// layers of a hot-plugged disk become writable.
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
    /// Grant a `<disk type='volume'>` its host path: the translated source
    /// libvirt ≥ 11 sends (`actualType` with `file`/`dev`/`dir`), else the
    /// path resolved from libvirt's definition of a `dir`, `fs`, `netfs`
    /// or `logical` pool (`/run/libvirt/storage/<pool>.xml`, then
    /// `/etc/libvirt/storage/<pool>.xml`). Pool and volume names must be
    /// single path components. libvirt 9.0 grants nothing, so QEMU is
    /// denied the volume.
    pub pool_volumes: bool,
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
            hotplug_layer_access: false,
            virtio_pmem: false,
            check_trees: false,
            untrusted_header_paths: false,
            pci_sysfs_exact: false,
            contained_names: false,
            exact_hostdev_kinds: false,
            pool_volumes: false,
            layout: Layout::default(),
        }
    }

    /// Safe defaults: every fix on.
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
            hotplug_layer_access: true,
            virtio_pmem: true,
            check_trees: true,
            untrusted_header_paths: true,
            pci_sysfs_exact: true,
            contained_names: true,
            exact_hostdev_kinds: true,
            pool_volumes: true,
            layout: Layout::default(),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings::safe()
    }
}
