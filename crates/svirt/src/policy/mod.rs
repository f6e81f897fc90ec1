//! Grants → checked, escaped AppArmor rules → profile text. Pure: nothing
//! here reads or writes files except through [`crate::host::Host`].

pub mod escape;
pub mod grammar;
mod grant;
mod name;
pub mod overrides;
pub mod path;
mod render;
mod rules;
pub mod vmfiles;

pub use grant::*;
pub use name::{check_domain_name, NameError, ProfileName, LIBVIRT_NAME_FORBIDDEN, PROFILE_PREFIX};
pub use render::{
    apply_operator_choices, has_complain_flag, include_line, override_include_line, render_files,
    render_profile, OperatorChoices, TemplateError, FILES_HEADER, MAX_POLICY_FILE_BYTES,
    TEMPLATE_NAME_TOKEN,
};
pub use rules::{rules_for, Diagnostic, PolicyError, PolicyFailure, Rule, RuleSet, VmContext};
