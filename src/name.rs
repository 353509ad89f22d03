//! Temporary names: the alphabet, the fork-aware random generator, and the rules for prefixes
//! and suffixes.
//!
//! The random part is drawn from a ChaCha20 keystream keyed from the OS's random source, one
//! generator per thread. Drawing a name makes no system call; a forked child notices the fork
//! (see `sys::fork_generation`) and rekeys before its first name, so it never repeats its
//! parent's sequence. Names are unpredictable to other users, which matters for denial of
//! service (squatting the next name), not for safety: every creation uses `O_EXCL`.

use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::io;

use crate::{error, sys};

/// Python's alphabet: lower case, digits and underscore, safe on case-insensitive file systems.
pub(crate) const ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// The largest multiple of 37 that fits in a byte: bytes at or above it are rejected, so every
/// character is equally likely.
const REJECT_FROM: u8 = 37 * 6;

/// Appends `len` random characters of [`ALPHABET`] to `out`.
pub(crate) fn push_random(out: &mut OsString, len: usize) {
    let mut chars = [0u8; 32];
    let mut left = len;
    while left > 0 {
        let n = left.min(chars.len());
        let drawn = GENERATOR.try_with(|g| g.borrow_mut().fill_alphabet(&mut chars[..n]));
        if drawn.is_err() {
            // Called from another thread-local's destructor after ours was destroyed.
            Generator::new().fill_alphabet(&mut chars[..n]);
        }
        // The bytes are ASCII, so this is valid UTF-8 on every platform.
        out.push(std::str::from_utf8(&chars[..n]).unwrap_or_default());
        left -= n;
    }
}

/// `len` random characters of `[a-z0-9_]`, from the generator tempkit draws its own names
/// from (a ChaCha20 keystream keyed from the OS, rekeyed in a child made by `fork`).
///
/// For callers that pick names themselves and then create with
/// [`Builder::random_len`](crate::Builder::random_len)`(0)` (the Python package's
/// `_RandomNameSequence`). Costs no system call (but the first in a thread or after a fork).
///
/// # Python equivalent
/// `next(tempfile._RandomNameSequence())` for `len == 8`.
///
/// ```
/// let name = tempkit::random_name(8);
/// assert_eq!(name.len(), 8);
/// assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'));
/// ```
#[must_use]
pub fn random_name(len: usize) -> String {
    let mut out = OsString::with_capacity(len);
    push_random(&mut out, len);
    out.into_string().unwrap_or_default()
}

/// Rejects a prefix or suffix that would put the file somewhere other than `dir`: a path
/// separator or a NUL byte (Python silently creates elsewhere).
pub(crate) fn check_affix(affix: &OsStr, what: &str) -> io::Result<()> {
    if has_separator_or_nul(affix) {
        return Err(error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "temporary name {} {:?} contains a path separator or NUL",
                what, affix
            ),
        ));
    }
    Ok(())
}

/// Whether `affix` holds a path separator or NUL. Unix: a scan of the bytes, no copy.
#[cfg(unix)]
#[inline]
pub(crate) fn has_separator_or_nul(affix: &OsStr) -> bool {
    use std::os::unix::ffi::OsStrExt;
    affix.as_bytes().iter().any(|&b| b == 0 || b == b'/')
}

/// Whether `affix` holds a path separator or NUL (both ASCII, so a lossy copy keeps them; it
/// is made only for an affix that is not Unicode).
#[cfg(not(unix))]
pub(crate) fn has_separator_or_nul(affix: &OsStr) -> bool {
    let bad = |c: char| c == '\0' || std::path::is_separator(c);
    match affix.to_str() {
        Some(text) => text.chars().any(bad),
        None => affix.to_string_lossy().chars().any(bad),
    }
}

thread_local! {
    static GENERATOR: RefCell<Generator> = RefCell::new(Generator::new());
}

/// A ChaCha20 keystream generator that rekeys after `fork`.
struct Generator {
    state: [u32; 16],
    block: [u8; 64],
    used: usize,
    generation: usize,
}

impl Generator {
    fn new() -> Self {
        let mut g = Generator {
            state: [0; 16],
            block: [0; 64],
            used: 64,
            generation: 0,
        };
        g.rekey();
        g
    }

    fn rekey(&mut self) {
        let mut seed = [0u8; 48];
        sys::fill_random(&mut seed);
        self.state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for (word, bytes) in self.state[4..].iter_mut().zip(seed.chunks_exact(4)) {
            *word = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        self.used = self.block.len();
        self.generation = sys::fork_generation();
    }

    fn next_byte(&mut self) -> u8 {
        if self.used == self.block.len() {
            self.block = chacha20_block(&self.state);
            // Words 12 and 13 are a 64-bit block counter.
            self.state[12] = self.state[12].wrapping_add(1);
            if self.state[12] == 0 {
                self.state[13] = self.state[13].wrapping_add(1);
            }
            self.used = 0;
        }
        let b = self.block[self.used];
        self.used += 1;
        b
    }

    fn fill_alphabet(&mut self, out: &mut [u8]) {
        if self.generation != sys::fork_generation() {
            self.rekey();
        }
        for slot in out {
            let b = loop {
                let b = self.next_byte();
                if b < REJECT_FROM {
                    break b;
                }
            };
            *slot = ALPHABET[usize::from(b % 37)];
        }
    }
}

fn quarter_round(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

/// The ChaCha20 block function (RFC 8439, section 2.3).
fn chacha20_block(input: &[u32; 16]) -> [u8; 64] {
    let mut s = *input;
    for _ in 0..10 {
        quarter_round(&mut s, 0, 4, 8, 12);
        quarter_round(&mut s, 1, 5, 9, 13);
        quarter_round(&mut s, 2, 6, 10, 14);
        quarter_round(&mut s, 3, 7, 11, 15);
        quarter_round(&mut s, 0, 5, 10, 15);
        quarter_round(&mut s, 1, 6, 11, 12);
        quarter_round(&mut s, 2, 7, 8, 13);
        quarter_round(&mut s, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for (i, chunk) in out.chunks_exact_mut(4).enumerate() {
        chunk.copy_from_slice(&s[i].wrapping_add(input[i]).to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn chacha20_matches_the_rfc_8439_test_vector() {
        // RFC 8439, section 2.3.2: key 00..1f, counter 1, nonce 00:00:00:09:00:00:00:4a:00:00:00:00.
        let mut state = [0u32; 16];
        state[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
        for i in 0..8 {
            let b = (i * 4) as u8;
            state[4 + i] = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        state[12] = 1;
        state[13] = 0x0900_0000;
        state[14] = 0x4a00_0000;
        state[15] = 0;
        let block = chacha20_block(&state);
        let expected_start = [
            0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15, 0x50, 0x0f, 0xdd, 0x1f,
        ];
        let expected_end = [
            0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50, 0x3c, 0x4e,
        ];
        assert_eq!(&block[..12], &expected_start);
        assert_eq!(&block[52..], &expected_end);
    }

    #[test]
    fn names_use_only_the_alphabet_and_have_the_asked_length() {
        for len in [0, 1, 8, 31, 32, 33, 200] {
            let mut name = OsString::new();
            push_random(&mut name, len);
            let name = name.into_string().unwrap();
            assert_eq!(name.len(), len);
            assert!(name.bytes().all(|b| ALPHABET.contains(&b)), "{}", name);
        }
    }

    #[test]
    fn a_hundred_names_are_distinct() {
        let names: HashSet<OsString> = (0..100)
            .map(|_| {
                let mut n = OsString::new();
                push_random(&mut n, 8);
                n
            })
            .collect();
        assert_eq!(names.len(), 100);
    }

    #[test]
    fn every_character_of_the_alphabet_turns_up() {
        let mut name = OsString::new();
        push_random(&mut name, 37 * 200);
        let seen: HashSet<u8> = name.into_string().unwrap().bytes().collect();
        assert_eq!(seen.len(), 37);
    }

    #[test]
    fn affixes_with_separators_or_nul_are_rejected() {
        for bad in ["a/b", "/", "x\0y"] {
            let err = check_affix(OsStr::new(bad), "prefix").unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        }
        for good in ["", "tmp", ".txt", "a b", "..", "é"] {
            check_affix(OsStr::new(good), "suffix").unwrap();
        }
    }
}
