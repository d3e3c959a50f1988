//! Summary statistics over benchmark samples.

use std::time::Duration;

/// min, median, p90 and max of a sample, in milliseconds.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub runs: usize,
    pub min: f64,
    pub median: f64,
    pub p90: f64,
    pub max: f64,
}

impl Summary {
    /// Summarises durations (nearest-rank percentiles).
    pub fn of(samples: &[Duration]) -> Summary {
        let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
        Summary::of_values(&mut ms)
    }

    /// Summarises plain values.
    pub fn of_values(v: &mut [f64]) -> Summary {
        if v.is_empty() {
            return Summary {
                runs: 0,
                min: f64::NAN,
                median: f64::NAN,
                p90: f64::NAN,
                max: f64::NAN,
            };
        }
        v.sort_by(|a, b| a.total_cmp(b));
        let rank = |p: f64| v[(((p * v.len() as f64).ceil() as usize).max(1) - 1).min(v.len() - 1)];
        Summary {
            runs: v.len(),
            min: v[0],
            median: rank(0.5),
            p90: rank(0.9),
            max: v[v.len() - 1],
        }
    }

    /// As a JSON object.
    pub fn json(&self) -> String {
        format!(
            r#"{{"runs":{},"min":{:.3},"median":{:.3},"p90":{:.3},"max":{:.3}}}"#,
            self.runs, self.min, self.median, self.p90, self.max
        )
    }
}
