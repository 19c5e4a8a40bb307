//! A JSON cursor for the two readers (records in decode.rs, GetRecords bodies in kinesis.rs): the
//! grammar of `JSON.parse` (RFC 8259), spans into the input instead of a tree, and containers
//! skipped without recursion (an explicit stack), so no input can exhaust the native stack.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `word` (little-endian) that is a quote, a backslash or a control
/// character, exact up to the first such byte (a borrow may mark bytes after it): the bytes a
/// string scan must look at.
#[inline]
fn special_bytes(word: u64) -> u64 {
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(quote) | zero(backslash) | (word.wrapping_sub(ONES * 0x20) & !word)) & HIGHS
}

pub struct Cursor<'a> {
    pub b: &'a [u8],
    pub i: usize,
}

impl<'a> Cursor<'a> {
    pub fn new(b: &'a [u8]) -> Cursor<'a> {
        Cursor { b, i: 0 }
    }

    #[inline]
    pub fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if c == b' ' || c == b'\n' || c == b'\r' || c == b'\t' {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    /// The next byte after whitespace.
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    /// Consumes `c` (after whitespace).
    #[inline]
    pub fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// Whether only whitespace is left.
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.i == self.b.len()
    }

    /// A string (after whitespace): its content span and whether it holds an escape. Inlined into
    /// its callers: its result, returned through memory, stalled them on the store (perf annotate).
    #[inline(always)]
    pub fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.eat(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            // Eight plain bytes at a time, up to the first that needs a look.
            while let Some(word) = self.b.get(self.i..self.i + 8) {
                let special = special_bytes(u64::from_le_bytes(word.try_into().unwrap_or([0; 8])));
                if special != 0 {
                    self.i += (special.trailing_zeros() / 8) as usize;
                    break;
                }
                self.i += 8;
            }
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some((start, end, escaped));
                }
                b'\\' => {
                    escaped = true;
                    match *self.b.get(self.i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 2,
                        b'u' => {
                            let hex = self.b.get(self.i + 2..self.i + 6)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 6;
                        }
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => self.i += 1,
            }
        }
    }

    /// A number token's span (after whitespace): `-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?`. Inlined
    /// (see `string`).
    #[inline(always)]
    pub fn number(&mut self) -> Option<(usize, usize)> {
        self.ws();
        let b = self.b;
        let start = self.i;
        let digits = |mut i: usize| {
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            i
        };
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(c) if c.is_ascii_digit() => i = digits(i),
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            let end = digits(i + 1);
            if end == i + 1 {
                return None;
            }
            i = end;
        }
        if matches!(b.get(i), Some(b'e') | Some(b'E')) {
            i += 1 + usize::from(matches!(b.get(i + 1), Some(b'+') | Some(b'-')));
            let end = digits(i);
            if end == i {
                return None;
            }
            i = end;
        }
        self.i = i;
        Some((start, i))
    }

    /// `true`, `false` or `null` (after whitespace).
    #[inline]
    pub fn literal(&mut self, word: &[u8]) -> Option<()> {
        self.ws();
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    /// Skips any value (after whitespace), containers whole.
    pub fn skip_value(&mut self, stack: &mut Vec<u8>) -> Option<()> {
        stack.clear();
        loop {
            // At the start of a value.
            match self.peek()? {
                b'{' => {
                    self.i += 1;
                    if self.peek()? == b'}' {
                        self.i += 1;
                    } else {
                        stack.push(b'}');
                        self.string()?;
                        self.eat(b':')?;
                        continue;
                    }
                }
                b'[' => {
                    self.i += 1;
                    if self.peek()? == b']' {
                        self.i += 1;
                    } else {
                        stack.push(b']');
                        continue;
                    }
                }
                b'"' => {
                    self.string()?;
                }
                b't' => self.literal(b"true")?,
                b'f' => self.literal(b"false")?,
                b'n' => self.literal(b"null")?,
                _ => {
                    self.number()?;
                }
            }
            // After a value: close containers, or go on to the next member or element.
            loop {
                let Some(&close) = stack.last() else { return Some(()) };
                let c = self.peek()?;
                if c == b',' {
                    self.i += 1;
                    if close == b'}' {
                        self.string()?;
                        self.eat(b':')?;
                    }
                    break;
                } else if c == close {
                    self.i += 1;
                    stack.pop();
                } else {
                    return None;
                }
            }
        }
    }

    /// An object (after whitespace): `member` is called at each member's value with the key's
    /// span and whether the key holds an escape, and must consume the value.
    pub fn object(&mut self, mut member: impl FnMut(&mut Self, usize, usize, bool) -> Option<()>) -> Option<()> {
        self.sequence(b'{', b'}', |c| {
            let (start, end, escaped) = c.string()?;
            c.eat(b':')?;
            member(c, start, end, escaped)
        })
    }

    /// An array (after whitespace): `element` is called at each element and must consume it.
    pub fn array(&mut self, element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.sequence(b'[', b']', element)
    }

    /// `open`, items separated by commas (`item` consumes one), `close`; or `open` `close`.
    #[inline]
    fn sequence(&mut self, open: u8, close: u8, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(open)?;
        if self.peek()? == close {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Cursor::string` one byte at a time: what the word-at-a-time scan must equal.
    fn reference(b: &[u8]) -> Option<(usize, usize, bool)> {
        let mut i = 1;
        let mut escaped = false;
        if b.first() != Some(&b'"') {
            return None;
        }
        loop {
            match *b.get(i)? {
                b'"' => return Some((1, i, escaped)),
                b'\\' => {
                    escaped = true;
                    match *b.get(i + 1)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => i += 2,
                        b'u' if b.get(i + 2..i + 6)?.iter().all(u8::is_ascii_hexdigit) => i += 6,
                        _ => return None,
                    }
                }
                0..=0x1f => return None,
                _ => i += 1,
            }
        }
    }

    #[test]
    fn the_word_scan_finds_what_the_byte_scan_finds() {
        // Every special byte (and bytes next to the thresholds) at every position of 1..24-byte
        // strings, around and across word boundaries, with and without a closing quote.
        let specials: &[&[u8]] = &[b"\"", b"\\", b"\\n", b"\\u00e9", b"\\x", b"\x00", b"\x1f", b"\x20", b"!", b"#", b"[", b"]", b"\x7f", b"\x80", b"\xff", b"\xc3\xa9", b"\\\"", b"\\u12"];
        let mut checked = 0;
        for len in 0..24 {
            for at in 0..=len {
                for special in specials {
                    for tail in [&b"\""[..], b"", b"abc\"", b"\\\"x\""] {
                        let mut s = vec![b'"'];
                        s.extend((0..at).map(|k| b'a' + (k % 26) as u8));
                        s.extend_from_slice(special);
                        s.extend((at..len).map(|k| [b'Z', 0x7e, 0xe2, 0x21][k % 4]));
                        s.extend_from_slice(tail);
                        let mut c = Cursor::new(&s);
                        let got = c.string();
                        assert_eq!(got, reference(&s), "{:?}", String::from_utf8_lossy(&s));
                        if let Some((_, end, _)) = got {
                            assert_eq!(c.i, end + 1);
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 20_000);
    }
}
