//! The engine's errors as Python exceptions: bad input raises `ExperimentError` (a `ValueError`)
//! with the command line's message, an output that cannot be written `OSError`, an interrupted
//! run `KeyboardInterrupt`.

use headroom_montecarlo::Error;
use pyo3::exceptions::{PyKeyboardInterrupt, PyOSError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    headroom,
    ExperimentError,
    PyValueError,
    "Bad input: an experiment (TOML syntax, an unknown key, a missing field, a value out of \
     range, a bad CSV row) or an argument out of range. The message is the command line's: it \
     names the file (`<dict>` for an experiment given as a dict), the key or line, and what is \
     allowed."
);

/// The Python exception for an engine error.
pub fn to_py(e: Error) -> PyErr {
    match e {
        Error::Write { .. } => PyOSError::new_err(e.to_string()),
        Error::Interrupted => PyKeyboardInterrupt::new_err(e.to_string()),
        other => ExperimentError::new_err(other.to_string()),
    }
}

/// An `ExperimentError` naming a keyword argument as the command line names its flag.
pub fn usage(flag: &str, message: String) -> PyErr {
    to_py(Error::Usage { flag: flag.into(), message })
}

/// A whole number >= 0 from a keyword argument, or an `ExperimentError` naming its flag.
pub fn whole(value: Option<&Bound<'_, PyAny>>, flag: &str) -> PyResult<Option<u64>> {
    let Some(v) = value.filter(|v| !v.is_none()) else { return Ok(None) };
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(usage(flag, format!("{v}: must be a whole number >= 0")));
    }
    v.extract::<u64>().map(Some).map_err(|_| usage(flag, format!("{}: must be a whole number >= 0", repr(v))))
}

/// A number from a keyword argument, or an `ExperimentError` naming its flag.
pub fn number(v: &Bound<'_, PyAny>, flag: &str) -> PyResult<f64> {
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(usage(flag, format!("{v}: must be a number")));
    }
    v.extract::<f64>().map_err(|_| usage(flag, format!("{}: must be a number", repr(v))))
}

/// `repr(v)`, or its type's name when even that fails.
pub fn repr(v: &Bound<'_, PyAny>) -> String {
    v.repr().map(|r| r.to_string()).unwrap_or_else(|_| "a value".into())
}
