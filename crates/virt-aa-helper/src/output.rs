//! libvirt's three message shapes, collected in order and written at the
//! end: `<prog>: error: <text>`, `<prog>: warning: <text>` and the info
//! block `<prog>:\n<text>`. All go to stderr; only usage goes to stdout.

/// What the helper prints, in order.
#[derive(Debug, Default)]
pub struct Output {
    prog: Vec<u8>,
    /// Whether to add svirt's own detail lines where libvirt prints a bare
    /// summary (off in compat mode, so the output stays libvirt's).
    pub verbose: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn new(prog: &[u8]) -> Self {
        Output {
            prog: prog.to_vec(),
            verbose: true,
            stdout: Vec::new(),
            stderr: Vec::new(),
        }
    }

    pub fn prog(&self) -> &[u8] {
        &self.prog
    }

    /// One warning or error line. The text may carry input (a path from
    /// the domain or an image header), so control characters are shown
    /// escaped: nothing can forge a line in libvirtd's log or drive the
    /// operator's terminal.
    fn line(&mut self, level: &[u8], text: &[u8]) {
        self.stderr.extend_from_slice(&self.prog);
        self.stderr.extend_from_slice(level);
        self.stderr.extend_from_slice(text);
        self.stderr.push(b'\n');
    }

    pub fn error(&mut self, text: impl AsRef<[u8]>) {
        self.line(b": error: ", &inert_bytes(text.as_ref()));
    }

    pub fn warning(&mut self, text: impl AsRef<[u8]>) {
        self.line(b": warning: ", &inert_bytes(text.as_ref()));
    }

    /// An info block: svirt's own multi-line text (rules, which cannot
    /// hold a control character, and policy paths).
    pub fn info(&mut self, text: impl AsRef<[u8]>) {
        self.line(b":\n", text.as_ref());
    }

    /// A line exactly as given (getopt's messages).
    pub fn raw_line(&mut self, text: &[u8]) {
        self.stderr.extend_from_slice(text);
        self.stderr.push(b'\n');
    }
}

/// [`svirt::policy::escape::inert`] for text that may not be UTF-8.
fn inert_bytes(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    use std::borrow::Cow;
    if let Ok(s) = std::str::from_utf8(text) {
        return match svirt::policy::escape::inert(s) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(o) => Cow::Owned(o.into_bytes()),
        };
    }
    let mut out = Vec::with_capacity(text.len() + 8);
    for &b in text {
        if b < 0x20 || b == 0x7f {
            out.extend_from_slice(format!("\\x{b:02x}").as_bytes());
        } else {
            out.push(b);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let mut o = Output::new(b"virt-aa-helper");
        o.warning("w");
        o.error("e");
        o.info("i\n");
        assert_eq!(
            String::from_utf8(o.stderr).unwrap(),
            "virt-aa-helper: warning: w\nvirt-aa-helper: error: e\nvirt-aa-helper:\ni\n\n"
        );
    }

    #[test]
    fn input_in_warnings_and_errors_cannot_forge_lines() {
        let mut o = Output::new(b"virt-aa-helper");
        o.warning("/img/a\nvirt-aa-helper: error: forged\x1b[31m");
        o.error(b"/img/\xff\n\x07".as_slice());
        assert_eq!(
            o.stderr,
            b"virt-aa-helper: warning: /img/a\\nvirt-aa-helper: error: forged\\x1b[31m\n\
              virt-aa-helper: error: /img/\xff\\x0a\\x07\n"
        );
    }
}
