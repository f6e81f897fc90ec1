//! Smartcards (§3.2): host and host-certificates modes read an NSS
//! database directory, granted `rk` as its entries `<db>/{,*}`
//! (`/etc/pki/nssdb` unless `<database>` names another). The database is
//! checked like any directory granted as a tree. Passthrough smartcards
//! talk over a chardev and get nothing.

use super::Collector;
use crate::domain::Smartcard;
use crate::policy::{Access, Grant, Origin, Target};

/// libvirt's default NSS database.
pub const DEFAULT_DATABASE: &str = "/etc/pki/nssdb";

pub(super) fn add(cx: &mut Collector) {
    for (index, card) in cx.domain.devices.smartcards.iter().enumerate() {
        let db = match card {
            Smartcard::Host => DEFAULT_DATABASE,
            Smartcard::HostCertificates { database } => match database.as_deref() {
                Some(db) if !db.is_empty() => db,
                _ => DEFAULT_DATABASE,
            },
            Smartcard::Passthrough => continue,
        };
        cx.push(Grant::tree(
            Target::Entries(db.to_owned()),
            Access::RK,
            false,
            Origin::Smartcard { index },
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::VirtType;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn databases() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.smartcards = vec![
            Smartcard::Host,
            Smartcard::HostCertificates {
                database: Some("/srv/nss db".into()),
            },
            Smartcard::HostCertificates { database: None },
            Smartcard::Passthrough,
        ];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(
            show(&r.grants),
            [
                "entries /etc/pki/nssdb rk",
                "entries /srv/nss db rk",
                "entries /etc/pki/nssdb rk",
            ]
        );
    }
}
