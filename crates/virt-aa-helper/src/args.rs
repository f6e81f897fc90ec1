//! The command line, parsed the way libvirt 9.0's helper parses it: GNU
//! `getopt_long` with its permutation, bundling, abbreviations and error
//! messages. Parsing has no side effects; it only returns what was asked.

use svirt::domain::DomainUuid;

/// Length of a profile name: `libvirt-` and a 36-character UUID.
pub const PROFILE_NAME_LEN: usize = 44;
/// The prefix every profile name must have.
pub const NAME_PREFIX: &[u8] = b"libvirt-";

/// What the helper is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `-a`: load an existing profile.
    Add,
    /// `-c`: create the profile and `.files` from the XML, then load.
    Create,
    /// `-D`: unload, then delete `.files`.
    Delete,
    /// `-r`: regenerate `.files`, then reload.
    Replace,
    /// `-R`: unload.
    Remove,
}

/// A parsed, validated command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    pub mode: Mode,
    pub dry_run: bool,
    /// The profile name exactly as given (44 bytes, `libvirt-` + a UUID in
    /// any form libvirt accepts).
    pub name: String,
    /// The file of the last `-f`/`-F`; the long forms carry none.
    pub new_file: Option<Vec<u8>>,
    /// Whether the last of `-F`/`--append-file`/`-f`/`--add-file` was an
    /// append. libvirt appends the text to `.files` whenever this is set,
    /// even when no file came with it.
    pub append: bool,
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Run(Args),
    /// `-h`: usage on stdout, exit 0.
    Help,
}

/// Why the command line was refused. Each maps to libvirt's output in
/// `main.rs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgsError {
    /// getopt's own complaint (already formatted with argv[0], no newline),
    /// if it made one, then "unsupported option".
    Unsupported { getopt: Option<Vec<u8>> },
    /// `-u` missing, not 44 bytes, no `libvirt-` prefix, or not a UUID.
    InvalidUuid,
    /// No mode: usage on stdout, exit 1.
    NoMode,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HasArg {
    No,
    Required,
}

/// The long options, in libvirt's table order (getopt lists ambiguous
/// candidates in this order).
const LONG: &[(&str, HasArg, u8)] = &[
    ("add", HasArg::No, b'a'),
    ("create", HasArg::No, b'c'),
    ("dryrun", HasArg::No, b'd'),
    ("delete", HasArg::No, b'D'),
    ("add-file", HasArg::No, b'f'),
    ("append-file", HasArg::No, b'F'),
    ("help", HasArg::No, b'h'),
    ("replace", HasArg::No, b'r'),
    ("remove", HasArg::No, b'R'),
    ("uuid", HasArg::Required, b'u'),
];

/// Short options: letter and whether it takes an argument (libvirt's
/// option string `acdDhrRH:b:u:p:f:F:`).
fn short_has_arg(c: u8) -> Option<HasArg> {
    match c {
        b'a' | b'c' | b'd' | b'D' | b'h' | b'r' | b'R' => Some(HasArg::No),
        b'H' | b'b' | b'u' | b'p' | b'f' | b'F' => Some(HasArg::Required),
        _ => None,
    }
}

/// The state built while options are handled in order.
#[derive(Debug, Default)]
struct State {
    mode: Option<Mode>,
    dry_run: bool,
    uuid: Option<Vec<u8>>,
    new_file: Option<Vec<u8>>,
    append: bool,
}

/// What handling one option did.
enum Step {
    Continue,
    Help,
}

/// The program name used in messages: argv[0] after its last `/`.
pub fn program_name(argv0: &[u8]) -> &[u8] {
    match argv0.iter().rposition(|&b| b == b'/') {
        Some(i) => &argv0[i + 1..],
        None => argv0,
    }
}

/// The usage text, as libvirt prints it for `prog`.
pub fn usage(prog: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(800);
    out.push(b'\n');
    out.extend_from_slice(prog);
    out.extend_from_slice(
        b" mode [options] [extra file] [< def.xml]\n\
\n\
\x20 Modes:\n\
\x20   -a | --add                     load profile\n\
\x20   -c | --create                  create profile from template\n\
\x20   -D | --delete                  unload profile and delete generated rules\n\
\x20   -r | --replace                 reload profile\n\
\x20   -R | --remove                  unload profile\n\
\x20 Options:\n\
\x20   -d | --dryrun                  dry run\n\
\x20   -u | --uuid <uuid>             uuid (profile name)\n\
\x20   -h | --help                    this help\n\
\x20 Extra File:\n\
\x20   -f | --add-file <file>         add file to a profile generated from XML\n\
\x20   -F | --append-file <file>      append file to an existing profile\n\
\n\
This command is intended to be used by libvirtd and not used directly.\n\
\n",
    );
    out
}

/// Whether `name` is a profile name libvirt accepts: exactly 44 bytes,
/// `libvirt-` and a UUID in any form its UUID parser takes.
pub fn valid_name(name: &[u8]) -> bool {
    if name.len() != PROFILE_NAME_LEN || !name.starts_with(NAME_PREFIX) {
        return false;
    }
    match std::str::from_utf8(&name[NAME_PREFIX.len()..]) {
        Ok(text) => DomainUuid::parse(text).is_ok(),
        Err(_) => false,
    }
}

fn getopt_message(argv0: &[u8], parts: &[&[u8]]) -> ArgsError {
    let mut msg = argv0.to_vec();
    msg.extend_from_slice(b": ");
    for p in parts {
        msg.extend_from_slice(p);
    }
    ArgsError::Unsupported { getopt: Some(msg) }
}

/// Parses `argv` (argv[0] first).
pub fn parse(argv: &[Vec<u8>]) -> Result<Parsed, ArgsError> {
    let argv0: &[u8] = argv.first().map(Vec::as_slice).unwrap_or(b"");
    let mut st = State::default();
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].as_slice();
        i += 1;
        if arg == b"--" {
            break;
        }
        if let Some(body) = arg.strip_prefix(b"--") {
            let (name, value) = match body.iter().position(|&b| b == b'=') {
                Some(eq) => (&body[..eq], Some(&body[eq + 1..])),
                None => (body, None),
            };
            let (long, has_arg, val) = find_long(argv0, body, name)?;
            let optarg = match (has_arg, value) {
                (HasArg::No, Some(_)) => {
                    return Err(getopt_message(
                        argv0,
                        &[
                            b"option '--",
                            long.as_bytes(),
                            b"' doesn't allow an argument",
                        ],
                    ))
                }
                (HasArg::No, None) => None,
                (HasArg::Required, Some(v)) => Some(v.to_vec()),
                (HasArg::Required, None) => match argv.get(i) {
                    Some(next) => {
                        i += 1;
                        Some(next.clone())
                    }
                    None => {
                        return Err(getopt_message(
                            argv0,
                            &[b"option '--", long.as_bytes(), b"' requires an argument"],
                        ))
                    }
                },
            };
            if let Step::Help = handle(&mut st, val, optarg)? {
                return Ok(Parsed::Help);
            }
            continue;
        }
        if arg.len() < 2 || arg[0] != b'-' {
            // A non-option: getopt permutes it to the end; libvirt ignores it.
            continue;
        }
        let mut j = 1;
        while j < arg.len() {
            let c = arg[j];
            j += 1;
            let has_arg = match short_has_arg(c) {
                Some(h) => h,
                None => {
                    return Err(getopt_message(argv0, &[b"invalid option -- '", &[c], b"'"]));
                }
            };
            let optarg = match has_arg {
                HasArg::No => None,
                HasArg::Required if j < arg.len() => {
                    let v = arg[j..].to_vec();
                    j = arg.len();
                    Some(v)
                }
                HasArg::Required => match argv.get(i) {
                    Some(next) => {
                        i += 1;
                        Some(next.clone())
                    }
                    None => {
                        return Err(getopt_message(
                            argv0,
                            &[b"option requires an argument -- '", &[c], b"'"],
                        ))
                    }
                },
            };
            if let Step::Help = handle(&mut st, c, optarg)? {
                return Ok(Parsed::Help);
            }
        }
    }

    // libvirt's post-parse checks, in its order. ("bad command" cannot
    // happen: only mode options set the mode.)
    let name = match &st.uuid {
        Some(u) if valid_name(u) => u,
        _ => return Err(ArgsError::InvalidUuid),
    };
    let mode = st.mode.ok_or(ArgsError::NoMode)?;
    // valid_name() proved the name is UTF-8.
    let name = String::from_utf8(name.clone()).map_err(|_| ArgsError::InvalidUuid)?;
    Ok(Parsed::Run(Args {
        mode,
        dry_run: st.dry_run,
        name,
        new_file: st.new_file,
        append: st.append,
    }))
}

/// Finds a long option by exact name or unique prefix, with getopt's
/// messages for unknown and ambiguous names.
fn find_long(
    argv0: &[u8],
    body: &[u8],
    name: &[u8],
) -> Result<(&'static str, HasArg, u8), ArgsError> {
    if let Some(&(n, h, v)) = LONG.iter().find(|(n, _, _)| n.as_bytes() == name) {
        return Ok((n, h, v));
    }
    let matches: Vec<_> = LONG
        .iter()
        .filter(|(n, _, _)| n.as_bytes().starts_with(name))
        .collect();
    match matches.as_slice() {
        [] => Err(getopt_message(
            argv0,
            &[b"unrecognized option '--", body, b"'"],
        )),
        [&(n, h, v)] => Ok((n, h, v)),
        many => {
            let mut list = Vec::new();
            for (n, _, _) in many {
                list.extend_from_slice(b" '--");
                list.extend_from_slice(n.as_bytes());
                list.push(b'\'');
            }
            Err(getopt_message(
                argv0,
                &[
                    b"option '--",
                    body,
                    b"' is ambiguous; possibilities:",
                    &list,
                ],
            ))
        }
    }
}

/// Handles one option, as libvirt's option loop does.
fn handle(st: &mut State, opt: u8, arg: Option<Vec<u8>>) -> Result<Step, ArgsError> {
    match opt {
        b'a' => st.mode = Some(Mode::Add),
        b'c' => st.mode = Some(Mode::Create),
        b'D' => st.mode = Some(Mode::Delete),
        b'r' => st.mode = Some(Mode::Replace),
        b'R' => st.mode = Some(Mode::Remove),
        b'd' => st.dry_run = true,
        b'h' => return Ok(Step::Help),
        b'u' => {
            let value = arg.unwrap_or_default();
            if value.len() > PROFILE_NAME_LEN {
                return Err(ArgsError::InvalidUuid);
            }
            st.uuid = Some(value);
        }
        b'f' | b'F' => {
            st.new_file = arg;
            st.append = opt == b'F';
        }
        // -H, -b, -p: accepted by the option string, handled by nothing.
        _ => return Err(ArgsError::Unsupported { getopt: None }),
    }
    Ok(Step::Continue)
}

#[cfg(test)]
mod tests {
    use super::*;

    const U: &str = "libvirt-00000000-0000-0000-0000-0123456789ab";

    fn p(args: &[&str]) -> Result<Parsed, ArgsError> {
        let mut v = vec![b"/usr/lib/libvirt/virt-aa-helper".to_vec()];
        v.extend(args.iter().map(|a| a.as_bytes().to_vec()));
        parse(&v)
    }

    fn run(args: &[&str]) -> Args {
        match p(args) {
            Ok(Parsed::Run(a)) => a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    fn getopt(args: &[&str]) -> String {
        match p(args) {
            Err(ArgsError::Unsupported { getopt: Some(m) }) => String::from_utf8(m).unwrap(),
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn modes_and_last_wins() {
        assert_eq!(run(&["-a", "-u", U]).mode, Mode::Add);
        assert_eq!(run(&["-c", "-R", "-u", U]).mode, Mode::Remove);
        assert_eq!(run(&["--create", "--uuid", U, "-D"]).mode, Mode::Delete);
        assert_eq!(run(&["--rep", &format!("--uuid={U}")]).mode, Mode::Replace);
        assert_eq!(run(&["--rem", "-u", U]).mode, Mode::Remove);
        assert_eq!(run(&["--de", "-u", U]).mode, Mode::Delete);
    }

    #[test]
    fn bundling_and_attached_arguments() {
        let a = run(&["-dr", &format!("-u{U}")]);
        assert_eq!((a.mode, a.dry_run), (Mode::Replace, true));
        let a = run(&[&format!("-rdu{U}")]);
        assert_eq!(
            (a.mode, a.dry_run, a.name.as_str()),
            (Mode::Replace, true, U)
        );
        let a = run(&["-r", "-u", U, "-F/x/y"]);
        assert_eq!(
            (a.new_file.as_deref(), a.append),
            (Some(&b"/x/y"[..]), true)
        );
        // An option argument may start with '-'.
        let a = run(&["-r", "-f", "-weird", "-u", U]);
        assert_eq!(a.new_file.as_deref(), Some(&b"-weird"[..]));
    }

    #[test]
    fn permutation_and_terminator() {
        assert_eq!(run(&["extra", "-a", "more", "-u", U, "x"]).mode, Mode::Add);
        // After "--" nothing is an option.
        assert_eq!(run(&["-a", "-u", U, "--", "-x", "--foo"]).mode, Mode::Add);
        assert_eq!(p(&["--", "-a", "-u", U]), Err(ArgsError::InvalidUuid));
        // A lone "-" is a non-option.
        assert_eq!(run(&["-", "-a", "-u", U]).mode, Mode::Add);
    }

    #[test]
    fn long_file_options_carry_no_file() {
        let a = run(&["-r", "-u", U, "-f", "/a", "--add-file"]);
        assert_eq!((a.new_file, a.append), (None, false));
        let a = run(&["-r", "-u", U, "-f", "/a", "--append-file"]);
        assert_eq!((a.new_file, a.append), (None, true));
        let a = run(&["-r", "-u", U, "-F", "/a", "-f", "/b"]);
        assert_eq!((a.new_file.as_deref(), a.append), (Some(&b"/b"[..]), false));
    }

    #[test]
    fn getopt_messages() {
        let h = "/usr/lib/libvirt/virt-aa-helper";
        assert_eq!(getopt(&["-x"]), format!("{h}: invalid option -- 'x'"));
        assert_eq!(getopt(&["-:"]), format!("{h}: invalid option -- ':'"));
        assert_eq!(
            getopt(&["-W", "foo"]),
            format!("{h}: invalid option -- 'W'")
        );
        assert_eq!(getopt(&["-dz"]), format!("{h}: invalid option -- 'z'"));
        assert_eq!(
            getopt(&["--foo"]),
            format!("{h}: unrecognized option '--foo'")
        );
        assert_eq!(
            getopt(&["--foo=bar"]),
            format!("{h}: unrecognized option '--foo=bar'")
        );
        assert_eq!(
            getopt(&["--d"]),
            format!("{h}: option '--d' is ambiguous; possibilities: '--dryrun' '--delete'")
        );
        assert_eq!(
            getopt(&["--a"]),
            format!(
                "{h}: option '--a' is ambiguous; possibilities: '--add' '--add-file' '--append-file'"
            )
        );
        assert_eq!(
            getopt(&["--ad=3"]),
            format!("{h}: option '--ad=3' is ambiguous; possibilities: '--add' '--add-file'")
        );
        assert_eq!(
            getopt(&["--re"]),
            format!("{h}: option '--re' is ambiguous; possibilities: '--replace' '--remove'")
        );
        assert_eq!(
            getopt(&["--=x"]),
            format!(
                "{h}: option '--=x' is ambiguous; possibilities: '--add' '--create' '--dryrun' \
                 '--delete' '--add-file' '--append-file' '--help' '--replace' '--remove' '--uuid'"
            )
        );
        assert_eq!(
            getopt(&["--add=3"]),
            format!("{h}: option '--add' doesn't allow an argument")
        );
        assert_eq!(
            getopt(&["--h=x"]),
            format!("{h}: option '--help' doesn't allow an argument")
        );
        assert_eq!(
            getopt(&["--add-file=x"]),
            format!("{h}: option '--add-file' doesn't allow an argument")
        );
        assert_eq!(
            getopt(&["-u"]),
            format!("{h}: option requires an argument -- 'u'")
        );
        assert_eq!(
            getopt(&["-H"]),
            format!("{h}: option requires an argument -- 'H'")
        );
        assert_eq!(
            getopt(&["--uu"]),
            format!("{h}: option '--uuid' requires an argument")
        );
        assert_eq!(
            getopt(&["-a", "-u", U, "-u"]),
            format!("{h}: option requires an argument -- 'u'")
        );
    }

    #[test]
    fn non_utf8_bytes_are_echoed_raw() {
        let v = vec![b"prog".to_vec(), vec![b'-', 0xc3, 0xa9]];
        assert_eq!(
            parse(&v),
            Err(ArgsError::Unsupported {
                getopt: Some(b"prog: invalid option -- '\xc3'".to_vec())
            })
        );
    }

    #[test]
    fn unhandled_options_are_unsupported_without_getopt_text() {
        for args in [
            &["-p", "1"][..],
            &["-b", "x"],
            &["-Hx"],
            &["-a", "-p1", "-u", U],
        ] {
            assert_eq!(
                p(args),
                Err(ArgsError::Unsupported { getopt: None }),
                "{args:?}"
            );
        }
    }

    #[test]
    fn errors_stop_at_the_first_problem_in_order() {
        // -h is acted on when reached.
        assert_eq!(p(&["-h", "-x"]), Ok(Parsed::Help));
        assert_eq!(p(&["--h"]), Ok(Parsed::Help));
        assert!(matches!(
            p(&["-x", "-h"]),
            Err(ArgsError::Unsupported { .. })
        ));
        // A too-long -u fails at once, before later options.
        assert_eq!(
            p(&["-u", &format!("{U}a"), "-x"]),
            Err(ArgsError::InvalidUuid)
        );
    }

    #[test]
    fn uuid_checks_come_before_the_mode_check() {
        assert_eq!(p(&[]), Err(ArgsError::InvalidUuid));
        assert_eq!(p(&["-d"]), Err(ArgsError::InvalidUuid));
        assert_eq!(p(&["-u", U]), Err(ArgsError::NoMode));
        assert_eq!(p(&["--uuid=", "-a"]), Err(ArgsError::InvalidUuid));
    }

    #[test]
    fn uuid_validation() {
        assert!(valid_name(U.as_bytes()));
        assert!(valid_name(b"libvirt-00000000 0000 0000 0000 0123456789AB"));
        let hex = "00000000000000000000000123456789ab".replacen("000", "0", 1);
        assert_eq!(hex.len(), 32);
        for ok in [
            format!("libvirt-  {hex}  "),
            format!("libvirt-----{hex}"),
            format!("libvirt-\t{hex}   "),
        ] {
            assert_eq!(ok.len(), 44);
            assert!(valid_name(ok.as_bytes()), "{ok:?}");
        }
        // Only whitespace may follow the last pair.
        assert!(!valid_name(format!("libvirt---{hex}-").as_bytes()));
        assert!(!valid_name(b"libvirt-00000000-0000-0000-0000-0123456789ag"));
        assert!(!valid_name(b"libvirt-0000000000000000000000000123456789ab"));
        assert!(!valid_name(b"LIBVIRT-00000000-0000-0000-0000-0123456789ab"));
        assert!(!valid_name(b"libvirt-00000000-0000-0000-0000-0123456789a"));
        assert!(!valid_name(
            b"libvirt-00000000-0000-0000-0000-0123456789\xff\xfe"
        ));
        assert!(!valid_name(b""));
    }

    #[test]
    fn program_name_is_the_basename() {
        assert_eq!(
            program_name(b"/usr/lib/libvirt/virt-aa-helper"),
            b"virt-aa-helper"
        );
        assert_eq!(program_name(b"a/b/"), b"");
        assert_eq!(program_name(b""), b"");
        assert_eq!(program_name(b"helper"), b"helper");
    }

    #[test]
    fn usage_matches_libvirt() {
        let u = usage(b"virt-aa-helper");
        assert_eq!(u.len(), 742);
        assert!(u.starts_with(b"\nvirt-aa-helper mode [options] [extra file] [< def.xml]\n\n"));
        assert!(u.ends_with(b"not used directly.\n\n"));
    }
}
