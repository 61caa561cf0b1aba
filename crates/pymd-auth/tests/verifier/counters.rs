//! Every failure and every JWKS fetch is counted with the metric names of the specification.

use std::sync::{Arc, Mutex};

use metrics::{
    Counter, CounterFn, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit,
};
use pymd_auth::testkit::TestIssuer;

type Log = Arc<Mutex<Vec<(String, Vec<(String, String)>, u64)>>>;

#[derive(Default)]
struct CapturingRecorder {
    log: Log,
}

struct CapturedCounter {
    key: Key,
    log: Log,
}

impl CounterFn for CapturedCounter {
    fn increment(&self, value: u64) {
        let labels = self
            .key
            .labels()
            .map(|l| (l.key().to_owned(), l.value().to_owned()))
            .collect();
        self.log
            .lock()
            .expect("log")
            .push((self.key.name().to_owned(), labels, value));
    }

    fn absolute(&self, _value: u64) {}
}

impl Recorder for CapturingRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(Arc::new(CapturedCounter {
            key: key.clone(),
            log: Arc::clone(&self.log),
        }))
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

fn count(log: &Log, name: &str, label: (&str, &str)) -> u64 {
    log.lock()
        .expect("log")
        .iter()
        .filter(|(n, labels, _)| {
            n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1)
        })
        .map(|(_, _, v)| *v)
        .sum()
}

#[test]
fn failures_and_jwks_fetches_are_counted() {
    let recorder = CapturingRecorder::default();
    let log = Arc::clone(&recorder.log);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let issuer = TestIssuer::start().await;
            let verifier = issuer.verifier();
            assert!(verifier.verify(&issuer.token("auth0|m", &[])).await.is_ok());
            assert!(verifier.verify("not-a-token").await.is_err());
            assert!(verifier.verify(&"a".repeat(20_000)).await.is_err());
            issuer.set_down(true);
            assert!(verifier.refresh_now().await.is_err());
        })
    });
    let failures = pymd_auth::METRIC_FAILURES;
    assert_eq!(failures, "pymd_jwt_verification_failures_total");
    assert_eq!(count(&log, failures, ("reason", "malformed")), 1);
    assert_eq!(count(&log, failures, ("reason", "too_large")), 1);
    assert_eq!(count(&log, "pymd_jwks_refresh_total", ("result", "ok")), 1);
    assert_eq!(
        count(&log, "pymd_jwks_refresh_total", ("result", "error")),
        1
    );
}
