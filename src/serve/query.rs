//! A request's query string: percent-decoded `key=value` pairs and typed, checked reads whose
//! messages name the key and what is allowed (the server answers them with HTTP 400).

use std::collections::BTreeMap;

/// The decoded query of one request.
#[derive(Clone, Debug, Default)]
pub struct Query {
    pairs: BTreeMap<String, String>,
}

impl Query {
    /// Parses `a=1&b=x%20y` (`+` is a space); a key given twice keeps its last value.
    pub fn parse(query: &str) -> Query {
        let mut pairs = BTreeMap::new();
        for part in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.insert(decode(k), decode(v));
        }
        Query { pairs }
    }

    /// The raw value of `key`, if given and not empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str).filter(|v| !v.trim().is_empty())
    }

    /// Whether `key` is given (with a value).
    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// `key` as a number, `default` when absent.
    pub fn f64_or(&self, key: &str, default: f64) -> Result<f64, String> {
        self.f64(key).map(|v| v.unwrap_or(default))
    }

    /// `key` as a number, if given.
    pub fn f64(&self, key: &str) -> Result<Option<f64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => {
                v.trim().parse::<f64>().map(Some).map_err(|_| format!("{key} = {v:?}: must be a number"))
            }
        }
    }

    /// `key` as a whole number >= 0, `default` when absent.
    pub fn u64_or(&self, key: &str, default: u64) -> Result<u64, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => {
                v.trim().parse::<u64>().map_err(|_| format!("{key} = {v:?}: must be a whole number >= 0"))
            }
        }
    }

    /// `key` as one of `allowed`, `default` when absent.
    pub fn choice<'a>(&self, key: &str, allowed: &[&'a str], default: &'a str) -> Result<&'a str, String> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => allowed.iter().copied().find(|a| *a == v.trim()).ok_or_else(|| {
                format!(
                    "{key} = {v:?}: allowed {}",
                    allowed.iter().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(", ")
                )
            }),
        }
    }

    /// Every key given that is not in `known` (a misspelt key is an error, as in experiment
    /// files).
    pub fn unknown(&self, known: &[&str]) -> Vec<String> {
        self.pairs.keys().filter(|k| !known.contains(&k.as_str())).cloned().collect()
    }
}

/// Percent-decoding of a query component (`+` is a space); invalid escapes are kept as they are.
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex =
                    std::str::from_utf8(&b[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_reads_typed_values() {
        let q = Query::parse("a=1.5&b=x%20y+z&start=2020-03-11T00%3A00%3A00Z&bad=%zz&n=7&e=");
        assert_eq!(q.get("b"), Some("x y z"));
        assert_eq!(q.get("start"), Some("2020-03-11T00:00:00Z"));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert_eq!(q.f64_or("a", 0.0), Ok(1.5));
        assert_eq!(q.f64_or("missing", 2.0), Ok(2.0));
        assert_eq!(q.f64_or("e", 3.0), Ok(3.0), "an empty value is absent");
        assert_eq!(q.f64("b"), Err("b = \"x y z\": must be a number".to_string()));
        assert_eq!(q.u64_or("n", 0), Ok(7));
        assert!(q.u64_or("a", 0).is_err());
        assert_eq!(q.choice("b", &["p", "q"], "p"), Err("b = \"x y z\": allowed \"p\", \"q\"".to_string()));
        assert_eq!(q.unknown(&["a", "b", "start", "n", "e"]), vec!["bad".to_string()]);
        assert_eq!(Query::parse("x=%4").get("x"), Some("%4"));
    }
}
