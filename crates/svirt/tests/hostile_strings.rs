//! Property tests over every device field that carries a string from the
//! domain XML into a rule: hostile strings (quotes, control characters,
//! glob characters, `@{…}`, `..`, `//`, restricted prefixes, symlinks to
//! system locations) go through the real pipeline, XML text to profile, in
//! safe and in libvirt-compatible mode. Whatever comes out is either an
//! error with a message, or rules inside svirt's grammar; in safe mode no
//! rule names a restricted path or hands out a no-tree location.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use svirt::domain::{parse_domain, Limits};
use svirt::host::{Host, RealHost};
use svirt::pipeline::{self, GeneratedProfile, PipelineError, BUILTIN_QEMU_TEMPLATE};
use svirt::policy::escape::unescape;
use svirt::policy::grammar::check_rules_text;
use svirt::policy::path::{self, PathVerdict, PrefixMatch};
use svirt::policy::{Origin, PolicyError, Rule, Target};
use svirt::testing::FakeHost;
use svirt::Settings;

// ------------------------------------------------------------ the fields ---

/// Where a field's snippet goes in the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Loc {
    /// The `<name>` text itself.
    Name,
    /// The `<name>` text, in a domain with an emulated TPM (whose log
    /// file is named after the domain).
    NameWithTpm,
    /// The `<name>` text, in a domain with a passt interface (whose
    /// socket and pid file are named after the domain).
    NameWithPasst,
    /// Inside `<os>`.
    Os,
    /// A child of `<domain>` (sysinfo).
    Root,
    /// Inside `<devices>`.
    Devices,
}

/// What the string is to svirt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A host path (a symlink can stand in for it).
    Path,
    /// A name joined into a path svirt writes (shmem name).
    ShmemName,
    /// Anything else (domain name, TPM version).
    Value,
}

/// One string-bearing field: `@S@` in `snippet` is replaced by the
/// XML-escaped string.
#[derive(Debug, Clone)]
struct Field {
    label: String,
    loc: Loc,
    kind: Kind,
    snippet: String,
    /// A harmless value for the field, and text its rule then contains.
    benign: &'static str,
    marker: &'static str,
    /// Whether libvirt-compatible mode grants the field at all.
    in_compat: bool,
}

const P: &str = "/srv/vm/probe.img";

fn field(label: &str, loc: Loc, kind: Kind, snippet: &str) -> Field {
    Field {
        label: label.to_owned(),
        loc,
        kind,
        snippet: snippet.to_owned(),
        benign: P,
        marker: P,
        in_compat: true,
    }
}

fn path(label: &str, loc: Loc, snippet: &str) -> Field {
    field(label, loc, Kind::Path, snippet)
}

fn safe_only(mut f: Field) -> Field {
    f.in_compat = false;
    f
}

fn benign(mut f: Field, value: &'static str, marker: &'static str) -> Field {
    f.benign = value;
    f.marker = marker;
    f
}

/// Every field of the domain that turns a string into a rule.
fn fields() -> &'static [Field] {
    static FIELDS: OnceLock<Vec<Field>> = OnceLock::new();
    FIELDS.get_or_init(build_fields)
}

fn build_fields() -> Vec<Field> {
    use Loc::*;
    const TOP: &str = "/var/lib/libvirt/images/top.qcow2";
    let mut f = vec![
        benign(
            field("domain name", Name, Kind::Value, "@S@"),
            "probe-vm",
            "probe-vm",
        ),
        benign(
            field("domain name with a TPM", NameWithTpm, Kind::Value, "@S@"),
            "probe-vm",
            "/probe-vm-swtpm.log",
        ),
        safe_only(benign(
            field("domain name with passt", NameWithPasst, Kind::Value, "@S@"),
            "probe-vm",
            "-probe-vm-net0-passt.pid",
        )),
        safe_only(benign(
            field(
                "passt interface alias",
                Devices,
                Kind::Value,
                "<interface type='user'><backend type='passt'/><alias name='@S@'/></interface>",
            ),
            "ua-probe",
            "-vm-ua-probe.socket",
        )),
        safe_only(path(
            "passt log file",
            Devices,
            "<interface type='user'><backend type='passt' logFile='@S@'/></interface>",
        )),
        // Disks. `<backingStore/>` ends each chain, so no image header is
        // read (the symlink cases run on the real host).
        path(
            "disk file",
            Devices,
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
             <source file='@S@'/><backingStore/><target dev='vda' bus='virtio'/></disk>",
        ),
        path(
            "disk block",
            Devices,
            "<disk type='block' device='disk'><driver name='qemu' type='raw'/>\
             <source dev='@S@'/><backingStore/><target dev='vdb' bus='virtio'/></disk>",
        ),
        path(
            "disk dir",
            Devices,
            "<disk type='dir' device='disk'><driver name='qemu' type='fat'/>\
             <source dir='@S@'/><backingStore/><target dev='vdc' bus='virtio'/></disk>",
        ),
        path(
            "cdrom",
            Devices,
            "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>\
             <source file='@S@'/><backingStore/><target dev='sda' bus='sata'/>\
             <readonly/></disk>",
        ),
        path(
            "floppy block",
            Devices,
            "<disk type='block' device='floppy'><source dev='@S@'/><backingStore/>\
             <target dev='fda' bus='fdc'/></disk>",
        ),
        path(
            "backingStore file",
            Devices,
            &format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='{TOP}'/><backingStore type='file'><format type='qcow2'/>\
                 <source file='@S@'/><backingStore/></backingStore>\
                 <target dev='vde' bus='virtio'/></disk>"
            ),
        ),
        path(
            "backingStore block",
            Devices,
            &format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='{TOP}'/><backingStore type='block'><format type='raw'/>\
                 <source dev='@S@'/></backingStore>\
                 <target dev='vdf' bus='virtio'/></disk>"
            ),
        ),
        safe_only(path(
            "dataStore file",
            Devices,
            &format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='{TOP}'><dataStore type='file'><format type='raw'/>\
                 <source file='@S@'/></dataStore></source><backingStore/>\
                 <target dev='vdg' bus='virtio'/></disk>"
            ),
        )),
        safe_only(path(
            "dataStore block of a backing layer",
            Devices,
            &format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='{TOP}'/><backingStore type='file'><format type='qcow2'/>\
                 <source file='/var/lib/libvirt/images/base.qcow2'>\
                 <dataStore type='block'><format type='raw'/><source dev='@S@'/>\
                 </dataStore></source><backingStore/></backingStore>\
                 <target dev='vdh' bus='virtio'/></disk>"
            ),
        )),
        safe_only(path(
            "vhostvdpa disk",
            Devices,
            "<disk type='vhostvdpa' device='disk'><driver name='qemu' type='raw'/>\
             <source dev='@S@'/><target dev='vdi' bus='virtio'/></disk>",
        )),
        // Boot files.
        path("kernel", Os, "<kernel>@S@</kernel>"),
        path("initrd", Os, "<initrd>@S@</initrd>"),
        path("dtb", Os, "<dtb>@S@</dtb>"),
        path(
            "loader",
            Os,
            "<loader readonly='yes' type='pflash'>@S@</loader>",
        ),
        safe_only(path("uefi shim", Os, "<shim>@S@</shim>")),
        path("nvram text", Os, "<nvram>@S@</nvram>"),
        path(
            "nvram source",
            Os,
            "<nvram type='file'><source file='@S@'/></nvram>",
        ),
        path(
            "acpi table",
            Os,
            "<acpi><table type='slic'>@S@</table></acpi>",
        ),
        path(
            "fwcfg entry",
            Root,
            "<sysinfo type='fwcfg'><entry name='opt/com.example/blob' file='@S@'/></sysinfo>",
        ),
        // Graphics.
        path("vnc socket", Devices, "<graphics type='vnc' socket='@S@'/>"),
        path(
            "spice listen socket",
            Devices,
            "<graphics type='spice'><listen type='socket' socket='@S@'/></graphics>",
        ),
        path(
            "egl-headless rendernode",
            Devices,
            "<graphics type='egl-headless'><gl rendernode='@S@'/></graphics>",
        ),
        path(
            "spice gl rendernode",
            Devices,
            "<graphics type='spice' autoport='yes'><listen type='none'/>\
             <gl enable='yes' rendernode='@S@'/></graphics>",
        ),
        path(
            "sdl xauth",
            Devices,
            "<graphics type='sdl' display=':0' xauth='@S@'/>",
        ),
        // Input, network, memory.
        path(
            "input evdev",
            Devices,
            "<input type='evdev'><source dev='@S@'/></input>",
        ),
        path(
            "input passthrough",
            Devices,
            "<input type='passthrough' bus='virtio'><source evdev='@S@'/></input>",
        ),
        path(
            "vhostuser interface",
            Devices,
            "<interface type='vhostuser'><mac address='52:54:00:00:00:01'/>\
             <source type='unix' path='@S@' mode='client'/><model type='virtio'/></interface>",
        ),
        safe_only(path(
            "vdpa interface",
            Devices,
            "<interface type='vdpa'><source dev='@S@'/></interface>",
        )),
        path(
            "nvdimm",
            Devices,
            "<memory model='nvdimm'><source><path>@S@</path></source>\
             <target><size unit='KiB'>524288</size></target></memory>",
        ),
        safe_only(path(
            "virtio-pmem",
            Devices,
            "<memory model='virtio-pmem' access='shared'><source><path>@S@</path></source>\
             <target><size unit='KiB'>524288</size></target></memory>",
        )),
        safe_only(path(
            "pstore path",
            Devices,
            "<pstore backend='acpi-erst'><path>@S@</path><size unit='KiB'>8</size></pstore>",
        )),
        // Audio backends (`audio_backends`).
        safe_only(path(
            "oss audio input device",
            Devices,
            "<audio id='1' type='oss'><input dev='@S@'/></audio>",
        )),
        safe_only(path(
            "oss audio output device",
            Devices,
            "<audio id='1' type='oss'><output dev='@S@'/></audio>",
        )),
        safe_only(path(
            "audio wav file",
            Devices,
            "<audio id='1' type='file' path='@S@'/>",
        )),
        safe_only(path(
            "pulseaudio server",
            Devices,
            "<audio id='1' type='pulseaudio' serverName='@S@'/>",
        )),
        safe_only(path(
            "pulseaudio unix server",
            Devices,
            "<audio id='1' type='pulseaudio' serverName='unix:@S@'/>",
        )),
        // A macvtap NIC's host device: joined into /sys/class/net/<dev>,
        // looked up as /dev/tap<ifindex> (the test hosts know `macvtap0`).
        safe_only(benign(
            field(
                "macvtap target dev",
                Devices,
                Kind::Value,
                "<interface type='direct'><source dev='eth0' mode='bridge'/>\
                 <target dev='@S@'/><model type='virtio'/></interface>",
            ),
            "macvtap0",
            "/dev/tap7",
        )),
        // Shared memory.
        benign(
            field(
                "shmem plain name",
                Devices,
                Kind::ShmemName,
                "<shmem name='@S@'><model type='ivshmem-plain'/><size unit='M'>4</size></shmem>",
            ),
            "probe",
            "/dev/shm/probe",
        ),
        benign(
            field(
                "shmem doorbell name",
                Devices,
                Kind::ShmemName,
                "<shmem name='@S@'><model type='ivshmem-doorbell'/><server/></shmem>",
            ),
            "probe",
            "shmem-probe-sock",
        ),
        benign(
            field(
                "shmem legacy name",
                Devices,
                Kind::ShmemName,
                "<shmem name='@S@'/>",
            ),
            "probe",
            "shmem-probe-sock",
        ),
        path(
            "shmem server path",
            Devices,
            "<shmem name='sh0'><model type='ivshmem-doorbell'/><server path='@S@'/></shmem>",
        ),
        // TPM, smartcard, 9p.
        benign(
            field(
                "tpm emulator version",
                Devices,
                Kind::Value,
                "<tpm model='tpm-crb'><backend type='emulator' version='@S@'/></tpm>",
            ),
            "2.0",
            "/tpm2/",
        ),
        safe_only(path(
            "tpm passthrough device",
            Devices,
            "<tpm model='tpm-tis'><backend type='passthrough'><device path='@S@'/></backend></tpm>",
        )),
        path(
            "smartcard database",
            Devices,
            "<smartcard mode='host-certificates'><certificate>c1</certificate>\
             <certificate>c2</certificate><certificate>c3</certificate>\
             <database>@S@</database></smartcard>",
        ),
        path(
            "9p share",
            Devices,
            "<filesystem type='mount' accessmode='passthrough'><source dir='@S@'/>\
             <target dir='tag0'/></filesystem>",
        ),
        path(
            "9p share read-only, path driver",
            Devices,
            "<filesystem type='mount' accessmode='mapped'><driver type='path'/>\
             <source dir='@S@'/><target dir='tag1'/><readonly/></filesystem>",
        ),
    ];
    // Character devices: every kind with every source type that has a path,
    // and the log file.
    for kind in ["serial", "console", "channel", "parallel"] {
        let target = match kind {
            "console" => "<target type='virtio' port='0'/>",
            "channel" => "<target type='virtio' name='org.qemu.guest_agent.0'/>",
            _ => "<target port='0'/>",
        };
        for ty in ["file", "unix", "pipe", "dev", "pty"] {
            let mode = if ty == "unix" { " mode='bind'" } else { "" };
            f.push(path(
                &format!("{kind} {ty} source"),
                Devices,
                &format!("<{kind} type='{ty}'><source{mode} path='@S@'/>{target}</{kind}>"),
            ));
        }
        f.push(safe_only(path(
            &format!("{kind} log file"),
            Devices,
            &format!("<{kind} type='pty'><log file='@S@' append='on'/>{target}</{kind}>"),
        )));
    }
    f
}

// ------------------------------------------------------------ domain XML ---

const UUID: &str = "c7a5fdbd-edaf-9455-926a-d65c16db1809";

/// Whether XML 1.0 allows `c` in a document (raw or as a reference).
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// The string the parser can be given: characters XML 1.0 cannot carry
/// at all are dropped.
fn legal(s: &str) -> String {
    s.chars().filter(|&c| xml_char(c)).collect()
}

/// `s` (legal) as attribute value or element text that reads back as `s`:
/// markup characters as entities, and tab, newline and carriage return as
/// character references (raw ones would be normalised to spaces or `\n`).
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

impl Field {
    /// A domain with this one field set to `s` (already [`legal`]).
    fn xml(&self, s: &str) -> String {
        let value = xml_escape(s);
        let snippet = self.snippet.replace("@S@", &value);
        let (mut name, mut os, mut root, mut devices) =
            ("vm".to_owned(), String::new(), String::new(), String::new());
        match self.loc {
            Loc::Name => name = snippet,
            Loc::NameWithTpm => {
                name = snippet;
                devices = "<tpm model='tpm-crb'><backend type='emulator' version='2.0'/></tpm>"
                    .to_owned();
            }
            Loc::NameWithPasst => {
                name = snippet;
                devices = "<interface type='user'><backend type='passt'/></interface>".to_owned();
            }
            Loc::Os => os = snippet,
            Loc::Root => root = snippet,
            Loc::Devices => devices = snippet,
        }
        format!(
            "<domain type='kvm'>\n  <name>{name}</name>\n  <uuid>{UUID}</uuid>\n  \
             <memory unit='KiB'>1048576</memory>\n  <os>\n    \
             <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>\n    {os}\n  </os>\n  \
             {root}\n  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    \
             {devices}\n  </devices>\n</domain>\n"
        )
    }
}

// ---------------------------------------------------------- the checks ---

fn run(xml: &str, settings: &Settings, host: &dyn Host) -> Result<GeneratedProfile, PipelineError> {
    pipeline::generate(
        xml,
        settings,
        host,
        BUILTIN_QEMU_TEMPLATE,
        &Limits::default(),
    )
}

/// The unescaped double quotes in a line, as AppArmor's lexer reads them.
fn live_quotes(line: &str) -> usize {
    let mut escaped = false;
    let mut n = 0;
    for c in line.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => n += 1,
            _ => {}
        }
    }
    n
}

/// The text between the quotes of a rule line (`None` for comments and
/// empty lines).
fn quoted_pattern(line: &str) -> Option<&str> {
    let body = line.trim_start_matches(' ');
    if body.is_empty() || body.starts_with('#') {
        return None;
    }
    let body = body.strip_prefix("deny ").unwrap_or(body);
    let body = body.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&body[..i]),
            _ => {}
        }
    }
    None
}

/// A path as AppArmor reads a rule for it: repeated slashes collapsed
/// (the parser does that everywhere but at the very start: see
/// `apparmor_parser -D rule-exprs`), and a trailing slash dropped. `.` and
/// `..` stay literal there, so they need no treatment.
fn as_apparmor_reads(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let rest = match p.strip_prefix("//") {
        Some(r) if !r.starts_with('/') => {
            out.push_str("//");
            r
        }
        _ => p,
    };
    for c in rest.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// The suffix svirt writes after a target's literal.
fn suffix(target: &Target) -> &'static str {
    match target {
        Target::Tree(_) => "/**",
        Target::Subtree(_) => "/{,**}",
        Target::Entries(_) => "/{,*}",
        _ => "",
    }
}

/// Whether a rule is the smartcard's read-only default NSS database, the
/// one tree allowed inside a no-tree location.
fn is_nss_db(rule: &Rule, canonical: &str) -> bool {
    matches!(rule.grant.target, Target::Entries(_))
        && rule.grant.access.is_read_only()
        && path::READ_ONLY_ENTRIES.contains(&canonical.trim_end_matches('/'))
}

/// What the checks are told about one run.
struct Case<'a> {
    field: &'a Field,
    input: &'a str,
    mode: &'static str,
    settings: &'a Settings,
}

impl Case<'_> {
    fn what(&self) -> String {
        format!(
            "{} in {} mode, input {:?}",
            self.field.label, self.mode, self.input
        )
    }
}

/// The checks every generated profile must pass.
fn check_generated(case: &Case<'_>, g: &GeneratedProfile) -> Result<(), TestCaseError> {
    let what = case.what();
    let safe = case.settings.escape_paths;
    let rules_text = g.policy.rules.text();
    let mut texts = vec![rules_text.as_str()];
    if let Some(files) = &g.files {
        texts.push(files);
    }
    for text in texts {
        if let Err(e) = check_rules_text(text, case.settings.escape_paths) {
            return Err(TestCaseError::fail(format!(
                "{what}: outside the grammar: {e}\n{text}"
            )));
        }
        for line in text.lines() {
            prop_assert!(
                !line.chars().any(char::is_control),
                "{}: control character in rule line {:?}",
                what,
                line
            );
            if quoted_pattern(line).is_some() {
                prop_assert_eq!(
                    live_quotes(line),
                    2,
                    "{}: a live quote besides the delimiters in {:?}",
                    what,
                    line
                );
            } else {
                prop_assert_eq!(live_quotes(line), 0, "{}: quote in {:?}", what, line);
            }
        }
    }
    if !safe {
        return Ok(());
    }
    let locations = path::no_tree_locations(&case.settings.layout);
    let own = pipeline::vm_context(&g.domain).own_dir_names;
    let all = g
        .policy
        .rules
        .rules
        .iter()
        .flat_map(|r| std::iter::once(r).chain(&r.inner));
    for rule in all {
        let Some(c) = rule.canonical.as_deref() else {
            continue;
        };
        prop_assert!(c.starts_with('/'), "{}: relative canonical {:?}", what, c);
        let read_only = rule.grant.access.is_read_only();
        let host_dev = matches!(rule.grant.origin, Origin::HostDev { .. } | Origin::Extra);
        let nss = is_nss_db(rule, c);
        // The path as checked, and as AppArmor will read the rule.
        for form in [c.to_owned(), as_apparmor_reads(c)] {
            let form = form.as_str();
            if form.starts_with(path::PCI_SYSFS_PREFIX) {
                prop_assert!(
                    host_dev && path::is_pci_assignment_file(form),
                    "{}: PCI sysfs path {:?} granted to {}",
                    what,
                    form,
                    rule.grant.origin
                );
            } else if !nss {
                prop_assert_eq!(
                    path::check_prefixes(
                        form,
                        read_only,
                        PrefixMatch::Component,
                        case.settings.firmware_dirs
                    ),
                    PathVerdict::Allowed,
                    "{}: restricted path {:?} granted: {:?}",
                    what,
                    form,
                    rule.text
                );
            }
            if rule.grant.target.is_tree() && !nss {
                let verdict = path::check_tree(form, &locations, &own);
                prop_assert!(
                    verdict.is_ok(),
                    "{}: tree {:?} granted ({:?}): {:?}",
                    what,
                    form,
                    verdict,
                    rule.text
                );
            }
        }
        // The rule names exactly the checked path: every character from
        // input is escaped, the only live pattern is svirt's suffix.
        let first = rule.text.lines().find_map(quoted_pattern);
        let Some(first) = first else {
            return Err(TestCaseError::fail(format!(
                "{what}: no rule line in {:?}",
                rule.text
            )));
        };
        let sfx = suffix(&rule.grant.target);
        let stem = if c == "/" && !sfx.is_empty() { "" } else { c };
        prop_assert_eq!(
            unescape(first),
            format!("{stem}{sfx}"),
            "{}: the rule does not name the checked path: {:?}",
            what,
            rule.text
        );
    }
    if case.field.kind == Kind::ShmemName {
        check_shmem(case, g)?;
    }
    Ok(())
}

/// In safe mode a shmem name stays one component of `/dev/shm/` or of
/// libvirt's default socket name.
fn check_shmem(case: &Case<'_>, g: &GeneratedProfile) -> Result<(), TestCaseError> {
    for rule in &g.policy.rules.rules {
        if !matches!(rule.grant.origin, Origin::Shmem { .. }) {
            continue;
        }
        let c = rule.canonical.as_deref().unwrap_or_default();
        let name = c
            .strip_prefix("/dev/shm/")
            .or_else(|| c.strip_prefix("/var/lib/libvirt/shmem-"));
        let Some(name) = name else {
            return Err(TestCaseError::fail(format!(
                "{}: shmem rule outside /dev/shm and /var/lib/libvirt: {:?}",
                case.what(),
                rule.text
            )));
        };
        prop_assert!(
            !name.contains('/') && name != "." && name != "..",
            "{}: shmem name leaves its directory: {:?}",
            case.what(),
            c
        );
        prop_assert!(!c.contains("/dev/sda"), "{}: {:?}", case.what(), c);
    }
    Ok(())
}

/// Runs one field with one input in both modes and checks the outcome.
fn check_field(field: &Field, input: &str, host: &dyn Host) -> Result<(), TestCaseError> {
    let xml = field.xml(input);
    for (mode, settings) in modes() {
        let case = Case {
            field,
            input,
            mode,
            settings,
        };
        match run(&xml, settings, host) {
            Err(e) => {
                prop_assert!(
                    !e.to_string().trim().is_empty(),
                    "{}: empty error {:?}",
                    case.what(),
                    e
                );
                // Input is refused by the checks, never caught as a rule
                // outside the grammar (svirt's own bug).
                prop_assert!(
                    !is_internal(&e),
                    "{}: input reached the grammar check: {}",
                    case.what(),
                    e
                );
            }
            Ok(g) => check_generated(&case, &g)?,
        }
    }
    Ok(())
}

/// A rule outside the grammar was caught before it was written.
fn is_internal(e: &PipelineError) -> bool {
    matches!(e, PipelineError::Policy(f) if matches!(*f.error, PolicyError::Grammar { .. }))
}

fn modes() -> &'static [(&'static str, Settings)] {
    static MODES: OnceLock<Vec<(&'static str, Settings)>> = OnceLock::new();
    MODES.get_or_init(|| {
        vec![
            ("safe", Settings::safe()),
            ("libvirt", Settings::libvirt_compatible()),
        ]
    })
}

// ---------------------------------------------------------- strategies ---

/// Pieces that matter to a path, a rule, or the XML around it.
const PIECES: &[&str] = &[
    "\"",
    "\n",
    "\t",
    "\r",
    "*",
    "?",
    "[",
    "]",
    "{",
    "}",
    "^",
    ",",
    "@{HOME}",
    "@",
    "..",
    "//",
    "/./",
    "/",
    "\\",
    "\\\"",
    "'",
    "&",
    "<",
    ">",
    "]]>",
    "&amp;",
    " ",
    "#",
    "=",
    "\" rwk,\n  \"/etc/shadow",
    "/**",
    "/{,**}",
    "/etc/shadow",
    "/proc/self/mem",
    "/sys/devices/pci0000:00/0000:00:01.0/remove",
    "/sys/devices/pci0000:00/0000:00:01.0/config",
    "/dev/sda",
    "/dev/shm/",
    "/usr/lib/x",
    "/usr",
    "lib",
    "/var",
    "lib/libvirt",
    "/var/lib/libvirt/",
    "/var/log/libvirt",
    "/etc",
    "/run",
    "/root",
    "/boot/vmlinuz",
    "/etc/pki/nssdb",
    "relative/path",
    "disk.img",
    "a",
    "é",
    "\u{85}",
    "\u{202e}",
    "\u{7f}",
    "\u{1b}",
    "\u{0}",
    "\u{fffe}",
    "1.2",
    "2.0",
];

/// Where a hostile string starts.
const PREFIXES: &[&str] = &[
    "",
    "",
    "/",
    "/srv/vm/",
    "/var/lib/libvirt/images/",
    "/etc/",
    "/dev/",
    "/sys/devices/pci0000:00/",
    "/proc/",
    "/usr/lib/",
    "/var",
    "/run/",
    "/root/",
    "..",
    "./",
];

/// Strings built from hostile pieces, sometimes with a very long component.
fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        12 => prop::sample::select(PIECES).prop_map(str::to_owned),
        1 => (200usize..600).prop_map(|n| "L".repeat(n)),
        2 => "\\PC{1,4}",
    ];
    (
        prop::sample::select(PREFIXES),
        prop::collection::vec(piece, 0..8),
    )
        .prop_map(|(prefix, pieces)| legal(&format!("{prefix}{}", pieces.concat())))
}

/// Arbitrary Unicode, absolute or not.
fn arbitrary() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<String>().prop_map(|s| format!("/{s}")),
        "/[a-z/.]{0,12}",
    ]
    .prop_map(|s| legal(&s))
}

const LINKS: &[(&str, &str)] = &[
    ("link-etc", "/etc"),
    ("link-root", "/"),
    ("link-dev", "/dev"),
    ("link-proc", "/proc"),
    ("link-sys", "/sys"),
    ("link-usr-lib", "/usr/lib"),
    ("link-run", "/run"),
    ("link-var", "/var"),
    ("link-libvirt", "/var/lib/libvirt"),
    ("link-shadow", "/etc/shadow"),
    ("link-dangling", "/etc/svirt-no-such-file"),
    ("link-chain", "link-etc"),
    ("link-up", "../../../../../../../../../../../../../../../.."),
    ("link-loop", "link-loop"),
];

/// A tempdir with the [`LINKS`], and a plain directory `plain/sub`.
fn make_links() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, target) in LINKS {
        std::os::unix::fs::symlink(target, dir.path().join(name)).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("plain/sub")).unwrap();
    dir
}

const LINK_SUFFIXES: &[&str] = &[
    "",
    "/",
    "//",
    "/.",
    "/..",
    "/shadow",
    "/passwd",
    "/pki/nssdb",
    "/../etc/shadow",
    "/sda",
    "/self/mem",
    "/devices/pci0000:00/0000:00:01.0/remove",
    "/libvirt/qemu",
    "/lib/libvirt/images",
    "/nonexistent/../..",
    "/x//y",
    "/./",
    "/*",
    "/\"x",
];

/// A path through one of the [`LINKS`] (or the plain dir), with a suffix.
fn symlinked() -> impl Strategy<Value = (usize, String)> {
    (
        0..=LINKS.len(),
        prop::collection::vec(
            prop_oneof![
                4 => prop::sample::select(LINK_SUFFIXES).prop_map(str::to_owned),
                1 => prop::sample::select(PIECES).prop_map(str::to_owned),
            ],
            0..3,
        ),
    )
        .prop_map(|(i, parts)| (i, legal(&parts.concat())))
}

fn symlinked_path(dir: &Path, link: usize, rest: &str) -> String {
    let name = LINKS.get(link).map_or("plain", |(n, _)| n);
    format!("{}{rest}", dir.join(name).display())
}

/// Shmem names: the issue's `../sda` and friends.
fn shmem_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(
            &[
                "../sda",
                "..",
                ".",
                "/",
                "a/../../sda",
                "../../dev/sda",
                "../../../etc/shadow",
                "x/",
                "..\\sda",
                "..%2fsda",
            ][..]
        )
        .prop_map(str::to_owned),
        hostile(),
    ]
}

// --------------------------------------------------------- properties ---

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Every field, every mode, strings made of hostile pieces.
    #[test]
    fn hostile_strings_in_every_field(s in hostile()) {
        let host = FakeHost::new().with_macvtap("macvtap0", 7);
        for field in fields() {
            check_field(field, &s, &host)?;
        }
    }

    /// The shmem name never leaves `/dev/shm/` or libvirt's socket name
    /// in safe mode, even where `/dev/shm/../sda` would resolve.
    #[test]
    fn shmem_names_stay_in_their_directory(s in shmem_name()) {
        let host = FakeHost::new()
            .with_file("/dev/shm")
            .with_device("/dev/sda")
            .with_file("/var/lib/libvirt");
        for field in fields().iter().filter(|f| f.kind == Kind::ShmemName) {
            check_field(field, &s, &host)?;
        }
    }

    /// The harness itself: the XML a case is built from reads back as the
    /// string under test.
    #[test]
    fn xml_escaping_round_trips(s in prop_oneof![hostile(), arbitrary()]) {
        prop_assume!(!s.trim().is_empty());
        let field = field_named("disk file");
        let domain = parse_domain(&field.xml(&s), &Limits::default())
            .map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        let source = domain.devices.disks[0].source.as_ref().and_then(|src| src.path.clone());
        prop_assert_eq!(source.as_deref(), Some(s.as_str()));
        // libvirt's parser refuses a name with '/', and so does svirt's.
        match parse_domain(&field_named("domain name").xml(&s), &Limits::default()) {
            Ok(named) => prop_assert_eq!(named.name, s),
            Err(e) => prop_assert!(s.contains('/'), "{:?}: {}", s, e),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Every field, every mode, arbitrary Unicode.
    #[test]
    fn arbitrary_strings_in_every_field(s in arbitrary()) {
        let host = FakeHost::new().with_macvtap("macvtap0", 7);
        for field in fields() {
            check_field(field, &s, &host)?;
        }
    }

}

/// Every path field, through symlinks to system locations, on the real
/// host: the checks see the resolved path. A runner of its own, so the
/// tempdir with the links is removed afterwards.
#[test]
fn symlinks_to_restricted_places() {
    let dir = make_links();
    let host = RealHost::new();
    let config = ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    let result = TestRunner::new(config).run(&symlinked(), |(link, rest)| {
        let p = symlinked_path(dir.path(), link, &rest);
        for field in fields().iter().filter(|f| f.kind == Kind::Path) {
            check_field(field, &p, &host)?;
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

// ------------------------------------------------------ deterministic ---

/// The harness reaches a rule through every field: a harmless value for
/// it shows up in the rules (in libvirt mode too where libvirt grants it).
#[test]
fn every_field_reaches_a_rule() {
    let host = FakeHost::new().with_macvtap("macvtap0", 7);
    for field in fields() {
        for (mode, settings) in modes() {
            if *mode == "libvirt" && !field.in_compat {
                continue;
            }
            let xml = field.xml(field.benign);
            let g = run(&xml, settings, &host)
                .unwrap_or_else(|e| panic!("{} in {mode} mode: {e}\n{xml}", field.label));
            let text = g.policy.rules.text();
            assert!(
                text.contains(field.marker),
                "{} in {mode} mode: no rule with {:?}:\n{text}",
                field.label,
                field.marker
            );
        }
    }
}

fn safe_err(field_label: &str, input: &str, host: &dyn Host) -> String {
    let field = fields().iter().find(|f| f.label == field_label).unwrap();
    match run(&field.xml(input), &Settings::safe(), host) {
        Ok(g) => panic!(
            "{field_label} {input:?}: safe mode accepted it:\n{}",
            g.policy.rules.text()
        ),
        Err(e) => e.to_string(),
    }
}

fn field_named(label: &str) -> &'static Field {
    fields().iter().find(|f| f.label == label).unwrap()
}

#[test]
fn ninep_share_of_root_is_refused() {
    let host = FakeHost::new().with_file("/");
    let e = safe_err("9p share", "/", &host);
    assert!(e.contains("refused"), "{e}");
    let e = safe_err("9p share read-only, path driver", "/", &host);
    assert!(e.contains("refused"), "{e}");
    // The symlinked way round.
    let dir = make_links();
    for (link, rest) in [(1, ""), (0, "/.."), (12, "")] {
        let p = symlinked_path(dir.path(), link, rest);
        let e = safe_err("9p share", &p, &RealHost::new());
        assert!(e.contains("refused"), "{p}: {e}");
    }
}

#[test]
fn smartcard_database_etc_is_refused() {
    let host = FakeHost::new().with_file("/etc");
    let e = safe_err("smartcard database", "/etc", &host);
    assert!(e.contains("refused"), "{e}");
    // Relative: a parse error in both modes, as libvirt's.
    let field = field_named("smartcard database");
    for (mode, settings) in modes() {
        let e = run(&field.xml("pki/nssdb"), settings, &host).unwrap_err();
        assert!(matches!(e, PipelineError::Domain(_)), "{mode}: {e}");
    }
    // The default database is fine.
    let g = run(
        &field.xml("/etc/pki/nssdb"),
        &Settings::safe(),
        &FakeHost::new(),
    )
    .unwrap();
    assert!(g
        .policy
        .rules
        .text()
        .contains("\"/etc/pki/nssdb/{,*}\" rk,"));
}

#[test]
fn tpm_version_with_a_quote_is_refused_in_both_modes() {
    let field = field_named("tpm emulator version");
    for input in [
        "2.0\"",
        "\"",
        "2.0\" rw, /etc/shadow r, \"/x",
        "2.0/../..",
        "tpm2\n",
    ] {
        for (mode, settings) in modes() {
            let r = run(&field.xml(input), settings, &FakeHost::new());
            assert!(r.is_err(), "{mode}: version {input:?} accepted");
        }
    }
}

#[test]
fn shmem_name_dotdot_sda_is_refused_in_safe_mode() {
    let host = FakeHost::new()
        .with_file("/dev/shm")
        .with_device("/dev/sda");
    for label in [
        "shmem plain name",
        "shmem doorbell name",
        "shmem legacy name",
    ] {
        let e = safe_err(label, "../sda", &host);
        assert!(e.contains("refused"), "{label}: {e}");
    }
}

#[test]
fn disk_on_a_pci_sysfs_control_file_is_refused() {
    let remove = "/sys/devices/pci0000:00/0000:00:01.0/remove";
    let host = FakeHost::new().with_file(remove);
    for label in [
        "disk file",
        "disk block",
        "nvram text",
        "serial file source",
    ] {
        let e = safe_err(label, remove, &host);
        assert!(e.contains("refused"), "{label}: {e}");
    }
    // Even a file device assignment needs is not a disk's.
    let config = "/sys/devices/pci0000:00/0000:00:01.0/config";
    let e = safe_err("disk file", config, &FakeHost::new().with_file(config));
    assert!(e.contains("refused"), "{e}");
}

// ------------------------------------------------------------ known bugs ---

/// C1 control characters (U+0080..=U+009F, legal in XML 1.0) are refused
/// up front with the control-character error, in both modes, never caught
/// later as a rule outside the grammar.
#[test]
fn c1_controls_are_refused_up_front() {
    let host = FakeHost::new().with_macvtap("macvtap0", 7);
    for (label, input) in [
        ("disk file", "/srv/a\u{85}b"),
        ("domain name", "vm\u{85}"),
        ("tpm passthrough device", "/dev/tpm\u{9b}0"),
    ] {
        for (mode, settings) in modes() {
            if let Err(e) = run(&field_named(label).xml(input), settings, &host) {
                assert!(!is_internal(&e), "{label} {input:?} in {mode} mode: {e}");
                assert!(e.to_string().contains("control"), "{label}: {e}");
            }
        }
    }
}

/// AppArmor's lexer decodes backslash escapes inside a quoted path (`\ooo`
/// octal, `\xHH`, `\n`, `\t`, `\r`). libvirt writes a domain's `\` as
/// is, so `/\145tc/shadow` would pass the restricted-prefix check and be
/// read as `/etc/shadow`, and `\042`, `\012` would put a `"` and a newline
/// into the rule. Compat mode refuses such a sequence; safe mode writes
/// `[\\]` and is not affected.
#[test]
fn compat_mode_refuses_apparmor_escape_sequences() {
    let settings = Settings::libvirt_compatible();
    for (label, input) in [
        ("disk file", "/\\145tc/shadow"),
        ("disk file", "/srv/a\\042b"),
        ("disk file", "/srv/a\\nb"),
        ("9p share", "/\\162oot"),
        ("domain name", "vm\\012x"),
    ] {
        if let Ok(g) = run(&field_named(label).xml(input), &settings, &FakeHost::new()) {
            let text = g.policy.rules.text();
            let live_escape = text.lines().filter_map(quoted_pattern).any(|p| {
                p.split('\\').skip(1).any(|after| {
                    after.starts_with(|c: char| c.is_ascii_digit() || "xntr".contains(c))
                })
            });
            assert!(
                !live_escape,
                "{label} {input:?}: escape sequence in\n{text}"
            );
        }
    }
}
