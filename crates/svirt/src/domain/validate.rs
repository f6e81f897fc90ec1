//! The checks libvirt 9.0's parser makes that decide whether a definition is
//! valid at all. libvirtd never hands its helper a domain its parser
//! refuses, so a privileged helper that accepted one would be acting on a
//! definition no libvirt could have produced: svirt refuses them too, with
//! the reason, in both modes ("could not parse XML", as libvirt).
//!
//! Each check is a function of the XML tree; they run after the model is
//! built. What is not checked here (CPU cache and memory bandwidth
//! allocations, SCSI address conflicts, the USB companion controllers)
//! cannot change a rule; `docs/compatibility.md` lists it.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::Node;

use super::parse::{DomainError, Position};
use super::uuid::DomainUuid;

type Result<T> = std::result::Result<T, DomainError>;

/// `node` makes the definition invalid.
fn invalid(node: Node<'_, '_>, what: impl Into<String>, reason: impl Into<String>) -> DomainError {
    DomainError::Invalid {
        what: what.into(),
        reason: reason.into(),
        at: Position::of(node),
    }
}

fn elements<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.descendants()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn child<'a, 'i>(node: Node<'a, 'i>, name: &str) -> Option<Node<'a, 'i>> {
    node.children()
        .find(|n| n.is_element() && n.tag_name().name() == name)
}

fn children<'a, 'i>(node: Node<'a, 'i>, name: &'a str) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children()
        .filter(move |n| n.is_element() && n.tag_name().name() == name)
}

fn text<'a>(node: Node<'a, '_>) -> &'a str {
    node.text().unwrap_or("").trim()
}

/// Every check, in a fixed order; the first failure is reported. `v11_3`
/// applies libvirt 11.3's parser instead of 9.0's
/// ([`crate::Settings::parser_11_3`]).
pub(super) fn validate(root: Node<'_, '_>, uuid: &DomainUuid, v11_3: bool) -> Result<()> {
    name(root)?;
    memory(root)?;
    boot_order(root)?;
    pci_addresses(root)?;
    usb_ports(root)?;
    controllers(root)?;
    chardev_sources(root)?;
    graphics_listens(root)?;
    disk_sources(root)?;
    if v11_3 {
        disk_targets(root)?;
        scsi_host_hostdevs(root)?;
    }
    device_seclabels(root)?;
    shmem(root)?;
    mdev(root)?;
    sysinfo(root, uuid)?;
    enums(root)?;
    loadparm(root)?;
    if !v11_3 {
        firmware_features(root)?;
    }
    numa(root, v11_3)?;
    cputune(root)?;
    Ok(())
}

fn name(root: Node<'_, '_>) -> Result<()> {
    let node = child(root, "name");
    let name = node.map(text).unwrap_or("");
    if name.contains('/') {
        return Err(invalid(
            node.unwrap_or(root),
            format!("name {name}"),
            "a domain name cannot contain '/'",
        ));
    }
    Ok(())
}

/// Memory must be given, by `<memory>` or by the NUMA cells.
fn memory(root: Node<'_, '_>) -> Result<()> {
    let total: u64 = child(root, "memory")
        .map(|m| text(m).parse().unwrap_or(0))
        .unwrap_or(0);
    let numa: u64 = child(root, "cpu")
        .and_then(|c| child(c, "numa"))
        .map(|n| {
            children(n, "cell")
                .filter_map(|c| c.attribute("memory"))
                .filter_map(|m| m.trim().parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    if total == 0 && numa == 0 {
        return Err(invalid(
            child(root, "memory").unwrap_or(root),
            "<memory>",
            "memory size must be specified via <memory> or in the <numa> configuration",
        ));
    }
    Ok(())
}

/// `<os><boot dev>` and per-device `<boot order>` exclude each other.
fn boot_order(root: Node<'_, '_>) -> Result<()> {
    let os_boot = child(root, "os").is_some_and(|os| child(os, "boot").is_some());
    let device_boot = child(root, "devices")
        .and_then(|d| elements(d, "boot").find(|b| b.attribute("order").is_some()));
    if let (true, Some(device_boot)) = (os_boot, device_boot) {
        return Err(invalid(
            device_boot,
            "<boot>",
            "per-device boot elements cannot be used together with os/boot elements",
        ));
    }
    Ok(())
}

/// A number as libvirt reads address attributes: decimal, or hex with `0x`.
fn number(text: &str) -> Option<u64> {
    let t = text.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

fn pci_addresses(root: Node<'_, '_>) -> Result<()> {
    for a in elements(root, "address").filter(|a| a.attribute("type") == Some("pci")) {
        for (attr, max) in [
            ("domain", 0xFFFF),
            ("bus", 0xFF),
            ("slot", 0x1F),
            ("function", 7),
        ] {
            let Some(v) = a.attribute(attr) else { continue };
            match number(v) {
                Some(n) if n <= max => {}
                _ => {
                    return Err(invalid(
                        a,
                        format!("PCI address {attr}='{v}'"),
                        format!("must be <= {max:#x}"),
                    ))
                }
            }
        }
    }
    Ok(())
}

/// A USB port path is at most four dot-separated numbers.
fn usb_ports(root: Node<'_, '_>) -> Result<()> {
    for a in elements(root, "address").filter(|a| a.attribute("type") == Some("usb")) {
        let Some(port) = a.attribute("port") else {
            continue;
        };
        let parts: Vec<&str> = port.split('.').collect();
        if parts.len() > 4 || parts.iter().any(|p| p.parse::<u8>().is_err()) {
            return Err(invalid(
                a,
                format!("USB <address port='{port}'>"),
                "cannot parse the port path",
            ));
        }
    }
    Ok(())
}

/// No two controllers of one type (USB aside) share an index; with USB disabled
/// (`model='none'`) there is no other USB controller, hub or USB input.
fn controllers(root: Node<'_, '_>) -> Result<()> {
    let Some(devices) = child(root, "devices") else {
        return Ok(());
    };
    let mut seen = BTreeSet::new();
    let mut usb = 0;
    let mut usb_none = None;
    for c in children(devices, "controller") {
        let kind = c.attribute("type").unwrap_or("");
        // USB companion controllers share their master's index.
        if let (Some(index), false) = (c.attribute("index"), kind == "usb") {
            if !seen.insert((kind, index.trim())) {
                return Err(invalid(
                    c,
                    format!("<controller type='{kind}' index='{index}'>"),
                    format!("multiple '{kind}' controllers with index '{index}'"),
                ));
            }
        }
        if kind == "usb" {
            usb += 1;
            if c.attribute("model") == Some("none") {
                usb_none = usb_none.or(Some(c));
            }
        }
    }
    if let Some(none) = usb_none {
        let usb_devices = children(devices, "hub").count()
            + children(devices, "input")
                .filter(|i| i.attribute("bus") == Some("usb"))
                .count();
        if usb > 1 || usb_devices > 0 {
            return Err(invalid(
                none,
                "<controller type='usb' model='none'>",
                "USB is disabled for this domain, but a USB controller or device is defined",
            ));
        }
    }
    Ok(())
}

const CHARDEVS: &[&str] = &["serial", "parallel", "channel", "console"];

fn chardev_sources(root: Node<'_, '_>) -> Result<()> {
    let Some(devices) = child(root, "devices") else {
        return Ok(());
    };
    let chardevs = devices
        .children()
        .filter(|n| n.is_element() && CHARDEVS.contains(&n.tag_name().name()));
    for dev in chardevs {
        let kind = dev.attribute("type").unwrap_or("pty");
        let sources = children(dev, "source").count();
        let max = if kind == "udp" { 2 } else { 1 };
        if matches!(kind, "tcp" | "udp" | "unix") && sources > max {
            return Err(invalid(
                dev,
                format!("<{} type='{kind}'>", dev.tag_name().name()),
                format!("at most {max} <source> element(s) are allowed"),
            ));
        }
        for r in elements(dev, "reconnect") {
            if r.attribute("enabled") == Some("yes") && r.attribute("timeout").is_none() {
                return Err(invalid(r, "<reconnect enabled='yes'>", "missing timeout"));
            }
        }
    }
    Ok(())
}

/// The old `listen`/`socket` attributes must agree with the first
/// `<listen>` element.
fn graphics_listens(root: Node<'_, '_>) -> Result<()> {
    for g in elements(root, "graphics") {
        let Some(first) = child(g, "listen") else {
            continue;
        };
        let pairs = [
            ("listen", "address", "address"),
            ("socket", "socket", "socket"),
        ];
        for (attr, listen_type, listen_attr) in pairs {
            let (Some(old), Some(new)) = (g.attribute(attr), first.attribute(listen_attr)) else {
                continue;
            };
            if first.attribute("type") == Some(listen_type) && old != new {
                return Err(invalid(
                    g,
                    format!("<graphics {attr}='{old}'>"),
                    format!("must match the {listen_attr} of the first <listen>, '{new}'"),
                ));
            }
        }
    }
    Ok(())
}

/// `<auth>` and `<encryption>` belong either to the disk or to its source.
fn disk_sources(root: Node<'_, '_>) -> Result<()> {
    for disk in elements(root, "disk") {
        let Some(src) = child(disk, "source") else {
            continue;
        };
        for what in ["auth", "encryption"] {
            if let (Some(_), Some(again)) = (child(disk, what), child(src, what)) {
                return Err(invalid(
                    again,
                    format!("<disk><{what}>"),
                    format!("an <{what}> definition is already given for the disk source"),
                ));
            }
        }
    }
    Ok(())
}

/// libvirt 11.3: a disk target of a known bus prefix whose letters number
/// past the largest disk index (`hdaxxxxxxxxxx`) is refused.
fn disk_targets(root: Node<'_, '_>) -> Result<()> {
    for disk in elements(root, "disk") {
        let Some(target) = child(disk, "target") else {
            continue;
        };
        let Some(dev) = target.attribute("dev") else {
            continue;
        };
        let Some(letters) = ["fd", "hd", "vd", "sd", "xvd", "ubd"]
            .iter()
            .find_map(|p| dev.strip_prefix(p))
        else {
            continue;
        };
        let mut index: i64 = 0;
        let mut overflow = false;
        for (i, c) in letters
            .bytes()
            .take_while(u8::is_ascii_lowercase)
            .enumerate()
        {
            index = (index + i64::from(i > 0)) * 26 + i64::from(c - b'a');
            if index > i64::from(i32::MAX) {
                overflow = true;
                break;
            }
        }
        if overflow {
            return Err(invalid(
                target,
                format!("disk target '{dev}'"),
                "the disk index it names is too large",
            ));
        }
    }
    Ok(())
}

/// libvirt 11.3: `rawio` and `sgio` are for SCSI host devices, not for a
/// vhost-scsi (`scsi_host`) one.
fn scsi_host_hostdevs(root: Node<'_, '_>) -> Result<()> {
    for hostdev in elements(root, "hostdev") {
        if hostdev.attribute("type") != Some("scsi_host") {
            continue;
        }
        for attr in ["rawio", "sgio"] {
            if hostdev.attribute(attr).is_some() {
                return Err(invalid(
                    hostdev,
                    format!("<hostdev type='scsi_host' {attr}>"),
                    format!("'{attr}' is only valid for a SCSI host device"),
                ));
            }
        }
    }
    Ok(())
}

/// One `<seclabel>` per security model on a device or source.
fn device_seclabels(root: Node<'_, '_>) -> Result<()> {
    let Some(devices) = child(root, "devices") else {
        return Ok(());
    };
    for parent in devices.descendants().filter(|n| n.is_element()) {
        let mut models = BTreeSet::new();
        for label in children(parent, "seclabel") {
            let model = label.attribute("model").unwrap_or("");
            if !models.insert(model) {
                return Err(invalid(
                    label,
                    "device <seclabel>",
                    format!("a seclabel for model {model} is already provided"),
                ));
            }
        }
    }
    Ok(())
}

fn shmem(root: Node<'_, '_>) -> Result<()> {
    for s in elements(root, "shmem") {
        if child(s, "msi").is_some() && child(s, "server").is_none() {
            return Err(invalid(
                s,
                "<shmem><msi>",
                "msi is only supported with a server",
            ));
        }
    }
    Ok(())
}

/// A mediated device names its UUID, and its guest address suits its model.
fn mdev(root: Node<'_, '_>) -> Result<()> {
    for h in elements(root, "hostdev").filter(|h| h.attribute("type") == Some("mdev")) {
        let source_address = child(h, "source").and_then(|s| child(s, "address"));
        if let Some(a) = source_address.filter(|a| a.attribute("uuid").is_none()) {
            return Err(invalid(
                a,
                "<hostdev type='mdev'><source><address>",
                "missing 'uuid' attribute",
            ));
        }
        let Some(address) = child(h, "address") else {
            continue;
        };
        let Some(kind) = address.attribute("type") else {
            continue;
        };
        let allowed = match h.attribute("model") {
            Some("vfio-pci") => "pci",
            Some("vfio-ccw") => "ccw",
            _ => continue,
        };
        if kind != allowed {
            return Err(invalid(
                address,
                format!("<hostdev type='mdev'> <address type='{kind}'>"),
                format!("a mediated device of this model takes a '{allowed}' address"),
            ));
        }
    }
    Ok(())
}

/// SMBIOS: the BIOS date is mm/dd/yy or mm/dd/yyyy, and a system UUID is
/// the domain's.
fn sysinfo(root: Node<'_, '_>, uuid: &DomainUuid) -> Result<()> {
    for s in children(root, "sysinfo").filter(|s| s.attribute("type") == Some("smbios")) {
        for bios in children(s, "bios") {
            for e in children(bios, "entry").filter(|e| e.attribute("name") == Some("date")) {
                if !is_bios_date(text(e)) {
                    return Err(invalid(
                        e,
                        format!("BIOS date '{}'", text(e)),
                        "expected mm/dd/yy or mm/dd/yyyy",
                    ));
                }
            }
        }
        for system in children(s, "system") {
            for e in children(system, "entry").filter(|e| e.attribute("name") == Some("uuid")) {
                let same = DomainUuid::parse(text(e)).is_ok_and(|u| u == *uuid);
                if !same {
                    return Err(invalid(
                        e,
                        format!("<sysinfo> uuid '{}'", text(e)),
                        "it differs from the domain's <uuid>",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn is_bios_date(date: &str) -> bool {
    let parts: Vec<&str> = date.split('/').collect();
    let num =
        |s: &str, len: &[usize]| len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    matches!(parts.as_slice(), [m, d, y]
        if num(m, &[1, 2]) && num(d, &[1, 2]) && num(y, &[2, 4])
            && (1..=12).contains(&m.parse::<u32>().unwrap_or(0))
            && (1..=31).contains(&d.parse::<u32>().unwrap_or(0)))
}

/// Enumerations libvirt's parser checks and that a domain can get wrong.
fn enums(root: Node<'_, '_>) -> Result<()> {
    let checks: &[(&str, &str, &[&str])] = &[
        ("gic", "version", &["2", "3", "host"]),
        ("cell", "memAccess", &["shared", "private"]),
        ("cell", "discard", &["yes", "no"]),
    ];
    for (element, attr, allowed) in checks {
        for n in elements(root, element) {
            if let Some(v) = n.attribute(*attr) {
                if !allowed.contains(&v) {
                    return Err(invalid(
                        n,
                        format!("<{element} {attr}='{v}'>"),
                        format!("expected one of {}", allowed.join(", ")),
                    ));
                }
            }
        }
    }
    // Counts are non-negative integers.
    for d in elements(root, "driver") {
        for attr in ["queues", "rx_queue_size", "tx_queue_size"] {
            if let Some(v) = d.attribute(attr) {
                if v.trim().parse::<u32>().is_err() {
                    return Err(invalid(
                        d,
                        format!("<driver {attr}='{v}'>"),
                        "expected a non-negative integer",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// An s390 boot `loadparm`: 1 to 8 characters of `[a-zA-Z0-9. ]`.
fn loadparm(root: Node<'_, '_>) -> Result<()> {
    for b in elements(root, "boot") {
        let Some(v) = b.attribute("loadparm") else {
            continue;
        };
        let ok = (1..=8).contains(&v.len())
            && v.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b' ');
        if !ok {
            return Err(invalid(
                b,
                format!("loadparm '{v}'"),
                "expected 1 to 8 characters of [a-zA-Z0-9. ]",
            ));
        }
    }
    Ok(())
}

/// Enrolled keys need secure boot.
fn firmware_features(root: Node<'_, '_>) -> Result<()> {
    let Some(fw) = child(root, "os").and_then(|os| child(os, "firmware")) else {
        return Ok(());
    };
    let feature = |name: &str| {
        children(fw, "feature")
            .find(|f| f.attribute("name") == Some(name))
            .and_then(|f| f.attribute("enabled"))
    };
    if feature("enrolled-keys") == Some("yes") && feature("secure-boot") == Some("no") {
        return Err(invalid(
            fw,
            "<firmware>",
            "feature 'enrolled-keys' cannot be enabled when 'secure-boot' is disabled",
        ));
    }
    Ok(())
}

/// A libvirt CPU or node set (`0-3,^2,8`), or `None` if it cannot be
/// parsed or is empty.
fn parse_set(text: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    let mut excluded = BTreeSet::new();
    for part in text.split(',').map(str::trim) {
        let (target, part) = match part.strip_prefix('^') {
            Some(p) => (&mut excluded, p),
            None => (&mut set, part),
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if a > b || b - a > 4096 {
                    return None;
                }
                target.extend(a..=b);
            }
            None => {
                target.insert(part.parse().ok()?);
            }
        }
    }
    let set: BTreeSet<u32> = set.difference(&excluded).copied().collect();
    (!set.is_empty()).then_some(set)
}

fn numa(root: Node<'_, '_>, v11_3: bool) -> Result<()> {
    let cells: Vec<Node> = child(root, "cpu")
        .and_then(|c| child(c, "numa"))
        .map(|n| children(n, "cell").collect())
        .unwrap_or_default();
    // Cell ids are 0..n, one cell each.
    let mut ids = BTreeSet::new();
    for (i, cell) in cells.iter().enumerate() {
        let id = match cell.attribute("id") {
            Some(v) => v.trim().parse::<usize>().ok(),
            None => Some(i),
        };
        match id {
            Some(id) if id < cells.len() && ids.insert(id) => {}
            _ => {
                return Err(invalid(
                    *cell,
                    "<numa><cell>",
                    "exactly one cell per guest NUMA node, with ids from 0 without gaps",
                ))
            }
        }
    }
    let Some(tune) = child(root, "numatune") else {
        return Ok(());
    };
    let memory = child(tune, "memory");
    let placement = memory.and_then(|m| m.attribute("placement"));
    let mode = memory.and_then(|m| m.attribute("mode"));
    if let Some(m) = memory {
        if let Some(set) = m.attribute("nodeset") {
            if parse_set(set).is_none() {
                return Err(invalid(
                    m,
                    format!("nodeset '{set}'"),
                    "not a valid node set",
                ));
            }
        } else if placement == Some("static") {
            return Err(invalid(
                m,
                "<numatune><memory placement='static'>",
                "a nodeset must be set",
            ));
        }
    }
    for node in children(tune, "memnode") {
        if cells.is_empty() {
            return Err(invalid(
                node,
                "<memnode>",
                "invalid without guest NUMA cells",
            ));
        }
        if placement == Some("auto") {
            return Err(invalid(
                node,
                "<memnode>",
                "per-node binding is not compatible with automatic placement",
            ));
        }
        // libvirt 11.3 leaves this to the QEMU driver at start.
        if !v11_3 && mode == Some("restrictive") && node.attribute("mode") != Some("restrictive") {
            return Err(invalid(
                node,
                "<memnode>",
                "'restrictive' mode is required when <memory> is restrictive",
            ));
        }
    }
    Ok(())
}

fn cputune(root: Node<'_, '_>) -> Result<()> {
    let Some(tune) = child(root, "cputune") else {
        return Ok(());
    };
    let iothreads: u32 = child(root, "iothreads")
        .map(|n| text(n).parse().unwrap_or(0))
        .unwrap_or(0);
    let iothread_ids: BTreeSet<u32> = child(root, "iothreadids")
        .map(|n| {
            children(n, "iothread")
                .filter_map(|t| t.attribute("id"))
                .filter_map(|id| id.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let known = |id: u32| {
        if iothread_ids.is_empty() {
            (1..=iothreads).contains(&id)
        } else {
            iothread_ids.contains(&id)
        }
    };
    let mut used: BTreeMap<&str, BTreeSet<u32>> = BTreeMap::new();
    for (element, attr) in [("vcpusched", "vcpus"), ("iothreadsched", "iothreads")] {
        for s in children(tune, element) {
            let Some(set) = s.attribute(attr).and_then(parse_set) else {
                continue;
            };
            if element == "iothreadsched" {
                if let Some(missing) = set.iter().find(|id| !known(**id)) {
                    return Err(invalid(
                        s,
                        format!("<iothreadsched iothreads='{missing}'>"),
                        "no such iothread",
                    ));
                }
            }
            let seen = used.entry(element).or_default();
            if set.iter().any(|v| seen.contains(v)) {
                return Err(invalid(
                    s,
                    format!("<{element}>"),
                    format!("'{attr}' must not overlap"),
                ));
            }
            seen.extend(set);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_dates() {
        assert_eq!(
            parse_set("0-2,^1").unwrap().into_iter().collect::<Vec<_>>(),
            [0, 2]
        );
        assert!(parse_set("0,^0").is_none());
        assert!(parse_set("x").is_none());
        assert!(is_bios_date("01/02/2020") && is_bios_date("1/2/20"));
        assert!(!is_bios_date("999/999/123") && !is_bios_date("13/01/2020"));
        assert_eq!(number("0x100"), Some(256));
    }
}
