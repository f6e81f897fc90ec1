//! The AppArmor side: the policy compiler and the kernel interfaces.
//!
//! The three steps are kept apart, so that only the middle one needs
//! privilege:
//!
//! 1. *compile* ([`parser::Compiler`]): `apparmor_parser -Q` turns profile
//!    text into binary policy without touching the kernel;
//! 2. *load* ([`SecurityFs::replace_policy`], [`SecurityFs::remove_profile`]):
//!    one write to securityfs, which needs `CAP_MAC_ADMIN`;
//! 3. *attach* ([`ProcAttr::set_exec_label`]): a process asks to run its
//!    next program under a profile.

pub mod cache;
pub mod kernel;
pub mod parser;
pub mod procattr;

pub use kernel::{
    Features, KernelError, KernelErrorKind, LoadedProfile, ProfileMode, SecurityFs, Unavailable,
    DEFAULT_ENABLED_PARAM, DEFAULT_SECURITYFS,
};
pub use parser::{Compiler, ParserError};
pub use procattr::{ProcAttr, ProcessLabel, DEFAULT_PROC};
