//! The whole pure pipeline for one VM: domain → grants → rules → text.

use std::path::Path;

use crate::domain::{parse_domain, Domain, DomainError, Limits, VirtType};
use crate::host::Host;
use crate::policy::{
    check_domain_name, render_files, render_profile, rules_for, Grant, NameError, PolicyFailure,
    ProfileName, RuleSet, TemplateError, VmContext, MAX_POLICY_FILE_BYTES,
};
use crate::resources::{grants_until_failure, ResourcesError};
use crate::Settings;

/// svirt's own template, used when the host has none.
pub const BUILTIN_QEMU_TEMPLATE: &str = include_str!("../../../policy/TEMPLATE.qemu");
/// svirt's own QEMU abstraction (`abstractions/svirt-qemu`), which the
/// built-in template includes.
pub const BUILTIN_QEMU_ABSTRACTION: &str = include_str!("../../../policy/abstractions/svirt-qemu");

/// Where the pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Resources(#[from] ResourcesFailure),
    #[error(transparent)]
    Policy(#[from] PolicyFailure),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// The resources step failed at one device; `diagnostics` are what the
/// devices before it reported (missing files), as libvirt's helper prints
/// them before it fails.
#[derive(Debug, thiserror::Error)]
#[error("{error}")]
pub struct ResourcesFailure {
    pub error: ResourcesError,
    pub diagnostics: Vec<crate::policy::Diagnostic>,
}

/// Everything svirt generates for one VM.
#[derive(Debug, Clone)]
pub struct VmPolicy {
    pub name: ProfileName,
    pub rules: RuleSet,
    /// Warnings from the resources step (backing chains, skipped devices).
    pub warnings: Vec<String>,
}

impl VmPolicy {
    /// The per-VM rules, without the header (what a dry run prints).
    pub fn rules_text(&self) -> String {
        self.rules.text()
    }

    /// The complete `.files` include.
    pub fn files_text(&self) -> String {
        render_files(&self.rules.text())
    }
}

/// What `svirt policy install` puts before a template's name: a template
/// of svirt's own beside the distribution's, which the helper prefers, so
/// the distribution's file is never touched and package upgrades leave the
/// choice alone.
pub const SVIRT_TEMPLATE_PREFIX: &str = "svirt.";

/// The template files for a virt type, in the order they are looked for
/// in the policy directory: svirt's installed one, then the
/// distribution's.
pub fn template_candidates(virt_type: VirtType) -> [String; 2] {
    let name = template_file_name(virt_type);
    [format!("{SVIRT_TEMPLATE_PREFIX}{name}"), name]
}

/// The template file name for a virt type: `TEMPLATE.qemu` for the QEMU
/// family, `TEMPLATE.<type>` otherwise.
pub fn template_file_name(virt_type: VirtType) -> String {
    if virt_type.is_qemu_family() {
        "TEMPLATE.qemu".to_owned()
    } else {
        format!("TEMPLATE.{virt_type}")
    }
}

/// What the policy checks need to know about the VM: the names of its own
/// per-run directories (`domain-<id>-<name>` and `<id>-<name>`, as libvirt
/// names its private, channel, memory-backing and hugepage directories).
pub fn vm_context(domain: &Domain) -> VmContext {
    let short = crate::resources::short_name(domain);
    VmContext {
        own_dir_names: vec![format!("domain-{short}"), short],
    }
}

/// Domain → policy: checks the name, works out the grants, appends
/// `extra` grants (files added by the caller), and makes the rules.
pub fn policy_for(
    domain: &Domain,
    settings: &Settings,
    host: &dyn Host,
    extra: &[Grant],
) -> Result<VmPolicy, PipelineError> {
    check_domain_name(&domain.name, settings)?;
    let vm = vm_context(domain);
    let resources = match grants_until_failure(domain, settings, host) {
        (resources, None) => resources,
        (partial, Some(error)) => {
            let diagnostics = match rules_for(&partial.grants, settings, host, &vm) {
                Ok(set) => set.diagnostics,
                Err(f) => f.diagnostics,
            };
            return Err(ResourcesFailure { error, diagnostics }.into());
        }
    };
    let mut grants = resources.grants;
    grants.extend_from_slice(extra);
    let rules = rules_for(&grants, settings, host, &vm)?;
    Ok(VmPolicy {
        name: ProfileName::for_uuid(&domain.uuid),
        rules,
        warnings: resources.warnings,
    })
}

/// A VM's complete policy as text.
#[derive(Debug, Clone)]
pub struct GeneratedProfile {
    pub domain: Domain,
    pub policy: VmPolicy,
    /// The profile made from the template.
    pub profile: String,
    /// The `.files` include; `None` for types without one (LXC).
    pub files: Option<String>,
}

/// The abstraction of libvirt's own profile template.
pub const DISTRIBUTION_ABSTRACTION: &str = "abstractions/libvirt-qemu";

/// Whether a VM profile (or the template it is made from) includes the
/// distribution's `abstractions/libvirt-qemu`. Debian 13's defines its own
/// `passt` child profile and `/usr/bin/passt Cx -> passt`; a second child
/// of that name, or a second transition for the binary, would make the
/// whole profile fail to compile. [`Settings::passt_child`] is for
/// profiles made from svirt's template and abstraction (`svirt policy
/// install`); under the distribution's, the helper leaves passt to it.
pub fn includes_distribution_abstraction(profile: &str) -> bool {
    profile.lines().any(|line| {
        let t = line.trim_start();
        let t = t.strip_prefix('#').unwrap_or(t);
        t.starts_with("include") && t.contains(&format!("<{DISTRIBUTION_ABSTRACTION}>"))
    })
}

/// `settings` for a VM whose profile is (or will be) `profile`: without
/// [`Settings::passt_child`] when the profile includes the distribution's
/// abstraction ([`includes_distribution_abstraction`]).
pub fn settings_for_profile(settings: &Settings, profile: &str) -> Settings {
    let mut s = settings.clone();
    if s.passt_child && includes_distribution_abstraction(profile) {
        s.passt_child = false;
    }
    s
}

/// XML → profile text, in one call. With [`Settings::passt_child`], a
/// template that includes the distribution's abstraction gets no passt
/// child ([`settings_for_profile`]).
pub fn generate(
    xml: &str,
    settings: &Settings,
    host: &dyn Host,
    template: &str,
    limits: &Limits,
) -> Result<GeneratedProfile, PipelineError> {
    let domain = parse_domain(xml, limits)?;
    let settings = &settings_for_profile(settings, template);
    let policy = policy_for(&domain, settings, host, &[])?;
    let qemu = domain.virt_type.is_qemu_family();
    let profile = render_profile(template, &policy.name, qemu, settings.include_if_exists)?;
    let files = qemu.then(|| policy.files_text());
    if let Some(f) = &files {
        if f.len() > MAX_POLICY_FILE_BYTES {
            return Err(TemplateError::TooLarge {
                size: f.len(),
                limit: MAX_POLICY_FILE_BYTES,
            }
            .into());
        }
    }
    Ok(GeneratedProfile {
        domain,
        policy,
        profile,
        files,
    })
}

/// Reads a template, refusing anything over the policy-file limit.
pub fn read_template(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_POLICY_FILE_BYTES as u64 + 1)
        .read_to_string(&mut text)?;
    if text.len() > MAX_POLICY_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{} is larger than {MAX_POLICY_FILE_BYTES} bytes",
                path.display()
            ),
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_distribution_abstraction_is_recognised() {
        for debian in [
            "profile LIBVIRT_TEMPLATE {\n  #include <abstractions/libvirt-qemu>\n}\n",
            "profile x {\n  include <abstractions/libvirt-qemu>\n}\n",
        ] {
            assert!(includes_distribution_abstraction(debian), "{debian}");
            assert!(!settings_for_profile(&Settings::safe(), debian).passt_child);
        }
        for ours in [
            BUILTIN_QEMU_TEMPLATE,
            "profile x {\n  #include <abstractions/libvirt-qemu.d>\n}\n",
            // A comment, not an include.
            "profile x {\n  # include <abstractions/libvirt-qemu>\n}\n",
            "profile x {\n  /etc/abstractions/libvirt-qemu r,\n}\n",
        ] {
            assert!(!includes_distribution_abstraction(ours), "{ours}");
            assert!(settings_for_profile(&Settings::safe(), ours).passt_child);
        }
    }
}
