//! `svirt precompile`: brings every defined VM's compiled policy
//! (`libvirt-<uuid>.cache`) up to date with the installed parser and the
//! running kernel's features, in parallel, so that a boot storm of
//! autostarting VMs loads binary policy instead of compiling it.
//!
//! An entry keeps the preprocessed profile it was compiled from, so it can
//! be compiled again without the VM's live definition; the helper still
//! checks every entry against the profile of the moment before using it,
//! so an entry that no longer matches is simply compiled again at start.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use svirt::apparmor::cache;
use svirt::apparmor::parser::{capture, find_parser};
use svirt::libvirt::Definitions;
use svirt::policy::escape::inert;
use svirt::policy::ProfileName;
use svirt::policydir::{self as files, ProfileFiles, LOCK_TIMEOUT};

use crate::audit::HostRoots;

#[derive(Debug, clap::Args)]
pub struct PrecompileArgs {
    /// Compilations at once (each is one apparmor_parser process; memory
    /// grows with this). Default: the CPUs, at most 4.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    jobs: Option<u16>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    roots: HostRoots,
}

/// What happened to one VM.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    UpToDate,
    Compiled { ms: u128 },
    NoEntry,
    Failed(String),
}

impl Outcome {
    fn kind(&self) -> &'static str {
        match self {
            Outcome::UpToDate => "up-to-date",
            Outcome::Compiled { .. } => "compiled",
            Outcome::NoEntry => "no-entry",
            Outcome::Failed(_) => "failed",
        }
    }
}

/// The current parser's identity and features, shared by every job.
struct Current {
    parser: PathBuf,
    identity: String,
    features: String,
}

fn precompile_one(current: &Current, files: &ProfileFiles) -> Outcome {
    let _lock = match files::lock_profile(files, LOCK_TIMEOUT) {
        Ok(lock) => lock,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let entry = match files::read_limited(&files.cache(), cache::MAX_ENTRY_BYTES) {
        Ok(Some(entry)) => entry,
        Ok(None) => return Outcome::NoEntry,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    let Some(source) = cache::source_of(&entry) else {
        return Outcome::Failed(format!(
            "{} is not a compiled-policy entry; remove it",
            files.cache().display()
        ));
    };
    let key = cache::key(&current.identity, &current.features, source);
    if cache::binary_for(&entry, &key).is_some() {
        return Outcome::UpToDate;
    }
    let started = Instant::now();
    // The preprocessed text is a whole profile: compile it from a private
    // temporary file, never from the policy directory.
    let compiled = tempfile::NamedTempFile::new()
        .and_then(|mut t| {
            std::io::Write::write_all(&mut t, source)?;
            Ok(t)
        })
        .ok()
        .and_then(|t| {
            let args = ["-Q", "-K", "-S"].map(std::ffi::OsStr::new);
            capture(
                &current.parser,
                &[&args[..], &[t.path().as_os_str()]].concat(),
            )
        })
        .filter(|b| !b.is_empty());
    let Some(binary) = compiled else {
        return Outcome::Failed(
            "apparmor_parser does not compile the profile the entry was made from; \
             the VM's next start compiles its current profile"
                .to_owned(),
        );
    };
    match files::replace_atomically(&files.cache(), &cache::encode(&key, &binary)) {
        Ok(()) => Outcome::Compiled {
            ms: started.elapsed().as_millis(),
        },
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

pub fn run(args: &PrecompileArgs) -> Result<ExitCode> {
    let parser = find_parser().context("apparmor_parser is not installed")?;
    let current = Current {
        identity: cache::parser_identity(&parser)
            .with_context(|| format!("cannot stat {}", parser.display()))?,
        features: cache::features_dir(&parser)
            .context("apparmor_parser --print-cache-dir failed")?,
        parser,
    };
    let definitions = Definitions::scan(&args.roots.definition_dirs())?;
    // Each VM once, by profile name, with the name libvirt gives it.
    let mut names: Vec<(ProfileName, String)> = definitions
        .domains
        .iter()
        .map(|d| (ProfileName::for_uuid(&d.uuid), d.name.clone()))
        .collect();
    names.sort();
    names.dedup_by(|a, b| a.0 == b.0);
    let jobs = args.jobs.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get().min(4))
            .unwrap_or(1)
    });
    let started = Instant::now();
    let queue = Mutex::new(names.iter());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(names.len().max(1)) {
            scope.spawn(|| loop {
                let next = queue.lock().map(|mut q| q.next()).ok().flatten();
                let Some((profile, vm)) = next else { break };
                let files = ProfileFiles::new(&args.roots.policy_dir, profile.as_str());
                let outcome = precompile_one(&current, &files);
                if let Ok(mut r) = results.lock() {
                    r.push((profile.clone(), vm.clone(), outcome));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results.sort_by(|a, b| a.0.cmp(&b.0));
    report(args, &results, jobs, started.elapsed().as_millis())
}

fn report(
    args: &PrecompileArgs,
    results: &[(ProfileName, String, Outcome)],
    jobs: usize,
    total_ms: u128,
) -> Result<ExitCode> {
    let failed = results
        .iter()
        .any(|(_, _, o)| matches!(o, Outcome::Failed(_)));
    if args.json {
        let list: Vec<_> = results
            .iter()
            .map(|(p, vm, o)| {
                json!({
                    "profile": p.as_str(),
                    "name": vm,
                    "outcome": o.kind(),
                    "ms": match o { Outcome::Compiled { ms } => Some(*ms), _ => None },
                    "error": match o { Outcome::Failed(e) => Some(e.clone()), _ => None },
                })
            })
            .collect();
        let out = json!({ "vms": list, "jobs": jobs, "ms": total_ms });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for (p, vm, o) in results {
            let what = match o {
                Outcome::UpToDate => "up to date".to_owned(),
                Outcome::Compiled { ms } => format!("compiled ({ms} ms)"),
                Outcome::NoEntry => {
                    "no compiled policy yet (compiled at its next start)".to_owned()
                }
                Outcome::Failed(e) => format!("failed: {e}"),
            };
            println!("VM {} ({p}): {}", inert(vm), inert(&what));
        }
        let count = |k: &str| results.iter().filter(|(_, _, o)| o.kind() == k).count();
        println!(
            "{} compiled, {} up to date, {} without an entry, {} failed; {jobs} at once, {total_ms} ms",
            count("compiled"),
            count("up-to-date"),
            count("no-entry"),
            count("failed")
        );
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
