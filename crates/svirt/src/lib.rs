//! sVirt mandatory access control for virtual machines on AppArmor.
//!
//! Data flows one way, one module per step:
//!
//! 1. [`domain`]: domain XML → typed [`domain::Domain`];
//! 2. [`resources`]: domain → ordered [`policy::Grant`]s (path, access, origin);
//! 3. [`policy`]: grants → checked, escaped rules → profile text;
//! 4. [`apparmor`]: compile and load through the kernel interface;
//! 5. [`driver`]: the sVirt lifecycle a VM manager drives.
//!
//! [`image`] reads disk image headers for backing chains, and [`host`] is
//! the one place the pure steps ask the machine anything.

pub mod apparmor;
pub mod audit;
pub mod config;
pub mod confinement;
pub mod domain;
pub mod driver;
pub mod gc;
pub mod host;
pub mod image;
pub mod libvirt;
pub mod pipeline;
pub mod policy;
pub mod policydir;
pub mod pool;
pub mod resources;
pub mod settings;
pub mod testing;

pub use settings::{LibvirtVersion, Settings};
