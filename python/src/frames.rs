//! Column arrays ([`headroom_montecarlo::frame`]) handed to Python as raw little-endian bytes,
//! one copy each, which the Python layer views with numpy and gives to polars: no text is
//! formatted or parsed on the way.
//!
//! A column is a tuple `(name, kind, data, extra)`: kind `"i64"` (data int64), `"f64"` (data
//! float64, extra None or one byte per row, 0 where the CSV cell is blank), `"bool"` (one byte
//! per row), `"label"` (data uint32 codes into extra, the list of texts).

use headroom_montecarlo::frame::{Column, Values};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// `values` as bytes, `W` bytes each.
fn bytes<'py, T: Copy, const W: usize>(
    py: Python<'py>,
    values: &[T],
    to_le: impl Fn(T) -> [u8; W],
) -> PyResult<Bound<'py, PyBytes>> {
    PyBytes::new_with(py, values.len() * W, |buf| {
        for (chunk, v) in buf.chunks_exact_mut(W).zip(values) {
            chunk.copy_from_slice(&to_le(*v));
        }
        Ok(())
    })
}

/// The columns as a list of `(name, kind, data, extra)` tuples.
pub fn to_py<'py>(py: Python<'py>, columns: &[Column]) -> PyResult<Bound<'py, PyList>> {
    let flags = |py, v: &[bool]| bytes(py, v, |b| [u8::from(b)]);
    let list = PyList::empty(py);
    for c in columns {
        let item = match &c.values {
            Values::Int(v) => {
                (c.name.as_str(), "i64", bytes(py, v, i64::to_le_bytes)?, py.None()).into_pyobject(py)?
            }
            Values::Float { values, valid } => {
                let extra = match valid {
                    Some(ok) => flags(py, ok)?.into_any().unbind(),
                    None => py.None(),
                };
                (c.name.as_str(), "f64", bytes(py, values, f64::to_le_bytes)?, extra).into_pyobject(py)?
            }
            Values::Bool(v) => (c.name.as_str(), "bool", flags(py, v)?, py.None()).into_pyobject(py)?,
            Values::Label { labels, codes } => {
                let labels = PyList::new(py, labels)?;
                (c.name.as_str(), "label", bytes(py, codes, u32::to_le_bytes)?, labels).into_pyobject(py)?
            }
        };
        let item: Bound<'py, PyTuple> = item;
        list.append(item)?;
    }
    Ok(list)
}
