//! What the experiments of a sweep share when they are built: a process (its data loaded and
//! checked), a cohort, a world (its cohort sorted, its tables made) whose inputs are those of an
//! earlier point are taken from that point's, not built again (crate::sweep). Each part is keyed
//! by the text of every input its constructor reads, written by their derived `Debug` (every
//! field, each number in its shortest round-trip form: `-0.0`, `NaN` and `inf` included), so a
//! shared part is the very part the point would have built: a sweep's bytes do not change.

use std::collections::HashMap;
use std::fmt::Debug;

/// The parts built so far, by the text of their inputs.
#[derive(Debug)]
pub(crate) struct Memo<T> {
    built: HashMap<String, T>,
    /// How many parts were built (not taken from an earlier build).
    pub(crate) made: usize,
}

impl<T> Default for Memo<T> {
    fn default() -> Self {
        Memo { built: HashMap::new(), made: 0 }
    }
}

impl<T: Clone> Memo<T> {
    /// The part of inputs `key`: a copy of the one built before, or the one `make` builds now
    /// (kept for the next; a failed build is not).
    pub(crate) fn get_or_try<E>(&mut self, key: &str, make: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        if let Some(v) = self.built.get(key) {
            return Ok(v.clone());
        }
        let v = make()?;
        self.made += 1;
        self.built.insert(key.to_string(), v.clone());
        Ok(v)
    }
}

/// The text of a part's inputs.
pub(crate) fn key(inputs: &impl Debug) -> String {
    format!("{inputs:?}")
}

/// Everything the experiments built with it share.
#[derive(Debug, Default)]
pub(crate) struct Builds {
    /// The processes.
    pub(crate) exo: Memo<headroom_market::Exogenous>,
    /// The cohorts.
    pub(crate) cohorts: Memo<headroom_market::Cohort>,
    /// The CDP worlds.
    pub(crate) cdp: Memo<headroom_cdp::CdpWorld>,
    /// The P/N worlds (checked against every window).
    pub(crate) pn: Memo<headroom_pnsplit::PnWorld>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_is_built_once_per_key() {
        let mut m: Memo<Vec<u32>> = Memo::default();
        let calls = std::cell::Cell::new(0);
        let mut get = |k: &str, v: u32| {
            m.get_or_try(k, || {
                calls.set(calls.get() + 1);
                Ok::<_, ()>(vec![v])
            })
            .unwrap()
        };
        assert_eq!(get("a", 1), vec![1]);
        assert_eq!(get("a", 2), vec![1], "taken from the first build");
        assert_eq!(get("b", 3), vec![3]);
        assert_eq!((m.made, calls.get()), (2, 2));
        // A failed build is not kept.
        assert!(m.get_or_try("c", || Err::<Vec<u32>, _>("bad")).is_err());
        assert_eq!(m.get_or_try("c", || Ok::<_, ()>(vec![6])).unwrap(), vec![6]);
        assert_eq!(m.made, 3);
    }

    #[test]
    fn keys_tell_every_bit_of_a_number() {
        assert_ne!(key(&(0.0f64, 1u64)), key(&(-0.0f64, 1u64)));
        assert_ne!(key(&f64::NAN), key(&f64::INFINITY));
        assert_ne!(key(&Some(1.0f64)), key(&None::<f64>));
        assert_ne!(key(&0.1f64), key(&f64::from_bits(0.1f64.to_bits() + 1)), "one unit in the last place");
        assert_eq!(key(&("x", 0.1f64)), key(&("x", 0.1f64)));
    }
}
