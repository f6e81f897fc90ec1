//! Boot files (§3.2): kernel, initrd, dtb and ACPI tables (`r`), the
//! firmware loader (`rk`), with [`crate::Settings::os_shim`] the UEFI
//! `<shim>` (`r`, as libvirt 11.3), all with the quiet write deny; then the NVRAM
//! store, walked like a disk chain (`rwk` on top). The NVRAM template is
//! never opened by QEMU (libvirtd copies it), so it gets nothing.

use super::{disk, non_empty, Collector};
use crate::policy::{Access, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    let os = &cx.domain.os;
    for (path, origin) in [
        (&os.kernel, Origin::Kernel),
        (&os.initrd, Origin::Initrd),
        (&os.dtb, Origin::Dtb),
    ] {
        if let Some(path) = non_empty(path) {
            cx.push(Grant::path(path, Access::R, origin));
        }
    }
    for table in &os.acpi_tables {
        if !table.path.is_empty() {
            cx.push(Grant::path(
                table.path.clone(),
                Access::R,
                Origin::AcpiTable,
            ));
        }
    }
    if let Some(loader) = os.loader.as_ref() {
        if let Some(path) = non_empty(&loader.path) {
            let writable = cx.settings.writable_loader && loader.readonly != Some(true);
            let access = if writable { Access::RWK } else { Access::RK };
            cx.push(Grant::path(path, access, Origin::Loader));
        }
    }
    if cx.settings.os_shim {
        if let Some(path) = non_empty(&os.shim) {
            cx.push(Grant::path(path, Access::R, Origin::Shim));
        }
    }
    if let Some(source) = os.nvram.as_ref().and_then(|n| n.source.as_ref()) {
        if !cx.opted_out(&source.seclabels) {
            let origin = |layer| Origin::Nvram { layer };
            disk::add_chain(cx, source, false, &origin, &origin);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::{AcpiTable, Backing, Loader, Nvram, StorageSource, StorageType, VirtType};
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    fn run(f: impl FnOnce(&mut crate::domain::Os)) -> Vec<String> {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        f(&mut d.os);
        let host = FakeHost::default();
        let got = show(
            &grants_for(&d, &Settings::libvirt_compatible(), &host)
                .unwrap()
                .grants,
        );
        assert!(host.probed.borrow().is_empty(), "NVRAM is never probed");
        got
    }

    fn nvram(path: Option<&str>, kind: StorageType) -> Nvram {
        Nvram {
            source: Some(StorageSource::new(kind, path.map(Into::into))),
            template: Some("/usr/share/OVMF/OVMF_VARS.fd".into()),
        }
    }

    #[test]
    fn direct_boot_files_in_order() {
        let got = run(|os| {
            os.kernel = Some("/b/kernel".into());
            os.initrd = Some("/b/initrd".into());
            os.dtb = Some("/b/dtb".into());
            os.acpi_tables = vec![AcpiTable {
                kind: Some("slic".into()),
                path: "/b/slic.bin".into(),
            }];
        });
        assert_eq!(
            got,
            [
                "/b/kernel r +quiet-deny",
                "/b/initrd r +quiet-deny",
                "/b/dtb r +quiet-deny",
                "/b/slic.bin r +quiet-deny"
            ]
        );
    }

    #[test]
    fn loader_and_nvram_but_not_the_template() {
        let got = run(|os| {
            os.loader = Some(Loader {
                path: Some("/fw/OVMF_CODE.fd".into()),
                readonly: Some(true),
                kind: Some("pflash".into()),
                secure: None,
            });
            os.nvram = Some(nvram(Some("/nv/vm_VARS.fd"), StorageType::File));
        });
        assert_eq!(
            got,
            ["/fw/OVMF_CODE.fd rk +quiet-deny", "/nv/vm_VARS.fd rwk"]
        );
    }

    #[test]
    fn a_loader_is_writable_unless_read_only_with_writable_loader() {
        let loader = |readonly| Loader {
            path: Some("/srv/fw/CODE.fd".into()),
            readonly,
            kind: Some("pflash".into()),
            secure: None,
        };
        let grants = |settings: &Settings, readonly| {
            let mut d = domain("vm");
            d.virt_type = VirtType::Lxc;
            d.os.loader = Some(loader(readonly));
            show(
                &grants_for(&d, settings, &FakeHost::default())
                    .unwrap()
                    .grants,
            )
        };
        let v9 = Settings::libvirt_compatible();
        let v11 = Settings::libvirt_compatible_with(crate::LibvirtVersion::V11_3);
        for readonly in [None, Some(false), Some(true)] {
            assert_eq!(grants(&v9, readonly)[0], "/srv/fw/CODE.fd rk +quiet-deny");
        }
        assert_eq!(grants(&v11, None)[0], "/srv/fw/CODE.fd rwk");
        assert_eq!(grants(&v11, Some(false))[0], "/srv/fw/CODE.fd rwk");
        assert_eq!(
            grants(&v11, Some(true))[0],
            "/srv/fw/CODE.fd rk +quiet-deny"
        );
    }

    #[test]
    fn shim_read_only_in_safe_mode_only() {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.os.loader = Some(Loader {
            path: Some("/fw/CODE.fd".into()),
            ..Loader::default()
        });
        d.os.shim = Some("/boot/efi/shimx64.efi".into());
        let got = |d: &crate::domain::Domain, s: &Settings| {
            show(&grants_for(d, s, &FakeHost::default()).unwrap().grants)
        };
        assert_eq!(
            got(&d, &Settings::libvirt_compatible()),
            ["/fw/CODE.fd rk +quiet-deny"]
        );
        assert_eq!(
            got(&d, &Settings::safe()),
            [
                "/fw/CODE.fd rk +quiet-deny",
                "/boot/efi/shimx64.efi r +quiet-deny"
            ]
        );
        d.os.shim = Some(String::new());
        assert_eq!(got(&d, &Settings::safe()), ["/fw/CODE.fd rk +quiet-deny"]);
    }

    #[test]
    fn loader_without_path_and_network_nvram_grant_nothing() {
        let got = run(|os| {
            os.loader = Some(Loader::default());
            os.nvram = Some(nvram(None, StorageType::Network));
        });
        assert!(got.is_empty());
    }

    #[test]
    fn read_only_nvram_and_declared_backing() {
        let got = run(|os| {
            let mut n = nvram(Some("/nv/top"), StorageType::File);
            let src = n.source.as_mut().unwrap();
            src.readonly = true;
            let mut base = StorageSource::new(StorageType::File, Some("/nv/base".into()));
            base.backing = Backing::None;
            src.backing = Backing::Layer(Box::new(base));
            os.nvram = Some(n);
        });
        assert_eq!(got, ["/nv/top rk +quiet-deny", "/nv/base rk +quiet-deny"]);
    }
}
