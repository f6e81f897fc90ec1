//! `svirt explain`: turn `apparmor="DENIED"` lines from dmesg or
//! audit.log into sentences: which VM, which file, what was asked, and
//! what the VM's rules say about it.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use svirt::policy::escape::inert;

use anyhow::{Context, Result};
use serde_json::json;
use svirt::audit::{self, Denial};
use svirt::domain::{parse_domain, Limits};
use svirt::host::RealHost;
use svirt::pipeline::policy_for;
use svirt::policy::{Access, ProfileName, Rule, PROFILE_PREFIX};
use svirt::Settings;

/// Most log text read.
const MAX_LOG_BYTES: u64 = 256 * 1024 * 1024;
/// Where the per-VM rules live.
const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";

#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Kernel log to read (dmesg output or audit.log); `-` or nothing reads
    /// standard input.
    log: Option<PathBuf>,
    /// The VM's domain XML: explain against the rules svirt generates for
    /// it, with the reason for each grant. Without it, the VM's `.files`
    /// under /etc/apparmor.d/libvirt is read.
    #[arg(long)]
    domain: Option<PathBuf>,
    /// Generate the rules as libvirt's helper would (with --domain).
    #[arg(long)]
    compat: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// The rules one VM has, from its definition or its `.files`.
enum Rules {
    Generated(Vec<Rule>),
    Files(Vec<FileRule>),
    Unknown(String),
}

/// A rule line read back from a `.files` include.
struct FileRule {
    deny: bool,
    pattern: String,
    access: Access,
}

fn read_files_rules(profile: &str) -> Rules {
    let path = Path::new(POLICY_DIR).join(format!("{profile}.files"));
    let text = match fs::File::open(&path).and_then(|f| {
        let mut s = String::new();
        f.take(svirt::policy::MAX_POLICY_FILE_BYTES as u64)
            .read_to_string(&mut s)?;
        Ok(s)
    }) {
        Ok(t) => t,
        Err(e) => return Rules::Unknown(format!("cannot read {}: {e}", path.display())),
    };
    let mut rules = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
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
    Rules::Files(rules)
}

fn generated_rules(path: &Path, compat: bool, profile: &str) -> Result<Rules> {
    let xml = crate::read_domain(path)?;
    let domain =
        parse_domain(&xml, &Limits::default()).with_context(|| format!("{}", path.display()))?;
    let name = ProfileName::for_uuid(&domain.uuid);
    if name.as_str() != profile {
        return Ok(Rules::Unknown(format!(
            "{} describes {name}, not {profile}",
            path.display()
        )));
    }
    let settings = if compat {
        Settings::libvirt_compatible()
    } else {
        Settings::safe()
    };
    let policy = policy_for(&domain, &settings, &RealHost::new(), &[])
        .with_context(|| format!("{}", path.display()))?;
    Ok(Rules::Generated(policy.rules.rules))
}

/// The verdict for one denial, in words.
fn verdict(d: &Denial, rules: &Rules) -> String {
    let Some(name) = &d.name else {
        return format!(
            "not a file access ({}); svirt's rules only cover files",
            d.operation
        );
    };
    let asked = audit::mask_access(d.denied.as_deref().or(d.requested.as_deref()).unwrap_or(""));
    let (granted, denied, reasons) = match rules {
        Rules::Unknown(why) => return format!("the VM's rules are unknown: {why}"),
        Rules::Generated(rules) => {
            let cov = audit::coverage(rules, name);
            let reasons: Vec<String> = cov
                .allowed_by
                .iter()
                .map(|r| r.grant.origin.to_string())
                .collect();
            (cov.granted(), !cov.denied_by.is_empty(), reasons)
        }
        Rules::Files(rules) => {
            let mut granted = Access::default();
            let mut denied = false;
            for r in rules {
                if audit::pattern_matches(&r.pattern, name) {
                    if r.deny {
                        denied = true;
                    } else {
                        granted = granted.union(r.access);
                    }
                }
            }
            (granted, denied, Vec::new())
        }
    };
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(" (as {})", reasons.join(", "))
    };
    if granted.is_empty() {
        let hint = hint_for(name);
        format!("not granted: the VM's rules do not name {name}.{hint}")
    } else if !granted.contains(asked) {
        let extra = if denied && asked.contains(Access::WRITE) {
            " It is read-only on purpose (a backing layer, a <readonly/> disk or firmware); \
             an operation that writes it (block-commit, snapshot deletion) needs the layer \
             re-granted writable first."
        } else {
            ""
        };
        format!("granted only '{granted}'{why}, but '{asked}' was asked.{extra}")
    } else {
        format!(
            "the current rules allow '{asked}'{why}: the profile loaded in the kernel is older \
             than these rules. Reload it (virt-aa-helper -r, or the manager's hotplug path)."
        )
    }
}

fn hint_for(path: &str) -> &'static str {
    if path.starts_with("/dev/pts/") {
        " A pty console: the VM's definition needs its <serial>/<console type='pty'>, or the \
         template's abstraction must allow ptys."
    } else if [".qcow2", ".qcow", ".img", ".raw", ".vmdk", ".qed", ".iso"]
        .iter()
        .any(|e| path.ends_with(e))
    {
        " If it is a backing file, the helper could not read the chain (its own profile limits \
         where it may read) or the format was not declared: declare the chain with \
         <backingStore> in the domain, or allow the helper to read the image."
    } else {
        " If QEMU needs it, the device that uses it must be in the domain definition, or a \
         site rule belongs in the abstraction's local directory (abstractions/svirt-qemu.d)."
    }
}

pub fn run(args: &ExplainArgs) -> Result<ExitCode> {
    let input: Box<dyn Read> = match &args.log {
        None => Box::new(io::stdin()),
        Some(p) if p.as_os_str() == "-" => Box::new(io::stdin()),
        Some(p) => {
            Box::new(fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?)
        }
    };
    let reader = BufReader::new(input.take(MAX_LOG_BYTES));
    let mut cache: Vec<(String, Rules)> = Vec::new();
    let mut out = Vec::new();
    for line in reader.split(b'\n') {
        let line = line.context("cannot read the log")?;
        let Ok(line) = std::str::from_utf8(&line) else {
            continue;
        };
        let Some(d) = audit::parse_denial(line) else {
            continue;
        };
        if !d.profile.starts_with(PROFILE_PREFIX) {
            continue;
        }
        let at = match cache.iter().position(|(p, _)| *p == d.profile) {
            Some(at) => at,
            None => {
                let rules = match &args.domain {
                    Some(path) => generated_rules(path, args.compat, &d.profile)?,
                    None => read_files_rules(&d.profile),
                };
                cache.push((d.profile.clone(), rules));
                cache.len() - 1
            }
        };
        let rules = &cache[at].1;
        let text = verdict(&d, rules);
        out.push((d, text));
    }
    if args.json {
        let list: Vec<_> = out
            .iter()
            .map(|(d, text)| {
                json!({"profile": d.profile, "operation": d.operation, "name": d.name,
                       "requested": d.requested, "denied": d.denied, "pid": d.pid,
                       "comm": d.comm, "explanation": text})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "denials": list }))?
        );
    } else if out.is_empty() {
        println!("no AppArmor denials for {PROFILE_PREFIX}* profiles in the input");
    } else {
        for (d, text) in &out {
            let who = match (&d.comm, d.pid) {
                (Some(c), Some(p)) => format!("{c} (pid {p})"),
                (Some(c), None) => c.clone(),
                (None, Some(p)) => format!("pid {p}"),
                (None, None) => "a process".to_owned(),
            };
            let what = d.name.as_deref().unwrap_or("(no file)");
            let mask = d
                .denied
                .as_deref()
                .or(d.requested.as_deref())
                .unwrap_or("?");
            // Every field comes from a log line anyone can write to.
            let line = format!(
                "{}: {who} was denied {} '{mask}' on {what}",
                d.profile, d.operation
            );
            println!("{}", inert(&line));
            println!("  {}", inert(text));
        }
    }
    Ok(ExitCode::SUCCESS)
}
