//! The modes. Each one does every check first (arguments, configuration,
//! XML, rules, what exists on disk) and then its side effects in a fixed
//! order: lock, `.files`, profile, parser. A dry run stops before the side
//! effects in every mode and says what it would have done.
//!
//! Everything the run touches comes in through [`Context`]; the binary
//! fills it with constants only.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use svirt::domain::{parse_domain_as, Domain, DomainError, Limits, VirtType};
use svirt::host::Host;
use svirt::pipeline::{self, PipelineError};
use svirt::policy::{
    apply_operator_choices, check_domain_name, include_line, render_profile, rules_for, Access,
    Diagnostic, Grant, NameError, OperatorChoices, Origin, PolicyError, ProfileName, RuleSet,
    Target, TemplateError, FILES_HEADER,
};
use svirt::resources::ResourcesError;
use svirt::Settings;

use crate::args::{Args, Mode};
use crate::files::{self, CreateError, FileError, ProfileFiles, MAX_FILE_BYTES};
use crate::output::Output;
use crate::parser::{Action, ParserFailure, Ran};
use svirt::config::{Config, ConfigError, OutputMode};

/// Largest domain XML read from stdin (libvirt's limit).
pub const MAX_XML_BYTES: usize = 10 * 1024 * 1024;

/// The suffix with which libvirt's driver asks for a whole directory tree
/// (`SetPathLabel` with subtree): `/` and [`svirt::policy::Glob::Subtree`].
pub const SUBTREE_SUFFIX: &str = "/{,**}";

/// Runs `apparmor_parser` for an action on a profile file, with the
/// VM's compiled-policy cache file when one is used.
pub type RunParser<'a> = dyn Fn(Action, &Path, Option<&Path>) -> Result<Ran, ParserFailure> + 'a;

/// Everything a run may touch.
pub struct Context<'a> {
    /// The policy directory (the binary: [`files::POLICY_DIR`]).
    pub dir: &'a Path,
    pub load_config: &'a dyn Fn() -> Result<Config, ConfigError>,
    /// Runs `apparmor_parser`; a load or replace goes through the given
    /// compiled-policy cache file (`compile_cache`).
    pub parser: &'a RunParser<'a>,
    /// Whether a profile is loaded in the kernel (assumed when that cannot
    /// be read).
    pub is_loaded: &'a dyn Fn(&ProfileName) -> bool,
    pub host: &'a dyn Host,
    pub stdin: &'a mut dyn Read,
    pub lock_timeout: Duration,
}

/// Why a run failed. `main.rs` turns each into libvirt's lines.
#[derive(Debug)]
pub enum Failure {
    Config(ConfigError),
    /// stdin could not be read, or is over the limit.
    ReadXml(String),
    NotUtf8Xml,
    Definition(DomainError),
    BadName(NameError),
    UuidMismatch,
    Resources(ResourcesError),
    /// Rule generation refused a path (diagnostics already printed).
    Policy(PolicyError),
    ExtraNotUtf8(Vec<u8>),
    ProfileExists,
    ProfileMissing,
    Examine(FileError),
    Lock(FileError),
    ZeroSizeRemove(ParserFailure),
    ZeroSizeUnlink(FileError),
    TemplateMissing(String),
    TemplateRead(String, std::io::Error),
    Template(TemplateError),
    CreateProfile(FileError),
    FilesTooLarge(usize),
    ReadFiles(FileError),
    WriteFiles(FileError),
    RemoveFiles(FileError),
    Parser(ParserFailure),
}

/// Runs one parsed command line.
pub fn run(args: &Args, cx: &mut Context<'_>, out: &mut Output) -> Result<(), Failure> {
    let config = (cx.load_config)().map_err(Failure::Config)?;
    out.verbose = config.mode == OutputMode::Safe;
    match args.mode {
        Mode::Create | Mode::Replace => create_or_replace(args, &config, cx, out),
        Mode::Add | Mode::Remove | Mode::Delete => load_or_unload(args, &config, cx, out),
    }
}

fn lock(
    args: &Args,
    files: &ProfileFiles,
    cx: &Context<'_>,
) -> Result<Option<files::ProfileLock>, Failure> {
    if args.dry_run {
        return Ok(None);
    }
    files::lock_profile(files, cx.lock_timeout).map_err(Failure::Lock)
}

fn dry_run_parser(out: &mut Output, action: Action, profile: &Path) {
    out.info(format!(
        "dry run: would run apparmor_parser {} {}",
        action.flag(),
        profile.display()
    ));
}

fn dry_run_remove(out: &mut Output, path: &Path) {
    out.info(format!("dry run: would remove {}", path.display()));
}

/// `-a`, `-R`, `-D`: no XML, only the parser (and, for `-D`, `.files`).
fn load_or_unload(
    args: &Args,
    config: &Config,
    cx: &mut Context<'_>,
    out: &mut Output,
) -> Result<(), Failure> {
    let files = ProfileFiles::new(cx.dir, &args.name);
    let _lock = lock(args, &files, cx)?;
    let profile = files.profile();
    let exists = files::probe(&profile).map_err(Failure::Examine)?.is_some();
    let action = if args.mode == Mode::Add {
        Action::Load
    } else if config.settings.unload_by_name {
        Action::RemoveByName
    } else {
        Action::Remove
    };
    if args.dry_run {
        if !exists {
            return Err(Failure::ProfileMissing);
        }
        dry_run_parser(out, action, &profile);
        if args.mode == Mode::Delete {
            dry_run_remove(out, &files.files());
        }
        return Ok(());
    }
    let result = if exists {
        let cache = files.cache();
        let cache = (action == Action::Load && config.settings.compile_cache).then_some(&*cache);
        (cx.parser)(action, &profile, cache)
            .map(|ran| {
                if ran == Ran::WasNotLoaded {
                    out.warning("unable to unload already unloaded profile");
                }
            })
            .map_err(Failure::Parser)
    } else {
        Err(Failure::ProfileMissing)
    };
    if args.mode == Mode::Delete {
        // Whatever the parser said, as libvirt does.
        let removed = files::remove(&files.files());
        if let (Ok(()), Err(e)) = (&result, removed) {
            return Err(Failure::RemoveFiles(e));
        }
    }
    result
}

fn print_diagnostics(out: &mut Output, diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        match d {
            Diagnostic::Warning(t) => out.warning(t),
            Diagnostic::Error(t) => out.error(t),
            Diagnostic::PathMissing(_) => {
                out.warning("path does not exist, skipping file type checks")
            }
        }
    }
}

/// Reads the domain XML from stdin, at most [`MAX_XML_BYTES`].
fn read_xml(stdin: &mut dyn Read) -> Result<String, Failure> {
    let mut bytes = Vec::new();
    stdin
        .take(MAX_XML_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::ReadXml(format!("could not read the domain XML on stdin: {e}")))?;
    if bytes.len() > MAX_XML_BYTES {
        return Err(Failure::ReadXml(format!(
            "the domain XML on stdin is larger than the limit of {MAX_XML_BYTES} bytes"
        )));
    }
    String::from_utf8(bytes).map_err(|_| Failure::NotUtf8Xml)
}

/// The rule text for a file added with `-f`/`-F` (`rwk`), after the same
/// checks as every path.
///
/// With [`Settings::hotplug_layer_access`] (an opt-in), a file the
/// definition itself grants (a disk's backing layer, a read-only disk)
/// keeps the access the definition gives it, instead of `rwk`. That refuses
/// a block job's write request for a backing layer: libvirt cannot tell the
/// helper a block job's `-F` from a hotplug's.
fn extra_rules(
    file: &str,
    domain: &Domain,
    settings: &Settings,
    host: &dyn Host,
    out: &mut Output,
    definition: &RuleSet,
) -> Result<String, Failure> {
    let vm = &pipeline::vm_context(domain);
    // libvirt's start-time requests get the grant the definition's rules
    // already hold (`start_requests`), so appending them changes nothing.
    let requests = if settings.start_requests {
        svirt::resources::start_requests(domain, settings)
    } else {
        Vec::new()
    };
    let known = requests.into_iter().find(|r| r.requested == file);
    let grant = if let Some(request) = known {
        request.grant
    } else if settings.escape_paths && file.ends_with(SUBTREE_SUFFIX) {
        // The driver's subtree request: the directory is checked like any
        // path and as a tree; only `/{,**}` stays a pattern.
        let dir = &file[..file.len() - SUBTREE_SUFFIX.len()];
        let dir = if dir.is_empty() { "/" } else { dir };
        Grant::tree(
            Target::Subtree(dir.to_owned()),
            Access::RWK,
            false,
            Origin::Extra,
        )
    } else {
        let mut grant = Grant::path(file, Access::RWK, Origin::Extra);
        if let Some(known) = settings
            .hotplug_layer_access
            .then(|| granted_by_definition(file, host, definition))
            .flatten()
        {
            grant.access = known.access;
            grant.quiet_write_deny = known.quiet_write_deny;
        }
        grant
    };
    match rules_for(&[grant], settings, host, vm) {
        Ok(set) => {
            print_diagnostics(out, &set.diagnostics);
            Ok(set.text())
        }
        Err(f) => {
            print_diagnostics(out, &f.diagnostics);
            Err(Failure::Policy(*f.error))
        }
    }
}

/// The grant the domain's own rules give `file`, if they name it.
fn granted_by_definition<'a>(
    file: &str,
    host: &dyn Host,
    definition: &'a RuleSet,
) -> Option<&'a Grant> {
    let canonical = svirt::policy::path::canonicalize(file, host).ok()?;
    let canonical = canonical.strip_suffix('/').unwrap_or(&canonical);
    definition
        .rules
        .iter()
        .find(|r| {
            matches!(r.grant.target, Target::Path(_)) && r.canonical.as_deref() == Some(canonical)
        })
        .map(|r| &r.grant)
}

/// The rules of a domain, with libvirt's checks in libvirt's order.
fn domain_rules(
    args: &Args,
    xml: &str,
    config: &Config,
    cx: &Context<'_>,
    out: &mut Output,
) -> Result<(Domain, RuleSet), Failure> {
    let host = cx.host;
    let settings = &config.settings;
    let domain = parse_domain_as(xml, &Limits::default(), settings.parser_11_3)
        .map_err(Failure::Definition)?;
    check_domain_name(&domain.name, settings).map_err(Failure::BadName)?;
    if ProfileName::for_uuid(&domain.uuid).as_str() != args.name {
        return Err(Failure::UuidMismatch);
    }
    let adjusted;
    let settings = if settings.passt_child {
        let files = ProfileFiles::new(cx.dir, &args.name);
        adjusted = match vm_profile_text(&files, &domain) {
            Some(text) => pipeline::settings_for_profile(settings, &text),
            None => settings.clone(),
        };
        &adjusted
    } else {
        settings
    };
    let policy = match pipeline::policy_for(&domain, settings, host, &[]) {
        Ok(p) => p,
        Err(PipelineError::Policy(f)) => {
            print_diagnostics(out, &f.diagnostics);
            return Err(Failure::Policy(*f.error));
        }
        Err(PipelineError::Resources(f)) => {
            print_diagnostics(out, &f.diagnostics);
            return Err(Failure::Resources(f.error));
        }
        Err(PipelineError::Name(e)) => return Err(Failure::BadName(e)),
        Err(PipelineError::Domain(e)) => return Err(Failure::Definition(e)),
        Err(PipelineError::Template(e)) => return Err(Failure::Template(e)),
    };
    if config.mode == OutputMode::Safe {
        for w in &policy.warnings {
            out.warning(w);
        }
    }
    print_diagnostics(out, &policy.rules.diagnostics);
    Ok((domain, policy.rules))
}

/// The text of the VM's profile (`passt_child`): the profile file when it
/// has any, else the template the helper would make it from (as
/// [`create_profile`] chooses it). `None` when neither can be read.
fn vm_profile_text(files: &ProfileFiles, domain: &Domain) -> Option<String> {
    let profile = files.profile();
    if let Ok(Some(size)) = files::probe(&profile) {
        if size > 0 {
            return pipeline::read_template(&profile).ok();
        }
    }
    for candidate in pipeline::template_candidates(domain.virt_type) {
        let path = files.template(&candidate);
        if let Ok(Some(_)) = files::probe(&path) {
            return pipeline::read_template(&path).ok();
        }
    }
    domain
        .virt_type
        .is_qemu_family()
        .then(|| pipeline::BUILTIN_QEMU_TEMPLATE.to_owned())
}

/// `-c` and `-r`.
fn create_or_replace(
    args: &Args,
    config: &Config,
    cx: &mut Context<'_>,
    out: &mut Output,
) -> Result<(), Failure> {
    let settings = &config.settings;
    let xml = read_xml(cx.stdin)?;
    let extra = match &args.new_file {
        Some(f) => {
            Some(String::from_utf8(f.clone()).map_err(|_| Failure::ExtraNotUtf8(f.clone()))?)
        }
        None => None,
    };
    let (domain, definition) = domain_rules(args, &xml, config, cx, out)?;
    let mut text = definition.text();
    if let Some(file) = &extra {
        let added = extra_rules(file, &domain, settings, cx.host, out, &definition)?;
        if !(settings.start_requests && !args.append && already_granted(&added, &text)) {
            text.push_str(&added);
        }
    }

    let files = ProfileFiles::new(cx.dir, &args.name);
    let _lock = lock(args, &files, cx)?;
    let profile = files.profile();
    let size = files::probe(&profile).map_err(Failure::Examine)?;
    if args.mode == Mode::Create && size.is_some() {
        return Err(Failure::ProfileExists);
    }
    let mut purged = false;
    if size == Some(0) {
        out.warning("Profile of 0 size detected, will attempt to remove it");
        if args.dry_run {
            dry_run_parser(out, Action::Remove, &profile);
            dry_run_remove(out, &profile);
        } else {
            match (cx.parser)(Action::Remove, &profile, None) {
                Ok(Ran::WasNotLoaded) => out.warning("unable to unload already unloaded profile"),
                Ok(Ran::Ok) => {}
                Err(e) => return Err(Failure::ZeroSizeRemove(e)),
            }
            files::remove(&profile).map_err(Failure::ZeroSizeUnlink)?;
        }
        purged = true;
    }
    if let (Some(file), true) = (&extra, args.append) {
        // Only the added file; it is checked a second time, as in libvirt.
        text = extra_rules(file, &domain, settings, cx.host, out, &definition)?;
    }

    let name = ProfileName::for_uuid(&domain.uuid);
    let lxc = domain.virt_type == VirtType::Lxc;
    let creating = args.mode == Mode::Create || purged;
    if args.dry_run {
        out.info(files.files().display().to_string());
        if text.is_empty() && config.mode == OutputMode::Compat {
            // libvirt prints its empty buffer as a null string.
            out.info("(null)");
        } else {
            out.info(&text);
        }
        if creating {
            out.info(profile.display().to_string());
            out.info(name.as_str());
            out.info(format!(
                "{}\n",
                include_line(&name, config.settings.include_if_exists)
            ));
        }
        return Ok(());
    }

    let changed = if lxc {
        true
    } else {
        write_files(&files, &text, args.append, settings.start_requests)?
    };
    if creating {
        let if_exists = config.settings.include_if_exists;
        if let Err(e) = create_profile(&files, &domain, &name, lxc, if_exists) {
            if !lxc {
                let _ = files::remove(&files.files());
            }
            return Err(e);
        }
    }
    if files::probe(&profile).map_err(Failure::Examine)?.is_none() {
        let _ = files::remove(&files.files());
        return Err(Failure::ProfileMissing);
    }
    let action = if args.mode == Mode::Create {
        Action::Load
    } else {
        Action::Replace
    };
    // A `-F` that added nothing (`start_requests`): the loaded policy
    // already is this `.files`, so there is nothing to compile.
    if extra.is_some() && !changed && !creating && settings.start_requests && (cx.is_loaded)(&name)
    {
        return Ok(());
    }
    if settings.vm_overrides {
        // libvirt's helper would load this profile whatever it looks like:
        // choices that cannot be applied are a warning, never a failed start.
        if let Err(why) = apply_choices(&files, &name) {
            out.warning(format!(
                "{}: the per-VM choices of svirt allow/complain are not applied: {why}",
                profile.display()
            ));
        }
    }
    let cache = files.cache();
    let cache = settings.compile_cache.then_some(&*cache);
    if let Err(e) = (cx.parser)(action, &profile, cache) {
        let _ = files::remove(&files.files());
        if args.mode == Mode::Create {
            let _ = files::remove(&profile);
        }
        return Err(Failure::Parser(e));
    }
    Ok(())
}

/// Makes the profile file carry the operator's per-VM choices
/// (`vm_overrides`): the include of `.override`, and complain mode while
/// the `.complain` marker exists. The marker only ever turns complain on,
/// so a profile put in complain mode by hand stays so; `svirt enforce`
/// turns it off. The file is replaced only when its text changes.
fn apply_choices(files: &ProfileFiles, name: &ProfileName) -> Result<(), String> {
    let profile = files.profile();
    let complain = files::probe(&files.complain_marker())
        .map_err(|e| e.to_string())?
        .is_some();
    let bytes = files::read_limited(&profile, MAX_FILE_BYTES)
        .map_err(|e| e.to_string())?
        .ok_or("the profile file is gone")?;
    let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_owned())?;
    let choices = OperatorChoices {
        overrides: true,
        complain: complain.then_some(true),
    };
    let new = apply_operator_choices(&text, name, choices).map_err(|e| e.to_string())?;
    if new != text {
        files::replace_atomically(&profile, new.as_bytes()).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether every rule line of `added` is already a line of `rules`.
fn already_granted(added: &str, rules: &str) -> bool {
    added
        .lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| rules.lines().any(|r| r == l))
}

/// Writes `.files`: header and rules, or (appending) the existing content
/// and the rules; with `skip_granted` (`start_requests`) nothing is appended
/// when every rule line is there already. Nothing is written when the
/// content would not change; returns whether it was written.
pub fn write_files(
    files: &ProfileFiles,
    text: &str,
    append: bool,
    skip_granted: bool,
) -> Result<bool, Failure> {
    let path = files.files();
    let existing = files::read_limited(&path, MAX_FILE_BYTES).map_err(Failure::ReadFiles)?;
    let mut content = match (&existing, append) {
        (Some(old), true) => old.clone(),
        _ => FILES_HEADER.as_bytes().to_vec(),
    };
    let granted = append
        && skip_granted
        && existing
            .as_deref()
            .is_some_and(|old| already_granted(text, &String::from_utf8_lossy(old)));
    if !granted {
        content.extend_from_slice(text.as_bytes());
    }
    if content.len() > MAX_FILE_BYTES {
        return Err(Failure::FilesTooLarge(content.len()));
    }
    if existing
        .as_deref()
        .is_some_and(|old| !old.is_empty() && old == content)
    {
        return Ok(false);
    }
    files::replace_atomically(&path, &content).map_err(Failure::WriteFiles)?;
    Ok(true)
}

/// Makes the profile from `svirt.TEMPLATE.<type>` when `svirt policy
/// install` put one there, else `TEMPLATE.<type>` (svirt's built-in one for
/// the QEMU family when none is installed), and creates it exclusively.
pub fn create_profile(
    files: &ProfileFiles,
    domain: &Domain,
    name: &ProfileName,
    lxc: bool,
    if_exists: bool,
) -> Result<(), Failure> {
    let mut found = None;
    for candidate in pipeline::template_candidates(domain.virt_type) {
        let path = files.template(&candidate);
        if files::probe(&path).map_err(Failure::Examine)?.is_some() {
            found = Some(path);
            break;
        }
    }
    let shown = files
        .template(&pipeline::template_file_name(domain.virt_type))
        .display()
        .to_string();
    let template = match found {
        Some(path) => {
            let shown = path.display().to_string();
            pipeline::read_template(&path).map_err(|e| Failure::TemplateRead(shown, e))?
        }
        None if domain.virt_type.is_qemu_family() => pipeline::BUILTIN_QEMU_TEMPLATE.to_owned(),
        None => return Err(Failure::TemplateMissing(shown)),
    };
    let text = render_profile(&template, name, !lxc, if_exists).map_err(Failure::Template)?;
    match files::create_exclusively(&files.profile(), text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(CreateError::Exists) => Err(Failure::ProfileExists),
        Err(CreateError::Io(e)) => Err(Failure::CreateProfile(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use svirt::testing::FakeHost;
    use svirt::LibvirtVersion;

    const NAME: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";
    const XML: &str = "<domain type='kvm'><name>vm</name>\
        <uuid>00000000-0000-0000-0000-0123456789ab</uuid>\
        <memory>1024</memory><os><type>hvm</type></os><devices>\
        <disk type='file' device='disk'><source file='/images/a.img'/>\
        <target dev='vda'/></disk></devices></domain>";

    struct Rig {
        dir: tempfile::TempDir,
        calls: RefCell<Vec<(Action, String)>>,
        status: RefCell<Result<Ran, i32>>,
        loaded: RefCell<bool>,
        config: Config,
        host: FakeHost,
    }

    impl Rig {
        fn new() -> Rig {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(
                dir.path().join("TEMPLATE.qemu"),
                "#\n\n#include <tunables/global>\n\nprofile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n  #include <abstractions/libvirt-qemu>\n}\n",
            )
            .unwrap();
            Rig {
                dir,
                calls: RefCell::new(Vec::new()),
                status: RefCell::new(Ok(Ran::Ok)),
                loaded: RefCell::new(true),
                config: Config::new(OutputMode::Compat, LibvirtVersion::V9_0),
                host: FakeHost::new().with_file("/images"),
            }
        }

        fn run(&self, argv: &[&str], xml: &str) -> (Result<(), Failure>, String) {
            let mut v = vec![b"virt-aa-helper".to_vec()];
            v.extend(argv.iter().map(|a| a.as_bytes().to_vec()));
            let args = match crate::args::parse(&v).unwrap() {
                crate::args::Parsed::Run(a) => a,
                other => panic!("{other:?}"),
            };
            let host = &self.host;
            let config = self.config.clone();
            let load = move || Ok(config.clone());
            let parser = |a: Action, p: &Path, _cache: Option<&Path>| {
                self.calls.borrow_mut().push((a, p.display().to_string()));
                match *self.status.borrow() {
                    Ok(r) => Ok(r),
                    Err(code) => Err(ParserFailure::Status {
                        parser: "/sbin/apparmor_parser".into(),
                        action: a,
                        profile: p.to_owned(),
                        status: Some(code),
                    }),
                }
            };
            let mut stdin = xml.as_bytes();
            let is_loaded = |_: &ProfileName| *self.loaded.borrow();
            let mut cx = Context {
                dir: self.dir.path(),
                load_config: &load,
                parser: &parser,
                is_loaded: &is_loaded,
                host,
                stdin: &mut stdin,
                lock_timeout: Duration::from_secs(5),
            };
            let mut out = Output::new(b"virt-aa-helper");
            let r = run(&args, &mut cx, &mut out);
            (r, String::from_utf8(out.stderr).unwrap())
        }

        fn path(&self, suffix: &str) -> std::path::PathBuf {
            self.dir.path().join(format!("{NAME}{suffix}"))
        }

        fn read(&self, suffix: &str) -> Option<String> {
            std::fs::read_to_string(self.path(suffix)).ok()
        }
    }

    #[test]
    fn create_writes_both_files_and_loads() {
        let rig = Rig::new();
        let (r, err) = rig.run(&["-c", "-u", NAME], XML);
        r.unwrap();
        assert_eq!(
            err,
            "virt-aa-helper: warning: path does not exist, skipping file type checks\n"
        );
        let files = rig.read(".files").unwrap();
        assert!(files.starts_with(FILES_HEADER));
        assert!(files.ends_with("  \"/images/a.img\" rwk,\n"), "{files}");
        let profile = rig.read("").unwrap();
        assert!(profile.contains(&format!("profile {NAME} flags")));
        assert!(profile.ends_with(&format!("  #include <libvirt/{NAME}.files>\n\n}}\n")));
        assert_eq!(
            rig.calls.borrow().as_slice(),
            &[(Action::Load, rig.path("").display().to_string())]
        );
        // -c again: the profile exists, even in a dry run.
        let (r, _) = rig.run(&["-c", "-d", "-u", NAME], XML);
        assert!(matches!(r, Err(Failure::ProfileExists)));
    }

    /// libvirt's `-F <backing layer>` (a block job: blockcommit, active
    /// commit) makes the layer writable in safe mode, with no `deny … w`
    /// left to override it; compat mode keeps libvirt 9.0's deny, which
    /// does override it; `hotplug_layer_access` (opt-in) keeps it `rk`.
    #[test]
    fn appended_backing_layer_block_job() {
        let xml = "<domain type='kvm'><name>vm</name>\
            <uuid>00000000-0000-0000-0000-0123456789ab</uuid>\
            <memory>1024</memory><os><type>hvm</type></os><devices>\
            <disk type='file' device='disk'><driver type='qcow2'/><source file='/images/top.qcow2'/>\
            <backingStore type='file'><format type='raw'/><source file='/images/base.img'/>\
            <backingStore/></backingStore><target dev='vda'/></disk></devices></domain>";
        let mut rig = Rig::new();
        rig.run(&["-c", "-u", NAME], xml).0.unwrap();
        rig.run(&["-r", "-u", NAME, "-F", "/images/base.img"], xml)
            .0
            .unwrap();
        let compat = rig.read(".files").unwrap();
        assert!(
            compat.contains("  \"/images/base.img\" rk,\n  # don't audit writes to readonly files\n  deny \"/images/base.img\" w,\n"),
            "{compat}"
        );
        assert!(
            compat.ends_with("  \"/images/base.img\" rwk,\n"),
            "{compat}"
        );

        rig.config = Config::new(OutputMode::Safe, LibvirtVersion::V9_0);
        rig.run(&["-r", "-u", NAME], xml).0.unwrap();
        rig.run(&["-r", "-u", NAME, "-F", "/images/base.img"], xml)
            .0
            .unwrap();
        let safe = rig.read(".files").unwrap();
        assert!(!safe.contains("deny"), "{safe}");
        let tail = "  \"/images/top.qcow2\" rwk,\n  \"/images/base.img\" rk,\n  \"/images/base.img\" rwk,\n";
        assert!(safe.ends_with(tail), "{safe}");

        let mut settings = Settings::safe();
        settings.hotplug_layer_access = true;
        rig.config = Config {
            settings,
            ..Config::new(OutputMode::Safe, LibvirtVersion::V9_0)
        };
        rig.run(&["-r", "-u", NAME], xml).0.unwrap();
        rig.run(&["-r", "-u", NAME, "-F", "/images/base.img"], xml)
            .0
            .unwrap();
        rig.run(&["-r", "-u", NAME, "-F", "/images/top.qcow2"], xml)
            .0
            .unwrap();
        rig.run(&["-r", "-u", NAME, "-F", "/images/new.img"], xml)
            .0
            .unwrap();
        let opt_in = rig.read(".files").unwrap();
        // The layers keep the definition's access, and what `.files`
        // already has is not appended again (`start_requests`).
        assert!(!opt_in.contains("\"/images/base.img\" rwk"), "{opt_in}");
        assert_eq!(opt_in.matches("\"/images/base.img\" rk,").count(), 1);
        assert_eq!(opt_in.matches("\"/images/top.qcow2\" rwk,").count(), 1);
        assert!(opt_in.ends_with("  \"/images/new.img\" rwk,\n"), "{opt_in}");
    }

    #[test]
    fn replace_keeps_unchanged_files_and_append_appends() {
        let rig = Rig::new();
        rig.run(&["-c", "-u", NAME], XML).0.unwrap();
        let before = std::fs::metadata(rig.path(".files")).unwrap();
        rig.run(&["-r", "-u", NAME], XML).0.unwrap();
        let after = std::fs::metadata(rig.path(".files")).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            before.ino(),
            after.ino(),
            "unchanged .files must not be rewritten"
        );

        rig.run(&["-r", "-u", NAME, "-F", "/images/b.img"], XML)
            .0
            .unwrap();
        let files = rig.read(".files").unwrap();
        assert!(files.ends_with("  \"/images/a.img\" rwk,\n  \"/images/b.img\" rwk,\n"));
        rig.run(&["-r", "-u", NAME, "-f", "/images/c.img"], XML)
            .0
            .unwrap();
        let files = rig.read(".files").unwrap();
        assert!(
            files.ends_with("  \"/images/a.img\" rwk,\n  \"/images/c.img\" rwk,\n"),
            "{files}"
        );
        assert!(!files.contains("b.img"));
    }

    #[test]
    fn parser_failure_on_create_removes_both_files() {
        let rig = Rig::new();
        *rig.status.borrow_mut() = Err(1);
        let (r, _) = rig.run(&["-c", "-u", NAME], XML);
        assert!(matches!(r, Err(Failure::Parser(_))));
        assert!(rig.read("").is_none());
        assert!(rig.read(".files").is_none());
    }

    #[test]
    fn replace_without_profile_fails_and_removes_files() {
        let rig = Rig::new();
        let (r, _) = rig.run(&["-r", "-u", NAME], XML);
        assert!(matches!(r, Err(Failure::ProfileMissing)));
        assert!(rig.read(".files").is_none());
        assert!(rig.calls.borrow().is_empty());
    }

    #[test]
    fn zero_size_profile_is_repaired() {
        let rig = Rig::new();
        std::fs::write(rig.path(""), "").unwrap();
        let (r, err) = rig.run(&["-r", "-d", "-u", NAME], XML);
        r.unwrap();
        assert!(err.contains("Profile of 0 size detected"), "{err}");
        assert!(
            err.contains("dry run: would run apparmor_parser -R"),
            "{err}"
        );
        assert!(
            rig.calls.borrow().is_empty(),
            "dry run must not run the parser"
        );
        assert_eq!(rig.read("").as_deref(), Some(""));

        *rig.status.borrow_mut() = Ok(Ran::WasNotLoaded);
        let (r, err) = rig.run(&["-r", "-u", NAME], XML);
        assert!(
            err.contains("unable to unload already unloaded profile"),
            "{err}"
        );
        r.unwrap();
        assert!(rig.read("").unwrap().contains("profile libvirt-"));
        let calls: Vec<_> = rig.calls.borrow().iter().map(|c| c.0).collect();
        assert_eq!(calls, vec![Action::Remove, Action::Replace]);
    }

    #[test]
    fn delete_unloads_and_removes_files_but_keeps_profile() {
        let rig = Rig::new();
        rig.run(&["-c", "-u", NAME], XML).0.unwrap();
        let (r, err) = rig.run(&["-D", "-d", "-u", NAME], "");
        r.unwrap();
        assert!(err.contains("dry run: would remove"), "{err}");
        assert!(rig.read(".files").is_some());
        *rig.status.borrow_mut() = Ok(Ran::WasNotLoaded);
        let (r, err) = rig.run(&["-D", "-u", NAME], "");
        r.unwrap();
        assert_eq!(
            err,
            "virt-aa-helper: warning: unable to unload already unloaded profile\n"
        );
        assert!(rig.read(".files").is_none());
        assert!(rig.read("").is_some());
    }

    #[test]
    fn add_and_remove_need_the_profile() {
        let rig = Rig::new();
        for m in ["-a", "-R", "-D"] {
            let (r, _) = rig.run(&[m, "-u", NAME], "");
            assert!(matches!(r, Err(Failure::ProfileMissing)), "{m}");
        }
        assert!(rig.calls.borrow().is_empty());
    }

    #[test]
    fn dry_run_text_matches_libvirt_layout() {
        let rig = Rig::new();
        let (r, err) = rig.run(&["-c", "-d", "-u", NAME], XML);
        r.unwrap();
        let dir = rig.dir.path().display();
        assert!(err.ends_with(&format!(
            "  \"/images/a.img\" rwk,\n\nvirt-aa-helper:\n{dir}/{NAME}\nvirt-aa-helper:\n{NAME}\nvirt-aa-helper:\n  #include <libvirt/{NAME}.files>\n\n"
        )), "{err}");
        assert!(rig.read(".files").is_none());
    }

    #[test]
    fn uuid_must_match() {
        let rig = Rig::new();
        let other = "libvirt-00000000-0000-0000-0000-0123456789ac";
        let (r, _) = rig.run(&["-c", "-u", other], XML);
        assert!(matches!(r, Err(Failure::UuidMismatch)));
    }

    #[test]
    fn subtree_requests_in_safe_mode() {
        let mut rig = Rig::new();
        rig.config = Config::default();
        let (r, _) = rig.run(&["-r", "-d", "-u", NAME, "-F", "/images/d*r/{,**}"], XML);
        r.unwrap();
        let (r, err) = rig.run(&["-r", "-d", "-u", NAME, "-F", "/images/d*r/{,**}"], XML);
        r.unwrap();
        assert!(err.contains("\n  \"/images/d\\*r/{,**}\" rwk,\n"), "{err}");
        for bad in [
            "/usr/{,**}",
            "/{,**}",
            "/etc/x/{,**}",
            "/usr/lib/{,**}",
            "/var/{,**}",
            "/dev/{,**}",
            "/run/user/0/{,**}",
            "/var/lib/libvirt/images/{,**}",
            "/var/lib/libvirt/qemu/domain-7-other/{,**}",
        ] {
            let (r, _) = rig.run(&["-r", "-d", "-u", NAME, "-F", bad], XML);
            assert!(
                matches!(
                    r,
                    Err(Failure::Policy(
                        PolicyError::Restricted { .. } | PolicyError::Tree { .. }
                    ))
                ),
                "{bad}"
            );
        }
        // The VM's own per-run directories, as libvirt's driver asks for
        // them (no id in this definition: libvirt's -1).
        for own in [
            "/var/lib/libvirt/qemu/domain--1-vm/{,**}",
            "/var/lib/libvirt/qemu/channel/target/domain--1-vm/{,**}",
            "/dev/hugepages/libvirt/qemu/-1-vm/{,**}",
        ] {
            let (r, err) = rig.run(&["-r", "-d", "-u", NAME, "-F", own], XML);
            assert!(r.is_ok(), "{own}: {err}");
        }
        // Any other glob character is escaped.
        let (r, err) = rig.run(&["-r", "-d", "-u", NAME, "-F", "/images/{a,b}"], XML);
        r.unwrap();
        assert!(err.contains("\"/images/\\{a\\,b\\}\" rwk,"), "{err}");
    }

    #[test]
    fn subtree_suffix_is_svirts_glob() {
        assert_eq!(
            SUBTREE_SUFFIX,
            format!("/{}", svirt::policy::Glob::Subtree.as_str())
        );
    }

    #[test]
    fn stdin_is_limited() {
        let rig = Rig::new();
        let big = " ".repeat(MAX_XML_BYTES + 1);
        let (r, _) = rig.run(&["-c", "-d", "-u", NAME], &big);
        assert!(matches!(r, Err(Failure::ReadXml(_))));
    }

    /// A domain named `vm` with `devices` (issue 10's examples).
    fn with_devices(devices: &str) -> String {
        format!(
            "<domain type='kvm'><name>vm</name>\
             <uuid>00000000-0000-0000-0000-0123456789ab</uuid>\
             <memory>1024</memory><os><type>hvm</type></os><devices>{devices}\
             </devices></domain>"
        )
    }

    fn safe_rig() -> Rig {
        let mut rig = Rig::new();
        rig.config = Config::default();
        rig
    }

    #[test]
    fn operator_choices_last_across_regeneration() {
        let rig = safe_rig();
        let include = format!("  #include if exists <libvirt/{NAME}.override>\n");
        let header = format!("profile {NAME} flags=(attach_disconnected");
        rig.run(&["-c", "-u", NAME], XML).0.unwrap();
        let profile = rig.read("").unwrap();
        assert_eq!(profile.matches(&include).count(), 1, "{profile}");
        assert!(profile.contains(&format!("{header}) {{")), "{profile}");

        // `svirt complain` leaves a marker: the next -r puts it in the file
        // before loading, and further runs change nothing.
        std::fs::write(rig.path(".complain"), "").unwrap();
        rig.run(&["-r", "-u", NAME], XML).0.unwrap();
        let complain = rig.read("").unwrap();
        assert!(
            complain.contains(&format!("{header}, complain) {{")),
            "{complain}"
        );
        assert_eq!(complain.matches(&include).count(), 1);
        rig.run(&["-r", "-u", NAME, "-F", "/images/b.img"], XML)
            .0
            .unwrap();
        assert_eq!(rig.read("").unwrap(), complain);
        // The marker never turns complain off by its absence.
        std::fs::remove_file(rig.path(".complain")).unwrap();
        rig.run(&["-r", "-u", NAME], XML).0.unwrap();
        assert_eq!(rig.read("").unwrap(), complain);

        // A profile libvirt's helper (or compat mode) wrote gets the include
        // at the next regeneration; compat mode itself never adds it.
        let compat = Rig::new();
        compat.run(&["-c", "-u", NAME], XML).0.unwrap();
        std::fs::write(compat.path(".complain"), "").unwrap();
        compat.run(&["-r", "-u", NAME], XML).0.unwrap();
        let plain = compat.read("").unwrap();
        assert!(!plain.contains(".override>") && !plain.contains("complain"));
        let mut upgraded = compat;
        upgraded.config = Config::default();
        upgraded.run(&["-r", "-u", NAME], XML).0.unwrap();
        let now = upgraded.read("").unwrap();
        assert_eq!(now.matches(&include).count(), 1, "{now}");
        assert!(now.contains(&format!("{header}, complain) {{")), "{now}");
        // The load comes after the file is right.
        assert_eq!(upgraded.calls.borrow().last().unwrap().0, Action::Replace);
    }

    #[test]
    fn start_requests_are_granted_at_once_and_their_f_calls_change_nothing() {
        const XML7: &str = "<domain type='kvm' id='7'><name>vm</name>\
            <uuid>00000000-0000-0000-0000-0123456789ab</uuid>\
            <memory>1024</memory><os><type>hvm</type></os><devices>\
            <disk type='file' device='disk'><source file='/images/a.img'/>\
            <target dev='vda'/></disk></devices></domain>";
        let requests = [
            "/var/lib/libvirt/qemu/domain-7-vm/{,**}",
            "/var/lib/libvirt/qemu/channel/target/domain-7-vm/{,**}",
            "/var/lib/libvirt/qemu/domain-7-vm/master-key.aes",
        ];
        let rig = safe_rig();
        rig.run(&["-c", "-u", NAME], XML7).0.unwrap();
        let files = rig.read(".files").unwrap();
        // `stable_run_dirs`: any domain id, so the next start reads the same.
        let any_id = format!("domain-{}-vm", svirt::policy::Glob::RunId.as_str());
        for r in requests {
            let line = format!("  \"{}\" rwk,\n", r.replace("domain-7-vm", &any_id));
            assert!(files.contains(&line), "{line} missing from {files}");
        }
        assert!(!files.contains("domain-7-vm"), "{files}");
        let calls = rig.calls.borrow().len();
        for r in requests {
            rig.run(&["-r", "-u", NAME, "-F", r], XML7).0.unwrap();
        }
        assert_eq!(rig.calls.borrow().len(), calls, "a no-op -F ran the parser");
        assert_eq!(rig.read(".files").unwrap(), files);
        // A file the profile lacks is appended and loaded as before.
        rig.run(&["-r", "-u", NAME, "-F", "/images/new.img"], XML7)
            .0
            .unwrap();
        assert_eq!(rig.calls.borrow().len(), calls + 1);
        assert!(rig
            .read(".files")
            .unwrap()
            .ends_with("  \"/images/new.img\" rwk,\n"));
        // A profile that is not loaded is loaded even when nothing changed.
        rig.run(&["-r", "-u", NAME], XML7).0.unwrap();
        *rig.loaded.borrow_mut() = false;
        let before = rig.calls.borrow().len();
        rig.run(&["-r", "-u", NAME, "-F", requests[0]], XML7)
            .0
            .unwrap();
        assert_eq!(rig.calls.borrow().len(), before + 1);

        // A restart: the next id, the same rules, no parser for the -F calls.
        *rig.loaded.borrow_mut() = true;
        let xml8 = XML7.replace("id='7'", "id='8'");
        rig.run(&["-D", "-u", NAME], "").0.unwrap();
        rig.run(&["-r", "-u", NAME], &xml8).0.unwrap();
        assert_eq!(rig.read(".files").unwrap(), files);
        let calls = rig.calls.borrow().len();
        for r in requests {
            rig.run(&["-r", "-u", NAME, "-F", &r.replace("-7-", "-8-")], &xml8)
                .0
                .unwrap();
        }
        assert_eq!(rig.calls.borrow().len(), calls);

        // Compat mode: libvirt's behaviour, one append and one load each.
        let compat = Rig::new();
        compat.run(&["-c", "-u", NAME], XML7).0.unwrap();
        assert!(!compat.read(".files").unwrap().contains("master-key"));
        compat
            .run(&["-r", "-u", NAME, "-F", requests[2]], XML7)
            .0
            .unwrap();
        assert_eq!(compat.calls.borrow().len(), 2);
        assert!(compat
            .read(".files")
            .unwrap()
            .contains("master-key.aes\" rwk,"));
    }

    #[test]
    fn svirts_installed_template_is_preferred_to_the_distributions() {
        let rig = safe_rig();
        std::fs::write(
            rig.dir.path().join("svirt.TEMPLATE.qemu"),
            "\nprofile LIBVIRT_TEMPLATE flags=(attach_disconnected) {\n  #include <abstractions/svirt-qemu>\n}\n",
        )
        .unwrap();
        rig.run(&["-c", "-u", NAME], XML).0.unwrap();
        let profile = rig.read("").unwrap();
        assert!(profile.contains("<abstractions/svirt-qemu>"), "{profile}");
        assert!(
            !profile.contains("<abstractions/libvirt-qemu>"),
            "{profile}"
        );
        // Without it, the distribution's again.
        std::fs::remove_file(rig.dir.path().join("svirt.TEMPLATE.qemu")).unwrap();
        std::fs::remove_file(rig.path("")).unwrap();
        rig.run(&["-c", "-u", NAME], XML).0.unwrap();
        assert!(rig
            .read("")
            .unwrap()
            .contains("<abstractions/libvirt-qemu>"));
    }

    #[test]
    fn an_unusable_profile_header_is_a_warning_and_the_profile_still_loads() {
        // libvirt's helper loads such a profile; the choice that cannot be
        // written into it must not stop the VM.
        let rig = safe_rig();
        std::fs::write(
            rig.dir.path().join("TEMPLATE.qemu"),
            "\nprofile LIBVIRT_TEMPLATE\n{\n}\n",
        )
        .unwrap();
        std::fs::write(rig.path(".complain"), "").unwrap();
        let (r, err) = rig.run(&["-c", "-u", NAME], XML);
        r.unwrap();
        assert!(err.contains("are not applied"), "{err}");
        assert_eq!(rig.calls.borrow().len(), 1);
        assert!(!rig.read("").unwrap().contains("complain"));
    }

    /// The dry-run `.files` rules of `xml`, or the failure and stderr.
    #[allow(clippy::result_large_err)]
    fn dry_run(rig: &Rig, xml: &str) -> Result<String, (Failure, String)> {
        let (r, err) = rig.run(&["-r", "-d", "-u", NAME], xml);
        match r {
            Ok(()) => Ok(err),
            Err(f) => Err((f, err)),
        }
    }

    fn share(dir: &str) -> String {
        with_devices(&format!(
            "<filesystem type='mount' accessmode='passthrough'><source dir='{dir}'/>\
             <target dir='t'/></filesystem>"
        ))
    }

    #[test]
    fn example_1_shares_of_host_trees_are_refused() {
        let rig = safe_rig();
        for dir in [
            "/",
            "/usr",
            "/var",
            "/root",
            "/dev",
            "/run",
            "/var/lib/libvirt/images",
        ] {
            match dry_run(&rig, &share(dir)) {
                Err((Failure::Policy(e @ PolicyError::Tree { .. }), _)) => {
                    let msg = e.to_string();
                    assert!(msg.contains("refused (filesystem 0)"), "{dir}: {msg}");
                }
                other => panic!("{dir}: {other:?}"),
            }
        }
        for dir in ["/srv/share", "/home/user/share"] {
            let out = dry_run(&rig, &share(dir)).unwrap();
            assert!(
                out.contains(&format!("  \"{dir}/**\" rwl,\n  \"{dir}/\" r,\n")),
                "{out}"
            );
        }
        // libvirt grants the whole host.
        let out = dry_run(&Rig::new(), &share("/")).unwrap();
        assert!(out.contains("  \"/**\" rwl,\n"), "{out}");
    }

    fn smartcard(db: &str) -> String {
        with_devices(&format!(
            "<smartcard mode='host-certificates'><certificate>a</certificate>\
             <certificate>b</certificate><certificate>c</certificate>\
             <database>{db}</database></smartcard>"
        ))
    }

    #[test]
    fn example_2_smartcard_databases_are_checked() {
        let rig = safe_rig();
        for db in ["/etc", "/proc/self", "/", "/var"] {
            assert!(
                matches!(
                    dry_run(&rig, &smartcard(db)),
                    Err((
                        Failure::Policy(PolicyError::Tree { .. } | PolicyError::Restricted { .. }),
                        _
                    ))
                ),
                "{db}"
            );
        }
        // libvirt's parser refuses a relative database too.
        for r in [&rig, &Rig::new()] {
            assert!(matches!(
                dry_run(r, &smartcard("etc/pki")),
                Err((Failure::Definition(_), _))
            ));
        }
        let out = dry_run(&rig, &smartcard("/srv/nss*db")).unwrap();
        assert!(out.contains("  \"/srv/nss\\*db/{,*}\" rk,\n"), "{out}");
        let host = with_devices("<smartcard mode='host'/>");
        let out = dry_run(&rig, &host).unwrap();
        assert!(out.contains("  \"/etc/pki/nssdb/{,*}\" rk,\n"), "{out}");
        // libvirt: the raw text.
        let out = dry_run(&Rig::new(), &smartcard("/etc")).unwrap();
        assert!(out.contains("  \"/etc/{,*}\" rk,\n"), "{out}");
    }

    fn tpm(version: &str) -> String {
        with_devices(&format!(
            "<tpm model='tpm-crb'><backend type='emulator' version='{version}'/></tpm>"
        ))
    }

    #[test]
    fn example_3_tpm_version_is_validated_in_both_modes() {
        let hostile = "2.0/&quot; rwk, /etc/shadow r, &quot;/x";
        for rig in [safe_rig(), Rig::new()] {
            match dry_run(&rig, &tpm(hostile)) {
                Err((Failure::Definition(e), _)) => {
                    assert_eq!(e.kind().libvirt_message(), Some("could not parse XML"));
                }
                other => panic!("{other:?}"),
            }
            assert!(dry_run(&rig, &tpm("default")).is_err());
            let out = dry_run(&rig, &tpm("2.0")).unwrap();
            assert!(out.contains("/tpm2/**\" rwk,\n"), "{out}");
        }
    }

    #[test]
    fn quotes_and_control_characters_never_reach_rules_in_any_mode() {
        for rig in [safe_rig(), Rig::new()] {
            for db in ["/srv/a&quot;b", "/srv/a&#10;b", "/srv/a\\"] {
                let escaped = rig.config.settings.escape_paths;
                match dry_run(&rig, &smartcard(db)) {
                    Ok(out) => {
                        // Safe mode escapes a quote and a backslash.
                        assert!(escaped || !db.contains('&'), "{db}: {out}");
                        let rules: Vec<&str> =
                            out.lines().filter(|l| l.starts_with("  ")).collect();
                        svirt::policy::grammar::check_rules_text(&rules.join("\n"), escaped)
                            .unwrap();
                    }
                    Err((f, _)) => assert!(!escaped || db.contains("&#10;"), "{db}: {f:?}"),
                }
            }
            assert!(dry_run(&rig, &with_devices(
                "<disk type='file' device='disk'><source file='/images/a&#10;  \"/etc/shadow\" r,'/>\
                 <target dev='vda'/></disk>"
            )).is_err());
        }
    }

    #[test]
    fn names_stay_one_component() {
        let shm = |name: &str| {
            with_devices(&format!(
                "<shmem name='{name}'><model type='ivshmem-plain'/></shmem>"
            ))
        };
        for name in ["../sda", "..", "a/b"] {
            assert!(
                matches!(
                    dry_run(&safe_rig(), &shm(name)),
                    Err((Failure::Resources(_), _))
                ),
                "{name}"
            );
        }
        let out = dry_run(&safe_rig(), &shm("plain0")).unwrap();
        assert!(out.contains("  \"/dev/shm/plain0\" rw,\n"), "{out}");
        // libvirt joins the name as is.
        let mut rig = Rig::new();
        rig.host = FakeHost::new().with_file("/dev/sda").with_file("/dev/shm");
        let out = dry_run(&rig, &shm("../sda")).unwrap();
        assert!(out.contains("  \"/dev/sda\" rw,\n"), "{out}");
    }

    #[test]
    fn example_5_pci_sysfs_only_assignment_files_of_host_devices() {
        let dev = "/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0";
        let disk = |p: &str| {
            with_devices(&format!(
                "<disk type='file' device='disk'><source file='{p}'/><target dev='vda'/></disk>"
            ))
        };
        let serial = |p: &str| {
            with_devices(&format!(
                "<serial type='file'><source path='{p}'/><target port='0'/></serial>"
            ))
        };
        let rig = safe_rig();
        for f in ["remove", "rescan", "driver_override", "config"] {
            let p = format!("{dev}/{f}");
            for xml in [disk(&p), serial(&p)] {
                assert!(
                    matches!(
                        dry_run(&rig, &xml),
                        Err((Failure::Policy(PolicyError::Restricted { .. }), _))
                    ),
                    "{p}"
                );
            }
        }
        // The caller's -F (libvirt's hostdev hotplug) for a device file.
        let (r, err) = rig.run(
            &["-r", "-d", "-u", NAME, "-F", &format!("{dev}/config")],
            XML,
        );
        assert!(r.is_ok(), "{err}");
        assert!(err.contains(&format!("  \"{dev}/config\" rwk,\n")), "{err}");
        let (r, _) = rig.run(
            &["-r", "-d", "-u", NAME, "-F", &format!("{dev}/remove")],
            XML,
        );
        assert!(r.is_err());
        // A host device's own files.
        let mut rig = safe_rig();
        rig.host.pci_files.insert(
            svirt::domain::PciAddress {
                domain: 0,
                bus: 1,
                slot: 0,
                function: 0,
            },
            vec![format!("{dev}/config"), format!("{dev}/resource0")],
        );
        let hostdev = with_devices(
            "<hostdev mode='subsystem' type='pci' managed='yes'><source>\
             <address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source></hostdev>",
        );
        let out = dry_run(&rig, &hostdev).unwrap();
        assert!(out.contains(&format!("  \"{dev}/config\" rw,\n")), "{out}");
        // libvirt allows anything below the prefix.
        let out = dry_run(&Rig::new(), &disk(&format!("{dev}/remove"))).unwrap();
        assert!(out.contains(&format!("  \"{dev}/remove\" rwk,\n")), "{out}");
    }

    #[test]
    fn example_6_header_text_in_diagnostics_is_inert() {
        let mut rig = safe_rig();
        let forged = "/images/x\nvirt-aa-helper: error: forged\u{1b}[2J";
        rig.host = FakeHost::new().with_file("/images/a.img").with_backing(
            "/images/a.img",
            vec![svirt::image::ProbedLayer {
                path: forged.into(),
                format: Some("raw".into()),
                data_file: None,
                extents: Vec::new(),
            }],
        );
        let out = dry_run(&rig, XML).unwrap();
        let warnings: Vec<&str> = out.lines().filter(|l| l.contains("warning")).collect();
        assert_eq!(warnings.len(), 1, "{out}");
        assert!(
            warnings[0].contains("/images/x\\nvirt-aa-helper: error: forged\\x1b[2J")
                && warnings[0].contains("control character"),
            "{out}"
        );
        assert!(!out.contains('\u{1b}') && !out.contains("\nvirt-aa-helper: error: forged"));
    }
}
