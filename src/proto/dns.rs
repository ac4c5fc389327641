//! DNS queries: the name and type a client asks for (over UDP, or TCP with its length prefix).

use crate::flow::Direction;
use crate::proto::{Framed, StreamContext, StreamParser};

/// A question from a DNS query message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsQuestion {
    pub name: String,
    pub qtype: String,
}

/// Ports DNS (and its multicast and link-local cousins) is spoken on.
pub fn is_dns_port(port: u16) -> bool {
    matches!(port, 53 | 5353 | 5355)
}

/// The first question of a DNS *query* (responses give `None`).
pub fn parse_query(msg: &[u8]) -> Option<DnsQuestion> {
    let header = msg.get(..12)?;
    let flags = u16::from_be_bytes([header[2], header[3]]);
    let qdcount = u16::from_be_bytes([header[4], header[5]]);
    if flags & 0x8000 != 0 || qdcount == 0 {
        return None;
    }
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    let mut total = 0usize;
    loop {
        let len = usize::from(*msg.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        // Questions in queries are not compressed; pointers and extended labels are refused.
        if len > 63 {
            return None;
        }
        let label = msg.get(at..at + len)?;
        total += len + 1;
        if total > 255 {
            return None;
        }
        labels.push(
            label
                .iter()
                .map(|&b| if b.is_ascii_graphic() { b as char } else { '?' })
                .collect(),
        );
        at += len;
    }
    let qtype = u16::from_be_bytes(msg.get(at..at + 2)?.try_into().ok()?);
    let name = if labels.is_empty() {
        ".".to_string()
    } else {
        labels.join(".")
    };
    Some(DnsQuestion {
        name,
        qtype: qtype_name(qtype),
    })
}

pub fn qtype_name(qtype: u16) -> String {
    let known = match qtype {
        1 => "A",
        2 => "NS",
        5 => "CNAME",
        6 => "SOA",
        12 => "PTR",
        15 => "MX",
        16 => "TXT",
        28 => "AAAA",
        33 => "SRV",
        35 => "NAPTR",
        43 => "DS",
        48 => "DNSKEY",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        255 => "ANY",
        257 => "CAA",
        _ => return format!("TYPE{qtype}"),
    };
    known.to_string()
}

/// DNS over TCP, client side: messages behind a 2-byte length.
#[derive(Debug, Default)]
pub struct DnsTcpReader {
    buf: Vec<u8>,
    lost: bool,
    /// The packet where the message at the start of `buf` began.
    buf_frame: u64,
}

/// A DNS message over TCP is at most this long.
const MAX_TCP_MESSAGE: usize = 65535 + 2;

impl StreamParser for DnsTcpReader {
    type Item = Framed<DnsQuestion>;

    fn on_data(
        &mut self,
        dir: Direction,
        data: &[u8],
        ctx: &StreamContext<'_>,
        out: &mut Vec<Framed<DnsQuestion>>,
    ) {
        // Questions are what the client asks; answers are not read.
        if self.lost || dir == Direction::ServerToClient {
            return;
        }
        if self.buf.is_empty() {
            self.buf_frame = ctx.frame;
        }
        self.buf.extend_from_slice(data);
        loop {
            let Some(len) = self
                .buf
                .get(..2)
                .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            else {
                return;
            };
            if self.buf.len() < 2 + len {
                if self.buf.len() > MAX_TCP_MESSAGE {
                    self.lost = true;
                    self.buf = Vec::new();
                }
                return;
            }
            if let Some(q) = parse_query(&self.buf[2..2 + len]) {
                out.push(Framed {
                    frame: self.buf_frame,
                    item: q,
                });
            }
            self.buf.drain(..2 + len);
            // What is left began in this packet.
            self.buf_frame = ctx.frame;
        }
    }

    fn on_gap(&mut self, dir: Direction, _: u64, _: &mut Vec<Framed<DnsQuestion>>) {
        if dir == Direction::ServerToClient {
            return;
        }
        self.lost = true;
        self.buf = Vec::new();
    }

    fn buffered(&self) -> usize {
        self.buf.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            m.push(label.len() as u8);
            m.extend_from_slice(label.as_bytes());
        }
        m.push(0);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        m
    }

    #[test]
    fn queries_and_not_responses() {
        assert_eq!(
            parse_query(&query("lab.plainsight.test", 28)),
            Some(DnsQuestion {
                name: "lab.plainsight.test".into(),
                qtype: "AAAA".into()
            })
        );
        let mut resp = query("x.test", 1);
        resp[2] |= 0x80;
        assert_eq!(parse_query(&resp), None);
        assert_eq!(
            parse_query(&query("x.test", 4242)).unwrap().qtype,
            "TYPE4242"
        );
        let q = query("x.test", 1);
        for cut in 0..q.len() {
            let _ = parse_query(&q[..cut]);
        }
    }

    #[test]
    fn over_tcp_split_anywhere() {
        let q = query("tcp.plainsight.test", 16);
        let mut stream = (q.len() as u16).to_be_bytes().to_vec();
        stream.extend_from_slice(&q);
        stream.extend_from_slice(&stream.clone());
        for cut in 0..stream.len() {
            let mut r = DnsTcpReader::default();
            let mut out = Vec::new();
            r.feed(Direction::ClientToServer, &stream[..cut], &mut out);
            r.feed(Direction::ClientToServer, &stream[cut..], &mut out);
            assert_eq!(out.len(), 2);
            assert_eq!(out[0].item.qtype, "TXT");
        }
    }
}
