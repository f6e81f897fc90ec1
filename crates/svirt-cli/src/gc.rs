//! `svirt gc`: lists, and with `--apply` removes, the per-VM files of
//! domains libvirt no longer defines, and temporaries a killed helper left
//! behind. The rules are `svirt::gc`; this reads the machine, prints, and
//! refuses to act on an incomplete picture.

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::Result;
use serde_json::json;
use svirt::apparmor::ProcessLabel;
use svirt::gc::{self, GcInput, Outcome, Plan};
use svirt::libvirt::Definitions;
use svirt::policy::escape::inert;
use svirt::policy::ProfileName;

use crate::audit::{HostRoots, EXIT_CANNOT_CHECK};

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Unload and remove; without it, only print what would be done.
    #[arg(long)]
    apply: bool,
    /// With --apply: act even though some definition files could not be
    /// identified (their domains' files may be removed). Check the files
    /// named first.
    #[arg(long, requires = "apply")]
    force: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    roots: HostRoots,
}

/// Why gc cannot decide anything.
fn cannot(args: &GcArgs, text: String) -> Result<ExitCode> {
    if args.json {
        let out = json!({ "error": text });
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    crate::diag("error", text);
    Ok(ExitCode::from(EXIT_CANNOT_CHECK))
}

pub fn run(args: &GcArgs) -> Result<ExitCode> {
    let roots = &args.roots;
    let definitions = match Definitions::scan(&roots.definition_dirs()) {
        Ok(d) => d,
        Err(e) => {
            return cannot(
                args,
                format!(
                    "{e}; nothing was removed: without every definition nothing can be said \
                     to be undefined. Fix the directory's permissions and run svirt gc again"
                ),
            )
        }
    };
    let entries = match gc::scan(&roots.policy_dir) {
        Ok(e) => e,
        Err(e) => {
            return cannot(
                args,
                format!("cannot list {}: {e}", roots.policy_dir.display()),
            )
        }
    };
    let proc = roots.proc();
    let alive: BTreeSet<u32> = match proc.pids() {
        Ok(p) => p.into_iter().collect(),
        Err(e) => return cannot(args, format!("cannot list processes: {e}")),
    };
    // Without AppArmor nothing is loaded and no process is confined.
    let sfs = roots.securityfs();
    let (sfs, loaded, labels) = match sfs.unavailable() {
        Ok(None) => {
            let loaded: Vec<String> = match sfs.profiles() {
                Ok(p) => p.into_iter().map(|p| p.name).collect(),
                Err(e) => return cannot(args, e.to_string()),
            };
            let labels: Vec<(u32, ProcessLabel)> = alive
                .iter()
                .filter_map(|&pid| proc.label_of(pid).ok().map(|l| (pid, l)))
                .collect();
            (Some(sfs), loaded, labels)
        }
        Ok(Some(_)) => (None, Vec::new(), Vec::new()),
        Err(e) => return cannot(args, e.to_string()),
    };
    let plan = gc::plan(GcInput {
        entries: &entries,
        definitions: &definitions,
        loaded: &loaded,
        labels: &labels,
        alive: &alive,
    });

    let unidentified = &definitions.unidentified;
    let refuse = args.apply && !unidentified.is_empty() && !args.force && !plan.is_empty();
    let done = if args.apply && !refuse {
        gc::apply(&plan, &roots.policy_dir, sfs.as_ref())
    } else {
        Vec::new()
    };
    if args.json {
        print_json(args, &plan, &definitions, &done, refuse)?;
    } else {
        print_text(args, &plan, &definitions, &done, refuse);
    }
    if refuse {
        return Ok(ExitCode::from(EXIT_CANNOT_CHECK));
    }
    let failed = done.iter().any(|o| o.result.is_err());
    Ok(if failed || !plan.in_use.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn print_text(args: &GcArgs, plan: &Plan, defs: &Definitions, done: &[Outcome], refuse: bool) {
    let dir = args.roots.policy_dir.display();
    for u in &defs.unidentified {
        crate::diag(
            "warning",
            format!(
                "cannot identify the definition {}: {}; its domain's files cannot be told \
                 apart from stale ones",
                u.path.display(),
                u.reason
            ),
        );
    }
    for u in &plan.in_use {
        let profile = ProfileName::for_uuid(&u.uuid);
        let pids: Vec<String> = u.pids.iter().map(u32::to_string).collect();
        crate::diag(
            "error",
            format!(
                "refusing to touch {profile}: domain {} is not defined, but process(es) {} \
                 run under its profile; stop them (or define the domain again), then run \
                 svirt gc again",
                u.uuid,
                pids.join(" ")
            ),
        );
    }
    for k in &plan.kept {
        println!("keep   {dir}/{}: {}", inert(&k.name), inert(&k.why));
    }
    if refuse {
        let files: Vec<String> = defs
            .unidentified
            .iter()
            .map(|u| u.path.display().to_string())
            .collect();
        crate::diag(
            "error",
            format!(
                "refusing to remove anything: {} cannot be identified, and the domain it \
                 defines may own some of the files below. Repair or move away the file(s), \
                 or pass --force once you have checked they define no domain in use",
                files.join(", ")
            ),
        );
    }
    if !args.apply || refuse {
        for p in &plan.unload {
            println!("would unload {p}");
        }
        for r in &plan.remove {
            println!("would remove {dir}/{} ({})", r.name, r.why);
        }
        if plan.is_empty() {
            println!("svirt gc: nothing to do");
        } else if !refuse {
            println!("svirt gc: dry run; run with --apply to do it");
        }
        return;
    }
    for o in done {
        let what = if o.action == "unload" {
            o.name.clone()
        } else {
            format!("{dir}/{}", o.name)
        };
        match &o.result {
            Ok(()) => println!(
                "{} {what}",
                if o.action == "unload" {
                    "unloaded"
                } else {
                    "removed"
                }
            ),
            Err(e) => crate::diag("error", format!("cannot {} {what}: {e}", o.action)),
        }
    }
    if plan.is_empty() {
        println!("svirt gc: nothing to do");
    }
}

fn print_json(
    args: &GcArgs,
    plan: &Plan,
    defs: &Definitions,
    done: &[Outcome],
    refuse: bool,
) -> Result<()> {
    let out = json!({
        "apply": args.apply,
        "refused": refuse,
        "unload": plan.unload.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        "remove": plan.remove.iter().map(|r| json!({
            "file": r.name,
            "uuid": r.uuid.to_string(),
            "kind": r.kind.as_str(),
            "why": r.why,
        })).collect::<Vec<_>>(),
        "kept": plan.kept.iter().map(|k| json!({"file": k.name, "why": k.why})).collect::<Vec<_>>(),
        "in_use": plan.in_use.iter().map(|u| json!({
            "uuid": u.uuid.to_string(),
            "profile": ProfileName::for_uuid(&u.uuid).to_string(),
            "pids": u.pids,
            "files": u.files,
        })).collect::<Vec<_>>(),
        "unidentified": defs.unidentified.iter().map(|u| json!({
            "path": u.path.display().to_string(),
            "reason": u.reason,
        })).collect::<Vec<_>>(),
        "done": done.iter().map(|o| json!({
            "action": o.action,
            "name": o.name,
            "ok": o.result.is_ok(),
            "error": o.result.as_ref().err(),
        })).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
