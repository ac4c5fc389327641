//! `plainsight demo`'s built-in captures tell the classroom story: logins in the clear, then the
//! lab's login over HTTP and over HTTPS (with its keys, for the last act); each flow once.

// A failed unwrap here is a failed test (or bench), not a crash on user data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ops::ControlFlow;

use plainsight::event::{DecryptionResult, Event, TlsClientHello, TlsDecryption};
use plainsight::lab::demo::inputs;
use plainsight::run::{analyse_inputs, AnalysisOptions};

#[test]
fn the_demo_story() {
    let mut events = Vec::new();
    let outcome = analyse_inputs(
        &inputs(),
        &AnalysisOptions::default(),
        &mut |_| ControlFlow::Continue(()),
        &mut |e| events.push(e),
    )
    .unwrap();
    assert!(outcome.failures.is_empty());
    assert_eq!(outcome.analysed, 5);
    let creds: Vec<(String, String, bool)> = events
        .iter()
        .filter_map(|e| match e {
            Event::Credential(c) => {
                Some((c.kind.as_str().to_string(), c.secret.clone(), c.decrypted))
            }
            _ => None,
        })
        .collect();
    // Act 1: the cleartext protocols.
    for secret in ["S3cret! pass", "Wonderland-42", "Ftp-Pass-1", "Tel-Pass-8"] {
        assert!(
            creds.iter().any(|(_, s, d)| s == secret && !d),
            "{secret} in {creds:?}"
        );
    }
    // Acts 5 and 6: the lab's HTTP password, and the HTTPS one, decrypted, each once.
    assert_eq!(
        creds.iter().filter(|(_, s, _)| s == "Lab-Pass-1").count(),
        1
    );
    assert_eq!(
        creds
            .iter()
            .filter(|(_, s, _)| s == "Lab-Pass-2")
            .collect::<Vec<_>>(),
        [&("http-form".to_string(), "Lab-Pass-2".to_string(), true)]
    );
    let snis = events
        .iter()
        .filter(|e| matches!(e, Event::TlsClientHello(TlsClientHello { sni: Some(s), .. }) if s == "lab.plainsight.test"))
        .count();
    assert_eq!(snis, 1, "one HTTPS flow, whose server name leaks");
    let results: Vec<DecryptionResult> = events
        .iter()
        .filter_map(|e| match e {
            Event::TlsDecryption(TlsDecryption { result, .. }) => Some(*result),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [DecryptionResult::Ok],
        "the HTTPS flow has its key"
    );
    assert!(matches!(events.last(), Some(Event::Summary(s)) if s.decrypted_flows == 1));
}
