//! Hostile and broken domain XML: every refusal is a clear error naming the
//! problem, and nothing panics.

use proptest::prelude::*;
use svirt::domain::{parse_domain, DomainError, DomainErrorKind, Limits, MAX_XML_BYTES};

const UUID: &str = "00000000-0000-0000-0000-0123456789ab";

fn valid(extra: &str) -> String {
    format!(
        "<domain type='kvm'><name>vm</name><uuid>{UUID}</uuid><memory>1024</memory>\
         <os><type arch='x86_64'>hvm</type></os>\
         <devices><disk type='file' device='disk'><driver type='raw'/>\
         <source file='/var/lib/libvirt/images/vm.img'/><target dev='vda' bus='virtio'/>\
         </disk></devices>{extra}</domain>"
    )
}

fn parse(xml: &str) -> Result<svirt::domain::Domain, DomainError> {
    parse_domain(xml, &Limits::default())
}

fn message(xml: &str) -> String {
    parse(xml).unwrap_err().to_string()
}

#[test]
fn the_baseline_is_valid() {
    let d = parse(&valid("")).unwrap();
    assert_eq!(d.name, "vm");
    assert_eq!(d.devices.disks.len(), 1);
}

#[test]
fn malformed_xml_names_the_position() {
    let msg = message("<domain type='kvm'>\n  <name>vm</name>\n  <uuid>x</uid>\n</domain>");
    assert!(msg.starts_with("domain XML is malformed"), "{msg}");
    assert!(msg.contains("3:"), "position missing: {msg}");

    for broken in [
        "",
        "<",
        "<domain",
        "<domain>",
        "<domain type='kvm'><name>vm</domain>",
        "<domain type=kvm/>",
        "<domain a='1' a='2'/>",
        "<domain>&unknown;</domain>",
        "text only",
        "<a/><b/>",
    ] {
        let e = parse(broken).unwrap_err();
        assert_eq!(e.kind(), DomainErrorKind::Malformed, "{broken:?}: {e}");
        assert!(e.to_string().contains("malformed"), "{broken:?}: {e}");
    }
}

#[test]
fn exactly_ten_mib_is_accepted_and_one_more_byte_is_not() {
    let base = valid("<!--");
    let tail = "--></domain>";
    // valid("<!--") ends with "<!--</domain>"; rebuild with padding inside the comment.
    let head = &base[..base.len() - "</domain>".len()];
    let pad = MAX_XML_BYTES - head.len() - tail.len();
    let xml = format!("{head}{}{tail}", "x".repeat(pad));
    assert_eq!(xml.len(), MAX_XML_BYTES);
    assert_eq!(MAX_XML_BYTES, 10 * 1024 * 1024);
    parse(&xml).expect("a document of exactly 10 MiB is accepted");

    let xml = format!("{head}{}{tail}", "x".repeat(pad + 1));
    let e = parse(&xml).unwrap_err();
    assert_eq!(
        e,
        DomainError::TooLarge {
            limit: MAX_XML_BYTES,
            actual: MAX_XML_BYTES + 1
        }
    );
    let msg = e.to_string();
    assert!(msg.contains("too large"), "{msg}");
    assert!(msg.contains(&MAX_XML_BYTES.to_string()), "{msg}");
    assert!(msg.contains(&(MAX_XML_BYTES + 1).to_string()), "{msg}");
    assert_eq!(e.kind().libvirt_summary(), "could not read xml file");
}

#[test]
fn deep_nesting_is_refused_with_the_limit_and_depth() {
    let depth = 200_000;
    let xml = valid(&format!("{}{}", "<a>".repeat(depth), "</a>".repeat(depth)));
    let e = parse(&xml).unwrap_err();
    let limit = Limits::default().max_depth;
    assert!(
        matches!(&e, DomainError::TooDeep { limit: l, actual, element, .. }
            if *l == limit && *actual == limit + 1 && element == "a"),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("nested too deeply"), "{msg}");
    assert!(msg.contains(&limit.to_string()), "{msg}");
}

#[test]
fn deep_unclosed_nesting_is_refused_before_the_parser_recurses() {
    // roxmltree recurses per open element: this would overflow its stack.
    let xml = "<domain>".to_owned() + &"<a>".repeat(2_000_000);
    let e = parse(&xml).unwrap_err();
    assert!(matches!(e, DomainError::TooDeep { .. }), "{e}");
    assert_eq!(e.kind(), DomainErrorKind::Malformed, "{e}");
}

#[test]
fn deep_markup_inside_a_comment_is_not_nesting() {
    let inner = "<a>".repeat(100_000);
    parse(&valid(&format!("<!--{inner}-->"))).unwrap();
}

#[test]
fn too_many_nodes() {
    let xml = valid(&"<x/>".repeat(1_100_000));
    assert!(xml.len() < MAX_XML_BYTES);
    let e = parse(&xml).unwrap_err();
    let limit = Limits::default().max_nodes;
    assert_eq!(e, DomainError::TooManyNodes { limit });
    assert!(e.to_string().contains("too many nodes"), "{e}");
    assert!(e.to_string().contains(&limit.to_string()), "{e}");
}

#[test]
fn billion_laughs_is_refused_as_a_dtd() {
    let mut dtd = String::from("<!DOCTYPE domain [\n<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let prev = format!("&lol{};", i - 1);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    dtd.push_str("]>\n");
    let xml = format!(
        "{dtd}<domain type='kvm'><name>&lol9;</name><uuid>{UUID}</uuid>\
         <os><type>hvm</type></os></domain>"
    );
    let e = parse(&xml).unwrap_err();
    assert_eq!(e, DomainError::DtdNotAllowed);
    assert!(e.to_string().contains("DTD"), "{e}");

    // An external entity is refused the same way.
    let xxe = format!(
        "<!DOCTYPE domain [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{}",
        valid("").replace("<name>vm</name>", "<name>&x;</name>")
    );
    assert_eq!(parse(&xxe).unwrap_err(), DomainError::DtdNotAllowed);
}

#[test]
fn missing_required_parts_are_named() {
    let cases = [
        (
            valid("").replace("<uuid>00000000-0000-0000-0000-0123456789ab</uuid>", ""),
            DomainError::MissingUuid,
            "<uuid>",
        ),
        (
            valid("").replace("<name>vm</name>", ""),
            DomainError::MissingName,
            "<name>",
        ),
        (
            valid("").replace(" type='kvm'", ""),
            DomainError::MissingVirtType,
            "domain type is not defined",
        ),
        (
            valid("").replace("<type arch='x86_64'>hvm</type>", ""),
            DomainError::MissingOsType,
            "os.type is not defined",
        ),
        (
            valid("").replace(">hvm<", "><"),
            DomainError::MissingOsType,
            "os.type is not defined",
        ),
    ];
    for (xml, expected, words) in cases {
        let e = parse(&xml).unwrap_err();
        assert_eq!(e, expected);
        assert!(e.to_string().contains(words), "{e}");
        assert!(e.kind().libvirt_message().is_some());
    }
}

#[test]
fn invalid_values_are_named() {
    let e = parse(&valid("").replace(UUID, "00000000-0000-0000-0000-0123456789ag")).unwrap_err();
    assert!(e.to_string().contains("invalid <uuid>"), "{e}");
    let e = parse(&valid("").replace("<domain ", "<domain id='seven' ")).unwrap_err();
    assert!(e.to_string().contains("<domain id>"), "{e}");
    let e = parse(&valid("").replace(
        "</devices>",
        "<hostdev mode='subsystem' type='pci'><source>\
         <address domain='0x0000' bus='0xzz' slot='0x00' function='0x0'/></source></hostdev></devices>",
    ))
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("bus") && msg.contains("0xzz"), "{msg}");
    let e = parse(
        &valid("")
            .replace("<domain", "<domian")
            .replace("</domain>", "</domian>"),
    )
    .unwrap_err();
    assert!(e.to_string().contains("<domian>"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let s = String::from_utf8_lossy(&bytes);
        let _ = parse(&s);
    }

    #[test]
    fn xml_like_soup_never_panics(s in "[<>/='\" a-z!\\-?&;#x0-9\\[\\]]{0,300}") {
        let _ = parse(&s);
    }

    #[test]
    fn mutated_domains_never_panic(pos in 0usize..4096, junk in "[<>/='\" a-zA-Z0-9&;]{0,20}") {
        let base = valid(
            "<seclabel type='dynamic' relabel='yes'/><sysinfo type='fwcfg'><entry file='/f'/></sysinfo>",
        ).replace(
            "</devices>",
            "<serial type='pipe'><source path='/p'/></serial>\
             <hostdev type='usb'><source><vendor id='0x1'/><address bus='1' device='2'/></source></hostdev>\
             <tpm><backend type='emulator' version='2.0'/></tpm><vsock><cid address='3'/></vsock>\
             </devices>",
        );
        let mut at = pos % (base.len() + 1);
        while !base.is_char_boundary(at) {
            at -= 1;
        }
        let mutated = format!("{}{}{}", &base[..at], junk, &base[at..]);
        let _ = parse(&mutated);
    }

    #[test]
    fn attribute_values_never_panic(v in any::<String>()) {
        let esc = v.replace('&', "&amp;").replace('<', "&lt;").replace('\'', "&apos;");
        let xml = valid("").replace(
            "</devices>",
            &format!(
                "<hostdev type='usb'><source><vendor id='{esc}'/><address bus='{esc}' device='{esc}'/></source></hostdev>\
                 <hostdev type='pci'><source><address domain='{esc}' bus='{esc}'/></source></hostdev>\
                 <disk type='{esc}'><source file='{esc}'/><backingStore type='{esc}'/></disk>\
                 <vsock><cid address='{esc}' auto='{esc}'/></vsock></devices>"
            ),
        );
        let _ = parse(&xml);
    }
}
