//! `<launchSecurity>`: with [`crate::Settings::sev_device`], an AMD SEV or
//! SEV-SNP guest gets `/dev/sev` (`rw`), which QEMU opens to talk to the
//! platform firmware. libvirt's helper grants nothing for it.

use super::Collector;
use crate::policy::{Access, FixedPattern, Grant, Origin};

/// The `<launchSecurity type>` values that make QEMU open `/dev/sev`.
const SEV_TYPES: &[&str] = &["sev", "sev-snp"];

pub(super) fn add(cx: &mut Collector) {
    let sev = cx
        .domain
        .launch_security
        .as_deref()
        .is_some_and(|t| SEV_TYPES.contains(&t));
    if cx.settings.sev_device && sev {
        cx.push(Grant::fixed(
            FixedPattern::SEV,
            Access::RW,
            Origin::LaunchSecurity,
        ));
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::VirtType;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn sev_and_sev_snp_get_dev_sev_in_safe_mode_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        let got = |d: &crate::domain::Domain, s: &Settings| {
            show(&grants_for(d, s, &FakeHost::default()).unwrap().grants)
        };
        for kind in ["sev", "sev-snp"] {
            d.launch_security = Some(kind.into());
            assert!(
                got(&d, &Settings::libvirt_compatible()).is_empty(),
                "{kind}"
            );
            assert_eq!(got(&d, &Settings::safe()), ["/dev/sev rw"], "{kind}");
        }
        for kind in ["s390-pv", "tdx", "SEV"] {
            d.launch_security = Some(kind.into());
            assert!(got(&d, &Settings::safe()).is_empty(), "{kind}");
        }
        d.launch_security = None;
        assert!(got(&d, &Settings::safe()).is_empty());
    }
}
