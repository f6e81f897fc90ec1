//! `<graphics>`.

use roxmltree::Node;

use super::{attr, child, children, yes_no, DomainError, Position, Result};
use crate::domain::model::{Graphics, GraphicsType};

pub(super) fn parse_graphics(node: Node<'_, '_>) -> Result<Graphics> {
    let kind = attr(node, "type").ok_or_else(|| DomainError::Missing {
        what: "<graphics>".into(),
        missing: "type attribute",
        at: Position::of(node),
    })?;
    let kind = GraphicsType::from_name(&kind);
    let mut listen_sockets: Vec<String> = Vec::new();
    let mut add_socket = |s: String| {
        if !listen_sockets.contains(&s) {
            listen_sockets.push(s);
        }
    };
    if let Some(s) = attr(node, "socket") {
        add_socket(s);
    }
    for listen in children(node, "listen") {
        if listen.attribute("type") == Some("socket") {
            if let Some(s) = attr(listen, "socket") {
                add_socket(s);
            }
        }
    }
    let gl_node = child(node, "gl");
    let gl_enabled = match gl_node {
        Some(g) => yes_no(g, "enable")?.unwrap_or(false),
        None => false,
    };
    Ok(Graphics {
        gl: kind == GraphicsType::EglHeadless || gl_enabled,
        rendernode: gl_node
            .and_then(|g| attr(g, "rendernode"))
            .or_else(|| attr(node, "rendernode")),
        xauth: attr(node, "xauth"),
        display: attr(node, "display"),
        listen_sockets,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn graphics_variants() {
        let d = devices(
            "<graphics type='vnc' socket='/run/vnc.sock'><listen type='socket' socket='/run/vnc.sock'/></graphics>\
             <graphics type='spice'><listen type='address' address='0.0.0.0'/>\
               <listen type='socket' socket='/run/spice.sock'/>\
               <gl enable='yes' rendernode='/dev/dri/renderD128'/></graphics>\
             <graphics type='egl-headless'><gl rendernode='/dev/dri/renderD129'/></graphics>\
             <graphics type='egl-headless'/>\
             <graphics type='dbus'><gl enable='no'/></graphics>\
             <graphics type='sdl' display=':0' xauth='/home/u/.Xauthority'><gl enable='yes'/></graphics>",
        );
        let g = &d.graphics;
        assert_eq!(g[0].kind, GraphicsType::Vnc);
        assert_eq!(g[0].listen_sockets, vec!["/run/vnc.sock".to_owned()]);
        assert!(!g[0].gl);
        assert_eq!(g[1].listen_sockets, vec!["/run/spice.sock".to_owned()]);
        assert!(g[1].gl);
        assert_eq!(g[1].rendernode.as_deref(), Some("/dev/dri/renderD128"));
        assert!(g[2].gl);
        assert_eq!(g[2].rendernode.as_deref(), Some("/dev/dri/renderD129"));
        assert!(g[3].gl);
        assert_eq!(g[3].rendernode, None);
        assert!(!g[4].gl);
        assert_eq!(g[5].kind, GraphicsType::Sdl);
        assert!(g[5].gl);
        assert_eq!(g[5].display.as_deref(), Some(":0"));
        assert_eq!(g[5].xauth.as_deref(), Some("/home/u/.Xauthority"));
    }

    #[test]
    fn graphics_errors() {
        let e = device_err("<graphics><listen type='socket'/></graphics>");
        assert!(e.to_string().contains("<graphics> has no type"), "{e}");
        let e = device_err("<graphics type='spice'><gl enable='maybe'/></graphics>");
        assert!(e.to_string().contains("maybe"), "{e}");
    }
}
