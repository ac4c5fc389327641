//! plainsight: an educational network sniffer.
//!
//! The pipeline reads in the folder tree: [`capture`] (files, stdin, live; BPF) → [`decode`]
//! (link, IP, TCP/UDP) → [`flow`] (flow table, TCP reassembly, timeouts, memcap) → [`proto`]
//! (what a flow carries, and its parsers) → [`creds`] (credentials) → [`event`] (the one type that leaves the engine) → [`report`] (text,
//! NDJSON). [`engine`] glues the stages; [`run`] drives inputs through it.

pub mod base;
pub mod capture;
pub mod cli;
pub mod creds;
pub mod decode;
pub mod engine;
pub mod event;
pub mod flow;
pub mod lab;
pub mod proto;
pub mod report;
pub mod run;
pub mod ui;
