//! Helpers of the statistical tests: sample moments and their standard errors.

/// Sample mean and its standard error `sd / sqrt(n)` (sd with `n - 1`).
pub(crate) fn mean_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Sample variance (with `n - 1`) and its large-sample standard error `sqrt((m4 - s^4) / n)`,
/// `m4` the fourth central moment.
pub(crate) fn var_se(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    let m4 = xs.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n;
    (var, ((m4 - var * var) / n).sqrt())
}

/// Asserts `|got - want| <= 4 se`, with a message naming `what`.
pub(crate) fn assert_within_4se(what: &str, got: f64, se: f64, want: f64) {
    assert!(se.is_finite() && se > 0.0, "{what}: standard error {se}");
    assert!(
        (got - want).abs() <= 4.0 * se,
        "{what}: {got} vs {want}: off by {:.2} standard errors (se {se})",
        (got - want) / se
    );
}
