//! `plainsight demo`'s built-in captures tell the classroom story: logins in the clear, the lab's
//! HTTPS login opaque, then the same login decrypted with its keys.

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
    assert_eq!(outcome.analysed, 6);
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
    // Act 2 and 3: the lab's HTTP password twice, the HTTPS one only once — decrypted.
    assert_eq!(
        creds.iter().filter(|(_, s, _)| s == "Lab-Pass-1").count(),
        2
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
    assert_eq!(snis, 2, "the server name leaks in both HTTPS acts");
    let results: Vec<DecryptionResult> = events
        .iter()
        .filter_map(|e| match e {
            Event::TlsDecryption(TlsDecryption { result, .. }) => Some(*result),
            _ => None,
        })
        .collect();
    assert_eq!(results, [DecryptionResult::Ok], "only act 3 has the key");
    assert!(matches!(events.last(), Some(Event::Summary(s)) if s.decrypted_flows == 1));
}
