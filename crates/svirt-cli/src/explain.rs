//! `svirt explain`: turn `apparmor="DENIED"` lines into sentences: which
//! VM (by name), which file, what was asked, what the VM's rules say about
//! it, and the fix. The lines come from the kernel's logs (the journal,
//! audit.log, the kernel ring buffer) or from a file or standard input.

use std::collections::HashMap;
use std::fs;
use std::io::{self, BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::json;
use svirt::audit::{self, Denial, Fix, FixFacts, Stamp};
use svirt::domain::{parse_domain, Domain, DomainUuid, Limits};
use svirt::host::RealHost;
use svirt::libvirt::{self, DefinitionDirs, Definitions, Kind};
use svirt::pipeline::policy_for;
use svirt::policy::escape::inert;
use svirt::policy::vmfiles::{self, VmFileKind};
use svirt::policy::{Access, Rule};
use svirt::Settings;

use crate::diag;

/// Most log text read from one source.
const MAX_LOG_BYTES: u64 = 256 * 1024 * 1024;
/// Longest line read from a source; longer lines are skipped (a journal
/// entry in JSON is longer than the audit line it carries).
const MAX_SOURCE_LINE_BYTES: usize = 4 * audit::MAX_LINE_BYTES;
/// Most bytes of a command's standard error kept for a message.
const MAX_STDERR_BYTES: u64 = 16 * 1024;
/// Longest `--since` value.
const MAX_SINCE_BYTES: usize = 100;
/// Where the per-VM rules live.
const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";
/// The only PATH the commands run here see; they are run by absolute path.
const FIXED_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
/// Where journald listens: it runs (and collects the kernel log) if this
/// exists. /run is a tmpfs, so a socket left from another boot cannot be.
const JOURNALD_SOCKET: &str = "/run/systemd/journal/socket";
const JOURNALCTL: &[&str] = &["/usr/bin/journalctl", "/bin/journalctl"];
const DMESG: &[&str] = &["/usr/bin/dmesg", "/bin/dmesg"];
const DATE: &[&str] = &["/usr/bin/date", "/bin/date"];
const AUDIT_LOG: &str = "/var/log/audit/audit.log";
const KMSG: &str = "/dev/kmsg";

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Kernel log text to read (dmesg output or audit.log); `-` reads
    /// standard input. Without it (and with --since or a terminal on
    /// standard input), the kernel's logs are read: the journal when
    /// journald runs, /var/log/audit/audit.log, and dmesg without journald.
    log: Option<PathBuf>,
    /// Only denials since TIME, in journalctl's syntax ('10 min ago',
    /// '2024-05-01 12:00', 'today', '@EPOCH'). Given to journalctl as is;
    /// other logs are filtered by the audit timestamp of each line.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// The VM's domain XML: explain against the rules svirt generates for
    /// it, with the reason for each grant, and name it in the fixes.
    /// Without it, the VM's `.files` and `.override` under
    /// /etc/apparmor.d/libvirt are read, and libvirt's definition is named.
    #[arg(long)]
    domain: Option<PathBuf>,
    /// Generate the rules as libvirt's helper would (with --domain).
    #[arg(long)]
    compat: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// Tests: read libvirt's definitions under DIR/etc/libvirt and
    /// DIR/run/libvirt.
    #[arg(long, hide = true, value_name = "DIR")]
    definitions_root: Option<PathBuf>,
    /// Tests: the root under which the commands, logs and the policy
    /// directory are looked for.
    #[arg(long, hide = true, value_name = "DIR")]
    system_root: Option<PathBuf>,
}

// ------------------------------------------------------------------ time --

/// Refuses a `--since` value that could be taken for an option or forge
/// output; everything else is journalctl's to judge.
pub fn check_since(value: &str) -> Result<()> {
    if value.trim().is_empty() {
        bail!("--since needs a time, e.g. '10 min ago'");
    }
    if let Some(rest) = value.strip_prefix('-') {
        bail!(
            "--since {}: a time starting with '-' is refused (it reads like an option); \
             write it as '{} ago'",
            inert(value),
            inert(rest.trim())
        );
    }
    if value.len() > MAX_SINCE_BYTES {
        bail!("--since: longer than {MAX_SINCE_BYTES} bytes");
    }
    if value.chars().any(char::is_control) {
        bail!("--since {}: control characters", inert(value));
    }
    Ok(())
}

/// Seconds of one unit of a relative time, in journalctl's spelling.
fn unit_seconds(unit: &str) -> Option<u64> {
    Some(match unit {
        "s" | "sec" | "secs" | "second" | "seconds" => 1,
        "m" | "min" | "mins" | "minute" | "minutes" => 60,
        "h" | "hr" | "hour" | "hours" => 3600,
        "d" | "day" | "days" => 86_400,
        "w" | "week" | "weeks" => 7 * 86_400,
        _ => return None,
    })
}

/// `now`, `@EPOCH`, `N UNIT… ago` and `+N UNIT…` as seconds since the
/// epoch, given the current time; `None` for anything else.
pub fn relative_since(value: &str, now: u64) -> Option<u64> {
    let value = value.trim();
    if value == "now" {
        return Some(now);
    }
    if let Some(epoch) = value.strip_prefix('@') {
        return epoch.parse().ok();
    }
    let (span, ago) = match value.strip_suffix("ago") {
        Some(span) => (span, true),
        None => (value.strip_prefix('+')?, false),
    };
    let mut total: u64 = 0;
    let mut rest = span.trim_start();
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 12 {
            return None;
        }
        let n: u64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = unit_seconds(&rest[..letters])?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        rest = rest[letters..].trim_start();
    }
    if ago {
        now.checked_sub(total)
    } else {
        now.checked_add(total)
    }
}

fn now_epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

// --------------------------------------------------------------- sources --

/// Where commands, logs and the policy directory are: `/` except in tests.
struct System {
    root: PathBuf,
}

impl System {
    fn path(&self, absolute: &str) -> PathBuf {
        self.root.join(absolute.trim_start_matches('/'))
    }

    fn first(&self, candidates: &[&str]) -> Option<PathBuf> {
        candidates
            .iter()
            .map(|c| self.path(c))
            .find(|p| p.is_file())
    }

    /// A command by absolute path, with a fixed environment and no shell.
    fn command(&self, program: &Path) -> Command {
        let mut c = Command::new(program);
        c.env_clear()
            .env("PATH", FIXED_PATH)
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some(tz) = std::env::var_os("TZ") {
            c.env("TZ", tz);
        }
        c
    }

    /// `--since` as seconds since the epoch, for the logs svirt filters
    /// itself; `None` if it cannot say.
    fn since_epoch(&self, value: &str) -> Option<u64> {
        if let Some(t) = relative_since(value, now_epoch()) {
            return Some(t);
        }
        let value = value.trim();
        let absolute = value.bytes().next().is_some_and(|b| b.is_ascii_digit());
        let day = matches!(value, "today" | "yesterday" | "tomorrow");
        if !absolute && !day {
            return None;
        }
        let date = self.first(DATE)?;
        // journalctl's days start at midnight; date's "today" is now.
        let text = if day {
            format!("{value} 00:00")
        } else {
            value.to_owned()
        };
        let out = self
            .command(&date)
            .arg(format!("--date={text}"))
            .arg("+%s")
            .stderr(Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        std::str::from_utf8(&out.stdout).ok()?.trim().parse().ok()
    }
}

/// Calls `each` with every line of `reader` (at most MAX_LOG_BYTES in
/// all; longer lines than MAX_SOURCE_LINE_BYTES are skipped). Returns
/// whether the limit cut the text short.
fn for_each_line(reader: impl Read, mut each: impl FnMut(&str)) -> io::Result<bool> {
    let mut reader = BufReader::new(reader.take(MAX_LOG_BYTES));
    let mut buf = Vec::new();
    let mut total: u64 = 0;
    loop {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_SOURCE_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if buf.last() != Some(&b'\n') && n > MAX_SOURCE_LINE_BYTES {
            // Too long: skip to the end of the line.
            loop {
                let chunk = reader.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                let (used, done) = match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                reader.consume(used);
                total += used as u64;
                if done {
                    break;
                }
            }
            continue;
        }
        if let Ok(line) = std::str::from_utf8(&buf) {
            each(line.trim_end_matches('\n'));
        }
    }
    Ok(total >= MAX_LOG_BYTES)
}

/// Runs a command and feeds its standard output, line by line, to
/// `each`; fails with its (bounded) standard error if it fails.
fn run_lines(mut cmd: Command, what: &str, each: impl FnMut(&str)) -> Result<bool> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let stderr = child.stderr.take().map(|e| {
        std::thread::spawn(move || {
            let mut text = Vec::new();
            let mut e = e;
            let _ = (&mut e).take(MAX_STDERR_BYTES).read_to_end(&mut text);
            // Drain the rest so the command never blocks on a full pipe.
            let _ = io::copy(&mut e, &mut io::sink());
            String::from_utf8_lossy(&text).into_owned()
        })
    });
    let stdout = child.stdout.take().context("no pipe")?;
    let cut = for_each_line(stdout, each);
    let cut = match cut {
        Ok(true) => {
            let _ = child.kill();
            true
        }
        Ok(false) => false,
        Err(e) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e).with_context(|| format!("cannot read the output of {what}"));
        }
    };
    let status = child.wait().with_context(|| what.to_owned())?;
    let err = stderr
        .and_then(|t| t.join().ok())
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !cut && !status.success() {
        bail!("{what} failed ({status}): {err}");
    }
    Ok(cut)
}

/// One journal entry (`journalctl -o json`) as the line its MESSAGE
/// holds, with the audit stamp journald keeps in fields for the audit
/// transport.
fn journal_entry(line: &str) -> Option<(String, Option<Stamp>)> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let message = match v.get("MESSAGE")? {
        serde_json::Value::String(s) => s.clone(),
        // Not valid UTF-8 or with control bytes: an array of bytes.
        serde_json::Value::Array(bytes) => {
            let bytes: Option<Vec<u8>> = bytes
                .iter()
                .map(|b| b.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect();
            String::from_utf8_lossy(&bytes?).into_owned()
        }
        _ => return None,
    };
    let field = |k: &str| v.get(k).and_then(|x| x.as_str());
    let stamp = match (field("_AUDIT_ID"), field("_SOURCE_REALTIME_TIMESTAMP")) {
        (Some(id), Some(usec)) => match (id.parse::<u64>(), usec.parse::<u64>()) {
            (Ok(serial), Ok(usec)) => Some(Stamp {
                seconds: usec / 1_000_000,
                millis: (usec % 1_000_000 / 1000) as u32,
                serial,
            }),
            _ => None,
        },
        _ => None,
    };
    Some((message, stamp))
}

/// The text of one `/dev/kmsg` record (`PRIO,SEQ,USEC,FLAGS;TEXT\n` and
/// continuation lines).
fn kmsg_text(record: &[u8]) -> Option<&str> {
    let record = std::str::from_utf8(record).ok()?;
    let (_, text) = record.split_once(';')?;
    Some(text.split('\n').next().unwrap_or(text))
}

/// Every record of the kernel ring buffer, without blocking at its end.
fn read_kmsg(path: &Path, mut each: impl FnMut(&str)) -> Result<()> {
    use rustix::fs::{Mode, OFlags};
    use rustix::io::Errno;
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut total: u64 = 0;
    while total < MAX_LOG_BYTES {
        match rustix::io::read(&fd, &mut buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if let Some(text) = kmsg_text(&buf[..n]) {
                    each(text);
                }
            }
            Err(Errno::AGAIN) => break,
            // Records were overwritten while reading: go on with the next.
            Err(Errno::PIPE) | Err(Errno::INTR) => continue,
            Err(e) => {
                return Err(io::Error::from(e))
                    .with_context(|| format!("cannot read {}", path.display()))
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------- collecting --

/// Identical denials (profile, path, mask), counted.
struct Group {
    denial: Denial,
    count: u64,
    first: Option<u64>,
    last: Option<u64>,
}

#[derive(Default)]
struct Collector {
    groups: Vec<Group>,
    index: HashMap<(String, Option<String>, String), usize>,
    /// Events counted, by audit stamp, profile and path, with the log they
    /// came from: the same event read from a second log is not counted
    /// again (within one log, every line counts).
    seen: HashMap<(Stamp, String, Option<String>), u8>,
    /// Denials kept because they had no timestamp to filter by.
    unfiltered: u64,
}

impl Collector {
    /// One line of log `source`; `since`: drop denials older than this
    /// (epoch seconds).
    fn feed(&mut self, source: u8, line: &str, stamp: Option<Stamp>, since: Option<u64>) {
        let Some(mut d) = audit::parse_denial(line) else {
            return;
        };
        if d.stamp.is_none() {
            d.stamp = stamp;
        }
        if let Some(s) = d.stamp {
            let from = *self
                .seen
                .entry((s, d.profile.clone(), d.name.clone()))
                .or_insert(source);
            if from != source {
                return;
            }
        }
        match (since, d.stamp) {
            (Some(since), Some(s)) if s.seconds < since => return,
            (Some(_), None) => self.unfiltered += 1,
            _ => {}
        }
        let mask = d
            .denied
            .clone()
            .or_else(|| d.requested.clone())
            .unwrap_or_default();
        let key = (d.profile.clone(), d.name.clone(), mask);
        let at = d.stamp.map(|s| s.seconds);
        match self.index.get(&key) {
            Some(&i) => {
                let g = &mut self.groups[i];
                g.count += 1;
                g.first = g.first.min(at).or(g.first).or(at);
                g.last = g.last.max(at);
            }
            None => {
                self.index.insert(key, self.groups.len());
                self.groups.push(Group {
                    denial: d,
                    count: 1,
                    first: at,
                    last: at,
                });
            }
        }
    }
}

/// The logs, for telling the same event in two of them apart.
const SRC_INPUT: u8 = 0;
const SRC_JOURNAL: u8 = 1;
const SRC_JOURNAL_AUDIT: u8 = 2;
const SRC_AUDIT_LOG: u8 = 3;
const SRC_KERNEL: u8 = 4;

/// Reads the kernel's logs into `c`; returns the sources read and notes.
fn read_system_logs(
    sys: &System,
    since: Option<&str>,
    c: &mut Collector,
    notes: &mut Vec<String>,
) -> Result<Vec<String>> {
    let mut sources = Vec::new();
    let epoch = since.and_then(|s| sys.since_epoch(s));
    if let (Some(s), None) = (since, epoch) {
        notes.push(format!(
            "--since '{s}' could not be turned into a time here: it applies to the journal \
             only, not to audit.log or dmesg"
        ));
    }
    let journal = sys
        .first(JOURNALCTL)
        .filter(|_| sys.path(JOURNALD_SOCKET).exists());
    if let Some(journalctl) = &journal {
        let mut cmd = sys.command(journalctl);
        cmd.args(["--no-pager", "--quiet", "--output=json"]);
        if let Some(s) = since {
            cmd.arg(format!("--since={s}"));
        }
        // The kernel ring buffer (no auditd) and journald's audit socket.
        cmd.args(["_TRANSPORT=kernel", "_TRANSPORT=audit"]);
        let cut = run_lines(cmd, "journalctl", |line| {
            if let Some((message, stamp)) = journal_entry(line) {
                // The kernel ring buffer and journald's audit socket may
                // both have an event: they count as two logs.
                let source = if stamp.is_some() {
                    SRC_JOURNAL_AUDIT
                } else {
                    SRC_JOURNAL
                };
                c.feed(source, &message, stamp, None);
            }
        })?;
        if cut {
            notes.push(format!(
                "the journal was read up to {MAX_LOG_BYTES} bytes only"
            ));
        }
        sources.push("journal".to_owned());
    }
    // With auditd running, the kernel sends its records there and not to
    // the ring buffer.
    let audit_log = sys.path(AUDIT_LOG);
    match fs::File::open(&audit_log) {
        Ok(f) => {
            let cut = for_each_line(f, |line| c.feed(SRC_AUDIT_LOG, line, None, epoch))
                .with_context(|| format!("cannot read {}", audit_log.display()))?;
            if cut {
                notes.push(format!(
                    "{AUDIT_LOG} was read up to {MAX_LOG_BYTES} bytes only"
                ));
            }
            sources.push(AUDIT_LOG.to_owned());
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => notes.push(format!("cannot read {AUDIT_LOG}: {e}")),
    }
    if journal.is_none() {
        let via_command = match sys.first(DMESG) {
            Some(dmesg) => {
                match run_lines(sys.command(&dmesg), "dmesg", |line| {
                    c.feed(SRC_KERNEL, line, None, epoch)
                }) {
                    Ok(_) => true,
                    Err(e) => {
                        notes.push(format!("{e:#}; reading {KMSG} instead"));
                        false
                    }
                }
            }
            None => false,
        };
        if via_command {
            sources.push("dmesg".to_owned());
        } else {
            read_kmsg(&sys.path(KMSG), |line| {
                c.feed(SRC_KERNEL, line, None, epoch)
            })?;
            sources.push(KMSG.to_owned());
        }
    }
    Ok(sources)
}

// ------------------------------------------------------------------ rules --

/// The rules one VM has, from its definition or its policy files.
enum Rules {
    Generated(Vec<Rule>),
    Files(Vec<FileRule>),
    Unknown(String),
}

/// A rule line read back from a `.files` or `.override` include.
struct FileRule {
    deny: bool,
    pattern: String,
    access: Access,
}

fn read_files_rules(policy_dir: &Path, profile: &str) -> Rules {
    let mut rules = Vec::new();
    for (suffix, required) in [
        (vmfiles::FILES_SUFFIX, true),
        (vmfiles::OVERRIDE_SUFFIX, false),
    ] {
        let path = policy_dir.join(format!("{profile}{suffix}"));
        let text = match fs::File::open(&path).and_then(|f| {
            let mut s = String::new();
            f.take(svirt::policy::MAX_POLICY_FILE_BYTES as u64)
                .read_to_string(&mut s)?;
            Ok(s)
        }) {
            Ok(t) => t,
            Err(e) if !required && e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Rules::Unknown(format!("cannot read {}: {e}", path.display())),
        };
        // A child profile's rules (passt's) are not the VM's own, and its
        // exec transition names a program, not a file the VM may use.
        let mut in_child = false;
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            if in_child {
                in_child = line != "}";
                continue;
            }
            if line.starts_with("profile ") && line.ends_with('{') {
                in_child = true;
                continue;
            }
            if line.contains(" -> ") {
                continue;
            }
            let (deny, line) = match line.strip_prefix("deny ") {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let (Some(start), Some(end)) = (line.find('"'), line.rfind('"')) else {
                continue;
            };
            if end <= start {
                continue;
            }
            let perms = line[end + 1..].trim().trim_end_matches(',');
            rules.push(FileRule {
                deny,
                pattern: line[start + 1..end].to_owned(),
                access: audit::mask_access(perms),
            });
        }
    }
    Rules::Files(rules)
}

/// `--domain`, read once.
struct GivenDomain {
    path: PathBuf,
    domain: Domain,
}

fn read_given(path: &Path) -> Result<GivenDomain> {
    let xml = crate::read_domain(path)?;
    let domain =
        parse_domain(&xml, &Limits::default()).with_context(|| format!("{}", path.display()))?;
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    Ok(GivenDomain { path, domain })
}

fn generated_rules(given: &GivenDomain, compat: bool) -> Result<Rules> {
    let settings = if compat {
        Settings::libvirt_compatible()
    } else {
        Settings::safe()
    };
    let policy = policy_for(&given.domain, &settings, &RealHost::new(), &[])
        .with_context(|| format!("{}", given.path.display()))?;
    Ok(Rules::Generated(policy.rules.rules))
}

/// What is known about one VM.
struct VmInfo {
    uuid: DomainUuid,
    name: Option<String>,
    /// For `svirt allow --domain`.
    domain_file: Option<String>,
    /// For what the definition says a path is.
    domain: Option<Domain>,
    rules: Rules,
}

/// What the VM's rules say about one path: granted access, whether a deny
/// rule matches, the reasons for the grants; `None` if the rules are
/// unknown.
fn coverage(rules: &Rules, path: &str) -> Option<(Access, bool, Vec<String>)> {
    match rules {
        Rules::Unknown(_) => None,
        Rules::Generated(rules) => {
            let cov = audit::coverage(rules, path);
            let reasons = cov
                .allowed_by
                .iter()
                .map(|r| r.grant.origin.to_string())
                .collect();
            Some((cov.granted(), !cov.denied_by.is_empty(), reasons))
        }
        Rules::Files(rules) => {
            let mut granted = Access::default();
            let mut denied = false;
            for r in rules {
                if audit::pattern_matches(&r.pattern, path) {
                    if r.deny {
                        denied = true;
                    } else {
                        granted = granted.union(r.access);
                    }
                }
            }
            Some((granted, denied, Vec::new()))
        }
    }
}

/// The explanation and the fix for one denial of a VM.
fn judge(d: &Denial, vm: &VmInfo) -> (String, Option<Fix>) {
    let mut facts = FixFacts {
        domain_file: vm.domain_file.as_deref(),
        ..FixFacts::default()
    };
    let Some(name) = &d.name else {
        let text = format!(
            "not a file access ({}); svirt's rules only cover files",
            d.operation
        );
        return (text, audit::fix_for(d, true, &facts));
    };
    facts.role = vm
        .domain
        .as_ref()
        .and_then(|dom| audit::role_in_domain(dom, name));
    let asked = audit::mask_access(d.denied.as_deref().or(d.requested.as_deref()).unwrap_or(""));
    let text = match coverage(&vm.rules, name) {
        None => match &vm.rules {
            Rules::Unknown(why) => format!("the VM's rules are unknown: {why}"),
            _ => unreachable!("coverage is None only for unknown rules"),
        },
        Some((granted, deny_rule, reasons)) => {
            facts.rules_known = true;
            facts.granted = granted;
            facts.deny_rule = deny_rule;
            let why = if reasons.is_empty() {
                String::new()
            } else {
                format!(" (as {})", reasons.join(", "))
            };
            if granted.is_empty() {
                format!("not granted: the VM's rules do not name {name}.")
            } else if !granted.contains(asked) || deny_rule {
                let deny = if deny_rule {
                    " A deny rule matches it too."
                } else {
                    ""
                };
                format!("granted only '{granted}'{why}, but '{asked}' was asked.{deny}")
            } else {
                format!(
                    "the current rules allow '{asked}'{why}: the profile loaded in the kernel \
                     is older than these rules."
                )
            }
        }
    };
    (text, audit::fix_for(d, true, &facts))
}

/// Finds what is known about the VM of `uuid`.
fn vm_info(
    uuid: DomainUuid,
    profile: &str,
    args: &ExplainArgs,
    given: Option<&GivenDomain>,
    defs: &Definitions,
    policy_dir: &Path,
) -> Result<VmInfo> {
    let mine = given.filter(|g| g.domain.uuid == uuid);
    let found = defs.by_uuid(&uuid);
    let persistent = found.iter().find(|d| d.kind == Kind::Persistent);
    let running = found.iter().find(|d| d.kind == Kind::Running);
    let name = mine
        .map(|g| g.domain.name.clone())
        .or_else(|| defs.name_of(&uuid).map(str::to_owned));
    let domain_file = match mine {
        Some(g) => Some(g.path.to_string_lossy().into_owned()),
        None => persistent
            .or(running)
            .map(|d| d.path.to_string_lossy().into_owned()),
    };
    // The running definition is what the VM has now.
    let domain = match mine {
        Some(g) => Some(g.domain.clone()),
        None => running.or(persistent).and_then(|d| {
            let parsed = libvirt::domain_xml(&d.path)
                .and_then(|xml| parse_domain(&xml, &Limits::default()).map_err(|e| e.to_string()));
            match parsed {
                Ok(dom) => Some(dom),
                Err(e) => {
                    diag(
                        "warning",
                        format!("{}: {e}; the fixes do not know its disks", d.path.display()),
                    );
                    None
                }
            }
        }),
    };
    let rules = match (given, mine) {
        (_, Some(g)) => generated_rules(g, args.compat)?,
        (Some(g), None) => Rules::Unknown(format!(
            "{} describes libvirt-{}, not {profile}",
            g.path.display(),
            g.domain.uuid
        )),
        (None, None) => read_files_rules(policy_dir, profile),
    };
    Ok(VmInfo {
        uuid,
        name,
        domain_file,
        domain,
        rules,
    })
}

/// The UUID of a VM's profile name (`libvirt-<uuid>`, canonical form).
fn vm_uuid(profile: &str) -> Option<DomainUuid> {
    match vmfiles::classify(profile) {
        Some((uuid, VmFileKind::Profile)) => Some(uuid),
        _ => None,
    }
}

// -------------------------------------------------------------------- run --

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    if let Some(s) = &args.since {
        check_since(s)?;
    }
    let sys = System {
        root: args
            .system_root
            .clone()
            .unwrap_or_else(|| PathBuf::from("/")),
    };
    let given = args.domain.as_deref().map(read_given).transpose()?;
    let mut c = Collector::default();
    let mut notes = Vec::new();
    let stdin_is_log = match &args.log {
        Some(p) => p.as_os_str() == "-",
        None => args.since.is_none() && !io::stdin().is_terminal(),
    };
    let since_epoch = args.since.as_deref().and_then(|s| sys.since_epoch(s));
    let sources = if stdin_is_log || args.log.is_some() {
        let (input, label): (Box<dyn Read>, String) = if stdin_is_log {
            (Box::new(io::stdin()), "standard input".to_owned())
        } else {
            let p = args.log.as_deref().expect("a log file");
            let f = fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            (Box::new(f), p.display().to_string())
        };
        if let (Some(s), None) = (&args.since, since_epoch) {
            notes.push(format!(
                "--since '{s}' could not be turned into a time here; the filter was not applied"
            ));
        }
        let cut = for_each_line(input, |line| c.feed(SRC_INPUT, line, None, since_epoch))
            .context("cannot read the log")?;
        if cut {
            notes.push(format!("{label} was read up to {MAX_LOG_BYTES} bytes only"));
        }
        vec![label]
    } else {
        read_system_logs(&sys, args.since.as_deref(), &mut c, &mut notes)?
    };
    if c.unfiltered > 0 {
        notes.push(format!(
            "{} denials had no audit timestamp; the --since filter was not applied to them",
            c.unfiltered
        ));
    }

    // The VMs, by UUID; libvirt's definitions are read once, if needed.
    let policy_dir = sys.path(POLICY_DIR);
    let mut defs: Option<Definitions> = None;
    let mut vms: Vec<VmInfo> = Vec::new();
    let mut out = Vec::new();
    for g in &c.groups {
        let d = &g.denial;
        let Some(uuid) = vm_uuid(&d.profile) else {
            let text =
                "not a VM's profile (libvirt-<uuid>): svirt has no rules or fix for it".to_owned();
            out.push((g, None, text, None));
            continue;
        };
        let defs = defs.get_or_insert_with(|| {
            let dirs = match &args.definitions_root {
                Some(r) => DefinitionDirs::under(r.join("etc/libvirt"), r.join("run/libvirt")),
                None => DefinitionDirs::default(),
            };
            Definitions::scan(&dirs).unwrap_or_else(|e| {
                diag(
                    "warning",
                    format!("{e}; VMs are shown by their profile name"),
                );
                Definitions::default()
            })
        });
        let at = match vms.iter().position(|v| v.uuid == uuid) {
            Some(at) => at,
            None => {
                let info = vm_info(uuid, &d.profile, args, given.as_ref(), defs, &policy_dir)?;
                vms.push(info);
                vms.len() - 1
            }
        };
        let vm = &vms[at];
        let (text, fix) = judge(d, vm);
        out.push((g, Some(at), text, fix));
    }

    if args.json {
        let list: Vec<_> = out
            .iter()
            .map(|(g, vm, text, fix)| {
                let d = &g.denial;
                let vm = vm.map(|i| &vms[i]).map(
                    |v| json!({"name": v.name, "uuid": v.uuid.to_string(), "definition": v.domain_file}),
                );
                json!({"profile": d.profile, "vm": vm, "operation": d.operation, "name": d.name,
                       "requested": d.requested, "denied": d.denied, "pid": d.pid,
                       "comm": d.comm, "count": g.count, "first_seen": g.first,
                       "last_seen": g.last, "explanation": text,
                       "fix": fix.as_ref().map(|f| &f.text),
                       "fix_kind": fix.as_ref().map(|f| f.kind.as_str())})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(
                &json!({ "denials": list, "sources": sources, "notes": notes })
            )?
        );
        return Ok(ExitCode::SUCCESS);
    }
    for note in &notes {
        diag("note", note);
    }
    if out.is_empty() {
        println!("no AppArmor denials in {}", inert(&sources.join(", ")));
        return Ok(ExitCode::SUCCESS);
    }
    for (g, vm, text, fix) in &out {
        let d = &g.denial;
        let who = match (&d.comm, d.pid) {
            (Some(c), Some(p)) => format!("{c} (pid {p})"),
            (Some(c), None) => c.clone(),
            (None, Some(p)) => format!("pid {p}"),
            (None, None) => "a process".to_owned(),
        };
        let subject = match vm.map(|i| &vms[i]) {
            Some(VmInfo {
                name: Some(name), ..
            }) => format!("VM {name} ({})", d.profile),
            _ => d.profile.clone(),
        };
        let what = d.name.as_deref().unwrap_or("(no file)");
        let mask = d
            .denied
            .as_deref()
            .or(d.requested.as_deref())
            .unwrap_or("?");
        let times = if g.count > 1 {
            format!(" ({} times)", g.count)
        } else {
            String::new()
        };
        // Every field comes from a log line or a definition anyone with
        // access to them can write.
        let line = format!(
            "{subject}: {who} was denied {} '{mask}' on {what}{times}",
            d.operation
        );
        println!("{}", inert(&line));
        println!("  {}", inert(text));
        if let Some(fix) = fix {
            println!("  fix: {}", inert(&fix.text));
        }
    }
    let total: u64 = c.groups.iter().map(|g| g.count).sum();
    println!(
        "{total} denial{} ({} distinct) from {}",
        if total == 1 { "" } else { "s" },
        c.groups.len(),
        inert(&sources.join(", "))
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_values_that_look_like_options_are_refused() {
        assert!(check_since("10 min ago").is_ok());
        assert!(check_since("2024-05-01 12:00:00").is_ok());
        let e = check_since("-1min").unwrap_err().to_string();
        assert!(e.contains("'1min ago'"), "{e}");
        assert!(check_since("--output=cat").is_err());
        assert!(check_since("").is_err());
        assert!(check_since("today\n").is_err());
        assert!(check_since(&"1".repeat(200)).is_err());
    }

    #[test]
    fn relative_times() {
        let now = 1_000_000;
        assert_eq!(relative_since("now", now), Some(now));
        assert_eq!(relative_since("10 min ago", now), Some(now - 600));
        assert_eq!(relative_since("10min ago", now), Some(now - 600));
        assert_eq!(relative_since("1h 30min ago", now), Some(now - 5400));
        assert_eq!(relative_since("2 days ago", now), Some(now - 172_800));
        assert_eq!(relative_since("5s ago", now), Some(now - 5));
        assert_eq!(relative_since("+1h", now), Some(now + 3600));
        assert_eq!(relative_since("@1234", now), Some(1234));
        // Not relative: left to date(1), or not applied.
        for v in [
            "today",
            "2024-05-01",
            "ago",
            "10 parsecs ago",
            "min ago",
            "10",
        ] {
            assert_eq!(relative_since(v, now), None, "{v}");
        }
        assert_eq!(relative_since("99999999999 weeks ago", now), None);
    }

    #[test]
    fn journal_entries() {
        let kernel = r#"{"MESSAGE":"audit: type=1400 audit(1700000000.123:45): apparmor=\"DENIED\"","_TRANSPORT":"kernel"}"#;
        let (m, s) = journal_entry(kernel).unwrap();
        assert!(m.starts_with("audit: type=1400"));
        assert_eq!(s, None);
        let audit = r#"{"MESSAGE":"AVC apparmor=\"DENIED\"","_TRANSPORT":"audit","_AUDIT_ID":"45","_SOURCE_REALTIME_TIMESTAMP":"1700000000123000"}"#;
        let (_, s) = journal_entry(audit).unwrap();
        assert_eq!(
            s,
            Some(Stamp {
                seconds: 1_700_000_000,
                millis: 123,
                serial: 45
            })
        );
        let bytes = r#"{"MESSAGE":[97,10,98]}"#;
        assert_eq!(journal_entry(bytes).unwrap().0, "a\nb");
        assert!(journal_entry("not json").is_none());
    }

    #[test]
    fn kmsg_records() {
        assert_eq!(
            kmsg_text(b"5,1234,5678,-;audit: type=1400 x\n SUBSYSTEM=y\n"),
            Some("audit: type=1400 x")
        );
        assert_eq!(kmsg_text(b"no separator"), None);
    }

    #[test]
    fn identical_denials_are_grouped_and_events_counted_once() {
        let line = |serial: u32, name: &str| {
            format!(
                "audit: type=1400 audit(1700000000.1:{serial}): apparmor=\"DENIED\" \
                 operation=\"open\" profile=\"p\" name=\"{name}\" denied_mask=\"r\""
            )
        };
        let mut c = Collector::default();
        for serial in 1..=5 {
            c.feed(SRC_KERNEL, &line(serial, "/a"), None, None);
        }
        // The same event from another log; the same line again in one log.
        c.feed(SRC_AUDIT_LOG, &line(3, "/a"), None, None);
        c.feed(SRC_KERNEL, &line(6, "/b"), None, None);
        c.feed(SRC_KERNEL, &line(6, "/b"), None, None);
        assert_eq!(c.groups.len(), 2);
        assert_eq!(c.groups[0].count, 5);
        assert_eq!(c.groups[1].count, 2);
        // Older than --since: dropped; no stamp: kept and counted.
        c.feed(SRC_KERNEL, &line(7, "/c"), None, Some(1_800_000_000));
        assert_eq!(c.groups.len(), 2);
        c.feed(
            SRC_KERNEL,
            "apparmor=\"DENIED\" operation=\"open\" profile=\"p\" name=\"/d\"",
            None,
            Some(1_800_000_000),
        );
        assert_eq!(c.groups.len(), 3);
        assert_eq!(c.unfiltered, 1);
    }
}
