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

    fn line(&mut self, level: &[u8], text: &[u8]) {
        self.stderr.extend_from_slice(&self.prog);
        self.stderr.extend_from_slice(level);
        self.stderr.extend_from_slice(text);
        self.stderr.push(b'\n');
    }

    pub fn error(&mut self, text: impl AsRef<[u8]>) {
        self.line(b": error: ", text.as_ref());
    }

    pub fn warning(&mut self, text: impl AsRef<[u8]>) {
        self.line(b": warning: ", text.as_ref());
    }

    pub fn info(&mut self, text: impl AsRef<[u8]>) {
        self.line(b":\n", text.as_ref());
    }

    /// A line exactly as given (getopt's messages).
    pub fn raw_line(&mut self, text: &[u8]) {
        self.stderr.extend_from_slice(text);
        self.stderr.push(b'\n');
    }
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
}
