//! The security label a VM runs under, and how a `<seclabel>` becomes one
//! (libvirt's security manager rules, spec §4.4 and §4.9).

use crate::domain::{Domain, SecLabelType};

use super::MODEL;

/// `type=` of a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LabelKind {
    /// The driver makes a profile for the VM (`libvirt-<uuid>`), loads it,
    /// updates it on hotplug and removes it at shutdown.
    Dynamic,
    /// The administrator names an existing, loaded profile; the driver
    /// never generates, updates or removes it.
    Static,
    /// The VM is not confined by this driver.
    None,
}

/// The host-wide defaults libvirt reads from `qemu.conf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelPolicy {
    /// `security_default_confined`: a domain without a `<seclabel>` gets a
    /// dynamic one (default `true`).
    pub default_confined: bool,
    /// `security_require_confined`: refuse `type='none'` (default `false`).
    pub require_confined: bool,
}

impl Default for LabelPolicy {
    fn default() -> Self {
        LabelPolicy {
            default_confined: true,
            require_confined: false,
        }
    }
}

/// A VM's AppArmor security label: what libvirt keeps in the live
/// `<seclabel>` of the definition. The manager owns it and passes it back
/// to every driver call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityLabel {
    pub kind: LabelKind,
    /// `relabel='yes'`: the driver may change the profile at run time
    /// (hotplug, restore, paths, descriptors). Always on for dynamic labels.
    pub relabel: bool,
    /// The profile processes run under (`<label>`); set by
    /// [`super::SecurityDriver::gen_label`] for dynamic labels.
    pub label: Option<String>,
    /// The profile the driver reloads (`<imagelabel>`); only dynamic
    /// labels have one, so only they are ever updated.
    pub image_label: Option<String>,
    /// `model=`; `None` until generated or when the XML left it out.
    pub model: Option<String>,
    /// `<baselabel>`, which AppArmor cannot honour.
    pub base_label: Option<String>,
}

/// Why a domain's `<seclabel>` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LabelError {
    #[error("unconfined guests are not allowed on this host (domain {domain} has <seclabel type='none'>)")]
    UnconfinedNotAllowed { domain: String },
    #[error("domain {domain} has a dynamic AppArmor label with relabel='no'; dynamic labels must relabel")]
    DynamicWithoutRelabel { domain: String },
    #[error("domain {domain} has a static AppArmor label without <label>")]
    StaticWithoutLabel { domain: String },
    #[error(
        "cannot set a base label with AppArmor (domain {domain} has <baselabel>{base}</baselabel>)"
    )]
    BaseLabel { domain: String, base: String },
}

impl SecurityLabel {
    /// A fresh dynamic label, not yet generated.
    pub fn dynamic() -> Self {
        SecurityLabel {
            kind: LabelKind::Dynamic,
            relabel: true,
            label: None,
            image_label: None,
            model: None,
            base_label: None,
        }
    }

    /// The dynamic label of a VM whose profile `profile` is already
    /// generated and loaded: what a manager reconnecting to a running VM
    /// (or a second `svirt` command acting on one) holds.
    pub fn generated(profile: &crate::policy::ProfileName) -> Self {
        SecurityLabel {
            kind: LabelKind::Dynamic,
            relabel: true,
            label: Some(profile.to_string()),
            image_label: Some(profile.to_string()),
            model: Some(MODEL.to_owned()),
            base_label: None,
        }
    }

    /// A static label naming an administrator's profile.
    pub fn fixed(profile: impl Into<String>, relabel: bool) -> Self {
        SecurityLabel {
            kind: LabelKind::Static,
            relabel,
            label: Some(profile.into()),
            image_label: None,
            model: Some(MODEL.to_owned()),
            base_label: None,
        }
    }

    /// No confinement.
    pub fn none() -> Self {
        SecurityLabel {
            kind: LabelKind::None,
            relabel: false,
            label: None,
            image_label: None,
            model: None,
            base_label: None,
        }
    }

    /// The label for `domain`, applying the manager's rules: a domain
    /// without an AppArmor `<seclabel>` gets a dynamic one when
    /// `default_confined`, and `None` (the driver skips the domain)
    /// otherwise. `<label>` and `<imagelabel>` of a dynamic label are
    /// ignored, as libvirt does for inactive definitions; they are output.
    ///
    /// ```
    /// use svirt::domain::{parse_domain, Limits};
    /// use svirt::driver::{LabelKind, LabelPolicy, SecurityLabel};
    ///
    /// let xml = "<domain type='kvm'><name>vm</name>\
    ///     <uuid>8f1e2c3d-0000-4000-8000-000000000001</uuid><memory>1024</memory>\
    ///     <os><type>hvm</type></os>\
    ///     <seclabel type='static' model='apparmor'><label>my-qemu</label></seclabel>\
    ///     </domain>";
    /// let domain = parse_domain(xml, &Limits::default())?;
    /// let label = SecurityLabel::from_domain(&domain, &LabelPolicy::default())?.unwrap();
    /// assert_eq!(label.kind, LabelKind::Static);
    /// assert_eq!(label.label.as_deref(), Some("my-qemu"));
    /// assert!(!label.relabel);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_domain(domain: &Domain, policy: &LabelPolicy) -> Result<Option<Self>, LabelError> {
        let Some(sec) = domain.apparmor_seclabel() else {
            return Ok(policy.default_confined.then(SecurityLabel::dynamic));
        };
        let kind = match sec.kind {
            Some(SecLabelType::Dynamic) => LabelKind::Dynamic,
            Some(SecLabelType::Static) => LabelKind::Static,
            Some(SecLabelType::None) => LabelKind::None,
            // A <baselabel> alone implies dynamic.
            None if sec.baselabel.is_some() || policy.default_confined => LabelKind::Dynamic,
            None => LabelKind::None,
        };
        let domain_name = || domain.name.clone();
        match kind {
            LabelKind::Dynamic => {
                if sec.relabel == Some(false) {
                    return Err(LabelError::DynamicWithoutRelabel {
                        domain: domain_name(),
                    });
                }
                Ok(Some(SecurityLabel {
                    model: sec.model.clone(),
                    base_label: sec.baselabel.clone(),
                    ..SecurityLabel::dynamic()
                }))
            }
            LabelKind::Static => {
                let Some(label) = sec.label.clone() else {
                    return Err(LabelError::StaticWithoutLabel {
                        domain: domain_name(),
                    });
                };
                Ok(Some(SecurityLabel {
                    kind,
                    relabel: sec.relabel.unwrap_or(false),
                    label: Some(label),
                    image_label: None,
                    model: sec.model.clone(),
                    base_label: sec.baselabel.clone(),
                }))
            }
            LabelKind::None => {
                if policy.require_confined {
                    return Err(LabelError::UnconfinedNotAllowed {
                        domain: domain_name(),
                    });
                }
                Ok(Some(SecurityLabel::none()))
            }
        }
    }

    /// Whether run-time changes (hotplug and friends) reach the profile:
    /// relabelling is on and there is a profile to reload.
    pub fn reloadable(&self) -> Option<&str> {
        if self.relabel {
            self.image_label.as_deref()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SecLabel;
    use crate::resources::testing::domain;

    fn with(sec: Option<SecLabel>) -> Domain {
        let mut d = domain("vm");
        d.seclabels = sec.into_iter().collect();
        d
    }

    fn sec(kind: Option<SecLabelType>, relabel: Option<bool>, label: Option<&str>) -> SecLabel {
        SecLabel {
            model: Some("apparmor".into()),
            kind,
            relabel,
            label: label.map(Into::into),
            imagelabel: Some("ignored".into()),
            baselabel: None,
        }
    }

    #[test]
    fn absent_seclabel_follows_default_confined() {
        let d = with(None);
        assert_eq!(
            SecurityLabel::from_domain(&d, &LabelPolicy::default()).unwrap(),
            Some(SecurityLabel::dynamic())
        );
        let off = LabelPolicy {
            default_confined: false,
            require_confined: false,
        };
        assert_eq!(SecurityLabel::from_domain(&d, &off).unwrap(), None);
    }

    #[test]
    fn other_models_are_not_ours() {
        let mut s = sec(Some(SecLabelType::Static), None, Some("x"));
        s.model = Some("dac".into());
        let got = SecurityLabel::from_domain(&with(Some(s)), &LabelPolicy::default()).unwrap();
        assert_eq!(got, Some(SecurityLabel::dynamic()));
    }

    #[test]
    fn dynamic_ignores_input_labels_and_needs_relabel() {
        let d = with(Some(sec(Some(SecLabelType::Dynamic), None, Some("x"))));
        let l = SecurityLabel::from_domain(&d, &LabelPolicy::default())
            .unwrap()
            .unwrap();
        assert_eq!(l.label, None);
        assert_eq!(l.image_label, None);
        assert!(l.relabel);
        let d = with(Some(sec(Some(SecLabelType::Dynamic), Some(false), None)));
        let err = SecurityLabel::from_domain(&d, &LabelPolicy::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "domain vm has a dynamic AppArmor label with relabel='no'; dynamic labels must relabel"
        );
    }

    #[test]
    fn static_and_none() {
        let d = with(Some(sec(Some(SecLabelType::Static), None, None)));
        assert!(matches!(
            SecurityLabel::from_domain(&d, &LabelPolicy::default()),
            Err(LabelError::StaticWithoutLabel { .. })
        ));
        let d = with(Some(sec(Some(SecLabelType::Static), Some(true), Some("p"))));
        let l = SecurityLabel::from_domain(&d, &LabelPolicy::default())
            .unwrap()
            .unwrap();
        assert!(l.relabel && l.image_label.is_none());
        assert_eq!(l.reloadable(), None);
        let d = with(Some(sec(Some(SecLabelType::None), None, None)));
        assert_eq!(
            SecurityLabel::from_domain(&d, &LabelPolicy::default()).unwrap(),
            Some(SecurityLabel::none())
        );
        let strict = LabelPolicy {
            default_confined: true,
            require_confined: true,
        };
        assert!(matches!(
            SecurityLabel::from_domain(&d, &strict),
            Err(LabelError::UnconfinedNotAllowed { .. })
        ));
    }

    #[test]
    fn missing_type_defaults() {
        let d = with(Some(sec(None, None, None)));
        assert_eq!(
            SecurityLabel::from_domain(&d, &LabelPolicy::default())
                .unwrap()
                .unwrap()
                .kind,
            LabelKind::Dynamic
        );
        let off = LabelPolicy {
            default_confined: false,
            require_confined: false,
        };
        assert_eq!(
            SecurityLabel::from_domain(&d, &off).unwrap().unwrap().kind,
            LabelKind::None
        );
    }
}
