//! plainsight: an educational network sniffer.
//!
//! The pipeline reads in the folder tree, one rule per boundary:
//!
//! ```text
//! capture ─▶ decode ─▶ flow ─▶ proto ─▶ event ─▶ report / ui
//!  packets    addresses  flows,   what a     one struct   text, NDJSON, HTML,
//!  and their  and ports  streams  flow says  per kind     the terminal UI
//!  link type  (pure)     in order (pure)     (the only thing leaving the engine)
//! ```
//!
//! [`engine`] joins decode, flow and proto for one input; [`run`] drives inputs (files in order or
//! in parallel, or a live interface) through engines; [`report`] and [`ui`] show the events;
//! [`lab`] serves the login site the classroom captures; [`explain`] holds the words both say
//! about what leaked and what HTTPS hides. [`creds`] is a leaf library of pure
//! functions that the protocol parsers call to find credentials. [`base`] holds what every stage
//! may use (times, flow ids, endpoints, the naming rule for contract values).
//!
//! **The public API** for programs using the library is [`run`] (with [`run::AnalysisOptions`]
//! and [`capture::Input`]), [`event`] (the contract of `docs/events.md`), [`report`], [`ui`] and
//! [`lab`], plus [`cli`] for the man page and completions. The stage modules (`capture`,
//! `decode`, `flow`, `proto`, `creds`, `engine`) are public so the fuzz targets, benchmarks and
//! tests can reach each parser directly; they are not a stable interface.

pub mod base;
pub mod capture;
pub mod cli;
pub mod creds;
pub mod decode;
pub mod engine;
pub mod event;
pub mod explain;
pub mod flow;
pub mod lab;
pub mod platform;
pub mod proto;
pub mod report;
pub mod run;
pub mod ui;
