//! The small vocabulary every stage may use: capture times, flow ids, endpoints, and the rule
//! that gives each contract value its one name. Nothing here knows about any stage.

use std::fmt;
use std::net::SocketAddr;

use serde::{Serialize, Serializer};

/// A capture timestamp, in microseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const MICROS_PER_SEC: u64 = 1_000_000;

    pub fn from_secs_micros(secs: u64, micros: u64) -> Self {
        Timestamp(
            secs.saturating_mul(Self::MICROS_PER_SEC)
                .saturating_add(micros),
        )
    }

    pub fn secs(self) -> u64 {
        self.0 / Self::MICROS_PER_SEC
    }

    /// Seconds as a float. Dividing the exact integer count of microseconds by 1e6 is correctly
    /// rounded, so the JSON shows the capture's microseconds without float noise.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    pub fn saturating_sub(self, other: Timestamp) -> u64 {
        self.0.saturating_sub(other.0)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_secs_f64())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}", self.secs(), self.0 % Self::MICROS_PER_SEC)
    }
}

/// Flow ids are unique within one run, across all its inputs.
pub type FlowId = u64;

/// A TCP or UDP endpoint. Serialised as `"ip:port"`, IPv6 in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint(pub SocketAddr);

impl Endpoint {
    /// `ip:port` (IPv6 in brackets) formatted on the stack: two endpoints go out with every
    /// flow, and `collect_str` through `Display` was the largest single cost of the JSON output.
    fn format(&self, buf: &mut [u8; 64]) -> usize {
        match self.0 {
            SocketAddr::V4(a) => write_v4(buf, a),
            SocketAddr::V6(_) => {
                let mut cursor = std::io::Cursor::new(&mut buf[..]);
                let _ = std::io::Write::write_fmt(&mut cursor, format_args!("{}", self.0));
                usize::try_from(cursor.position()).unwrap_or(0)
            }
        }
    }

    /// Appends `ip:port` to `out`: the JSON writer's copy, with no escaping to do.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let mut buf = [0u8; 64];
        let len = self.format(&mut buf);
        out.extend_from_slice(buf.get(..len).unwrap_or_default());
    }
}

impl Serialize for Endpoint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        let len = self.format(&mut buf);
        s.serialize_str(std::str::from_utf8(buf.get(..len).unwrap_or_default()).unwrap_or_default())
    }
}

/// `a.b.c.d:port` into `buf` (at most 21 bytes); returns the length.
fn write_v4(buf: &mut [u8; 64], addr: std::net::SocketAddrV4) -> usize {
    // At most 21 bytes go into 64: the indexing below cannot go out of bounds.
    fn decimal(buf: &mut [u8; 64], at: &mut usize, mut n: u32) {
        let mut digits = [0u8; 10];
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..count].iter().rev() {
            buf[*at] = d;
            *at += 1;
        }
    }
    let mut at = 0;
    for (i, octet) in addr.ip().octets().into_iter().enumerate() {
        if i > 0 {
            buf[at] = b'.';
            at += 1;
        }
        decimal(buf, &mut at, u32::from(octet));
    }
    buf[at] = b':';
    at += 1;
    decimal(buf, &mut at, u32::from(addr.port()));
    at
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The date part (`2026-12-02`) of an RFC 3339 time, or the whole text when it is shorter.
pub fn rfc3339_day(rfc3339: &str) -> &str {
    rfc3339.get(..10).unwrap_or(rfc3339)
}

/// Text from the network made safe for a terminal: control characters (escape sequences that
/// could move the cursor, retitle the window or worse) become `�`.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().any(char::is_control) {
        text.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect::<String>()
            .into()
    } else {
        text.into()
    }
}

/// An enum whose values travel as fixed strings (a vocabulary of the contract). The one table in
/// the invocation names every value; serde, the hand-written JSON, the text report and the UI all
/// read it through `as_str`, so a name cannot differ between them.
macro_rules! wire_names {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The value's name in the contract.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $text, )*
                }
            }

            /// The value a contract name stands for.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $( $text => Some($name::$variant), )*
                    _ => None,
                }
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use wire_names;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_as_the_contract_writes_them() {
        let v4 = Endpoint("255.255.255.255:65535".parse().unwrap());
        let v6 = Endpoint("[2001:db8::1]:443".parse().unwrap());
        assert_eq!(
            serde_json::to_string(&v4).unwrap(),
            "\"255.255.255.255:65535\""
        );
        assert_eq!(serde_json::to_string(&v6).unwrap(), "\"[2001:db8::1]:443\"");
    }

    #[test]
    fn timestamps_keep_their_microseconds() {
        let ts = Timestamp::from_secs_micros(1_700_000_000, 123_456);
        assert_eq!(ts.to_string(), "1700000000.123456");
        assert_eq!(serde_json::to_string(&ts).unwrap(), "1700000000.123456");
    }
}

/// Answers worked out once for inputs that repeat (a server's certificate chain, a client's
/// ClientHello): at most `N` kept, all forgotten at once when full, so its size is bounded
/// whatever the capture. The caller says which inputs are small enough to keep.
#[derive(Debug)]
pub struct Memo<K, V, const N: usize> {
    entries: ahash::AHashMap<K, V>,
}

impl<K, V, const N: usize> Default for Memo<K, V, N> {
    fn default() -> Self {
        Memo {
            entries: ahash::AHashMap::default(),
        }
    }
}

impl<K: std::hash::Hash + Eq, V: Clone, const N: usize> Memo<K, V, N> {
    /// The answer for `key`: the one kept, or `work()`'s, kept if `keep`.
    pub fn get_or_work<Q>(&mut self, key: &Q, keep: bool, work: impl FnOnce() -> V) -> V
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(known) = self.entries.get(key) {
            return known.clone();
        }
        let answer = work();
        if keep {
            if self.entries.len() >= N {
                self.entries.clear();
            }
            self.entries.insert(key.to_owned(), answer.clone());
        }
        answer
    }
}
