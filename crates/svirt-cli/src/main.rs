//! `svirt`: the operator's command.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use svirt::policy::escape::inert;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, Parser, Subcommand};
use serde_json::json;
use svirt::domain::{Limits, VirtType};
use svirt::host::RealHost;
use svirt::pipeline::{self, GeneratedProfile};
use svirt::Settings;

mod audit;
mod check;
mod docs;
mod exec;
mod explain;
mod gc;
mod hotplug;
mod overrides;
mod policy_cmd;
mod precompile;
mod status;

/// sVirt for AppArmor: per-VM confinement for QEMU.
#[derive(Debug, Parser)]
#[command(name = "svirt", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print the AppArmor profile and `.files` include a domain would get.
    Profile(ProfileArgs),
    /// Run a command confined as the VM: load the domain's profile through
    /// the helper, run COMMAND under `libvirt-<uuid>`, unload at exit.
    Exec(exec::ExecArgs),
    /// Show the loaded `libvirt-*` profiles and the processes under each.
    Status(status::StatusArgs),
    /// Print the AppArmor label of a process.
    Label(status::LabelArgs),
    /// Explain AppArmor denials, by VM name, with the fix for each: read
    /// from the kernel's logs (--since TIME) or from dmesg or audit.log text.
    Explain(explain::ExplainArgs),
    /// Unload a per-VM profile from the kernel by name (no file needed).
    Unload(status::UnloadArgs),
    /// Grant a running VM a new disk image and its backing chain (hotplug).
    AttachDisk(hotplug::AttachArgs),
    /// Regenerate a running VM's rules after a disk was removed from its
    /// definition (unplug).
    DetachDisk(hotplug::DetachArgs),
    /// Allow a VM one more file, lasting across restarts: a rule in the VM's
    /// override file, which its profile includes (`--list`, `--remove PATH`).
    Allow(overrides::AllowArgs),
    /// Put a VM's profile in complain mode, lasting across restarts.
    Complain(overrides::Target),
    /// End a VM's lasting complain mode: back to enforce mode.
    Enforce(overrides::Target),
    /// Which policy new VM profiles are made from: svirt's template and
    /// abstraction (`install`), the distribution's (`restore`), `status`.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCommand),
    /// Compile every defined VM's policy again for the installed parser and
    /// the running kernel, in parallel, so autostarting VMs load it without
    /// compiling (after a parser or kernel upgrade).
    Precompile(precompile::PrecompileArgs),
    /// Print a shell completion script for svirt (bash, zsh or fish).
    Completions(CompletionsArgs),
    /// Check the host's confinement as it runs: every QEMU under its own
    /// VM's profile, no disk written by two VMs, loaded profiles matching
    /// the running VMs. Exit 0 clean, 1 findings, 2 cannot check.
    Audit(audit::AuditArgs),
    /// List (and with --apply remove) the per-VM files and loaded profiles
    /// of domains libvirt no longer defines, and stale temporaries.
    Gc(gc::GcArgs),
    /// Internal: set the next-exec label, then exec COMMAND.
    #[command(name = "__exec-label", hide = true)]
    ExecLabel(exec::ExecLabelArgs),
    /// Internal: write the man pages of svirt and virt-aa-helper into DIR.
    #[command(name = "__man", hide = true)]
    Man(ManArgs),
}

#[derive(Debug, clap::Args)]
struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: docs::CompletionShell,
}

#[derive(Debug, clap::Args)]
struct ManArgs {
    /// Where to write svirt.1, svirt-<subcommand>.1 and virt-aa-helper.8.
    dir: PathBuf,
}

#[derive(Debug, clap::Args)]
struct ProfileArgs {
    /// The libvirt domain XML.
    domain: PathBuf,
    /// Print the grants and their reasons as JSON instead of policy text.
    #[arg(long)]
    json: bool,
    /// Compile the result with the real `apparmor_parser -Q` (no kernel load).
    #[arg(long)]
    check: bool,
    /// Reproduce libvirt's helper byte for byte (no escaping, plain prefix
    /// checks, no extra coverage). See docs/compatibility.md.
    #[arg(long)]
    compat: bool,
    /// Template to build the profile from. Default: libvirt's
    /// `/etc/apparmor.d/libvirt/TEMPLATE.<type>` if installed, else svirt's own.
    #[arg(long)]
    template: Option<PathBuf>,
}

/// Where libvirt keeps per-VM policy and templates.
const POLICY_DIR: &str = "/etc/apparmor.d/libvirt";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Profile(args) => profile(&args),
        Command::Exec(args) => exec::run(&args),
        Command::Status(args) => status::status(&args),
        Command::Label(args) => status::label(&args),
        Command::Explain(args) => explain::run(&args),
        Command::Unload(args) => status::unload(&args),
        Command::AttachDisk(args) => hotplug::attach(&args),
        Command::DetachDisk(args) => hotplug::detach(&args),
        Command::Allow(args) => overrides::allow(&args),
        Command::Precompile(args) => precompile::run(&args),
        Command::Policy(command) => policy_cmd::run(&command),
        Command::Complain(args) => overrides::set_mode(&args, true),
        Command::Enforce(args) => overrides::set_mode(&args, false),
        Command::Completions(args) => {
            let script = docs::completions(args.shell, &mut Cli::command());
            std::io::Write::write_all(&mut std::io::stdout(), &script)
                .map(|()| ExitCode::SUCCESS)
                .context("cannot write the completion script")
        }
        Command::Audit(args) => audit::run(&args),
        Command::Gc(args) => gc::run(&args),
        Command::ExecLabel(args) => Ok(exec::exec_label(&args)),
        Command::Man(args) => docs::write_man_pages(Cli::command(), &args.dir).map(|pages| {
            for page in pages {
                println!("{}", page.display());
            }
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            diag("error", format!("{err:#}"));
            ExitCode::FAILURE
        }
    }
}

/// Writes one diagnostic line to stderr. Its text may carry input (paths
/// from a domain or an image header, audit fields), so control characters
/// are shown escaped and cannot forge lines or drive the terminal.
pub(crate) fn diag(level: &str, text: impl std::fmt::Display) {
    eprintln!("svirt: {level}: {}", inert(&text.to_string()));
}

/// The template text and whether it is svirt's built-in one.
fn choose_template(explicit: Option<&Path>, virt_type: VirtType) -> Result<(String, bool)> {
    if let Some(path) = explicit {
        let text = pipeline::read_template(path)
            .with_context(|| format!("cannot read template {}", path.display()))?;
        return Ok((text, false));
    }
    let installed = pipeline::template_candidates(virt_type)
        .into_iter()
        .map(|name| Path::new(POLICY_DIR).join(name))
        .find(|p| p.exists())
        .unwrap_or_else(|| Path::new(POLICY_DIR).join(pipeline::template_file_name(virt_type)));
    if installed.exists() {
        let text = pipeline::read_template(&installed)
            .with_context(|| format!("cannot read template {}", installed.display()))?;
        return Ok((text, false));
    }
    if virt_type.is_qemu_family() {
        return Ok((pipeline::BUILTIN_QEMU_TEMPLATE.to_owned(), true));
    }
    bail!(
        "no template for domain type {:?}: {} does not exist",
        virt_type.as_str(),
        installed.display()
    )
}

pub(crate) fn read_domain(path: &Path) -> Result<String> {
    use std::io::Read;
    let limit = svirt::domain::Limits::default().max_bytes;
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() > limit {
        bail!(
            "{} is larger than the {limit}-byte limit for domain XML",
            path.display()
        );
    }
    String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))
}

fn profile(args: &ProfileArgs) -> Result<ExitCode> {
    let xml = read_domain(&args.domain)?;
    let settings = if args.compat {
        Settings::libvirt_compatible()
    } else {
        Settings::safe()
    };
    let host = RealHost::new();
    let limits = Limits::default();
    // The virt type picks the template, so peek at it first.
    let domain = svirt::domain::parse_domain(&xml, &limits)
        .with_context(|| format!("{}", args.domain.display()))?;
    let (template, builtin) = choose_template(args.template.as_deref(), domain.virt_type)?;
    let generated = pipeline::generate(&xml, &settings, &host, &template, &limits)
        .with_context(|| format!("{}", args.domain.display()))?;
    for warning in generated.policy.warnings.iter() {
        diag("warning", warning);
    }
    for d in &generated.policy.rules.diagnostics {
        match d {
            svirt::policy::Diagnostic::Warning(w) => diag("warning", w),
            svirt::policy::Diagnostic::Error(e) => diag("error", e),
            // Files QEMU creates later are expected to be missing.
            svirt::policy::Diagnostic::PathMissing(_) => {}
        }
    }
    if args.check {
        check::compile(&generated, builtin)?;
        eprintln!(
            "svirt: {} compiles with apparmor_parser",
            generated.policy.name
        );
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&as_json(&generated))?);
    } else {
        print_text(&generated);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_text(g: &GeneratedProfile) {
    let name = &g.policy.name;
    println!("# {POLICY_DIR}/{name}");
    print!("{}", g.profile);
    if let Some(files) = &g.files {
        println!("# {POLICY_DIR}/{name}.files");
        print!("{files}");
    }
}

fn as_json(g: &GeneratedProfile) -> serde_json::Value {
    let grants: Vec<_> = g
        .policy
        .rules
        .rules
        .iter()
        .map(|r| {
            let (kind, requested) = (r.grant.target.kind(), r.grant.target.requested());
            json!({
                "kind": kind,
                "requested": requested,
                "path": r.canonical,
                "access": r.grant.access.to_string(),
                "mode": match r.grant.mode { svirt::policy::Mode::Allow => "allow", svirt::policy::Mode::Deny => "deny" },
                "quiet_write_deny": r.grant.quiet_write_deny,
                "reason": r.grant.origin.to_string(),
                "rule": r.text,
            })
        })
        .collect();
    json!({
        "profile": g.policy.name.as_str(),
        "uuid": g.domain.uuid.to_string(),
        "name": g.domain.name,
        "type": g.domain.virt_type.as_str(),
        "grants": grants,
        "warnings": g.policy.warnings,
        "diagnostics": g.policy.rules.diagnostics.iter().map(|d| json!({
            "kind": match d {
                svirt::policy::Diagnostic::Warning(_) => "warning",
                svirt::policy::Diagnostic::Error(_) => "error",
                svirt::policy::Diagnostic::PathMissing(_) => "path-missing",
            },
            "text": d.text(),
        })).collect::<Vec<_>>(),
    })
}
