//! Domain → the ordered list of [`Grant`]s the VM needs.
//!
//! One module per device family, called by [`grants_for`] in libvirt's
//! order of emission (spec §3.4), so that the rendered `.files` matches
//! libvirt's byte for byte in compatibility mode. A new device type goes in
//! the module of its family, or in a new module called from [`grants_for`]
//! at the position libvirt's helper would emit it.
//!
//! Everything here is pure: the host is only asked through [`Host`].
//! Paths are passed on exactly as the domain spells them ([`Target::Path`],
//! [`Target::Tree`]); canonicalising, checking and escaping them is the
//! policy step's job. Patterns svirt writes itself ([`Target::Pattern`])
//! keep every piece that comes from the domain in a
//! [`PatternPart::Literal`], so it is escaped in safe mode.

mod audio;
mod base;
mod chardev;
mod disk;
mod filesystem;
mod firmware;
mod fwcfg;
mod graphics;
mod hostdev;
mod input;
mod launch;
mod memory;
mod net;
mod passt;
mod pstore;
mod shmem;
mod smartcard;
mod tpm;
mod trailing;

pub use base::{start_requests, StartRequest};
pub use chardev::chardev_grants;
pub use disk::storage_grants;
pub use hostdev::{hostdev_grants, VHOST_SCSI};
pub use input::input_grants;
pub use memory::memory_grants;
pub use net::interface_grants;

use crate::domain::{Domain, SecLabel};
use crate::host::Host;
use crate::policy::Grant;
use crate::Settings;

#[cfg(test)]
pub(crate) mod testing;

/// What the resources step found: the grants, in libvirt's order, and
/// warnings for the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    pub grants: Vec<Grant>,
    pub warnings: Vec<String>,
}

/// Why the grants for a domain cannot be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResourcesError {
    /// libvirt's helper fails the whole generation in this case too.
    #[error(
        "graphics device {index} (sdl) has no xauth file: SDL needs the \
         X authority file to be named with xauth='…'"
    )]
    SdlWithoutXauth { index: usize },
    /// A vhost-user interface names no socket (a passt backend's, made at
    /// start): libvirt 11.3's helper fails the whole generation
    /// ([`crate::Settings::vhostuser_socket_required`]).
    #[error("interface {index} (vhost-user) has no socket path")]
    VhostUserWithoutSocket { index: usize },
    /// A name that becomes a path component is not one.
    #[error("{device}: refused, its name {name:?} must be one path component: {reason}")]
    BadName {
        device: String,
        name: String,
        reason: &'static str,
    },
}

/// Why a hot-plugged device's grants cannot be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The device names no source where it needs one.
    #[error("{what} has no source path")]
    NoSource { what: &'static str },
    /// The host device it names cannot be found.
    #[error("cannot find the host device node for {what}")]
    NotFound { what: String },
    #[error(transparent)]
    Resources(#[from] ResourcesError),
}

/// How a device's grants are worked out: at start, from the definition
/// and the host as the start sees it (a VFIO group by pattern, a missing
/// USB device silently skipped); at hotplug ([`hostdev_grants`],
/// [`chardev_grants`], …), by the same code, with the few host lookups
/// that are more precise than the start's (the exact VFIO group, SCSI
/// generic nodes, which pipe FIFOs exist), and a device without a source
/// or not found on the host is an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lookup {
    Start,
    Hotplug,
}

/// Every grant `domain` needs, in libvirt's order (§3.4).
pub fn grants_for(
    domain: &Domain,
    settings: &Settings,
    host: &dyn Host,
) -> Result<Resources, ResourcesError> {
    match grants_until_failure(domain, settings, host) {
        (resources, None) => Ok(resources),
        (_, Some(error)) => Err(error),
    }
}

/// Like [`grants_for`], but on failure also returns the grants of the
/// devices before the failing one: libvirt's helper has reported their
/// paths (a missing file's warning) by the time it fails, and so do we.
pub fn grants_until_failure(
    domain: &Domain,
    settings: &Settings,
    host: &dyn Host,
) -> (Resources, Option<ResourcesError>) {
    let mut cx = Collector {
        domain,
        settings,
        host,
        out: Resources::default(),
        needs: Needs::default(),
    };
    base::add(&mut cx);
    if let Err(e) = disk::add(&mut cx) {
        return (cx.out, Some(e));
    }
    chardev::add(&mut cx);
    firmware::add(&mut cx);
    if let Err(e) = graphics::add(&mut cx) {
        return (cx.out, Some(e));
    }
    hostdev::add(&mut cx);
    filesystem::add(&mut cx);
    input::add(&mut cx);
    if let Err(e) = net::add(&mut cx) {
        return (cx.out, Some(e));
    }
    memory::add(&mut cx);
    pstore::add(&mut cx);
    fwcfg::add(&mut cx);
    if let Err(e) = shmem::add(&mut cx) {
        return (cx.out, Some(e));
    }
    tpm::add(&mut cx);
    smartcard::add(&mut cx);
    audio::add(&mut cx);
    launch::add(&mut cx);
    trailing::add(&mut cx);
    (cx.out, None)
}

/// Whether the policy step should drop `grant` silently, rather than fail
/// the run, when its path is restricted. libvirt ignores the result of
/// adding a graphics render node, so a render node under e.g. `/etc` just
/// disappears from the profile.
pub fn is_best_effort(grant: &Grant) -> bool {
    grant.best_effort
}

/// The aggregated needs that become the trailing rules (§3.3).
#[derive(Debug, Default, Clone, Copy)]
struct Needs {
    vhost_net: bool,
    vfio: bool,
    gl: bool,
}

/// The state the device modules add to.
struct Collector<'a> {
    domain: &'a Domain,
    settings: &'a Settings,
    host: &'a dyn Host,
    out: Resources,
    needs: Needs,
}

impl<'a> Collector<'a> {
    /// A collector for one device's grants, outside [`grants_for`].
    fn for_device(domain: &'a Domain, settings: &'a Settings, host: &'a dyn Host) -> Self {
        Collector {
            domain,
            settings,
            host,
            out: Resources::default(),
            needs: Needs::default(),
        }
    }

    fn push(&mut self, grant: Grant) {
        self.out.grants.push(grant);
    }

    fn warn(&mut self, warning: String) {
        self.out.warnings.push(warning);
    }

    /// Whether a device with these labels is left out of the profile: only
    /// with [`Settings::device_relabel_no`] (libvirt ignores device labels).
    fn opted_out(&self, labels: &[SecLabel]) -> bool {
        self.settings.device_relabel_no && labels.iter().any(SecLabel::opts_out_of_apparmor)
    }
}

/// libvirt's maximum length of the name part of a short name.
const SHORT_NAME_BYTES: usize = 20;

/// The `<id>-<name>` short name libvirt uses in per-run paths, the name cut
/// to 20 bytes.
///
/// libvirt's helper runs in the C locale and cuts at 20 *bytes*, even in
/// the middle of a UTF-8 character (which leaves invalid UTF-8 in the
/// profile). We cut at the last character boundary at or before 20 bytes:
/// the same for every name whose cut falls on a boundary (all ASCII names).
pub fn short_name(domain: &Domain) -> String {
    let name = &domain.name;
    let mut end = name.len().min(SHORT_NAME_BYTES);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}-{}", domain.id_or_default(), &name[..end])
}

/// The pattern parts of one path component `<prefix><id>-<name><suffix>`
/// (libvirt's per-run names, [`short_name`]). With `stable_run_dirs`, a
/// live domain whose name libvirt does not cut gets [`Glob::RunId`] for the
/// id, so its rules read the same at every start; otherwise the id and the
/// cut name are literal.
///
/// [`Glob::RunId`]: crate::policy::Glob::RunId
pub(crate) fn run_name(
    domain: &Domain,
    settings: &Settings,
    prefix: &str,
    suffix: &str,
) -> Vec<crate::policy::PatternPart> {
    run_name_with(domain, settings, prefix, suffix, str::to_owned)
}

/// [`run_name`], with `transform` applied to the text after the id (the
/// cut name and `suffix`): libvirt XML-escapes some per-run names (pid
/// files, `virPidFileBuildPath`).
pub(crate) fn run_name_with(
    domain: &Domain,
    settings: &Settings,
    prefix: &str,
    suffix: &str,
    transform: fn(&str) -> String,
) -> Vec<crate::policy::PatternPart> {
    use crate::policy::{Glob, PatternPart};
    let stable =
        settings.stable_run_dirs && domain.id.is_some() && domain.name.len() <= SHORT_NAME_BYTES;
    if !stable {
        return vec![PatternPart::Name(format!(
            "{prefix}{}",
            transform(&format!("{}{suffix}", short_name(domain)))
        ))];
    }
    let mut parts = Vec::new();
    if !prefix.is_empty() {
        parts.push(PatternPart::Name(prefix.to_owned()));
    }
    parts.push(PatternPart::Glob(Glob::RunId));
    parts.push(PatternPart::Name(transform(&format!(
        "-{}{suffix}",
        domain.name
    ))));
    parts
}

/// Whether a domain-supplied path is worth a grant: present and non-empty.
fn non_empty(path: &Option<String>) -> Option<&str> {
    path.as_deref().filter(|p| !p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn short_name_uses_id_and_cuts_at_twenty_bytes() {
        let mut d = domain("a-rather-long-domain-name");
        assert_eq!(short_name(&d), "-1-a-rather-long-domain");
        d.id = Some(42);
        assert_eq!(short_name(&d), "42-a-rather-long-domain");
        d.name = "abcdefghijklmnopqrst".into();
        assert_eq!(short_name(&d), "42-abcdefghijklmnopqrst");
    }

    #[test]
    fn short_name_multibyte_cuts_at_a_character_boundary() {
        let mut d = domain("ééééééééééxyz");
        d.id = Some(5);
        // 10 two-byte characters are exactly 20 bytes, as libvirt cuts.
        assert_eq!(short_name(&d), "5-éééééééééé");
        d.name = "€€€€€€€€€€".into();
        // libvirt would keep 2 bytes of the 7th '€'; we stop before it.
        assert_eq!(short_name(&d), "5-€€€€€€");
    }
}
