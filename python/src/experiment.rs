//! The `experiment` argument: a path to a TOML file, or a dict of the TOML's tables. A dict is
//! written as TOML text and read by the same parser as a file, so its errors are the command
//! line's (with `<dict>` for the file name, and lines of that text).

use crate::errors::{repr, to_py};
use headroom_montecarlo::sweep::{load_sweep, load_sweep_text, Sweep};
use headroom_montecarlo::{Error, Experiment, ExperimentSpec};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use std::path::{Path, PathBuf};

/// The name a dict experiment goes by in messages and the manifest; relative paths in it (a
/// cohort or price CSV) are relative to the working directory.
pub const DICT_NAME: &str = "<dict>";

/// Where an experiment comes from.
pub enum Source {
    /// A TOML file.
    File(PathBuf),
    /// A dict, as TOML text.
    Dict(String),
}

impl Source {
    /// Reads the `experiment` argument.
    pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Source> {
        if let Ok(d) = obj.cast::<PyDict>() {
            let table = table(d, "")?;
            let text = toml::to_string(&table)
                .map_err(|e| to_py(Error::Parse { file: DICT_NAME.into(), message: e.to_string() }))?;
            return Ok(Source::Dict(text));
        }
        obj.extract::<PathBuf>().map(Source::File).map_err(|_| {
            to_py(Error::Usage {
                flag: "experiment".into(),
                message: format!("{}: must be a path to a TOML file or a dict of its tables", repr(obj)),
            })
        })
    }

    /// The file name of messages and the manifest.
    pub fn file(&self) -> &Path {
        match self {
            Source::File(p) => p,
            Source::Dict(_) => Path::new(DICT_NAME),
        }
    }

    /// The experiment with `paths` and `seed` overriding its own, validated and built (as
    /// `headroom run` does).
    pub fn build(&self, paths: Option<u64>, seed: Option<u64>) -> Result<Experiment, Error> {
        let mut spec = match self {
            Source::File(p) => ExperimentSpec::load(p)?,
            Source::Dict(text) => ExperimentSpec::parse(text, self.file())?,
        };
        if let Some(p) = paths {
            spec.paths = Some(p);
        }
        if let Some(s) = seed {
            spec.seed = s;
        }
        Experiment::build(spec, self.file())
    }

    /// The experiment's grid, every point built (as `headroom sweep` does).
    pub fn sweep(&self, paths: Option<u64>, seed: Option<u64>) -> Result<Sweep, Error> {
        match self {
            Source::File(p) => load_sweep(p, paths, seed),
            Source::Dict(text) => load_sweep_text(text, self.file(), paths, seed),
        }
    }
}

/// A dict as a TOML table; `at` is its key path, for messages. A None value leaves its key out.
fn table(d: &Bound<'_, PyDict>, at: &str) -> PyResult<toml::Table> {
    let mut t = toml::Table::new();
    for (k, v) in d.iter() {
        let Ok(key) = k.extract::<String>() else {
            return Err(bad(at, &format!("key {}: keys must be strings", repr(&k))));
        };
        let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
        if v.is_none() {
            continue;
        }
        t.insert(key, value(&v, &path)?);
    }
    Ok(t)
}

/// A Python value as a TOML value: bool, int, float, str, os.PathLike (as its path), list or
/// tuple, dict; numpy's scalars through `__index__` and `__float__`.
fn value(v: &Bound<'_, PyAny>, at: &str) -> PyResult<toml::Value> {
    use toml::Value as V;
    if v.is_instance_of::<PyBool>() {
        return Ok(V::Boolean(v.extract()?));
    }
    if v.is_instance_of::<PyInt>() {
        return v.extract::<i64>().map(V::Integer).map_err(|_| bad(at, &format!("{v}: must fit in 64 bits")));
    }
    if v.is_instance_of::<PyFloat>() {
        return Ok(V::Float(v.extract()?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(V::String(s.to_string()));
    }
    if let Ok(d) = v.cast::<PyDict>() {
        return Ok(V::Table(table(d, at)?));
    }
    if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
        let mut a = Vec::new();
        for (i, x) in v.try_iter()?.enumerate() {
            let x = x?;
            let here = format!("{at}[{i}]");
            if x.is_none() {
                return Err(bad(&here, "None: a list cannot hold None"));
            }
            a.push(value(&x, &here)?);
        }
        return Ok(V::Array(a));
    }
    if v.hasattr("__fspath__")? {
        return Ok(V::String(v.extract::<PathBuf>()?.display().to_string()));
    }
    if v.hasattr("__index__")? {
        if let Ok(i) = v.extract::<i64>() {
            return Ok(V::Integer(i));
        }
    }
    if v.hasattr("__float__")? {
        if let Ok(f) = v.extract::<f64>() {
            return Ok(V::Float(f));
        }
    }
    let kind = v.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    Err(bad(
        at,
        &format!("{}: a {kind} is not a TOML value (allowed: bool, int, float, str, list, dict)", repr(v)),
    ))
}

fn bad(at: &str, message: &str) -> PyErr {
    let problem = if at.is_empty() { message.to_string() } else { format!("{at}: {message}") };
    to_py(Error::Invalid { file: DICT_NAME.into(), problems: vec![problem] })
}
