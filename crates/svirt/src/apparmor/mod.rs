//! The AppArmor side: the policy compiler and the kernel interface.

pub mod parser;
