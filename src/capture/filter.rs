//! BPF filters (`-f/--filter`), compiled by libpcap and run on packets from files too. A build
//! without libpcap (cargo's `live` feature off) refuses a filter with a clear error.

#[cfg(feature = "live")]
pub use compiled::PacketFilter;
#[cfg(not(feature = "live"))]
pub use refused::PacketFilter;

#[cfg(feature = "live")]
mod compiled {
    use std::collections::HashMap;

    use pcap::{BpfProgram, Capture, Linktype};

    use crate::capture::{CaptureError, LinkType, Packet};

    /// A filter expression compiled once per link type it meets (pcapng files may mix link
    /// types).
    pub struct PacketFilter {
        expr: String,
        programs: HashMap<LinkType, Option<BpfProgram>>,
    }

    impl PacketFilter {
        /// Compiles `expr`, failing early when it is not valid libpcap syntax.
        pub fn new(expr: &str) -> Result<PacketFilter, CaptureError> {
            let mut filter = PacketFilter {
                expr: expr.to_string(),
                programs: HashMap::new(),
            };
            let program = filter.compile(LinkType::ETHERNET)?;
            filter.programs.insert(LinkType::ETHERNET, Some(program));
            Ok(filter)
        }

        pub fn expr(&self) -> &str {
            &self.expr
        }

        fn compile(&self, link: LinkType) -> Result<BpfProgram, CaptureError> {
            let err = |detail: String| CaptureError::Filter {
                filter: self.expr.clone(),
                detail,
            };
            let dead = Capture::dead(Linktype(link.0 as i32)).map_err(|e| err(e.to_string()))?;
            dead.compile(&self.expr, true)
                .map_err(|e| err(e.to_string()))
        }

        /// Whether the packet passes. A link type the filter cannot be compiled for (one libpcap
        /// does not know) lets every packet through: the decoder then reports the link type.
        pub fn matches(&mut self, packet: &Packet<'_>) -> bool {
            if !self.programs.contains_key(&packet.link) {
                let program = self.compile(packet.link).ok();
                self.programs.insert(packet.link, program);
            }
            match self.programs.get(&packet.link) {
                Some(Some(program)) => program.filter(packet.data),
                _ => true,
            }
        }
    }
}

#[cfg(not(feature = "live"))]
mod refused {
    use crate::capture::{CaptureError, Packet};

    /// Never made in this build: a filter needs libpcap.
    pub struct PacketFilter {
        never: std::convert::Infallible,
    }

    impl PacketFilter {
        pub fn new(expr: &str) -> Result<PacketFilter, CaptureError> {
            Err(CaptureError::NoLibpcap {
                what: format!("the filter {expr:?} (-f)"),
            })
        }

        pub fn expr(&self) -> &str {
            match self.never {}
        }

        pub fn matches(&mut self, _packet: &Packet<'_>) -> bool {
            match self.never {}
        }
    }
}
