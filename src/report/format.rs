//! Formatting for the report: numbers, intervals, cells, links, and the accumulating markdown.

use super::Plot;

/// A number for a table: 4 significant digits, thousands separated from 1,000 on, scientific
/// below 1e-4 and from 1e15; `n/a` for NaN.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if !(1e-4..1e15).contains(&a) {
        return format!("{x:.3e}");
    }
    if a >= 999.5 {
        return group_thousands(&format!("{x:.0}"));
    }
    let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

fn group_thousands(s: &str) -> String {
    let (sign, digits) = s.strip_prefix('-').map_or(("", s), |d| ("-", d));
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A count with thousands separated: `100,000`.
pub fn fmt_count(n: u64) -> String {
    group_thousands(&n.to_string())
}

/// `[low, high]`.
pub fn fmt_ci(low: f64, high: f64) -> String {
    format!("[{}, {}]", fmt_num(low), fmt_num(high))
}

/// A table cell: pipes escaped, newlines flattened.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A relative link target: the characters markdown links trip on are percent-encoded.
pub fn link(dir: &str, name: &str) -> String {
    let mut s = String::new();
    for c in format!("{dir}/{name}").chars() {
        match c {
            ' ' => s.push_str("%20"),
            '(' => s.push_str("%28"),
            ')' => s.push_str("%29"),
            '<' => s.push_str("%3C"),
            '>' => s.push_str("%3E"),
            c => s.push(c),
        }
    }
    s
}

/// A file-name-safe slug of `s`.
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "result".into()
    } else {
        out
    }
}

/// The accumulating report.
pub struct Out<'a> {
    pub md: String,
    pub plots: Vec<Plot>,
    pub notes: Vec<String>,
    pub plots_dir: &'a str,
    pub size: (u32, u32),
}

impl Out<'_> {
    /// Appends a line.
    pub fn line(&mut self, s: &str) {
        self.md.push_str(s);
        self.md.push('\n');
    }

    /// A note in the report and in [`super::ReportSummary::notes`].
    pub fn note(&mut self, folder: &str, text: &str) {
        self.line(&format!("*Note: {text}*"));
        self.line("");
        self.notes.push(format!("{folder}: {text}"));
    }

    /// Links a plot and keeps it for writing.
    pub fn plot(&mut self, name: String, caption: String, svg: String) {
        let target = link(self.plots_dir, &name);
        self.line(&format!("![{}]({target})", caption.replace(['[', ']'], "")));
        self.line("");
        self.plots.push(Plot { name, svg });
    }
}
