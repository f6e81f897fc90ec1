//! `svirt exec`: one process through the whole sVirt lifecycle, as a VM
//! manager drives it, and the `__exec-label` wrapper it runs the command
//! through.
//!
//! The label must be set in the child between fork and exec. Doing that
//! in-process needs `pre_exec`, which is `unsafe`; instead the child is
//! `svirt __exec-label PROFILE -- COMMAND…`, a fresh single-threaded
//! process that writes `exec PROFILE` to its own thread's attr file and
//! then execs COMMAND. The kernel switches profile at that exec.

use std::ffi::OsString;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use svirt::apparmor::{ProcAttr, SecurityFs};
use svirt::domain::{parse_domain, Limits};
use svirt::driver::{
    AppArmorConfig, AppArmorDriver, LabelKind, LabelPolicy, ProbeResult, SecurityDriver,
    SecurityLabel, Vm,
};

/// The signals passed on to the confined command.
const FORWARDED: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// The wrapper's exit status when it could not run COMMAND (as shells use
/// 127 for "command not found"); it says why on stderr.
const WRAPPER_FAILED: u8 = 127;

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    /// The libvirt domain XML of the VM to run as.
    #[arg(long)]
    domain: PathBuf,
    /// The helper that writes and loads the profile. Default: the
    /// `virt-aa-helper` next to this `svirt` binary.
    #[arg(long)]
    helper: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

#[derive(Debug, clap::Args)]
pub struct ExecLabelArgs {
    /// The profile to exec under.
    profile: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    command: Vec<OsString>,
}

pub fn run(args: &ExecArgs) -> Result<ExitCode> {
    // Check everything first: the domain, the helper, the kernel.
    let xml = crate::read_domain(&args.domain)?;
    let domain = parse_domain(&xml, &Limits::default())
        .with_context(|| format!("{}", args.domain.display()))?;
    let mut label = SecurityLabel::from_domain(&domain, &LabelPolicy::default())?
        .unwrap_or_else(SecurityLabel::none);
    let mut config = AppArmorConfig::bundled().context("cannot locate the svirt executable")?;
    if let Some(h) = &args.helper {
        config.helper = h.clone();
    }
    if label.kind == LabelKind::Dynamic && !config.helper.is_file() {
        bail!(
            "the AppArmor helper {} does not exist (build virt-aa-helper, or pass --helper)",
            config.helper.display()
        );
    }
    let driver = AppArmorDriver::new(config);
    match driver.probe() {
        ProbeResult::Enabled { .. } => {}
        ProbeResult::Unconfined(why) => bail!("cannot confine the command: {why}"),
        ProbeResult::Disabled(why) => bail!("cannot confine the command: {why}"),
    }
    driver.verify(&domain, &label)?;

    // Act: load, run, unload.
    driver.gen_label(&domain, &xml, &mut label)?;
    let outcome = run_confined(&driver, &domain, &xml, &label, &args.command);
    let vm = Vm {
        domain: &domain,
        xml: &xml,
        label: &label,
    };
    let cleanup = driver.restore_all_labels(&vm);
    driver.release_label(&mut label)?;
    let code = outcome?;
    cleanup?;
    Ok(code)
}

/// Runs the command under the VM's label and returns its exit status.
fn run_confined(
    driver: &AppArmorDriver,
    domain: &svirt::domain::Domain,
    xml: &str,
    label: &SecurityLabel,
    command: &[OsString],
) -> Result<ExitCode> {
    let vm = Vm { domain, xml, label };
    let Some((program, rest)) = command.split_first() else {
        bail!("no command given");
    };
    let mut cmd = match driver.child_process_label(&vm)? {
        Some(profile) => {
            let me = std::env::current_exe().context("cannot locate the svirt executable")?;
            let mut c = Command::new(me);
            c.arg("__exec-label").arg(profile).arg("--").arg(program);
            c
        }
        None => {
            crate::diag(
                "warning",
                format!(
                    "domain {} is not confined (<seclabel type='none'>)",
                    domain.name
                ),
            );
            Command::new(program)
        }
    };
    cmd.args(rest);
    // Catch the signals before the child exists, so none is lost.
    let mut signals = Signals::new(FORWARDED).context("cannot install signal handlers")?;
    let handle = signals.handle();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run {}", program.to_string_lossy()))?;
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0));
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            let sig = match sig {
                SIGINT => rustix::process::Signal::INT,
                SIGTERM => rustix::process::Signal::TERM,
                _ => rustix::process::Signal::HUP,
            };
            if let Some(pid) = pid {
                // The child may already be gone; nothing to do then.
                let _ = rustix::process::kill_process(pid, sig);
            }
        }
    });
    let status = child.wait();
    handle.close();
    let _ = forwarder.join();
    let status = status.context("cannot wait for the command")?;
    let code = match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(sig)) => u8::try_from(128 + sig).unwrap_or(255),
        (None, None) => 1,
    };
    Ok(ExitCode::from(code))
}

/// `svirt __exec-label PROFILE -- COMMAND…`: runs in a fresh process with
/// one thread, so `/proc/thread-self` is the whole process.
pub fn exec_label(args: &ExecLabelArgs) -> ExitCode {
    let fail = |msg: String| {
        crate::diag("error", msg);
        ExitCode::from(WRAPPER_FAILED)
    };
    if let Err(e) = SecurityFs::new().check_available() {
        return fail(format!("cannot run under {}: {e}", args.profile));
    }
    if let Err(e) = ProcAttr::new().set_exec_label(&args.profile) {
        return fail(format!("cannot set the exec label {}: {e}", args.profile));
    }
    let Some((program, rest)) = args.command.split_first() else {
        return fail("no command given".to_owned());
    };
    let err = Command::new(program).args(rest).exec();
    fail(format!(
        "cannot execute {} under {}: {err}",
        program.to_string_lossy(),
        args.profile
    ))
}
