//! The server's own view of a scenario: PyMD's `pymd_http_request_duration_seconds` histogram
//! for `GET /api/v1/documents`, read from `/metrics` before and after, so the time spent in the
//! load generator and on loopback is left out. The buckets are coarse (1, 2.5, 5, 10 ms …), so
//! the p99 is given as the bucket bound it falls under.

/// One histogram's cumulative buckets (`le`, count), sum and count.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    pub buckets: Vec<(f64, f64)>,
    pub sum: f64,
    pub count: f64,
}

const METRIC: &str = "pymd_http_request_duration_seconds";

/// The value of label `name` in a Prometheus sample line.
fn label<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!("{name}=\""))? + name.len() + 2;
    let len = line[start..].find('"')?;
    Some(&line[start..start + len])
}

/// The list route's histogram in a `/metrics` text (empty when it has no samples yet).
pub fn parse(text: &str) -> Histogram {
    let mut h = Histogram::default();
    for line in text.lines().filter(|l| l.starts_with(METRIC)) {
        if label(line, "route") != Some("/api/v1/documents") || label(line, "method") != Some("GET")
        {
            continue;
        }
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        let series = &line[METRIC.len()..];
        if series.starts_with("_bucket") {
            let le = label(line, "le")
                .and_then(|l| l.parse::<f64>().ok())
                .unwrap_or(f64::INFINITY);
            h.buckets.push((le, value));
        } else if series.starts_with("_sum") {
            h.sum = value;
        } else if series.starts_with("_count") {
            h.count = value;
        }
    }
    h.buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    h
}

impl Histogram {
    /// What was recorded between `before` and `self`.
    pub fn since(&self, before: &Histogram) -> Histogram {
        let earlier = |le: f64| {
            before
                .buckets
                .iter()
                .find(|(l, _)| *l == le)
                .map_or(0.0, |(_, c)| *c)
        };
        Histogram {
            buckets: self
                .buckets
                .iter()
                .map(|(le, c)| (*le, c - earlier(*le)))
                .collect(),
            sum: self.sum - before.sum,
            count: self.count - before.count,
        }
    }

    /// Mean request time in milliseconds.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count * 1000.0)
    }

    /// The smallest bucket bound (ms) at or under which `q` of the requests finished.
    pub fn quantile_bound_ms(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 {
            return None;
        }
        self.buckets
            .iter()
            .find(|(_, c)| *c >= q * self.count)
            .map(|(le, _)| le * 1000.0)
    }

    /// A short description: `mean 0.41 ms, p99 ≤ 1 ms (n = 9,000)`.
    pub fn describe(&self) -> String {
        match (self.mean_ms(), self.quantile_bound_ms(0.99)) {
            (Some(mean), Some(p99)) => {
                format!("mean {mean:.2} ms, p99 ≤ {p99} ms (n = {})", self.count)
            }
            _ => "no samples".to_owned(),
        }
    }
}

/// Reads the list route's histogram from the server at `base`.
///
/// # Errors
/// `/metrics` did not answer.
pub async fn read(client: &reqwest::Client, base: &str) -> anyhow::Result<Histogram> {
    let text = client
        .get(format!("{base}/metrics"))
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    Ok(parse(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = "\
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"0.001\"} 1
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"0.005\"} 2
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"+Inf\"} 2
pymd_http_request_duration_seconds_sum{route=\"/api/v1/documents\",method=\"GET\"} 0.004
pymd_http_request_duration_seconds_count{route=\"/api/v1/documents\",method=\"GET\"} 2
pymd_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"} 50
";

    const AFTER: &str = "\
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"0.001\"} 91
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"0.005\"} 102
pymd_http_request_duration_seconds_bucket{route=\"/api/v1/documents\",method=\"GET\",le=\"+Inf\"} 102
pymd_http_request_duration_seconds_sum{route=\"/api/v1/documents\",method=\"GET\"} 0.104
pymd_http_request_duration_seconds_count{route=\"/api/v1/documents\",method=\"GET\"} 102
";

    #[test]
    fn the_difference_of_two_scrapes_gives_the_scenarios_mean_and_p99_bucket() {
        let d = parse(AFTER).since(&parse(BEFORE));
        assert_eq!(d.count, 100.0);
        assert!((d.mean_ms().expect("samples") - 1.0).abs() < 1e-9);
        assert_eq!(d.quantile_bound_ms(0.5), Some(1.0));
        assert_eq!(d.quantile_bound_ms(0.99), Some(5.0));
    }

    #[test]
    fn other_routes_are_ignored_and_no_samples_say_so() {
        let h = parse(
            "pymd_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"} 5\n",
        );
        assert_eq!(h, Histogram::default());
        assert_eq!(h.describe(), "no samples");
    }
}
