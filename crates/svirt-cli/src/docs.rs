//! Generated documentation for the Debian package (`scripts/package.sh`):
//! man pages with clap_mangen (`svirt __man DIR`) and shell completions with
//! clap_complete (`svirt completions SHELL`).
//!
//! The helper, `virt-aa-helper`, keeps its own hand-written GNU getopt parser
//! (`crates/virt-aa-helper/src/args.rs`) and no clap. Its man page is made
//! from [`helper_command`], a clap description of that parser kept here; a
//! test below fails when the two drift apart.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, Command, ValueEnum};

/// The shells `svirt completions` writes scripts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

impl CompletionShell {
    fn generator(self) -> clap_complete::Shell {
        match self {
            Self::Bash => clap_complete::Shell::Bash,
            Self::Zsh => clap_complete::Shell::Zsh,
            Self::Fish => clap_complete::Shell::Fish,
        }
    }
}

/// The completion script of `cmd` for `shell`.
pub fn completions(shell: CompletionShell, cmd: &mut Command) -> Vec<u8> {
    let name = cmd.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell.generator(), cmd, name, &mut out);
    out
}

/// The manual both programs' pages belong to.
const MANUAL: &str = "svirt";

fn source() -> String {
    format!("svirt {}", env!("CARGO_PKG_VERSION"))
}

/// Writes `svirt.1`, `svirt-<subcommand>.1` for every visible subcommand,
/// and `virt-aa-helper.8` into `dir`. Returns the files written.
pub fn write_man_pages(svirt: Command, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut svirt = svirt.disable_help_subcommand(true);
    // Gives every subcommand its display name, `svirt-<name>`.
    svirt.build();
    let mut pages: Vec<clap_mangen::Man> = svirt
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .map(|sub| man(sub.clone(), "1"))
        .collect();
    pages.insert(0, man(svirt.clone(), "1"));
    pages.push(man(helper_command(), "8"));
    let mut written = Vec::new();
    for page in pages {
        let path = dir.join(page.get_filename());
        let mut text = Vec::new();
        page.render(&mut text)
            .with_context(|| format!("cannot render {}", path.display()))?;
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

fn man(cmd: Command, section: &str) -> clap_mangen::Man {
    clap_mangen::Man::new(cmd)
        .section(section)
        .source(source())
        .manual(MANUAL)
}

const HELPER_ABOUT: &str =
    "create, load and remove the AppArmor profile of a libvirt virtual machine";

const HELPER_LONG_ABOUT: &str = "\
libvirtd runs virt-aa-helper for every start, hotplug, unplug and stop of a \
virtual machine whose security driver is AppArmor. It writes the VM's profile \
/etc/apparmor.d/libvirt/libvirt-<uuid> from the template TEMPLATE.<type> in the \
same directory, and the rules for the VM's files (disks and their backing chains, \
firmware, NVRAM, sockets, logs, host devices) into libvirt-<uuid>.files, then \
loads, reloads or unloads the profile with apparmor_parser.

This is svirt's drop-in replacement for libvirt's helper: the same command line, \
messages, files and exit codes. The domain XML is read from standard input for \
--create and --replace.

This command is intended to be used by libvirtd and not used directly.";

const HELPER_AFTER_LONG_HELP: &str = "\
Exactly one mode is acted on; if several are given, the last one wins. The \
options -H, -b and -p are in libvirt's option string but handled by nothing: \
the helper refuses them as unsupported, as libvirt's does.

Files: /etc/apparmor.d/libvirt/ (the templates and the per-VM profiles), \
/etc/svirt/virt-aa-helper.conf (optional: \"mode = safe\", the default, or \
\"mode = compat\" for libvirt 9.0's exact output, and single switches), \
/etc/apparmor.d/svirt.virt-aa-helper (svirt's AppArmor profile for the helper).

Exit status: 0 on success, 1 on any error (the reason on standard error).

See also: svirt(1), apparmor_parser(8), libvirtd(8).";

fn helper_flag(id: &'static str, short: char, long: &'static str, help: &'static str) -> Arg {
    Arg::new(id)
        .short(short)
        .long(long)
        .action(ArgAction::SetTrue)
        .help(help)
}

/// A clap description of the helper's real command line (libvirt's option
/// table, as `crates/virt-aa-helper/src/args.rs` parses it), used only to
/// render `virt-aa-helper(8)`.
pub fn helper_command() -> Command {
    Command::new("virt-aa-helper")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(true)
        .disable_help_flag(true)
        .about(HELPER_ABOUT)
        .long_about(HELPER_LONG_ABOUT)
        .override_usage(
            "virt-aa-helper MODE -u libvirt-<uuid> [-d] [-f FILE | -F FILE] [< DOMAIN.xml]",
        )
        .after_long_help(HELPER_AFTER_LONG_HELP)
        .next_help_heading("Modes")
        .arg(helper_flag("add", 'a', "add", "Load the existing profile"))
        .arg(helper_flag(
            "create",
            'c',
            "create",
            "Create the profile from the template and the domain XML on standard input, \
             write its .files, and load it",
        ))
        .arg(helper_flag(
            "delete",
            'D',
            "delete",
            "Unload the profile and delete its .files",
        ))
        .arg(helper_flag(
            "replace",
            'r',
            "replace",
            "Regenerate .files from the domain XML on standard input and reload the profile",
        ))
        .arg(helper_flag("remove", 'R', "remove", "Unload the profile"))
        .next_help_heading("Options")
        .arg(helper_flag(
            "dryrun",
            'd',
            "dryrun",
            "Dry run: print the profile and rules, and what would be loaded or removed; \
             change nothing",
        ))
        .arg(
            Arg::new("uuid")
                .short('u')
                .long("uuid")
                .value_name("NAME")
                .required(true)
                .help(
                    "The profile name, libvirt-<uuid>: libvirt- and the VM's UUID (44 characters)",
                ),
        )
        .arg(
            Arg::new("help")
                .short('h')
                .long("help")
                .action(ArgAction::Help)
                .help("Print the usage and exit"),
        )
        .next_help_heading("Extra file")
        .arg(
            Arg::new("add-file-path")
                .short('f')
                .value_name("FILE")
                .help("Add FILE to the rules generated from the XML"),
        )
        .arg(
            Arg::new("append-file-path")
                .short('F')
                .value_name("FILE")
                .help(
                    "Append a rule for FILE to the existing .files (used by libvirt for hotplug)",
                ),
        )
        .arg(
            Arg::new("add-file")
                .long("add-file")
                .action(ArgAction::SetTrue)
                .help(
                    "Long form of -f that takes no argument, as in libvirt's option table: it \
                     names no file and cancels the FILE of an earlier -f or -F",
                ),
        )
        .arg(
            Arg::new("append-file")
                .long("append-file")
                .action(ArgAction::SetTrue)
                .help(
                    "Long form of -F that takes no argument, as in libvirt's option table: it \
                     names no file and cancels the FILE of an earlier -f or -F; the rules are \
                     appended",
                ),
        )
}

#[cfg(test)]
#[allow(dead_code)]
#[path = "../../virt-aa-helper/src/args.rs"]
mod helper_args;

#[cfg(test)]
mod tests {
    use super::helper_args::{self, ArgsError};
    use super::*;
    use std::collections::BTreeMap;

    const U: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";

    fn parse(args: &[&str]) -> Result<helper_args::Parsed, ArgsError> {
        let mut v = vec![b"virt-aa-helper".to_vec()];
        v.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        helper_args::parse(&v)
    }

    fn getopt_text(r: &Result<helper_args::Parsed, ArgsError>) -> Option<String> {
        match r {
            Err(ArgsError::Unsupported { getopt: Some(m) }) => {
                Some(String::from_utf8_lossy(m).into_owned())
            }
            _ => None,
        }
    }

    /// Each short option the helper acts on, and whether it takes a value,
    /// found by asking its parser about every printable character.
    fn helper_shorts() -> BTreeMap<char, bool> {
        let mut found = BTreeMap::new();
        for c in (b'!'..=b'~').map(char::from).filter(|&c| c != '-') {
            let alone = format!("-{c}");
            let r = parse(&[&alone]);
            let msg = getopt_text(&r).unwrap_or_default();
            if msg.contains("invalid option") {
                continue;
            }
            let takes_value = msg.contains("requires an argument");
            // Whether the option is acted on, not refused as unsupported
            // (-H, -b, -p are in getopt's string but handled by nothing).
            let used = if takes_value {
                parse(&[&alone, "x", "-a", "-u", U])
            } else {
                parse(&[&alone, "-a", "-u", U])
            };
            if !matches!(used, Err(ArgsError::Unsupported { .. })) {
                found.insert(c, takes_value);
            }
        }
        found
    }

    /// Each long option of the helper, and whether it takes a value. The
    /// empty prefix is ambiguous, and getopt's message lists them all.
    fn helper_longs() -> BTreeMap<String, bool> {
        let msg = getopt_text(&parse(&["--=x"])).expect("an ambiguity message");
        let list = msg
            .split_once("possibilities:")
            .expect("getopt lists the candidates")
            .1;
        let mut found = BTreeMap::new();
        for name in list.split_whitespace() {
            let name = name.trim_matches('\'').trim_start_matches("--");
            let r = parse(&[&format!("--{name}")]);
            let takes_value = getopt_text(&r).is_some_and(|m| m.contains("requires an argument"));
            found.insert(name.to_owned(), takes_value);
        }
        found
    }

    fn documented() -> (BTreeMap<char, bool>, BTreeMap<String, bool>) {
        let mut shorts = BTreeMap::new();
        let mut longs = BTreeMap::new();
        for arg in helper_command().get_arguments() {
            let takes_value = arg.get_action().takes_values();
            if let Some(c) = arg.get_short() {
                assert!(
                    shorts.insert(c, takes_value).is_none(),
                    "-{c} documented twice"
                );
            }
            if let Some(l) = arg.get_long() {
                assert!(
                    longs.insert(l.to_owned(), takes_value).is_none(),
                    "--{l} documented twice"
                );
            }
        }
        (shorts, longs)
    }

    #[test]
    fn helper_man_page_documents_exactly_the_options_args_rs_accepts() {
        let (shorts, longs) = documented();
        let real_shorts = helper_shorts();
        let real_longs = helper_longs();
        assert!(real_shorts.contains_key(&'u') && real_longs.contains_key("uuid"));
        assert_eq!(
            shorts, real_shorts,
            "virt-aa-helper(8) (docs.rs) and args.rs disagree on short options (option: takes a value)"
        );
        assert_eq!(
            longs, real_longs,
            "virt-aa-helper(8) (docs.rs) and args.rs disagree on long options (option: takes a value)"
        );
    }

    #[test]
    fn helper_man_page_covers_the_usage_text() {
        let usage = String::from_utf8(helper_args::usage(b"virt-aa-helper")).unwrap();
        let (shorts, longs) = documented();
        let mut seen = 0;
        for word in usage.split_whitespace() {
            if let Some(long) = word.strip_prefix("--") {
                assert!(longs.contains_key(long), "usage names --{long}");
                seen += 1;
            } else if let Some(short) = word.strip_prefix('-') {
                let mut chars = short.chars();
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    assert!(shorts.contains_key(&c), "usage names -{c}");
                    seen += 1;
                }
            }
        }
        assert_eq!(
            seen, 20,
            "the usage text lists 10 short and 10 long options"
        );
    }

    fn render(cmd: Command, section: &str) -> String {
        let mut out = Vec::new();
        man(cmd, section).render(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn helper_man_page_mentions_every_option() {
        let page = render(helper_command(), "8");
        assert!(page.starts_with(".ie"), "roff: {}", &page[..40]);
        assert!(page.contains(".TH virt-aa-helper 8"));
        for arg in helper_command().get_arguments() {
            if let Some(l) = arg.get_long() {
                // roff escapes each '-' of an option name
                assert!(
                    page.contains(&format!("\\-\\-{}", l.replace('-', "\\-"))),
                    "--{l}"
                );
            }
        }
    }

    #[test]
    fn svirt_man_pages_are_written_for_each_visible_subcommand() {
        use clap::CommandFactory;
        let dir = tempfile::tempdir().unwrap();
        let written = write_man_pages(crate::Cli::command(), dir.path()).unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        for want in [
            "svirt.1",
            "svirt-profile.1",
            "svirt-exec.1",
            "svirt-completions.1",
            "virt-aa-helper.8",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n.contains("__")),
            "hidden subcommands get no page: {names:?}"
        );
        let top = std::fs::read_to_string(dir.path().join("svirt.1")).unwrap();
        assert!(top.contains("attach\\-disk"), "{top}");
    }

    #[test]
    fn completions_name_the_subcommands() {
        use clap::CommandFactory;
        for shell in [
            CompletionShell::Bash,
            CompletionShell::Zsh,
            CompletionShell::Fish,
        ] {
            let text = String::from_utf8(completions(shell, &mut crate::Cli::command())).unwrap();
            for sub in ["profile", "attach-disk", "completions"] {
                assert!(text.contains(sub), "{shell:?} lacks {sub}");
            }
        }
    }
}
