//! What a VM is granted: a target, an access mode and the reason.
//!
//! Grants are produced by the resources step and turned into rules by
//! [`crate::policy::rules`]. They hold paths exactly as the domain spelled
//! them; nothing here touches the filesystem.

use std::fmt;

use crate::domain::CharDevKind;

/// AppArmor file permissions, as a set.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Access(u8);

impl Access {
    pub const MMAP: Access = Access(1 << 0);
    pub const READ: Access = Access(1 << 1);
    pub const WRITE: Access = Access(1 << 2);
    pub const LINK: Access = Access(1 << 3);
    pub const LOCK: Access = Access(1 << 4);

    /// `r`
    pub const R: Access = Access::READ;
    /// `w`
    pub const W: Access = Access::WRITE;
    /// `rw`
    pub const RW: Access = Access(Self::READ.0 | Self::WRITE.0);
    /// `rk`
    pub const RK: Access = Access(Self::READ.0 | Self::LOCK.0);
    /// `rwk`
    pub const RWK: Access = Access(Self::READ.0 | Self::WRITE.0 | Self::LOCK.0);
    /// `rwl`
    pub const RWL: Access = Access(Self::READ.0 | Self::WRITE.0 | Self::LINK.0);
    /// `mr`
    pub const MR: Access = Access(Self::MMAP.0 | Self::READ.0);

    pub const fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }

    pub const fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether a grant with this access is read-only for the restricted-path
    /// check: it has no `w`.
    pub const fn is_read_only(self) -> bool {
        !self.contains(Access::WRITE)
    }
}

impl fmt::Display for Access {
    /// Renders in the order libvirt writes permissions (`mr`, `rwk`, `rwl`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (bit, ch) in [
            (Access::MMAP, 'm'),
            (Access::READ, 'r'),
            (Access::WRITE, 'w'),
            (Access::LINK, 'l'),
            (Access::LOCK, 'k'),
        ] {
            if self.contains(bit) {
                write!(f, "{ch}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Access({self})")
    }
}

/// svirt's own pattern syntax: the closed set of globs that may be live in
/// a rule. Nothing else from any input is ever left live in safe mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Glob {
    /// `**/`: any number of directories (log and pid files).
    AnyDirs,
    /// `*`: any file in a directory.
    AnyFile,
    /// `**`: everything below a directory.
    Everything,
    /// `**/*.tunnelmigrate.dest.`: libvirt's tunnelled migration pipes.
    TunnelMigrate,
    /// `{,*}`: a directory and its entries.
    Entries,
    /// `{,**}`: a directory and everything below it.
    Subtree,
    /// Any libvirt domain id (one to ten decimal digits, no sign), where a
    /// VM's per-run names carry it (`domain-<id>-<name>`): the rules then
    /// stay the same from one start to the next (`stable_run_dirs`). It
    /// may be followed by text and by one more glob.
    RunId,
}

/// [`Glob::RunId`]'s text: exactly the digit strings of length 1 to 10.
const RUN_ID: &str = "{[0-9],[1-9][0-9],[1-9][0-9][0-9],[1-9][0-9][0-9][0-9],\
[1-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9],\
[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9],\
[1-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]}";

impl Glob {
    pub const ALL: &'static [Glob] = &[
        Glob::AnyDirs,
        Glob::AnyFile,
        Glob::Everything,
        Glob::TunnelMigrate,
        Glob::Entries,
        Glob::Subtree,
        Glob::RunId,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Glob::AnyDirs => "**/",
            Glob::AnyFile => "*",
            Glob::Everything => "**",
            Glob::TunnelMigrate => "**/*.tunnelmigrate.dest.",
            Glob::Entries => "{,*}",
            Glob::Subtree => "{,**}",
            Glob::RunId => RUN_ID,
        }
    }

    /// Whether a literal may follow this glob in a pattern (a file name
    /// after any number of directories); the others end the pattern.
    pub const fn may_precede_literal(self) -> bool {
        matches!(self, Glob::AnyDirs | Glob::TunnelMigrate | Glob::RunId)
    }
}

/// A whole pattern svirt writes for a fixed device or library path. The
/// set is closed: only this module can make one, and each is listed in
/// [`FixedPattern::ALL`], which the rule grammar accepts verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FixedPattern(&'static str);

impl FixedPattern {
    pub const VHOST_NET: FixedPattern = FixedPattern("/dev/vhost-net");
    pub const VFIO_CONTAINER: FixedPattern = FixedPattern("/dev/vfio/vfio");
    /// Every IOMMU group (libvirt's rule: the group is not known yet).
    pub const VFIO_GROUPS: FixedPattern = FixedPattern("/dev/vfio/[0-9]*");
    /// Every pty (this VM's own rule, before its pty has a number).
    pub const PTYS: FixedPattern = FixedPattern("/dev/pts/[0-9]*");
    pub const GL_DRI: FixedPattern = FixedPattern("/usr/lib{,32,64}/dri/*.so*");
    pub const GL_DRI_MULTIARCH: FixedPattern = FixedPattern("/usr/lib/@{multiarch}/dri/*.so*");
    pub const GL_FGLRX: FixedPattern = FixedPattern("/usr/lib/fglrx/dri/*.so*");
    pub const GL_DRIRC: FixedPattern = FixedPattern("/etc/drirc");
    pub const GL_DRIRC_D: FixedPattern = FixedPattern("/usr/share/drirc.d/{,*.conf}");
    pub const GL_EGL_VENDOR_ETC: FixedPattern = FixedPattern("/etc/glvnd/egl_vendor.d/{,*}");
    pub const GL_EGL_VENDOR: FixedPattern = FixedPattern("/usr/share/glvnd/egl_vendor.d/{,*}");
    pub const GL_EGL_PLATFORM_DIR: FixedPattern =
        FixedPattern("/usr/share/egl/egl_external_platform.d/");
    pub const GL_EGL_PLATFORM: FixedPattern =
        FixedPattern("/usr/share/egl/egl_external_platform.d/*");
    pub const GL_PROC_MODULES: FixedPattern = FixedPattern("/proc/modules");
    pub const GL_NVIDIA_PARAMS: FixedPattern = FixedPattern("/proc/driver/nvidia/params");
    pub const GL_NVIDIACTL: FixedPattern = FixedPattern("/dev/nvidiactl");
    pub const GL_DRI_DIR: FixedPattern = FixedPattern("/dev/dri/");
    pub const GL_SYSFS_ATTRS: FixedPattern = FixedPattern(
        "/sys/devices/**/{uevent,vendor,device,subsystem_vendor,subsystem_device,config,revision}",
    );
    pub const GL_CACHE: FixedPattern = FixedPattern("/var/lib/libvirt/.cache/");
    /// AMD SEV / SEV-SNP firmware interface.
    pub const SEV: FixedPattern = FixedPattern("/dev/sev");
    /// Intel SGX virtual EPC and the provisioning key device.
    pub const SGX_VEPC: FixedPattern = FixedPattern("/dev/sgx_vepc");
    pub const SGX_PROVISION: FixedPattern = FixedPattern("/dev/sgx_provision");
    /// ALSA: the sound device directory and the nodes alsa-lib opens.
    pub const SND_DIR: FixedPattern = FixedPattern("/dev/snd/");
    pub const SND_DEVICES: FixedPattern = FixedPattern("/dev/snd/*");
    /// ALSA: the configuration alsa-lib reads (read-only).
    pub const ALSA_DATA: FixedPattern = FixedPattern("/usr/share/alsa/**");
    pub const ALSA_CONF: FixedPattern = FixedPattern("/etc/asound.conf");
    pub const ALSA_CONF_D: FixedPattern = FixedPattern("/etc/alsa/conf.d/{,*}");
    /// The passt binary, which its child profile reads.
    pub const PASST_BINARY: FixedPattern = FixedPattern("/usr/bin/passt");

    pub const ALL: &'static [FixedPattern] = &[
        Self::VHOST_NET,
        Self::VFIO_CONTAINER,
        Self::VFIO_GROUPS,
        Self::PTYS,
        Self::GL_DRI,
        Self::GL_DRI_MULTIARCH,
        Self::GL_FGLRX,
        Self::GL_DRIRC,
        Self::GL_DRIRC_D,
        Self::GL_EGL_VENDOR_ETC,
        Self::GL_EGL_VENDOR,
        Self::GL_EGL_PLATFORM_DIR,
        Self::GL_EGL_PLATFORM,
        Self::GL_PROC_MODULES,
        Self::GL_NVIDIA_PARAMS,
        Self::GL_NVIDIACTL,
        Self::GL_DRI_DIR,
        Self::GL_SYSFS_ATTRS,
        Self::GL_CACHE,
        Self::SEV,
        Self::SGX_VEPC,
        Self::SGX_PROVISION,
        Self::SND_DIR,
        Self::SND_DEVICES,
        Self::ALSA_DATA,
        Self::ALSA_CONF,
        Self::ALSA_CONF_D,
        Self::PASST_BINARY,
    ];

    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

/// A helper program that libvirt runs in the VM's own profile and that
/// svirt confines in a child profile of it. The set is closed: each kind's
/// lines (the exec transition, the profile header, its fixed rules) are
/// svirt's own text, which the rule grammar accepts verbatim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChildKind {
    /// passt, the user-mode network back-end (`<backend type='passt'>`).
    Passt,
}

/// The confined managers that may stop a helper with SIGTERM.
const CHILD_SIGNAL_PEERS: &[&str] = &["libvirtd", "/usr/sbin/libvirtd", "virtqemud"];

impl ChildKind {
    pub const ALL: &'static [ChildKind] = &[ChildKind::Passt];

    /// The child profile's name (`libvirt-<uuid>//<name>`).
    pub const fn name(self) -> &'static str {
        match self {
            ChildKind::Passt => "passt",
        }
    }

    /// The program that enters the child profile when executed.
    pub const fn binary(self) -> FixedPattern {
        match self {
            ChildKind::Passt => FixedPattern::PASST_BINARY,
        }
    }

    /// The exec transition in the VM's profile.
    pub fn exec_line(self) -> String {
        format!("  \"{}\" Cx -> {},", self.binary().as_str(), self.name())
    }

    /// The line that opens the child profile.
    pub fn header_line(self) -> String {
        format!("  profile {} {{", self.name())
    }

    /// The line that closes the child profile.
    pub const CLOSE_LINE: &'static str = "  }";

    /// The child's fixed statements that are not file rules (indented for
    /// the inside of the child): SIGTERM from the managers, and the
    /// distribution's rules for the program, when installed.
    pub fn fixed_lines(self) -> Vec<String> {
        match self {
            ChildKind::Passt => {
                let mut lines: Vec<String> = CHILD_SIGNAL_PEERS
                    .iter()
                    .map(|peer| format!("    signal (receive) set=(term) peer={peer},"))
                    .collect();
                lines.push("    include if exists <abstractions/passt>".to_owned());
                lines
            }
        }
    }
}

/// A child profile of the VM's profile: the program's exec transition and
/// the profile itself, holding the program's fixed lines and `grants`
/// (this VM's own files), each made by the one rule constructor.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChildProfile {
    pub kind: ChildKind,
    pub grants: Vec<Grant>,
}

/// One piece of a svirt-written pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternPart {
    /// Text taken literally: a trusted prefix (the layout's directories, a
    /// fixed device path) or a value already validated by the parser
    /// (UUID, TPM version). Escaped in safe mode; `"` and control
    /// characters are refused in every mode.
    Literal(String),
    /// A name from the domain that must stay one path component (the
    /// domain name in per-VM paths): checked like a literal, and `/`
    /// is refused.
    Name(String),
    Glob(Glob),
}

/// What a grant names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A single file named by the domain. It is canonicalised, checked
    /// against the restricted prefixes and escaped.
    Path(String),
    /// A directory named by the domain, granted with everything below it:
    /// `"<dir>/**" <access>` plus `"<dir>/" r` (9p shares). Checked like
    /// [`Target::Path`], and as a tree.
    Tree(String),
    /// `"<dir>/{,**}"`: a directory and everything below it, as libvirt's
    /// driver asks with `-F` (memory backing, per-VM directories). Checked
    /// like [`Target::Tree`].
    Subtree(String),
    /// `"<dir>/{,*}"`: a directory and its entries (a smartcard's NSS
    /// database). Checked like [`Target::Tree`].
    Entries(String),
    /// A pattern written by svirt (per-VM base rules, TPM state). Not
    /// canonicalised; literal parts are checked and escaped.
    Pattern(Vec<PatternPart>),
    /// One of svirt's fixed patterns, written verbatim.
    Fixed(FixedPattern),
    /// A child profile (`<binary> Cx -> <name>` and `profile <name> {…}`)
    /// whose grants are made into rules like any other. Never nested.
    Child(ChildProfile),
}

impl Target {
    /// A short name of the target's kind, for reports.
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Path(_) => "path",
            Target::Tree(_) => "tree",
            Target::Subtree(_) => "subtree",
            Target::Entries(_) => "entries",
            Target::Pattern(_) => "pattern",
            Target::Fixed(_) => "fixed",
            Target::Child(_) => "child profile",
        }
    }

    /// What was asked for, before any check: the path, or the pattern
    /// with its pieces joined.
    pub fn requested(&self) -> String {
        match self {
            Target::Path(p) | Target::Tree(p) | Target::Subtree(p) | Target::Entries(p) => {
                p.clone()
            }
            Target::Fixed(f) => f.as_str().to_owned(),
            Target::Child(c) => c.kind.binary().as_str().to_owned(),
            Target::Pattern(parts) => parts
                .iter()
                .map(|p| match p {
                    PatternPart::Literal(l) | PatternPart::Name(l) => l.as_str(),
                    PatternPart::Glob(g) => g.as_str(),
                })
                .collect(),
        }
    }

    /// Whether the target is a directory granted with what lies below it.
    pub fn is_tree(&self) -> bool {
        matches!(
            self,
            Target::Tree(_) | Target::Subtree(_) | Target::Entries(_)
        )
    }
}

/// Which field of an image header named a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderField {
    BackingFile,
    DataFile,
    Extent,
}

impl fmt::Display for HeaderField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HeaderField::BackingFile => "backing file",
            HeaderField::DataFile => "external data file",
            HeaderField::Extent => "extent",
        })
    }
}

/// A path that an image header named, not the domain: untrusted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FromHeader {
    /// The image whose header names the file.
    pub image: String,
    pub field: HeaderField,
}

/// Where a grant came from, for `--json`, `svirt explain` and comments.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A per-VM base rule (log, monitor, run dir, pid file, migration pipe).
    Base(&'static str),
    /// Layer `layer` (0 = the image the VM sees) of disk number `index`.
    Disk {
        index: usize,
        target: Option<String>,
        layer: usize,
    },
    /// The qcow2 external data file of a layer of disk number `index`.
    DiskDataFile {
        index: usize,
        target: Option<String>,
        layer: usize,
    },
    /// A character device source (`role`: "source", "pipe input", "pipe
    /// output", "log file").
    CharDev {
        kind: CharDevKind,
        index: usize,
        role: &'static str,
    },
    Kernel,
    Initrd,
    Dtb,
    AcpiTable,
    Loader,
    /// `<os><shim>`.
    Shim,
    /// Layer `layer` of the NVRAM store.
    Nvram {
        layer: usize,
    },
    Graphics {
        index: usize,
        role: &'static str,
    },
    HostDev {
        index: usize,
        role: &'static str,
    },
    Filesystem {
        index: usize,
    },
    Input {
        index: usize,
    },
    Interface {
        index: usize,
        role: &'static str,
    },
    Memory {
        index: usize,
    },
    FwCfg {
        index: usize,
    },
    Shmem {
        index: usize,
    },
    Tpm {
        index: usize,
        role: &'static str,
    },
    Smartcard {
        index: usize,
    },
    Pstore {
        index: usize,
    },
    /// Audio backend number `index` (`<audio>`; `role`: "ALSA devices",
    /// "OSS output device", "WAV file", …).
    Audio {
        index: usize,
        role: &'static str,
    },
    /// `<launchSecurity>` (SEV, SEV-SNP).
    LaunchSecurity,
    /// The child profile passt runs in (`<backend type='passt'>`).
    Passt,
    /// The aggregated trailing rules.
    VhostNet,
    Vfio,
    Gl,
    /// A file added by the caller (`virt-aa-helper -f/-F`, hotplug).
    Extra,
    /// A rule the operator added for this VM (`svirt allow`).
    Operator,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Base(what) => write!(f, "per-VM {what}"),
            Origin::Disk {
                index,
                target,
                layer,
            } => {
                write!(f, "disk {}", disk_name(*index, target))?;
                if *layer == 0 {
                    write!(f, " image")
                } else {
                    write!(f, " backing layer {layer}")
                }
            }
            Origin::DiskDataFile {
                index,
                target,
                layer,
            } => {
                write!(
                    f,
                    "disk {} data file of layer {layer}",
                    disk_name(*index, target)
                )
            }
            Origin::CharDev { kind, index, role } => {
                let kind = match kind {
                    CharDevKind::Serial => "serial",
                    CharDevKind::Parallel => "parallel",
                    CharDevKind::Channel => "channel",
                    CharDevKind::Console => "console",
                };
                write!(f, "{kind} {index} {role}")
            }
            Origin::Kernel => write!(f, "direct-boot kernel"),
            Origin::Initrd => write!(f, "direct-boot initrd"),
            Origin::Dtb => write!(f, "device tree blob"),
            Origin::AcpiTable => write!(f, "ACPI table"),
            Origin::Loader => write!(f, "firmware loader"),
            Origin::Shim => write!(f, "UEFI shim"),
            Origin::Nvram { layer: 0 } => write!(f, "NVRAM variable store"),
            Origin::Nvram { layer } => write!(f, "NVRAM backing layer {layer}"),
            Origin::Graphics { index, role } => write!(f, "graphics {index} {role}"),
            Origin::HostDev { index, role } => write!(f, "hostdev {index} {role}"),
            Origin::Filesystem { index } => write!(f, "filesystem {index}"),
            Origin::Input { index } => write!(f, "input {index}"),
            Origin::Interface { index, role } => write!(f, "interface {index} {role}"),
            Origin::Memory { index } => write!(f, "memory device {index}"),
            Origin::FwCfg { index } => write!(f, "fw_cfg entry {index}"),
            Origin::Shmem { index } => write!(f, "shmem {index}"),
            Origin::Tpm { index, role } => write!(f, "TPM {index} {role}"),
            Origin::Smartcard { index } => write!(f, "smartcard {index}"),
            Origin::Pstore { index } => write!(f, "pstore {index}"),
            Origin::Audio { index, role } => write!(f, "audio backend {index} {role}"),
            Origin::LaunchSecurity => write!(f, "launch security (SEV)"),
            Origin::Passt => write!(f, "passt network back-end (child profile)"),
            Origin::VhostNet => write!(f, "vhost-net for virtio NICs"),
            Origin::Vfio => write!(f, "VFIO for assigned devices"),
            Origin::Gl => write!(f, "GL rendering libraries and devices"),
            Origin::Extra => write!(f, "file added by the caller"),
            Origin::Operator => write!(f, "the operator's override (svirt allow)"),
        }
    }
}

fn disk_name(index: usize, target: &Option<String>) -> String {
    match target {
        Some(t) => t.clone(),
        None => format!("#{index}"),
    }
}

/// Whether a rule is an allow rule or an explicit deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    Allow,
    /// An explicit `deny` rule (used for fixed, svirt-written patterns).
    Deny,
}

/// One thing the VM is granted (or, rarely, explicitly denied).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grant {
    pub target: Target,
    pub access: Access,
    pub mode: Mode,
    /// Follow a read-only grant with a `deny … w` rule so QEMU's write
    /// attempts are not audited. libvirt does this for every read-only path
    /// except 9p shares (its `R` pseudo-permission).
    pub quiet_write_deny: bool,
    /// Comment lines written before the rule (without `# `).
    pub comment: Option<&'static str>,
    /// A refused path is reported and skipped instead of failing the whole
    /// profile (libvirt ignores the result for render nodes).
    pub best_effort: bool,
    /// Set when an image header, not the domain, named the path.
    pub from_header: Option<FromHeader>,
    pub origin: Origin,
}

impl Grant {
    /// A file named by the domain. Read-only grants get the quiet write deny.
    pub fn path(path: impl Into<String>, access: Access, origin: Origin) -> Grant {
        Grant {
            target: Target::Path(path.into()),
            access,
            mode: Mode::Allow,
            quiet_write_deny: access.is_read_only(),
            comment: None,
            best_effort: false,
            from_header: None,
            origin,
        }
    }

    /// A directory named by the domain, granted as a tree of one of the
    /// shapes [`Target::Tree`], [`Target::Subtree`], [`Target::Entries`].
    pub fn tree(target: Target, access: Access, quiet_write_deny: bool, origin: Origin) -> Grant {
        debug_assert!(target.is_tree());
        Grant {
            target,
            access,
            mode: Mode::Allow,
            quiet_write_deny,
            comment: None,
            best_effort: false,
            from_header: None,
            origin,
        }
    }

    /// A svirt-written pattern.
    pub fn pattern(parts: Vec<PatternPart>, access: Access, origin: Origin) -> Grant {
        Grant::svirt(Target::Pattern(parts), access, origin)
    }

    /// A child profile for `kind`, with this VM's `grants` inside. Its
    /// access is the program's: it is executed (`x`, rendered `Cx`).
    pub fn child(kind: ChildKind, grants: Vec<Grant>, origin: Origin) -> Grant {
        Grant::svirt(
            Target::Child(ChildProfile { kind, grants }),
            Access::R,
            origin,
        )
    }

    /// One of svirt's fixed patterns.
    pub fn fixed(pattern: FixedPattern, access: Access, origin: Origin) -> Grant {
        Grant::svirt(Target::Fixed(pattern), access, origin)
    }

    fn svirt(target: Target, access: Access, origin: Origin) -> Grant {
        Grant {
            target,
            access,
            mode: Mode::Allow,
            quiet_write_deny: false,
            comment: None,
            best_effort: false,
            from_header: None,
            origin,
        }
    }

    /// No quiet write deny, even when read-only (libvirt's `R`).
    pub fn without_write_deny(mut self) -> Grant {
        self.quiet_write_deny = false;
        self
    }

    pub fn denied(mut self) -> Grant {
        self.mode = Mode::Deny;
        self
    }

    /// See [`Grant::best_effort`].
    pub fn best_effort(mut self) -> Grant {
        self.best_effort = true;
        self
    }

    /// Marks the path as named by an image header (see
    /// [`crate::Settings::untrusted_header_paths`]).
    pub fn from_header(mut self, image: impl Into<String>, field: HeaderField) -> Grant {
        self.from_header = Some(FromHeader {
            image: image.into(),
            field,
        });
        self
    }

    pub fn with_comment(mut self, comment: &'static str) -> Grant {
        self.comment = Some(comment);
        self
    }
}
