//! The aggregated trailing rules (§3.3), after every device: vhost-net,
//! then VFIO, then the GL block. All are fixed svirt-written patterns.
//!
//! The GL block's text, comments included, is what libvirt 9.0's helper
//! writes, so that the `.files` matches byte for byte.

use super::Collector;
use crate::policy::{Access, FixedPattern as F, Grant, Origin};

pub(super) fn add(cx: &mut Collector) {
    if cx.needs.vhost_net {
        cx.push(Grant::fixed(F::VHOST_NET, Access::RW, Origin::VhostNet));
    }
    if cx.needs.vfio {
        cx.push(Grant::fixed(F::VFIO_CONTAINER, Access::RW, Origin::Vfio));
        // Every IOMMU group: the group is only known once the device is
        // bound, which is after the profile is made.
        cx.push(Grant::fixed(F::VFIO_GROUPS, Access::RW, Origin::Vfio));
    }
    if cx.needs.gl {
        for g in gl_block() {
            cx.push(g);
        }
    }
}

/// Mesa/DRI, EGL and NVIDIA paths that QEMU's GL rendering opens.
fn gl_block() -> Vec<Grant> {
    let gl = |pattern, access| Grant::fixed(pattern, access, Origin::Gl);
    vec![
        gl(F::GL_DRI, Access::MR).with_comment("DRI/Mesa/(e)GL config and driver paths"),
        gl(F::GL_DRI_MULTIARCH, Access::MR),
        gl(F::GL_FGLRX, Access::MR),
        gl(F::GL_DRIRC, Access::R),
        gl(F::GL_DRIRC_D, Access::R),
        gl(F::GL_EGL_VENDOR_ETC, Access::R),
        gl(F::GL_EGL_VENDOR, Access::R),
        gl(F::GL_EGL_PLATFORM_DIR, Access::R),
        gl(F::GL_EGL_PLATFORM, Access::R),
        gl(F::GL_PROC_MODULES, Access::R),
        gl(F::GL_NVIDIA_PARAMS, Access::R),
        gl(F::GL_NVIDIACTL, Access::RW),
        gl(F::GL_DRI_DIR, Access::R).with_comment("Probe DRI device attributes"),
        gl(F::GL_SYSFS_ATTRS, Access::R),
        // libvirt's comment, typos included, for byte-identical output.
        gl(F::GL_CACHE, Access::W).denied().with_comment(
            "dri libs will trigger that, but t is not requited and DAC would deny it anyway",
        ),
    ]
}

#[cfg(test)]
mod tests {
    use crate::domain::{Graphics, GraphicsType, Interface};
    use crate::policy::Mode;
    use crate::resources::grants_for;
    use crate::resources::testing::*;
    use crate::Settings;

    #[test]
    fn order_vhost_net_vfio_gl() {
        let mut d = domain("vm");
        d.devices.interfaces = vec![Interface {
            kind: "network".into(),
            model: Some("virtio".into()),
            driver_name: None,
            backend: None,
            source_path: None,
            source_type: None,
            target_dev: None,
            ..Default::default()
        }];
        d.devices.hostdevs = vec![crate::domain::HostDev {
            mode: "subsystem".into(),
            source: crate::domain::HostDevSource::Mdev {
                model: None,
                uuid: None,
            },
            seclabels: Vec::new(),
        }];
        d.devices.graphics = vec![Graphics {
            rendernode: Some("/dev/dri/renderD128".into()),
            ..Graphics::new(GraphicsType::EglHeadless)
        }];
        let r = grants_for(&d, &Settings::libvirt_compatible(), &FakeHost::default()).unwrap();
        let shown = show(&r.grants);
        assert_eq!(
            shown[5..10],
            [
                "/dev/dri/renderD128 rw",
                "/dev/vhost-net rw",
                "/dev/vfio/vfio rw",
                "/dev/vfio/[0-9]* rw",
                "/usr/lib{,32,64}/dri/*.so* mr",
            ]
        );
        assert_eq!(shown.len(), 5 + 4 + 15);
        let last = r.grants.last().unwrap();
        assert_eq!(last.mode, Mode::Deny);
        assert_eq!(shown.last().unwrap(), "deny /var/lib/libvirt/.cache/ w");
        assert!(last.comment.unwrap().starts_with("dri libs"));
        assert_eq!(
            r.grants[9].comment,
            Some("DRI/Mesa/(e)GL config and driver paths")
        );
        assert!(r.grants.iter().all(|g| !g.quiet_write_deny));
    }
}
