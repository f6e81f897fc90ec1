//! Shared memory (§3.2), `rw`: the ivshmem server socket when a `<server>`
//! is configured (libvirt's default socket path when it names none);
//! otherwise `/dev/shm/<name>` for ivshmem-plain, and the default socket
//! path for ivshmem-doorbell and legacy ivshmem. With
//! [`crate::Settings::contained_names`] the name must be one path
//! component.

use super::{Collector, ResourcesError};
use crate::policy::{path::check_component, Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) -> Result<(), ResourcesError> {
    let var = &cx.settings.layout.localstatedir;
    for (index, shmem) in cx.domain.devices.shmems.iter().enumerate() {
        if cx.settings.contained_names {
            // The name is joined into /dev/shm/<name> and the default
            // socket path: `../sda` must not become /dev/sda.
            check_component(&shmem.name).map_err(|reason| ResourcesError::BadName {
                device: format!("shmem {index}"),
                name: shmem.name.clone(),
                reason,
            })?;
        }
        let default_socket = || format!("{var}/lib/libvirt/shmem-{}-sock", shmem.name);
        let path = match (&shmem.server, shmem.model.as_deref()) {
            (Some(server), _) => match server.path.as_deref() {
                Some(p) if !p.is_empty() => p.to_owned(),
                _ => default_socket(),
            },
            (None, Some("ivshmem-plain")) => format!("/dev/shm/{}", shmem.name),
            (None, _) => default_socket(),
        };
        cx.push(Grant::path(path, Access::RW, Origin::Shmem { index }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::domain::{Shmem, ShmemServer, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn shm(name: &str, model: Option<&str>, server: Option<Option<&str>>) -> Shmem {
        Shmem {
            name: name.into(),
            model: model.map(Into::into),
            server: server.map(|p| ShmemServer {
                path: p.map(Into::into),
            }),
        }
    }

    #[test]
    fn each_model_and_server() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.shmems = vec![
            shm("plain0", Some("ivshmem-plain"), None),
            shm("bell0", Some("ivshmem-doorbell"), None),
            shm("bell1", Some("ivshmem-doorbell"), Some(Some("/r/iv.sock"))),
            shm("bell2", Some("ivshmem-doorbell"), Some(None)),
            shm("legacy0", None, None),
        ];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        assert_eq!(
            show(&r.grants),
            [
                "/dev/shm/plain0 rw",
                "/var/lib/libvirt/shmem-bell0-sock rw",
                "/r/iv.sock rw",
                "/var/lib/libvirt/shmem-bell2-sock rw",
                "/var/lib/libvirt/shmem-legacy0-sock rw",
            ]
        );
    }
}
