//! The engine's error type: every input problem names the file and the key or line.

use std::path::PathBuf;

/// An error of the experiment layer. All variants except [`Error::Write`] and
/// [`Error::Interrupted`] are input errors (exit code 2 in the binary).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The experiment file does not parse (TOML syntax, unknown key, missing field, wrong type).
    #[error("{}: {message}", file.display())]
    Parse {
        /// The experiment file.
        file: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// One or more values out of range; each problem names its key path.
    #[error("{}: {}", file.display(), problems.join("\n  "))]
    Invalid {
        /// The experiment file.
        file: PathBuf,
        /// `key.path = value: what is allowed`, one per problem.
        problems: Vec<String>,
    },
    /// An input CSV (cohort, price series) with a bad row.
    #[error("{}: line {line}: {message}", file.display())]
    Csv {
        /// The CSV file.
        file: PathBuf,
        /// 1-based line (the header is line 1).
        line: u64,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// A command-line value out of range.
    #[error("{flag}: {message}")]
    Usage {
        /// The flag, e.g. `--shard`.
        flag: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Shard outputs that cannot be merged.
    #[error("merge: {0}")]
    Merge(String),
    /// An input file that cannot be read (missing, unreadable).
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An output that cannot be written (disk full, permissions).
    #[error("{}: cannot write: {source}{}", file.display(), full_disk_hint(source))]
    Write {
        /// The file or folder.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An output path that would replace something headroom did not write, or a run too large
    /// for the disk: refused before anything is computed or touched.
    #[error("{}: {message}", out.display())]
    Output {
        /// The `--out` path (or the file in it) that is refused.
        out: PathBuf,
        /// Why, and what to do instead.
        message: String,
    },
    /// Stopped by a signal (Ctrl-C, SIGTERM) or the caller's cancellation flag.
    #[error("interrupted: nothing was written and no earlier output was touched")]
    Interrupted,
}

fn full_disk_hint(e: &std::io::Error) -> &'static str {
    if e.kind() == std::io::ErrorKind::StorageFull {
        " (the disk is full: nothing was replaced; free some space or choose another --out)"
    } else {
        ""
    }
}

impl Error {
    /// Whether the error is the user's input (exit code 2) rather than the environment's or an
    /// interruption.
    pub fn is_input_error(&self) -> bool {
        !matches!(self, Error::Write { .. } | Error::Interrupted)
    }

    pub(crate) fn read(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Read { file: file.into(), source }
    }

    pub(crate) fn write(file: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Write { file: file.into(), source }
    }
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
