//! Every case of the hostile-token catalogue is refused with exactly its expected reason.

use std::collections::HashSet;

use pymd_auth::testkit::{TestIssuer, hostile_tokens};

use crate::support::warm_verifier;

#[tokio::test]
async fn every_hostile_token_is_refused_with_its_expected_reason() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    let fetches_after_warmup = issuer.jwks_fetches();

    let catalogue = hostile_tokens(&issuer);
    assert!(
        catalogue.len() >= 60,
        "catalogue has only {} cases",
        catalogue.len()
    );
    let names: HashSet<_> = catalogue.iter().map(|c| c.name).collect();
    assert_eq!(names.len(), catalogue.len(), "case names must be unique");

    let mut mismatches = Vec::new();
    for case in &catalogue {
        match verifier.verify(&case.token).await {
            Ok(_) => mismatches.push(format!(
                "{}: ACCEPTED (expected {})",
                case.name, case.reason
            )),
            Err(e) if e.reason() != case.reason => mismatches.push(format!(
                "{}: {} (expected {})",
                case.name,
                e.reason(),
                case.reason
            )),
            Err(e) => assert!(
                !e.is_unavailable(),
                "{}: a hostile token is never an outage",
                case.name
            ),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} cases wrong:\n{}",
        mismatches.len(),
        catalogue.len(),
        mismatches.join("\n")
    );
    eprintln!(
        "hostile catalogue: {} cases refused with the expected reason",
        catalogue.len()
    );

    // Many unknown kids within one cooldown: at most one refetch.
    assert!(
        issuer.jwks_fetches() - fetches_after_warmup <= 1,
        "unknown kids caused a refetch storm"
    );
    // The legitimate token still works afterwards.
    assert!(
        verifier
            .verify(&issuer.token("auth0|after", &[]))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn hostile_descriptions_never_echo_the_token() {
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;
    for case in hostile_tokens(&issuer) {
        if let Err(e) = verifier.verify(&case.token).await {
            let shown = format!("{e} {e:?} {}", e.description());
            if case.token.len() > 8 {
                assert!(!shown.contains(&case.token), "{}", case.name);
            }
            assert!(
                e.description().len() < 64,
                "{}: description is short and fixed",
                case.name
            );
        }
    }
}

#[tokio::test]
async fn header_keys_are_never_fetched() {
    // A canary listener standing in for jku / x5u targets: it must see no connection.
    let canary = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind canary");
    let canary_url = format!("http://{}/jwks.json", canary.local_addr().expect("addr"));
    let issuer = TestIssuer::start().await;
    let verifier = warm_verifier(&issuer, issuer.verifier_config()).await;

    // Validly signed by the issuer: the extra headers are ignored, the token is accepted.
    let header = serde_json::json!({"alg": "RS256", "kid": issuer.current_kid(), "jku": canary_url, "x5u": canary_url});
    let token = issuer.sign(header, issuer.claims("auth0|jku", &[]));
    assert!(verifier.verify(&token).await.is_ok());
    // Signed by someone else: refused, still without contacting the canary.
    for case in hostile_tokens(&issuer)
        .iter()
        .filter(|c| c.name.starts_with("jku") || c.name.starts_with("x5u"))
    {
        assert!(verifier.verify(&case.token).await.is_err(), "{}", case.name);
    }
    let accepted =
        tokio::time::timeout(std::time::Duration::from_millis(50), canary.accept()).await;
    assert!(accepted.is_err(), "the canary was contacted");
}
