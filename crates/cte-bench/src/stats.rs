//! Medians, percentiles and spreads of samples.

/// Summary of a set of samples.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Summary {
    /// Number of samples.
    pub n: usize,
    /// Median.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// 99th percentile (nearest rank).
    pub p99: f64,
}

/// The `q`-quantile of sorted samples by nearest rank.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Summarises `samples` (must not be empty).
pub fn summarize(samples: &[f64]) -> Summary {
    let mut s = samples.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Summary {
        n,
        median,
        min: s[0],
        max: s[n - 1],
        p99: quantile(&s, 0.99),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_nearest_rank_p99() {
        let s = summarize(&[3.0, 1.0, 2.0, 4.0]);
        assert_eq!((s.median, s.min, s.max, s.p99), (2.5, 1.0, 4.0, 4.0));
        let many: Vec<f64> = (1..=200).map(f64::from).collect();
        assert_eq!(summarize(&many).p99, 198.0);
    }
}
