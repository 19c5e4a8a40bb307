//! Kinesis GetRecords response bodies, read without building a JSON tree: the records' `Data`
//! (base64), `SequenceNumber`, `PartitionKey` and `ApproximateArrivalTimestamp`, and the response's
//! `NextShardIterator`, `MillisBehindLatest` and whether it has `ChildShards`. Anything unusual (a
//! string with an escape where a span is taken, a field of an unexpected type, broken JSON) makes
//! the parse return None: the caller then uses the JS parser, which handles (or reports) it.
use crate::decode::parse_f64;
use crate::json::Cursor;
use std::ops::Range;

/// One record of a response: spans into the body.
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord {
    /// The base64 text of `Data` (no escapes in it).
    pub data: Range<usize>,
    pub sequence_number: Range<usize>,
    /// Epoch seconds, as the service writes them.
    pub arrival_seconds: Option<f64>,
}

/// What a GetRecords response holds.
#[derive(Debug, Default, PartialEq)]
pub struct GetRecordsBody {
    pub records: Vec<KinesisRecord>,
    pub next_shard_iterator: Option<Range<usize>>,
    pub millis_behind_latest: Option<f64>,
    pub has_child_shards: bool,
}

/// A string without escapes: its content span.
fn plain_string(c: &mut Cursor) -> Option<Range<usize>> {
    let (start, end, escaped) = c.string()?;
    (!escaped).then_some(start..end)
}

/// A string holding base64 text: up to the next quote (found with memchr). Not checked here:
/// anything but base64 in it (a backslash, a control character) fails the base64 decoding.
fn base64_string(c: &mut Cursor) -> Option<Range<usize>> {
    c.eat(b'"')?;
    let start = c.i;
    let len = memchr::memchr(b'"', &c.b[start..])?;
    c.i = start + len + 1;
    Some(start..start + len)
}

fn number(c: &mut Cursor) -> Option<f64> {
    let (start, end) = c.number()?;
    parse_f64(&c.b[start..end])
}

fn record(c: &mut Cursor, stack: &mut Vec<u8>) -> Option<KinesisRecord> {
    let (mut data, mut seq, mut arrival, mut seen_pk) = (None, None, None, false);
    c.object(|c, start, end, escaped| {
        match if escaped { &b""[..] } else { &c.b[start..end] } {
            b"Data" => data = Some(base64_string(c)?),
            b"SequenceNumber" => seq = Some(plain_string(c)?),
            b"PartitionKey" => {
                c.string()?;
                seen_pk = true;
            }
            b"ApproximateArrivalTimestamp" => arrival = Some(number(c)?),
            _ => c.skip_value(stack)?,
        }
        Some(())
    })?;
    if !seen_pk {
        return None;
    }
    Some(KinesisRecord { data: data?, sequence_number: seq?, arrival_seconds: arrival })
}

/// Parses a GetRecords response body; None when it is not one this reader takes (see the module doc).
pub fn parse_get_records(body: &[u8]) -> Option<GetRecordsBody> {
    let mut c = Cursor::new(body);
    let mut out = GetRecordsBody::default();
    let mut seen_records = false;
    let mut stack = Vec::new();
    c.object(|c, start, end, escaped| {
        match if escaped { &b""[..] } else { &c.b[start..end] } {
            b"Records" if !seen_records => {
                seen_records = true;
                c.array(|c| {
                    out.records.push(record(c, &mut stack)?);
                    Some(())
                })?;
            }
            b"Records" => return None,
            b"NextShardIterator" if c.peek()? == b'n' => c.literal(b"null")?,
            b"NextShardIterator" => out.next_shard_iterator = Some(plain_string(c)?),
            b"MillisBehindLatest" => out.millis_behind_latest = Some(number(c)?),
            b"ChildShards" => {
                out.has_child_shards = true;
                c.skip_value(&mut stack)?;
            }
            _ => c.skip_value(&mut stack)?,
        }
        Some(())
    })?;
    c.at_end().then_some(out)
}

const BAD: u8 = 0xff;
const fn base64_table() -> [u8; 256] {
    let mut t = [BAD; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
}
static BASE64: [u8; 256] = base64_table();

/// Decodes standard base64 (with `=` padding, length a multiple of 4) onto the end of `out`;
/// false (and `out` as it was) on anything else.
pub fn decode_base64(src: &[u8], out: &mut Vec<u8>) -> bool {
    let Some(len) = base64_decoded_len_unchecked(src) else { return false };
    let before = out.len();
    out.resize(before + len + 3, 0);
    let dst = &mut out[before..];
    let full = if src.len() >= 4 && src[src.len() - 1] == b'=' { src.len() - 4 } else { src.len() };
    // Whole quads (no padding, so no unused bits): SIMD where the CPU has it (base64-simd
    // checks every character against the standard alphabet; '=' is refused there).
    let mut at = full / 4 * 3;
    if base64_simd::STANDARD_NO_PAD.decode(&src[..full], base64_simd::Out::from_slice(&mut dst[..at])).is_err() {
        out.truncate(before);
        return false;
    }
    if full < src.len() {
        let t = &src[full..];
        let (a, b) = (BASE64[t[0] as usize], BASE64[t[1] as usize]);
        if a > 63 || b > 63 {
            out.truncate(before);
            return false;
        }
        if t[2] == b'=' {
            // xx== : one byte; the unused bits must be zero (canonical, as the service writes).
            if t[3] != b'=' || b & 0x0f != 0 {
                out.truncate(before);
                return false;
            }
            dst[at] = (a << 2) | (b >> 4);
            at += 1;
        } else {
            let c = BASE64[t[2] as usize];
            if c > 63 || t[3] != b'=' || c & 0x03 != 0 {
                out.truncate(before);
                return false;
            }
            dst[at] = (a << 2) | (b >> 4);
            dst[at + 1] = (b << 4) | (c >> 2);
            at += 2;
        }
    }
    out.truncate(before + at);
    true
}

/// The decoded length of base64 text from its length and padding alone (the characters are
/// checked when it is decoded); None when the length or the padding cannot be base64.
pub fn base64_decoded_len_unchecked(src: &[u8]) -> Option<usize> {
    if src.len() % 4 != 0 {
        return None;
    }
    let pad = src.iter().rev().take(2).take_while(|&&c| c == b'=').count();
    Some(src.len() / 4 * 3 - pad)
}

/// The decoded length of standard base64 text, checked by the rules of [`decode_base64`]; None
/// when that would refuse it.
pub fn base64_decoded_len(src: &[u8]) -> Option<usize> {
    if src.len() % 4 != 0 {
        return None;
    }
    if src.is_empty() {
        return Some(0);
    }
    let (body, tail) = src.split_at(src.len() - 4);
    if body.iter().any(|&c| BASE64[c as usize] == BAD) {
        return None;
    }
    let v = |c: u8| BASE64[c as usize];
    match tail {
        [a, b, b'=', b'='] if v(*a) != BAD && v(*b) != BAD && v(*b) & 0x0f == 0 => Some(body.len() / 4 * 3 + 1),
        [a, b, c, b'='] if v(*a) != BAD && v(*b) != BAD && v(*c) != BAD && v(*c) & 0x03 == 0 => Some(body.len() / 4 * 3 + 2),
        [a, b, c, d] if [*a, *b, *c, *d].iter().all(|&x| v(x) != BAD) => Some(body.len() / 4 * 3 + 3),
        _ => None,
    }
}

/// The first bytes of a KPL aggregate.
pub const KPL_MAGIC: [u8; 4] = [0xf3, 0x89, 0x9a, 0xc2];

/// What the JS side needs of a response before its records are read (see `scanGetRecords`).
#[derive(Debug, PartialEq)]
pub struct Scan {
    pub body: GetRecordsBody,
    /// Some record starts with the KPL magic (at least 4 bytes).
    pub aggregated: bool,
    /// Decoded bytes of all records' data.
    pub data_bytes: usize,
}

/// Parses a response (a record's base64 is checked when it is decoded); None when the JS parser must read it.
pub fn scan(body: &[u8]) -> Option<Scan> {
    let parsed = parse_get_records(body)?;
    let mut data_bytes = 0;
    let mut aggregated = false;
    let mut head = Vec::with_capacity(6);
    for r in &parsed.records {
        let text = &body[r.data.clone()];
        data_bytes += base64_decoded_len_unchecked(text)?;
        if !aggregated && text.len() >= 8 {
            head.clear();
            let first = &text[..8];
            // The first 8 characters are whole quads; a padded one decodes shorter.
            if decode_base64(first, &mut head) && head.len() >= 4 && head[..4] == KPL_MAGIC {
                aggregated = true;
            }
        }
    }
    Some(Scan { body: parsed, aggregated, data_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(bytes: &[u8]) -> String {
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut s = String::new();
        for chunk in bytes.chunks(3) {
            let n = (chunk[0] as u32) << 16 | (*chunk.get(1).unwrap_or(&0) as u32) << 8 | *chunk.get(2).unwrap_or(&0) as u32;
            for k in 0..4 {
                if k <= chunk.len() {
                    s.push(alphabet[(n >> (18 - 6 * k)) as usize & 63] as char);
                } else {
                    s.push('=');
                }
            }
        }
        s
    }

    #[test]
    fn base64_round_trips_every_length_and_refuses_bad_text() {
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut out = vec![9];
            assert!(decode_base64(b64(&bytes).as_bytes(), &mut out), "len {len}");
            assert_eq!(&out[1..], &bytes[..]);
        }
        for len in 0..70 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decoded_len(b64(&bytes).as_bytes()), Some(len));
        }
        for bad in ["A", "AB=", "A===", "AB*D", "AB=D", "AQ==AAAA", "AR==", "AAB=", "ABC\n", "====", "A=B="] {
            let mut out = vec![1, 2];
            assert!(!decode_base64(bad.as_bytes(), &mut out), "{bad}");
            assert_eq!(out, vec![1, 2]);
            assert_eq!(base64_decoded_len(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn a_bad_character_anywhere_is_refused() {
        // Every position of texts long enough for the SIMD blocks, each character outside the
        // alphabet (and '=' before the end).
        let bytes: Vec<u8> = (0..150).map(|i| (i * 53 + 7) as u8).collect();
        let good = b64(&bytes);
        for at in 0..good.len() - 2 {
            for bad in [b'=', b'-', b'_', b'.', b' ', b'\n', b'"', b'\\', 0, 0x80, 0xff] {
                let mut text = good.clone().into_bytes();
                text[at] = bad;
                let mut out = vec![7];
                assert!(!decode_base64(&text, &mut out), "{bad} at {at}");
                assert_eq!(out, vec![7]);
            }
        }
    }

    #[test]
    fn a_service_response_is_read_whole() {
        let body = br#"{"Records":[{"Data":"eyJhIjoxfQ==","PartitionKey":"k\"1","SequenceNumber":"4965","ApproximateArrivalTimestamp":1.764000000123E9,"EncryptionType":"NONE"},
          {"SequenceNumber":"4966","ApproximateArrivalTimestamp":1764000001,"Data":"","PartitionKey":"x","Extra":{"a":[1,{"b":null}]}}],
          "NextShardIterator":"AAAA+/=","MillisBehindLatest":12,"ChildShards":[{"ShardId":"s","ParentShards":["p"],"HashKeyRange":{"StartingHashKey":"0","EndingHashKey":"9"}}]} "#;
        let parsed = parse_get_records(body).expect("parses");
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(&body[parsed.records[0].data.clone()], b"eyJhIjoxfQ==");
        assert_eq!(&body[parsed.records[1].sequence_number.clone()], b"4966");
        assert_eq!(parsed.records[0].arrival_seconds, Some(1764000000.123));
        assert_eq!(&body[parsed.next_shard_iterator.clone().unwrap()], b"AAAA+/=");
        assert_eq!(parsed.millis_behind_latest, Some(12.0));
        assert!(parsed.has_child_shards);
        let empty = parse_get_records(br#"{"Records":[],"NextShardIterator":null,"MillisBehindLatest":0}"#).unwrap();
        assert!(empty.records.is_empty() && empty.next_shard_iterator.is_none());
    }

    #[test]
    fn a_scan_sees_kpl_aggregates_and_counts_the_data() {
        let record = |data: &[u8]| format!(r#"{{"Data":"{}","PartitionKey":"k","SequenceNumber":"1"}}"#, b64(data));
        let body = format!(r#"{{"Records":[{},{}]}}"#, record(b"{}"), record(b"abcdef"));
        let s = scan(body.as_bytes()).unwrap();
        assert_eq!((s.aggregated, s.data_bytes, s.body.records.len()), (false, 8, 2));
        for magic in [&KPL_MAGIC[..], &[0xf3, 0x89, 0x9a, 0xc2, 1][..], &[0xf3, 0x89, 0x9a, 0xc2, 1, 2, 3, 4, 5][..]] {
            let body = format!(r#"{{"Records":[{},{}]}}"#, record(b"{}"), record(magic));
            assert!(scan(body.as_bytes()).unwrap().aggregated, "{magic:?}");
        }
        let body = format!(r#"{{"Records":[{}]}}"#, record(&[0xf3, 0x89, 0x9a]));
        assert!(!scan(body.as_bytes()).unwrap().aggregated);
        assert_eq!(scan(br#"{"Records":[{"Data":"abc","PartitionKey":"k","SequenceNumber":"1"}]}"#), None);
    }

    #[test]
    fn anything_unusual_is_left_to_the_js_parser() {
        for bad in [
            r#"{"Records":[{"Data":"abcd","PartitionKey":"k"}]}"#,
            r#"{"Records":[{"Data":"abcd","SequenceNumber":"1"}]}"#,
            r#"{"Records":[{"Data":1,"PartitionKey":"k","SequenceNumber":"1"}]}"#,
            r#"{"Records":[],"Records":[]}"#,
            r#"{"Records":[]} x"#,
            r#"{"Records":[}"#,
            r#"{"Records":[],"X":[1,]}"#,
            r#"{"Records":[],"X":tru}"#,
            r#"[]"#,
            "",
        ] {
            assert_eq!(parse_get_records(bad.as_bytes()), None, "{bad}");
        }
        let deep = format!(r#"{{"X":{}{},"Records":[]}}"#, "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_get_records(deep.as_bytes()).is_some());
    }
}
