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

/// One piece of a trusted pattern: either text to be taken literally (it may
/// come from the domain, e.g. its name) or glob syntax svirt itself wrote.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PatternPart {
    Literal(String),
    Glob(&'static str),
}

/// What a grant names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// A single file named by the domain. It is canonicalised, checked
    /// against the restricted prefixes and escaped.
    Path(String),
    /// A directory named by the domain, granted with everything below it:
    /// `"<dir>/**" <access>` plus `"<dir>/" r`. Checked like [`Target::Path`].
    Tree(String),
    /// A pattern written by svirt (per-VM base rules, TPM state, fixed
    /// devices). Not canonicalised or checked; literal parts are escaped.
    Pattern(Vec<PatternPart>),
}

impl Target {
    /// A pattern that is all svirt-written glob text.
    pub fn fixed(text: &'static str) -> Target {
        Target::Pattern(vec![PatternPart::Glob(text)])
    }
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
    /// The aggregated trailing rules.
    VhostNet,
    Vfio,
    Gl,
    /// A file added by the caller (`virt-aa-helper -f/-F`, hotplug).
    Extra,
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
            Origin::VhostNet => write!(f, "vhost-net for virtio NICs"),
            Origin::Vfio => write!(f, "VFIO for assigned devices"),
            Origin::Gl => write!(f, "GL rendering libraries and devices"),
            Origin::Extra => write!(f, "file added by the caller"),
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
            origin,
        }
    }

    /// A directory tree named by the domain (9p shares).
    pub fn tree(
        dir: impl Into<String>,
        access: Access,
        quiet_write_deny: bool,
        origin: Origin,
    ) -> Grant {
        Grant {
            target: Target::Tree(dir.into()),
            access,
            mode: Mode::Allow,
            quiet_write_deny,
            comment: None,
            best_effort: false,
            origin,
        }
    }

    /// A svirt-written pattern.
    pub fn pattern(parts: Vec<PatternPart>, access: Access, origin: Origin) -> Grant {
        Grant {
            target: Target::Pattern(parts),
            access,
            mode: Mode::Allow,
            quiet_write_deny: false,
            comment: None,
            best_effort: false,
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

    pub fn with_comment(mut self, comment: &'static str) -> Grant {
        self.comment = Some(comment);
        self
    }
}
