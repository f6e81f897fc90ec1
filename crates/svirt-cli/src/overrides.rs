//! `svirt allow`, `svirt complain`, `svirt enforce`: the operator's per-VM
//! choices. They live beside the VM's profile (`libvirt-<uuid>.override`,
//! `libvirt-<uuid>.complain`), which the helper never regenerates, and the
//! profile file is made to carry them ([`apply_operator_choices`], the same
//! function the helper runs at every start). A loaded profile is recompiled
//! from its file and replaced at once; `.files` is not regenerated, so a
//! running VM keeps every hot-plugged grant.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde_json::json;
use svirt::apparmor::{Compiler, SecurityFs};
use svirt::config;
use svirt::domain::{parse_domain, Limits};
use svirt::host::RealHost;
use svirt::pipeline::vm_context;
use svirt::policy::escape::inert;
use svirt::policy::overrides::{entry_for, Overrides, MAX_OVERRIDE_BYTES};
use svirt::policy::{apply_operator_choices, has_complain_flag, OperatorChoices, ProfileName};
use svirt::policydir::{self as files, ProfileFiles, LOCK_TIMEOUT, MAX_FILE_BYTES};

/// Where libvirt keeps per-VM policy.
const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The VM's domain XML (its UUID names the profile).
    #[arg(long)]
    domain: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
    /// The per-VM policy directory (for tests).
    #[arg(long, hide = true, default_value = POLICY_DIR)]
    policy_dir: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct AllowArgs {
    #[command(flatten)]
    target: Target,
    /// Grant write access too (`rwk`); the default is read (`rk`).
    #[arg(long, conflicts_with_all = ["list", "remove"])]
    write: bool,
    /// List the VM's overrides.
    #[arg(long, conflicts_with_all = ["path", "remove"])]
    list: bool,
    /// Remove the override for PATH.
    #[arg(long, value_name = "PATH", conflicts_with = "path")]
    remove: Option<String>,
    /// The file to allow (absolute).
    #[arg(required_unless_present_any = ["list", "remove"])]
    path: Option<String>,
}

/// One VM, as the commands here see it.
struct Vm {
    name: String,
    profile: ProfileName,
    files: ProfileFiles,
    xml_path: PathBuf,
    domain: svirt::domain::Domain,
}

fn vm(target: &Target) -> Result<Vm> {
    let xml = crate::read_domain(&target.domain)?;
    let domain = parse_domain(&xml, &Limits::default())
        .with_context(|| format!("{}", target.domain.display()))?;
    let profile = ProfileName::for_uuid(&domain.uuid);
    Ok(Vm {
        name: domain.name.clone(),
        files: ProfileFiles::new(&target.policy_dir, profile.as_str()),
        profile,
        xml_path: target.domain.clone(),
        domain,
    })
}

impl Vm {
    fn shown(&self) -> String {
        format!("VM {} ({})", inert(&self.name), self.profile)
    }
}

/// Whether the helper will keep these choices when it recreates the
/// profile: a warning otherwise, because the file edited here lasts only
/// until then.
fn warn_if_helper_drops_choices() {
    match config::load(Path::new(config::CONFIG_PATH)) {
        Ok(c) if !c.settings.vm_overrides => crate::diag(
            "warning",
            format!(
                "{} turns vm_overrides off (mode = compat?): the helper will not carry \
                 this choice into a profile it creates from scratch; add `vm_overrides = true`",
                config::CONFIG_PATH
            ),
        ),
        Ok(_) => {}
        Err(e) => crate::diag(
            "warning",
            format!("cannot read the helper's configuration: {e}"),
        ),
    }
}

/// What happened to the profile after a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Applied {
    /// The profile is loaded and was replaced.
    Reloaded,
    /// Only files changed; the VM's next start loads them.
    NextStart,
}

impl Applied {
    fn as_str(self) -> &'static str {
        match self {
            Applied::Reloaded => "reloaded",
            Applied::NextStart => "next-start",
        }
    }

    fn say(self) -> &'static str {
        match self {
            Applied::Reloaded => "the loaded profile was replaced: it applies now",
            Applied::NextStart => "the profile is not loaded: it applies from the VM's next start",
        }
    }
}

/// Makes the profile file carry `choices` and, if the profile is loaded,
/// recompiles it from the file and replaces it in the kernel.
fn apply(vm: &Vm, choices: OperatorChoices) -> Result<Applied> {
    let path = vm.files.profile();
    if let Some(bytes) = files::read_limited(&path, MAX_FILE_BYTES)? {
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("{} is not UTF-8", path.display()))?;
        let new = apply_operator_choices(&text, &vm.profile, choices)
            .with_context(|| format!("cannot update {}", path.display()))?;
        if new != text {
            files::replace_atomically(&path, new.as_bytes())?;
        }
    } else {
        return Ok(Applied::NextStart);
    }
    let sfs = SecurityFs::new();
    if sfs.check_available().is_err() || sfs.profile_mode(vm.profile.as_str())?.is_none() {
        return Ok(Applied::NextStart);
    }
    let base = vm
        .files
        .dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/etc/apparmor.d"));
    let binary = Compiler::find()?
        .base(&base)
        .include_dir(&base)
        .compile(&path)
        .with_context(|| format!("cannot compile {}", path.display()))?;
    sfs.replace_policy(&binary)
        .with_context(|| format!("cannot replace the loaded {}", vm.profile))?;
    Ok(Applied::Reloaded)
}

fn lock(vm: &Vm) -> Result<Option<files::ProfileLock>> {
    Ok(files::lock_profile(&vm.files, LOCK_TIMEOUT)?)
}

fn read_overrides(vm: &Vm) -> Result<Overrides> {
    let path = vm.files.override_file();
    match files::read_limited(&path, MAX_OVERRIDE_BYTES)? {
        None => Ok(Overrides::default()),
        Some(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8", path.display()))?;
            Overrides::parse(&text).with_context(|| format!("{}", path.display()))
        }
    }
}

fn write_overrides(vm: &Vm, overrides: &Overrides) -> Result<()> {
    let path = vm.files.override_file();
    if overrides.entries.is_empty() && overrides.other_lines.is_empty() {
        files::remove(&path)?;
    } else {
        let text = overrides.render(&vm.profile, &vm.name);
        files::replace_atomically(&path, text.as_bytes())?;
    }
    Ok(())
}

/// `svirt allow`.
pub fn allow(args: &AllowArgs) -> Result<ExitCode> {
    let vm = vm(&args.target)?;
    if args.list {
        return list(&vm, args.target.json);
    }
    let _lock = lock(&vm)?;
    let mut overrides = read_overrides(&vm)?;
    let (what, entry) = if let Some(path) = &args.remove {
        let canonical = svirt::policy::path::canonicalize(path, &RealHost::new()).ok();
        if overrides.remove(path, canonical.as_deref()) == 0 {
            bail!(
                "{} has no override for {}; see `svirt allow --domain {} --list`",
                vm.shown(),
                inert(path),
                inert(&vm.xml_path.display().to_string())
            );
        }
        ("removed", None)
    } else {
        let path = args.path.as_deref().unwrap_or_default();
        let entry = entry_for(path, args.write, &RealHost::new(), &vm_context(&vm.domain))
            .with_context(|| format!("{}: refused", vm.shown()))?;
        overrides.add(entry.clone())?;
        ("added", Some(entry))
    };
    write_overrides(&vm, &overrides)?;
    warn_if_helper_drops_choices();
    let applied = apply(
        &vm,
        OperatorChoices {
            overrides: true,
            complain: None,
        },
    )?;
    if args.target.json {
        let rule = entry.as_ref().map(|e| e.rules.trim().to_owned());
        let path = entry
            .as_ref()
            .map(|e| e.canonical.clone())
            .or(args.remove.clone());
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "profile": vm.profile.as_str(),
                "name": vm.name,
                "change": what,
                "path": path,
                "rule": rule,
                "applied": applied.as_str(),
                "file": vm.files.override_file(),
            }))?
        );
    } else {
        match &entry {
            Some(e) => println!(
                "{}: allowed {} ({}): {}",
                vm.shown(),
                inert(&e.canonical),
                e.access(),
                inert(e.rules.trim())
            ),
            None => println!(
                "{}: removed the override for {}",
                vm.shown(),
                inert(args.remove.as_deref().unwrap_or_default())
            ),
        }
        println!("{}", applied.say());
    }
    Ok(ExitCode::SUCCESS)
}

fn list(vm: &Vm, json: bool) -> Result<ExitCode> {
    let overrides = read_overrides(vm)?;
    if json {
        let list: Vec<_> = overrides
            .entries
            .iter()
            .map(|e| {
                json!({"path": e.path, "canonical": e.canonical, "access": e.access(),
                       "rule": e.rules.trim()})
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "profile": vm.profile.as_str(),
                "name": vm.name,
                "overrides": list,
                "other_lines": overrides.other_lines,
            }))?
        );
    } else if overrides.entries.is_empty() && overrides.other_lines.is_empty() {
        println!("{}: no overrides", vm.shown());
    } else {
        println!("{}: {}", vm.shown(), vm.files.override_file().display());
        for e in &overrides.entries {
            println!("  {:<3} {}", e.access(), inert(&e.path));
        }
        for l in &overrides.other_lines {
            println!("  (by hand) {}", inert(l));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `svirt complain` (`complain = true`) and `svirt enforce`.
pub fn set_mode(target: &Target, complain: bool) -> Result<ExitCode> {
    let vm = vm(target)?;
    let _lock = lock(&vm)?;
    let marker = vm.files.complain_marker();
    if complain {
        if files::probe(&marker)?.is_none() {
            files::replace_atomically(
                &marker,
                b"# svirt complain: keep this VM's profile in complain mode (svirt enforce ends it)\n",
            )?;
        }
        warn_if_helper_drops_choices();
    } else {
        files::remove(&marker)?;
    }
    let applied = apply(
        &vm,
        OperatorChoices {
            overrides: true,
            complain: Some(complain),
        },
    )?;
    let mode = if complain { "complain" } else { "enforce" };
    if target.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "profile": vm.profile.as_str(),
                "name": vm.name,
                "mode": mode,
                "lasting": complain,
                "applied": applied.as_str(),
            }))?
        );
    } else {
        let lasting = if complain {
            ", kept across restarts until `svirt enforce`"
        } else {
            ""
        };
        println!("{}: {mode} mode{lasting}", vm.shown());
        println!("{}", applied.say());
    }
    Ok(ExitCode::SUCCESS)
}

/// The operator's choices for a profile, for `svirt status`.
pub struct Choices {
    pub complain_marker: bool,
    pub complain_in_file: bool,
    pub overrides: usize,
}

pub fn choices_of(policy_dir: &Path, profile: &str) -> Choices {
    let files = ProfileFiles::new(policy_dir, profile);
    let complain_in_file = files::read_limited(&files.profile(), MAX_FILE_BYTES)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .zip(svirt::policy::vmfiles::classify(profile))
        .is_some_and(|(text, (uuid, _))| {
            has_complain_flag(&text, &ProfileName::for_uuid(&uuid)).unwrap_or(false)
        });
    let overrides = files::read_limited(&files.override_file(), MAX_OVERRIDE_BYTES)
        .ok()
        .flatten()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|t| Overrides::parse(&t).ok())
        .map_or(0, |o| o.entries.len());
    Choices {
        complain_marker: files::probe(&files.complain_marker())
            .ok()
            .flatten()
            .is_some(),
        complain_in_file,
        overrides,
    }
}
