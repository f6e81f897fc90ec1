//! Grants → checked, escaped AppArmor rules → profile text. Pure: nothing
//! here reads or writes files except through [`crate::host::Host`].

mod grant;

pub use grant::*;
