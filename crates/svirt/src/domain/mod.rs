//! Domain XML → typed [`Domain`].

mod model;
mod parse;
mod uuid;

pub use model::*;
pub use parse::{parse_domain, DomainError, Limits};
pub use uuid::{DomainUuid, UuidError};
