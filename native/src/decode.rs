//! Strict decoding of one JSON record against a schema, with exactly the acceptance of
//! processor/formats/decode.ts (or less): the record must be UTF-8 and a JSON object, the last
//! occurrence of a key wins, unknown keys are validated and skipped (without recursion), and each
//! schema field's value is checked by its type's rules. Values land in a reused [`Row`].
use crate::json::Cursor;

/// A field's type (the schema's names: int, long, double, string, boolean, timestamp-millis).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Int,
    Long,
    Double,
    Str,
    Bool,
    Ts,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Kind> {
        Some(match name {
            "int" => Kind::Int,
            "long" => Kind::Long,
            "double" => Kind::Double,
            "string" => Kind::Str,
            "boolean" => Kind::Bool,
            "timestamp-millis" => Kind::Ts,
            _ => return None,
        })
    }
}

pub struct Field {
    pub name: String,
    pub kind: Kind,
    pub nullable: bool,
}

/// The fields and a hash table from key bytes to field index.
pub struct Schema {
    pub fields: Vec<Field>,
    table: Vec<u32>,
    mask: usize,
}

const EMPTY: u32 = u32::MAX;

/// The table position of a key: its length and its first, middle and last bytes (field names of
/// one schema rarely share all four; the table compares the whole key on a hit).
#[inline]
fn hash(bytes: &[u8]) -> usize {
    let n = bytes.len();
    if n == 0 {
        return 0;
    }
    let h = (n as u64) << 24 | (bytes[0] as u64) << 16 | (bytes[n / 2] as u64) << 8 | bytes[n - 1] as u64;
    (h.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize
}

impl Schema {
    pub fn new(fields: Vec<Field>) -> Schema {
        let size = (fields.len() * 4).next_power_of_two().max(8);
        let mut table = vec![EMPTY; size];
        for (i, f) in fields.iter().enumerate() {
            let mut at = hash(f.name.as_bytes()) & (size - 1);
            while table[at] != EMPTY {
                at = (at + 1) & (size - 1);
            }
            table[at] = i as u32;
        }
        Schema { fields, table, mask: size - 1 }
    }

    #[inline]
    pub fn lookup(&self, key: &[u8]) -> Option<usize> {
        let mut at = hash(key) & self.mask;
        loop {
            let i = self.table[at];
            if i == EMPTY {
                return None;
            }
            if self.fields[i as usize].name.as_bytes() == key {
                return Some(i as usize);
            }
            at = (at + 1) & self.mask;
        }
    }
}

/// Where a field's (last) value is in the record.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    Missing,
    Null,
    True,
    False,
    Num { start: u32, end: u32 },
    /// The content of a string (without quotes); `escaped` when it holds a backslash.
    Str { start: u32, end: u32, escaped: bool },
    /// An object or an array.
    Other,
}

/// A decoded value.
#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Value {
    Null,
    /// int, long and timestamp-millis.
    I(i64),
    F(f64),
    B(bool),
    /// A range of [`Row::strings`].
    S(u32, u32),
}

/// One decoded record, reused from record to record.
pub struct Row {
    pub values: Vec<Value>,
    pub strings: Vec<u8>,
    toks: Vec<Tok>,
    stack: Vec<u8>,
    key: Vec<u8>,
}

impl Row {
    pub fn new(fields: usize) -> Row {
        Row { values: vec![Value::Null; fields], strings: Vec::new(), toks: vec![Tok::Missing; fields], stack: Vec::new(), key: Vec::new() }
    }

    pub fn str(&self, start: u32, end: u32) -> &[u8] {
        &self.strings[start as usize..end as usize]
    }
}

/// Appends the unescaped content of a JSON string (already checked by `Cursor::string`) to `out`;
/// a lone surrogate becomes U+FFFD, as a JS string holding one is written in UTF-8.
pub fn unescape(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        let c = s[i];
        if c != b'\\' {
            let next = s[i..].iter().position(|&b| b == b'\\').map_or(s.len(), |p| i + p);
            out.extend_from_slice(&s[i..next]);
            i = next;
            continue;
        }
        let e = s[i + 1];
        i += 2;
        let simple = match e {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            _ => 0,
        };
        if e != b'u' {
            out.push(simple);
            continue;
        }
        let unit = hex4(&s[i..i + 4]);
        i += 4;
        let code = if (0xd800..0xdc00).contains(&unit) {
            // A high surrogate: a pair only with a low one escaped right after it.
            if s.len() >= i + 6 && s[i] == b'\\' && s[i + 1] == b'u' {
                let low = hex4(&s[i + 2..i + 6]);
                if (0xdc00..0xe000).contains(&low) {
                    i += 6;
                    0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                } else {
                    0xfffd
                }
            } else {
                0xfffd
            }
        } else if (0xdc00..0xe000).contains(&unit) {
            0xfffd
        } else {
            unit
        };
        let ch = char::from_u32(code).unwrap_or('\u{fffd}');
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
}

fn hex4(h: &[u8]) -> u32 {
    h.iter().fold(0, |acc, &c| acc * 16 + (c as char).to_digit(16).unwrap_or(0))
}

const INT32_MIN: f64 = -2_147_483_648.0;
const INT32_MAX: f64 = 2_147_483_647.0;
const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
const MAX_EPOCH_MS: f64 = 8.64e15;

/// Decodes `record` into `row`; false when the JS decoder would refuse it (or might: the caller
/// then asks the JS decoder).
pub fn decode(schema: &Schema, record: &[u8], row: &mut Row) -> bool {
    let record = record.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(record);
    if std::str::from_utf8(record).is_err() {
        return false;
    }
    for t in row.toks.iter_mut() {
        *t = Tok::Missing;
    }
    if scan_object(schema, record, row).is_none() {
        return false;
    }
    row.strings.clear();
    for (i, field) in schema.fields.iter().enumerate() {
        let tok = row.toks[i];
        let value = match convert(field.kind, tok, record, &mut row.strings) {
            Some(v) => v,
            None => return false,
        };
        if value == Value::Null && !field.nullable {
            return false;
        }
        row.values[i] = value;
    }
    true
}

fn scan_object(schema: &Schema, record: &[u8], row: &mut Row) -> Option<()> {
    let mut c = Cursor::new(record);
    let (toks, key, stack) = (&mut row.toks, &mut row.key, &mut row.stack);
    c.object(|c, start, end, escaped| {
        let field = if escaped {
            key.clear();
            unescape(&record[start..end], key);
            schema.lookup(key)
        } else {
            schema.lookup(&record[start..end])
        };
        let tok = value(c, stack)?;
        if let Some(f) = field {
            toks[f] = tok;
        }
        Some(())
    })?;
    c.at_end().then_some(())
}

/// One value as a token (objects and arrays are skipped whole).
fn value(c: &mut Cursor, stack: &mut Vec<u8>) -> Option<Tok> {
    match c.peek()? {
        b'"' => {
            let (start, end, escaped) = c.string()?;
            Some(Tok::Str { start: start as u32, end: end as u32, escaped })
        }
        b't' => c.literal(b"true").map(|_| Tok::True),
        b'f' => c.literal(b"false").map(|_| Tok::False),
        b'n' => c.literal(b"null").map(|_| Tok::Null),
        b'{' | b'[' => c.skip_value(stack).map(|_| Tok::Other),
        _ => {
            let (start, end) = c.number()?;
            Some(Tok::Num { start: start as u32, end: end as u32 })
        }
    }
}

/// A token's value for a field of `kind`: None when refused, Value::Null for null or missing.
fn convert(kind: Kind, tok: Tok, record: &[u8], strings: &mut Vec<u8>) -> Option<Value> {
    match tok {
        Tok::Missing | Tok::Null => Some(Value::Null),
        Tok::Other => None,
        Tok::True | Tok::False => (kind == Kind::Bool).then_some(Value::B(tok == Tok::True)),
        Tok::Num { start, end } => {
            let text = &record[start as usize..end as usize];
            // The grammar was checked: ASCII digits, sign, point, exponent.
            let f = parse_f64(text)?;
            match kind {
                Kind::Int => (f.fract() == 0.0 && (INT32_MIN..=INT32_MAX).contains(&f)).then(|| Value::I(f as i64)),
                Kind::Double => f.is_finite().then_some(Value::F(f)),
                Kind::Long => {
                    if f.fract() == 0.0 && f.abs() <= MAX_SAFE {
                        Some(Value::I(f as i64))
                    } else if f.is_finite() {
                        exact_integer(text).map(Value::I)
                    } else {
                        None
                    }
                }
                Kind::Ts => (f.fract() == 0.0 && f.abs() <= MAX_SAFE && f.abs() <= MAX_EPOCH_MS).then(|| Value::I(f as i64)),
                Kind::Str | Kind::Bool => None,
            }
        }
        Tok::Str { start, end, escaped } => {
            let raw = &record[start as usize..end as usize];
            let at = strings.len();
            if escaped {
                unescape(raw, strings);
            } else {
                strings.extend_from_slice(raw);
            }
            let text = &strings[at..];
            match kind {
                Kind::Str => Some(Value::S(at as u32, strings.len() as u32)),
                Kind::Long => {
                    let v = long_string(text);
                    strings.truncate(at);
                    v.map(Value::I)
                }
                Kind::Ts => {
                    let v = parse_iso(text);
                    strings.truncate(at);
                    v.map(Value::I)
                }
                _ => {
                    strings.truncate(at);
                    None
                }
            }
        }
    }
}

/// Exact powers of ten as doubles (10^22 is the largest exactly representable).
const POW10: [f64; 23] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/// The correctly rounded value of a JSON number token (its grammar already checked), as
/// `JSON.parse` gives it. Clinger's fast path: a decimal mantissa of at most 2^53 and a power of
/// ten of at most 22 are both exact doubles, so one multiplication or division rounds once,
/// correctly; anything else goes to the standard library's parser (also correctly rounded).
#[inline]
pub fn parse_f64(token: &[u8]) -> Option<f64> {
    let (negative, digits) = match token.first() {
        Some(b'-') => (true, &token[1..]),
        _ => (false, token),
    };
    let mut mantissa: u64 = 0;
    let mut count = 0usize;
    let mut scale: i32 = 0;
    let mut i = 0;
    while i < digits.len() && digits[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10).wrapping_add((digits[i] - b'0') as u64);
        count += 1;
        i += 1;
    }
    if i < digits.len() && digits[i] == b'.' {
        i += 1;
        while i < digits.len() && digits[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add((digits[i] - b'0') as u64);
            count += 1;
            scale -= 1;
            i += 1;
        }
    }
    // An exponent, more than 19 digits (the mantissa may have wrapped) or a mantissa over 2^53: the slow path.
    if i != digits.len() || count > 19 || mantissa > (1u64 << 53) || scale < -22 {
        return unsafe { std::str::from_utf8_unchecked(token) }.parse().ok();
    }
    let magnitude = if scale == 0 { mantissa as f64 } else { mantissa as f64 / POW10[(-scale) as usize] };
    Some(if negative { -magnitude } else { magnitude })
}

/// A long from a string: 1–40 characters, an optional leading '-', then ASCII digits, within 64 bits.
fn long_string(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 40 {
        return None;
    }
    let digits = if s[0] == b'-' { &s[1..] } else { s };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: i128 = 0;
    for &d in digits {
        v = v * 10 + (d - b'0') as i128;
        if v > (i64::MAX as i128) + 1 {
            return None;
        }
    }
    let v = if s[0] == b'-' { -v } else { v };
    i64::try_from(v).ok()
}

/// The exact value of a JSON number token when it is an integer within 64 bits (`9.2e18`, `12.0`).
pub fn exact_integer(token: &[u8]) -> Option<i64> {
    let (negative, rest) = match token.strip_prefix(b"-") {
        Some(r) => (true, r),
        None => (false, token),
    };
    let mantissa_end = rest.iter().position(|&c| c == b'e' || c == b'E').unwrap_or(rest.len());
    let (mantissa, exponent) = rest.split_at(mantissa_end);
    let exponent: i64 = if exponent.is_empty() {
        0
    } else {
        let e = &exponent[1..];
        let (sign, digits) = match e.first() {
            Some(b'+') => (1, &e[1..]),
            Some(b'-') => (-1, &e[1..]),
            _ => (1, e),
        };
        // A huge exponent: JS gives up beyond 400 (and anything that large is out of range anyway).
        if digits.len() > 6 {
            return None;
        }
        sign * std::str::from_utf8(digits).ok()?.parse::<i64>().ok()?
    };
    if exponent > 400 {
        return None;
    }
    let (whole, fraction) = match mantissa.iter().position(|&c| c == b'.') {
        Some(p) => (&mantissa[..p], &mantissa[p + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    let mut digits: Vec<u8> = whole.iter().chain(fraction.iter()).copied().collect();
    let mut shift = exponent - fraction.len() as i64;
    if shift < 0 {
        let keep = digits.len() as i64 + shift;
        if keep < 0 {
            // Every digit is dropped: an integer only if they are all zero (the value is then 0).
            return digits.iter().all(|&d| d == b'0').then_some(0);
        }
        if !digits[keep as usize..].iter().all(|&d| d == b'0') {
            return None;
        }
        digits.truncate(keep as usize);
        shift = 0;
    }
    let mut v: i128 = 0;
    let limit = (i64::MAX as i128) + 1;
    for &d in &digits {
        v = v * 10 + (d - b'0') as i128;
        if v > limit {
            return None;
        }
    }
    for _ in 0..shift {
        if v == 0 {
            break;
        }
        v *= 10;
        if v > limit {
            return None;
        }
    }
    let v = if negative { -v } else { v };
    i64::try_from(v).ok()
}

#[inline]
fn d2(s: &[u8], at: usize) -> Option<i64> {
    let a = s.get(at)?.wrapping_sub(b'0');
    let b = s.get(at + 1)?.wrapping_sub(b'0');
    (a <= 9 && b <= 9).then(|| a as i64 * 10 + b as i64)
}

/// Epoch ms of `YYYY-MM-DDTHH:MM[:SS[.fff…]](Z|±HH:MM|±HHMM)` (decode.ts `parseIsoTimestamp`).
pub fn parse_iso(s: &[u8]) -> Option<i64> {
    let len = s.len();
    if len < 17 {
        return None;
    }
    let year = d2(s, 0)? * 100 + d2(s, 2)?;
    let month = d2(s, 5)?;
    let day = d2(s, 8)?;
    let hour = d2(s, 11)?;
    let minute = d2(s, 14)?;
    let sep = s[10];
    if s[4] != b'-' || s[7] != b'-' || s[13] != b':' || !(sep == b'T' || sep == b't' || sep == b' ') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || hour > 23 || minute > 59 || day > days_in_month(year, month) {
        return None;
    }
    let mut i = 16;
    let mut second = 0;
    let mut millis = 0;
    if s.get(i) == Some(&b':') {
        second = d2(s, i + 1)?;
        if second > 59 {
            return None;
        }
        i += 3;
        if s.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while let Some(c) = s.get(i) {
                let d = c.wrapping_sub(b'0');
                if d > 9 {
                    break;
                }
                let place = i - start;
                if place < 3 {
                    millis += d as i64 * [100, 10, 1][place];
                }
                i += 1;
            }
            if i == start {
                return None;
            }
        }
    }
    let mut offset_minutes = 0;
    match s.get(i) {
        Some(b'Z') | Some(b'z') => i += 1,
        Some(&z) if z == b'+' || z == b'-' => {
            let oh = d2(s, i + 1)?;
            let om;
            if s.get(i + 3) == Some(&b':') {
                om = d2(s, i + 4)?;
                i += 6;
            } else {
                om = d2(s, i + 3)?;
                i += 5;
            }
            if oh > 23 || om > 59 {
                return None;
            }
            offset_minutes = (oh * 60 + om) * if z == b'-' { -1 } else { 1 };
        }
        _ => return None,
    }
    if i != len {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + millis - offset_minutes * 60_000)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 => {
            if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 {
                29
            } else {
                28
            }
        }
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::new(vec![
            Field { name: "i".into(), kind: Kind::Int, nullable: false },
            Field { name: "l".into(), kind: Kind::Long, nullable: false },
            Field { name: "s".into(), kind: Kind::Str, nullable: true },
            Field { name: "t".into(), kind: Kind::Ts, nullable: true },
        ])
    }

    #[test]
    fn values_and_refusals() {
        let schema = schema();
        let mut row = Row::new(4);
        assert!(decode(&schema, br#"{"i":1.0,"l":"-0042","s":"a\u00e9\ud83d\ude00\ud800","x":[{"y":[1,2,{}]}]}"#, &mut row));
        assert_eq!(row.values[0], Value::I(1));
        assert_eq!(row.values[1], Value::I(-42));
        let Value::S(a, b) = row.values[2] else { panic!() };
        assert_eq!(row.str(a, b), "aé😀\u{fffd}".as_bytes());
        assert_eq!(row.values[3], Value::Null);
        assert!(decode(&schema, br#"{"i":"x","i":2,"l":9.2e18,"t":"2018-01-01T07:21:05.5+01:00"}"#, &mut row));
        assert_eq!(row.values[1], Value::I(9_200_000_000_000_000_000));
        assert_eq!(row.values[3], Value::I(1514787665500));
        for bad in [
            &br#"{"i":2147483648,"l":1}"#[..],
            br#"{"i":1}"#,
            br#"{"i":1,"l":1.5}"#,
            br#"{"i":1,"l":9223372036854775808}"#,
            br#"{"i":1,"l":1,"x":[1,]}"#,
            br#"{"i":1,"l":1} x"#,
            br#"{"i":1,"l":1,"t":"2018-02-30T00:00Z"}"#,
            b"{\"i\":1,\"l\":1,\"s\":\"\xff\"}",
            br#"[1]"#,
            b"",
        ] {
            assert!(!decode(&schema, bad, &mut row), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn numbers_round_as_the_standard_parser_does() {
        let mut tokens: Vec<String> = ["0", "-0", "0.1", "-0.5", "12.34", "9007199254740992", "9007199254740993", "0.000001", "123456789.123456789",
            "1e5", "1.5e-3", "2.2250738585072011e-308", "4.35", "0.3", "17.5", "15.18", "99999999999999999999", "1.7976931348623157e308"]
            .iter().map(|s| s.to_string()).collect();
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let whole = x % 100_000_000;
            let frac = (x >> 32) % 1_000_000_000;
            let places = (x >> 60) as usize % 10;
            tokens.push(if places == 0 { format!("{whole}") } else { format!("{whole}.{:0width$}", frac % 10u64.pow(places as u32), width = places) });
        }
        for t in &tokens {
            let standard: f64 = t.parse().unwrap();
            assert_eq!(parse_f64(t.as_bytes()).map(f64::to_bits), Some(standard.to_bits()), "{t}");
        }
    }

    #[test]
    fn exact_integers() {
        assert_eq!(exact_integer(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(exact_integer(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(exact_integer(b"9223372036854775808"), None);
        assert_eq!(exact_integer(b"92233720368547758070e-1"), Some(i64::MAX));
        assert_eq!(exact_integer(b"12.0"), Some(12));
        assert_eq!(exact_integer(b"1.5"), None);
        assert_eq!(exact_integer(b"0.0e-5"), Some(0));
        assert_eq!(exact_integer(b"1e400"), None);
    }

    #[test]
    fn deep_nesting_does_not_recurse() {
        let schema = schema();
        let mut row = Row::new(4);
        let deep = format!(r#"{{"x":{}{},"i":1,"l":2}}"#, "[".repeat(1_000_000), "]".repeat(1_000_000));
        assert!(decode(&schema, deep.as_bytes(), &mut row));
        let unbalanced = format!(r#"{{"x":{}{},"i":1,"l":2}}"#, "[".repeat(1000), "]".repeat(999));
        assert!(!decode(&schema, unbalanced.as_bytes(), &mut row));
    }
}
