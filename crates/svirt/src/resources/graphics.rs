//! Graphics (§3.2): per device, its DRM render node then its listen
//! sockets (`rw`); then the SDL X authority file.
//!
//! A render node is the explicit `rendernode` of a spice, egl-headless or
//! dbus device, or, for a device with GL and no render node, the host's
//! default one. Either way the GL block is needed (even when the host has
//! no render node). libvirt ignores failures to add a render node; see
//! [`super::is_best_effort`].

use super::{non_empty, Collector, ResourcesError};
use crate::domain::{Graphics, GraphicsType};
use crate::policy::{Access, Grant, Origin};

/// The [`Origin::Graphics`] role of render-node grants.
pub const RENDER_NODE: &str = "render node";

pub(super) fn add(cx: &mut Collector) -> Result<(), ResourcesError> {
    let graphics = &cx.domain.devices.graphics;
    for (index, g) in graphics.iter().enumerate() {
        let origin = |role| Origin::Graphics { index, role };
        if needs_automatic_render_node(g) {
            cx.needs.gl = true;
            if let Some(node) = cx.host.default_render_node() {
                cx.push(Grant::path(node, Access::RW, origin(RENDER_NODE)).best_effort());
            }
        } else if let (true, Some(node)) = (supports_render_node(g), non_empty(&g.rendernode)) {
            cx.needs.gl = true;
            cx.push(Grant::path(node, Access::RW, origin(RENDER_NODE)).best_effort());
        }
        for socket in &g.listen_sockets {
            if !socket.is_empty() {
                cx.push(Grant::path(
                    socket.clone(),
                    Access::RW,
                    origin("listen socket"),
                ));
            }
        }
    }
    // libvirt only looks at the X authority file when SDL is the one and
    // only graphics device.
    if let [g] = graphics.as_slice() {
        if g.kind == GraphicsType::Sdl {
            let Some(xauth) = non_empty(&g.xauth) else {
                return Err(ResourcesError::SdlWithoutXauth { index: 0 });
            };
            cx.push(Grant::path(
                xauth,
                Access::R,
                Origin::Graphics {
                    index: 0,
                    role: "X authority file",
                },
            ));
        }
    }
    Ok(())
}

fn supports_render_node(g: &Graphics) -> bool {
    matches!(
        g.kind,
        GraphicsType::Spice | GraphicsType::EglHeadless | GraphicsType::Dbus
    )
}

fn needs_automatic_render_node(g: &Graphics) -> bool {
    supports_render_node(g)
        && (g.kind == GraphicsType::EglHeadless || g.gl)
        && non_empty(&g.rendernode).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{GraphicsType, VirtType};
    use crate::resources::testing::*;
    use crate::resources::{grants_for, Resources};
    use crate::Settings;

    fn gfx(kind: &str) -> Graphics {
        Graphics::new(GraphicsType::from_name(kind))
    }

    fn run(g: Vec<Graphics>, host: &FakeHost) -> Result<Resources, ResourcesError> {
        let mut d = domain("vm");
        d.virt_type = VirtType::Lxc;
        d.devices.graphics = g;
        grants_for(&d, &Settings::libvirt_compatible(), host)
    }

    fn gl_block_present(r: &Resources) -> bool {
        r.grants.iter().any(|g| g.origin == Origin::Gl)
    }

    #[test]
    fn explicit_render_node_then_sockets_per_device() {
        let mut vnc = gfx("vnc");
        vnc.listen_sockets = vec!["/r/vnc.sock".into()];
        let mut spice = gfx("spice");
        spice.gl = true;
        spice.rendernode = Some("/dev/dri/renderD128".into());
        spice.listen_sockets = vec!["/r/spice.sock".into()];
        let r = run(vec![vnc, spice], &FakeHost::default()).unwrap();
        let shown = show(&r.grants);
        assert_eq!(
            shown[..3],
            [
                "/r/vnc.sock rw",
                "/dev/dri/renderD128 rw",
                "/r/spice.sock rw"
            ]
        );
        assert!(gl_block_present(&r));
        assert!(crate::resources::is_best_effort(&r.grants[1]));
    }

    #[test]
    fn automatic_render_node_from_the_host() {
        let host = FakeHost {
            render_node: Some("/dev/dri/renderD129".into()),
            ..FakeHost::default()
        };
        for g in [
            gfx("egl-headless"),
            Graphics {
                gl: true,
                ..gfx("spice")
            },
            Graphics {
                gl: true,
                ..gfx("dbus")
            },
        ] {
            let r = run(vec![g.clone()], &host).unwrap();
            assert_eq!(show(&r.grants)[0], "/dev/dri/renderD129 rw", "{g:?}");
            assert!(gl_block_present(&r));
        }
    }

    #[test]
    fn gl_without_a_host_render_node_still_needs_the_gl_block() {
        let g = Graphics {
            gl: true,
            ..gfx("spice")
        };
        let r = run(vec![g], &FakeHost::default()).unwrap();
        assert!(gl_block_present(&r));
        assert!(!r
            .grants
            .iter()
            .any(|g| matches!(g.origin, Origin::Graphics { .. })));
    }

    #[test]
    fn no_gl_no_render_node() {
        let host = FakeHost {
            render_node: Some("/dev/dri/renderD128".into()),
            ..FakeHost::default()
        };
        let mut vnc = gfx("vnc");
        vnc.rendernode = Some("/dev/dri/renderD130".into());
        let sdl_gl = Graphics {
            gl: true,
            xauth: Some("/x".into()),
            ..gfx("sdl")
        };
        for g in [gfx("spice"), vnc, sdl_gl] {
            let r = run(vec![g.clone()], &host).unwrap();
            assert!(!gl_block_present(&r), "{g:?}");
            assert!(r.grants.iter().all(|g| !matches!(
                g.origin,
                Origin::Graphics {
                    role: RENDER_NODE,
                    ..
                }
            )));
        }
    }

    #[test]
    fn sdl_xauth_only_when_sdl_is_alone() {
        let sdl = Graphics {
            xauth: Some("/r/xauth".into()),
            ..gfx("sdl")
        };
        let r = run(vec![sdl.clone()], &FakeHost::default()).unwrap();
        assert_eq!(show(&r.grants), ["/r/xauth r +quiet-deny"]);

        let mut vnc = gfx("vnc");
        vnc.listen_sockets = vec!["/r/vnc.sock".into()];
        let r = run(vec![sdl, vnc], &FakeHost::default()).unwrap();
        assert_eq!(show(&r.grants), ["/r/vnc.sock rw"]);
    }

    #[test]
    fn sdl_without_xauth_fails_naming_the_device() {
        let err = run(vec![gfx("sdl")], &FakeHost::default()).unwrap_err();
        assert_eq!(err, ResourcesError::SdlWithoutXauth { index: 0 });
        let msg = err.to_string();
        assert!(msg.contains("graphics device 0 (sdl)"), "{msg}");
        assert!(msg.contains("xauth"), "{msg}");
        // Not alone: no xauth needed.
        assert!(run(vec![gfx("sdl"), gfx("vnc")], &FakeHost::default()).is_ok());
    }
}
