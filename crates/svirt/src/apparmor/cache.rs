//! Compiled policy kept per VM (`libvirt-<uuid>.cache`), so that a VM
//! whose policy has not changed in substance starts without compiling.
//!
//! An entry is the *key* (everything the compiled policy depends on) and
//! the binary policy `apparmor_parser -S` made from it. The key is the
//! parser's identity, the parser's features directory (which names the
//! running kernel's features), and the profile as the parser reads it after
//! preprocessing (`apparmor_parser -p`): the template, every abstraction
//! and tunable it includes, `.files` and the operator's `.override`, all
//! expanded. An entry is used only when its key is byte for byte the key of
//! now, so nothing stale is ever loaded: a change to any of those misses.
//! Keys are compared whole, never by hash.
//!
//! File format: the magic line, the key's and the binary's lengths in
//! decimal and a newline, the key, then the binary policy; an entry whose
//! lengths do not add up is ignored.

use std::path::Path;

/// First line of every entry.
pub const MAGIC: &[u8] = b"svirt-compiled-policy 1\n";
/// Largest entry read or written, and largest parser output taken.
pub const MAX_ENTRY_BYTES: usize = 64 * 1024 * 1024;

/// The parser's identity: its path and what `stat` says of the file, so a
/// new parser (an upgrade replaces the file) never reuses old output.
pub fn parser_identity(parser: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(parser)?;
    Ok(format!(
        "parser {} dev={} ino={} size={} mtime={}.{} ctime={}.{}",
        parser.display(),
        m.dev(),
        m.ino(),
        m.size(),
        m.mtime(),
        m.mtime_nsec(),
        m.ctime(),
        m.ctime_nsec()
    ))
}

/// The parser's features directory (`--print-cache-dir`), which names the
/// features of the running kernel (or of the parser's default when none).
pub fn features_dir(parser: &Path) -> Option<String> {
    let out = super::parser::capture(parser, &["--print-cache-dir".as_ref()])?;
    Some(String::from_utf8_lossy(&out).trim().to_owned())
}

/// The preprocessed profile an entry was compiled from, whatever parser
/// and features it was compiled for (`svirt precompile` compiles it again
/// for the current ones).
pub fn source_of(entry: &[u8]) -> Option<&[u8]> {
    let (key, _) = split(entry)?;
    let at = key.windows(2).position(|w| w == b"\n\n")?;
    Some(&key[at + 2..])
}

/// The key of a compilation.
pub fn key(parser_identity: &str, features_dir: &str, preprocessed: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(preprocessed.len() + 256);
    k.extend_from_slice(parser_identity.as_bytes());
    k.extend_from_slice(b"\nfeatures ");
    k.extend_from_slice(features_dir.trim().as_bytes());
    k.extend_from_slice(b"\n\n");
    k.extend_from_slice(preprocessed);
    k
}

/// An entry's bytes.
pub fn encode(key: &[u8], binary: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 24 + key.len() + binary.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(format!("{} {}\n", key.len(), binary.len()).as_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(binary);
    out
}

/// An entry's key and binary, if its lengths add up.
fn split(entry: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = entry.strip_prefix(MAGIC)?;
    let newline = rest.iter().take(42).position(|&b| b == b'\n')?;
    let (key_len, binary_len) = std::str::from_utf8(&rest[..newline])
        .ok()?
        .split_once(' ')?;
    let (key_len, binary_len): (usize, usize) = (key_len.parse().ok()?, binary_len.parse().ok()?);
    let rest = &rest[newline + 1..];
    if key_len.checked_add(binary_len)? != rest.len() {
        return None;
    }
    Some(rest.split_at(key_len))
}

/// The binary policy of an entry, if the entry is well formed, its key is
/// exactly `key` and it holds a non-empty binary.
pub fn binary_for<'a>(entry: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let (k, binary) = split(entry)?;
    (k == key && !binary.is_empty()).then_some(binary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_answers_only_its_own_key() {
        let k = key(
            "parser /sbin/apparmor_parser dev=1 ino=2",
            "/c/abc.0",
            b"profile x {}\n",
        );
        let entry = encode(&k, b"\x04\x08binary");
        assert_eq!(binary_for(&entry, &k), Some(&b"\x04\x08binary"[..]));
        // Any change of parser, features or text misses.
        for other in [
            key(
                "parser /sbin/apparmor_parser dev=1 ino=3",
                "/c/abc.0",
                b"profile x {}\n",
            ),
            key(
                "parser /sbin/apparmor_parser dev=1 ino=2",
                "/c/abd.0",
                b"profile x {}\n",
            ),
            key(
                "parser /sbin/apparmor_parser dev=1 ino=2",
                "/c/abc.0",
                b"profile x { }\n",
            ),
            k[..k.len() - 1].to_vec(),
        ] {
            assert_eq!(binary_for(&entry, &other), None);
        }
        // Truncated, empty or foreign entries miss.
        assert_eq!(binary_for(&entry[..entry.len() - 7], &k), None);
        let mut longer = entry.clone();
        longer.push(0);
        assert_eq!(binary_for(&longer, &k), None);
        assert_eq!(binary_for(&encode(&k, b""), &k), None);
        assert_eq!(binary_for(&entry[..MAGIC.len() + 3], &k), None);
        assert_eq!(binary_for(b"not an entry", &k), None);
        assert_eq!(source_of(&entry), Some(&b"profile x {}\n"[..]));
        assert_eq!(source_of(&entry[..entry.len() - 1]), None);
        let mut bad_len = MAGIC.to_vec();
        bad_len.extend_from_slice(b"99999999999999999999999999\n");
        assert_eq!(binary_for(&bad_len, &k), None);
    }

    #[test]
    fn the_parser_identity_changes_with_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("apparmor_parser");
        std::fs::write(&p, "v1").unwrap();
        let a = parser_identity(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        std::fs::write(&p, "v2 longer").unwrap();
        assert_ne!(parser_identity(&p).unwrap(), a);
    }
}
