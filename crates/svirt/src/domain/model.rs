//! The typed domain model: everything in a libvirt domain definition that
//! decides what a confined VM may touch, and nothing else.
//!
//! Paths are kept exactly as the XML spells them (`String`): checking and
//! canonicalising them is the policy step's job, so that errors can quote
//! what the user wrote.

use std::fmt;

use super::uuid::DomainUuid;

/// A closed enum of the names libvirt knows for an attribute, with
/// `from_name` (`None` for an unknown name), `as_str` and `Display`.
macro_rules! closed_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in libvirt's order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The value libvirt spells `name` (case-sensitive), if any.
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The name as libvirt spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// An enum of the names libvirt knows for an attribute, plus `Other` for
/// any other name, kept as written: the parser accepts names it does not
/// know (they get no rules), so none may be refused for being new.
/// `from_name` never puts a known name in `Other`.
macro_rules! open_names {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A name not listed above, exactly as written.
            Other(String),
        }

        impl $name {
            /// The value for `name` as written (case-sensitive).
            pub fn from_name(name: &str) -> Self {
                match name {
                    $($text => $name::$variant,)+
                    other => $name::Other(other.to_owned()),
                }
            }

            /// The name as written in the XML.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Other(name) => name,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A parsed `<domain>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domain {
    /// `<domain type=…>`.
    pub virt_type: VirtType,
    /// `<domain id=…>`; absent for inactive definitions (libvirt then uses -1).
    pub id: Option<i64>,
    pub name: String,
    pub uuid: DomainUuid,
    pub os: Os,
    /// Domain-level `<seclabel>` elements, in document order.
    pub seclabels: Vec<SecLabel>,
    pub devices: Devices,
    /// `<sysinfo type='fwcfg'>` entries.
    pub fw_cfg: Vec<FwCfgEntry>,
    /// `<launchSecurity type=…>` (sev, sev-snp, s390-pv, tdx, …).
    pub launch_security: Option<String>,
    /// `<memoryBacking>` has `<hugepages/>`.
    pub hugepages: bool,
}

impl Domain {
    /// The id libvirt puts in per-run paths: the live id, or -1.
    pub fn id_or_default(&self) -> i64 {
        self.id.unwrap_or(-1)
    }

    /// The seclabel for the AppArmor model, if any.
    pub fn apparmor_seclabel(&self) -> Option<&SecLabel> {
        self.seclabels
            .iter()
            .find(|s| s.model.as_deref().is_none_or(|m| m == "apparmor"))
    }
}

closed_names! {
    /// `<domain type=…>`: the hypervisor. The parser refuses any other name
    /// (libvirt's "unknown virtualization type").
    VirtType {
        None = "none",
        Qemu = "qemu",
        Kqemu = "kqemu",
        Kvm = "kvm",
        Xen = "xen",
        Lxc = "lxc",
        Uml = "uml",
        Openvz = "openvz",
        Test = "test",
        Vmware = "vmware",
        Hyperv = "hyperv",
        Vbox = "vbox",
        Phyp = "phyp",
        Parallels = "parallels",
        Bhyve = "bhyve",
        Vz = "vz",
        Hvf = "hvf",
        Ch = "ch",
    }
}

impl VirtType {
    /// The QEMU family (`qemu`, `kqemu`, `kvm`): these get the per-domain
    /// base rules, a `.files` include and the `TEMPLATE.qemu` template.
    pub fn is_qemu_family(self) -> bool {
        matches!(self, VirtType::Qemu | VirtType::Kqemu | VirtType::Kvm)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Os {
    /// `<os><type>` text: `hvm`, `linux`, `exe`, `xen`, …
    pub os_type: String,
    pub arch: Option<String>,
    pub machine: Option<String>,
    pub loader: Option<Loader>,
    pub nvram: Option<Nvram>,
    pub kernel: Option<String>,
    pub initrd: Option<String>,
    pub dtb: Option<String>,
    pub acpi_tables: Vec<AcpiTable>,
    /// `<shim>` (libvirt ≥ 10.x): a UEFI shim QEMU reads, like a loader.
    pub shim: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Loader {
    /// The loader path (element text); may be absent with firmware autoselection.
    pub path: Option<String>,
    pub readonly: Option<bool>,
    /// `type='rom'|'pflash'`.
    pub kind: Option<String>,
    pub secure: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Nvram {
    /// The VARS file QEMU opens, as a storage source: the element text in the
    /// classic form, or `<nvram type='file'><source file=…/>` in the new one.
    pub source: Option<StorageSource>,
    /// `template=…`: libvirt copies it; QEMU never opens it.
    pub template: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcpiTable {
    /// `type=…` (`slic`, `msdm`, …).
    pub kind: Option<String>,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwCfgEntry {
    pub name: Option<String>,
    /// `file=…`: a host file QEMU reads.
    pub file: Option<String>,
}

/// `<seclabel>` at domain or device level.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecLabel {
    pub model: Option<String>,
    /// `dynamic`, `static` or `none`; `None` when the attribute is absent.
    pub kind: Option<SecLabelType>,
    /// `relabel='yes'|'no'`; `None` when absent.
    pub relabel: Option<bool>,
    pub label: Option<String>,
    pub imagelabel: Option<String>,
    pub baselabel: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecLabelType {
    Dynamic,
    Static,
    None,
}

impl SecLabel {
    /// A device-level label that opts this device out of AppArmor labelling.
    pub fn opts_out_of_apparmor(&self) -> bool {
        self.model.as_deref().is_none_or(|m| m == "apparmor") && self.relabel == Some(false)
    }
}

/// All devices, each list in document order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    pub emulator: Option<String>,
    pub disks: Vec<Disk>,
    /// `<serial>`, `<parallel>`, `<channel>` and `<console>`, in document order
    /// within each kind; see [`CharDev::kind`].
    pub serials: Vec<CharDev>,
    pub consoles: Vec<CharDev>,
    pub parallels: Vec<CharDev>,
    pub channels: Vec<CharDev>,
    pub graphics: Vec<Graphics>,
    pub hostdevs: Vec<HostDev>,
    pub filesystems: Vec<Filesystem>,
    pub inputs: Vec<Input>,
    pub interfaces: Vec<Interface>,
    pub memory: Vec<MemoryDevice>,
    pub shmems: Vec<Shmem>,
    pub tpms: Vec<Tpm>,
    pub smartcards: Vec<Smartcard>,
    pub vsock: Option<Vsock>,
    /// `<pstore>` devices (libvirt ≥ 10.x; the parser allows one).
    pub pstores: Vec<Pstore>,
    /// `<audio>` backends (direct children of `<devices>`; the `<audio>`
    /// inside `<sound>` only refers to one by id).
    pub audios: Vec<Audio>,
}

// ---------------------------------------------------------------- storage ---

/// `<disk type=…>` / `<source>` kinds (libvirt's storage types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    File,
    Block,
    Dir,
    Network,
    Volume,
    Nvme,
    VhostUser,
    Vdpa,
}

impl StorageType {
    /// Storage QEMU opens by host path (libvirt's "local storage").
    pub fn is_local(self) -> bool {
        matches!(
            self,
            StorageType::File | StorageType::Block | StorageType::Dir
        )
    }
}

/// One layer of a disk (or NVRAM) chain as the XML describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageSource {
    pub kind: StorageType,
    /// Host path: `file=`, `dev=` or `dir=` of `<source>`; the `path=` of a
    /// vhost-user or vdpa `<source dev>`; `None` for empty drives and network
    /// sources.
    pub path: Option<String>,
    /// Image format: `<driver type=…>` for the top layer, `<format type=…>`
    /// inside `<backingStore>`.
    pub format: Option<String>,
    pub readonly: bool,
    /// Network protocol (`nbd`, `rbd`, `iscsi`, …) for network sources.
    pub protocol: Option<String>,
    /// `<source pool=… volume=…>` for volume disks.
    pub pool: Option<String>,
    pub volume: Option<String>,
    /// A volume translated by libvirt ≥ 11 (`<source actualType=…>`): the
    /// type of the host path in `path` (`file=`, `dev=` or `dir=`).
    /// libvirt 9.0 never sends it, and its helper ignores it.
    pub actual_type: Option<StorageType>,
    /// `<dataStore>`: a qcow2 external data file declared in the XML.
    pub data_store: Option<Box<StorageSource>>,
    /// Per-source `<seclabel>` elements.
    pub seclabels: Vec<SecLabel>,
    /// The next layer down, as declared by `<backingStore>`.
    pub backing: Backing,
}

impl StorageSource {
    pub fn new(kind: StorageType, path: Option<String>) -> Self {
        StorageSource {
            kind,
            path,
            format: None,
            readonly: false,
            protocol: None,
            pool: None,
            volume: None,
            actual_type: None,
            data_store: None,
            seclabels: Vec::new(),
            backing: Backing::Unknown,
        }
    }
}

/// What the XML says about the layer below.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backing {
    /// No `<backingStore>` element: the chain must be read from image headers.
    Unknown,
    /// `<backingStore/>`: the chain ends here.
    None,
    /// `<backingStore type=…>…</backingStore>`.
    Layer(Box<StorageSource>),
}

open_names! {
    /// `<disk device=…>`; absent means `disk`.
    DiskDevice {
        Disk = "disk",
        Cdrom = "cdrom",
        Floppy = "floppy",
        Lun = "lun",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// `device=`; libvirt's parser makes a CD-ROM read-only.
    pub device: DiskDevice,
    /// `None` for an empty cdrom/floppy.
    pub source: Option<StorageSource>,
    pub target_dev: Option<String>,
    pub target_bus: Option<String>,
    pub shareable: bool,
}

// ---------------------------------------------------------------- chardev ---

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CharDevKind {
    Serial,
    Parallel,
    Channel,
    Console,
}

open_names! {
    /// A character device's backend, `type=` of `<serial>` and friends;
    /// absent means `pty`.
    CharDevSourceType {
        Null = "null",
        Vc = "vc",
        Pty = "pty",
        Dev = "dev",
        File = "file",
        Pipe = "pipe",
        Stdio = "stdio",
        Udp = "udp",
        Tcp = "tcp",
        Unix = "unix",
        SpiceVmc = "spicevmc",
        SpicePort = "spiceport",
        Nmdm = "nmdm",
        QemuVdagent = "qemu-vdagent",
        Dbus = "dbus",
    }
}

/// A character device backend (`<serial type=…>` and friends, also used for
/// vhost-user NIC and shmem server sockets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CharDev {
    pub kind: CharDevKind,
    /// `type=`.
    pub source_type: CharDevSourceType,
    /// `<source path=…>` (or `<source mode=… path=…>` for unix).
    pub path: Option<String>,
    /// The other attributes of the first `<source>` (`append`, `mode`,
    /// `host`, `service`, …), sorted by name: libvirt compares them when it
    /// decides whether a console is an alias of the first serial port.
    pub source_attrs: Vec<(String, String)>,
    /// `<log file=…>`.
    pub log_file: Option<String>,
    /// `<target type=…>` / `name=` (for channels).
    pub target_type: Option<String>,
    pub target_name: Option<String>,
    pub seclabels: Vec<SecLabel>,
}

// --------------------------------------------------------------- graphics ---

open_names! {
    /// `<graphics type=…>`.
    GraphicsType {
        Sdl = "sdl",
        Vnc = "vnc",
        Rdp = "rdp",
        Desktop = "desktop",
        Spice = "spice",
        EglHeadless = "egl-headless",
        Dbus = "dbus",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphics {
    /// `type=`.
    pub kind: GraphicsType,
    /// `<listen type='socket' socket=…>` paths (and `socket=` on `<graphics>`).
    pub listen_sockets: Vec<String>,
    /// `<gl enable='yes'>` (spice, sdl, dbus) or egl-headless.
    pub gl: bool,
    /// Explicit `rendernode=` (`<gl rendernode>` or `<graphics rendernode>`).
    pub rendernode: Option<String>,
    /// SDL `xauth=`.
    pub xauth: Option<String>,
    /// SDL `display=`.
    pub display: Option<String>,
}

impl Graphics {
    /// A device of type `kind` with nothing else set.
    pub fn new(kind: GraphicsType) -> Self {
        Graphics {
            kind,
            listen_sockets: Vec::new(),
            gl: false,
            rendernode: None,
            xauth: None,
            display: None,
        }
    }
}

// ---------------------------------------------------------------- hostdev ---

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostDev {
    /// `mode=`: `subsystem` or `capabilities`.
    pub mode: String,
    pub source: HostDevSource,
    pub seclabels: Vec<SecLabel>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostDevSource {
    Usb {
        vendor: Option<u16>,
        product: Option<u16>,
        bus: Option<u32>,
        device: Option<u32>,
    },
    Pci {
        address: PciAddress,
        /// `<driver name=…>`: `vfio`, `kvm`, `xen`; `None` means the default (vfio).
        driver: Option<String>,
    },
    Mdev {
        /// `model=`: `vfio-pci`, `vfio-ccw`, `vfio-ap`.
        model: Option<String>,
        uuid: Option<String>,
    },
    Scsi {
        /// `protocol='iscsi'` sources are network devices.
        protocol: Option<String>,
        adapter: Option<String>,
        bus: Option<u32>,
        target: Option<u32>,
        unit: Option<u64>,
    },
    ScsiHost {
        /// `protocol='vhost'`.
        protocol: Option<String>,
        wwpn: Option<String>,
    },
    /// `mode='capabilities'` (LXC storage, misc, net) and unknown types.
    Other { kind: String },
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PciAddress {
    pub domain: u32,
    pub bus: u8,
    pub slot: u8,
    pub function: u8,
}

impl std::fmt::Display for PciAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04x}:{:02x}:{:02x}.{:x}",
            self.domain, self.bus, self.slot, self.function
        )
    }
}

// ------------------------------------------------------------- filesystem ---

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    /// `type=`: `mount`, `block`, `file`, `template`, `ram`, `bind`, `volume`.
    pub kind: String,
    /// `<driver type=…>`: `path` (9p, the default), `handle`, `loop`, `nbd`,
    /// `ploop`, `virtiofs`; `None` when absent.
    pub driver: Option<String>,
    /// `accessmode=`: `passthrough`, `mapped`, `squash`.
    pub accessmode: Option<String>,
    /// `<source dir=…>` (or `file=`, `dev=`, `name=` depending on type).
    pub source: Option<String>,
    /// `<source socket=…>` for an externally started virtiofsd.
    pub socket: Option<String>,
    pub target: Option<String>,
    pub readonly: bool,
    /// `<binary path=…>` of virtiofsd.
    pub binary: Option<String>,
}

// ------------------------------------------------------------------ input ---

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// `type=`: `mouse`, `tablet`, `keyboard`, `passthrough`, `evdev`.
    pub kind: String,
    /// `<source evdev=…>` (passthrough, evdev) or `dev=`.
    pub evdev: Option<String>,
}

// -------------------------------------------------------------- interface ---

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Interface {
    /// `type=`: `network`, `bridge`, `ethernet`, `vhostuser`, `vdpa`, `user`, …
    pub kind: String,
    /// `<model type=…>`.
    pub model: Option<String>,
    /// `<driver name=…>`: `qemu`, `vhost`.
    pub driver_name: Option<String>,
    /// `<backend type=…>` (`passt`, `default`).
    pub backend: Option<String>,
    /// The vhost-user socket (`<source type='unix' path=…>`) or the vDPA
    /// device (`<source dev=…>`).
    pub source_path: Option<String>,
    /// `<source type=…>` for vhost-user.
    pub source_type: Option<String>,
    /// `<target dev=…>`: the host-side device (`macvtap0`, `vnet3`), in a
    /// live definition or when the user names it.
    pub target_dev: Option<String>,
    /// `<alias name=…>`: libvirt's device alias (`net0`, or a user alias
    /// `ua-…`), in a live definition or when the user names it.
    pub alias: Option<String>,
    /// `<backend logFile=…>`: the file passt logs to.
    pub backend_log: Option<String>,
}

// ----------------------------------------------------------------- memory ---

open_names! {
    /// `<memory model=…>` of a memory device.
    MemoryModel {
        Dimm = "dimm",
        Nvdimm = "nvdimm",
        VirtioPmem = "virtio-pmem",
        VirtioMem = "virtio-mem",
        SgxEpc = "sgx-epc",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryDevice {
    /// `model=`.
    pub model: MemoryModel,
    /// `<source><path>`.
    pub path: Option<String>,
}

// ----------------------------------------------------------------- pstore ---

/// `<pstore backend=…>`: persistent storage for guest kernel crash logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pstore {
    /// `backend=` (`acpi-erst`).
    pub backend: Option<String>,
    /// `<path>`: the host file backing the store, which QEMU writes.
    pub path: Option<String>,
}

// ------------------------------------------------------------------ audio ---

open_names! {
    /// `<audio type=…>`: the host audio backend QEMU plays and records
    /// through.
    AudioType {
        None = "none",
        Alsa = "alsa",
        CoreAudio = "coreaudio",
        Jack = "jack",
        Oss = "oss",
        PulseAudio = "pulseaudio",
        Sdl = "sdl",
        Spice = "spice",
        File = "file",
        Dbus = "dbus",
    }
}

/// `<audio id=… type=…>`: an audio backend, with the attributes that name
/// host resources. Strings are kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audio {
    /// `id=`, which `<sound><audio id>` refers to.
    pub id: Option<u32>,
    pub kind: AudioType,
    /// `<input dev=…>`: an OSS device path (QEMU's default `/dev/dsp` when
    /// absent); for ALSA a PCM name, not a path.
    pub input_dev: Option<String>,
    /// `<output dev=…>`, as `input_dev`.
    pub output_dev: Option<String>,
    /// `path=` of `type='file'`: the WAV file QEMU writes.
    pub path: Option<String>,
    /// `serverName=` of `type='pulseaudio'`: a server string (a socket
    /// path, `unix:/path`, a host name, `tcp:host:port`, …).
    pub server_name: Option<String>,
}

impl Audio {
    /// A backend of type `kind` with nothing else set.
    pub fn new(kind: AudioType) -> Self {
        Audio {
            id: None,
            kind,
            input_dev: None,
            output_dev: None,
            path: None,
            server_name: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shmem {
    pub name: String,
    /// `<model type=…>`: `ivshmem`, `ivshmem-plain`, `ivshmem-doorbell`.
    pub model: Option<String>,
    /// `<server path=…>` when a `<server>` element is present.
    pub server: Option<ShmemServer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShmemServer {
    /// `None` means libvirt's default socket path.
    pub path: Option<String>,
}

// -------------------------------------------------------------------- tpm ---

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tpm {
    /// `model=`: `tpm-tis`, `tpm-crb`, `tpm-spapr`.
    pub model: Option<String>,
    pub backend: TpmBackend,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TpmBackend {
    Emulator {
        /// `version='1.2'|'2.0'`; `None` when absent.
        version: Option<String>,
        /// `<source type='file' path=…>` persistent state (libvirt ≥ 9.x).
        state_path: Option<String>,
    },
    Passthrough {
        /// `<device path=…>`, e.g. `/dev/tpm0`.
        device: Option<String>,
    },
    External {
        socket: Option<String>,
    },
}

// -------------------------------------------------------------- smartcard ---

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Smartcard {
    Host,
    HostCertificates {
        /// `<database>`; libvirt's default is `/etc/pki/nssdb`.
        database: Option<String>,
    },
    Passthrough,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vsock {
    pub cid: Option<u32>,
    pub auto: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_names_round_trip_and_keep_unknown_ones() {
        for name in ["disk", "cdrom", "floppy", "lun"] {
            let d = DiskDevice::from_name(name);
            assert!(!matches!(d, DiskDevice::Other(_)), "{name}");
            assert_eq!(d.as_str(), name);
            assert_eq!(d.to_string(), name);
        }
        for name in [
            "null",
            "vc",
            "pty",
            "dev",
            "file",
            "pipe",
            "stdio",
            "udp",
            "tcp",
            "unix",
            "spicevmc",
            "spiceport",
            "nmdm",
            "qemu-vdagent",
            "dbus",
        ] {
            let t = CharDevSourceType::from_name(name);
            assert!(!matches!(t, CharDevSourceType::Other(_)), "{name}");
            assert_eq!(t.as_str(), name);
        }
        for name in [
            "sdl",
            "vnc",
            "rdp",
            "desktop",
            "spice",
            "egl-headless",
            "dbus",
        ] {
            let g = GraphicsType::from_name(name);
            assert!(!matches!(g, GraphicsType::Other(_)), "{name}");
            assert_eq!(g.as_str(), name);
        }
        for name in [
            "none",
            "alsa",
            "coreaudio",
            "jack",
            "oss",
            "pulseaudio",
            "sdl",
            "spice",
            "file",
            "dbus",
        ] {
            let a = AudioType::from_name(name);
            assert!(!matches!(a, AudioType::Other(_)), "{name}");
            assert_eq!(a.as_str(), name);
        }
        assert_eq!(
            AudioType::from_name("pipewire"),
            AudioType::Other("pipewire".into())
        );
        for name in ["dimm", "nvdimm", "virtio-pmem", "virtio-mem", "sgx-epc"] {
            let m = MemoryModel::from_name(name);
            assert!(!matches!(m, MemoryModel::Other(_)), "{name}");
            assert_eq!(m.as_str(), name);
        }
        // Names are case-sensitive, and anything else is kept as written.
        assert_eq!(
            DiskDevice::from_name("CDROM"),
            DiskDevice::Other("CDROM".into())
        );
        assert_eq!(
            CharDevSourceType::from_name("pty "),
            CharDevSourceType::Other("pty ".into())
        );
        let g = GraphicsType::from_name("future");
        assert_eq!(g, GraphicsType::Other("future".into()));
        assert_eq!(g.as_str(), "future");
        assert_eq!(g.to_string(), "future");
        assert_eq!(MemoryModel::from_name("").as_str(), "");
    }

    #[test]
    fn qemu_family() {
        let family: Vec<VirtType> = VirtType::ALL
            .iter()
            .copied()
            .filter(|t| t.is_qemu_family())
            .collect();
        assert_eq!(family, [VirtType::Qemu, VirtType::Kqemu, VirtType::Kvm]);
    }
}
