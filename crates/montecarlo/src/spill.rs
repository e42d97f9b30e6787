//! Per-path rows on disk, so memory does not grow with the number of paths.
//!
//! A [`RowStore`] keeps one file per (world, metric) column of paths.csv, the column table's
//! values in path order as little-endian f64 bits (8 bytes a value, whatever the metric), written
//! block by block as the runner finishes them. A blank value (a primitive-specific column that
//! does not apply) is the signalling NaN [`NONE_BITS`], which no arithmetic produces (IEEE 754
//! §6.2: operations deliver quiet NaNs). The store is read back two ways: a column at a time,
//! for the summary statistics (`crate::colstats`), and row by row, in paths.csv's order, through
//! [`RowReader`].
//!
//! Nothing here names a column: the files follow `columns::all_metrics()`, so a column added to
//! the table is spilled, read back and summarised without a change here.

use crate::colstats::{column_stats_with, Spilled, Values, BUCKETS, BUDGET};
use crate::columns::{all_metrics, Metric, SummaryRow, SHARED};
use crate::error::{Error, Result};
use crate::spec::WorldKind;
use crate::staging::{Disk, DiskFile};
use crate::stats::overlap::{BlockMeans, SeMethod};
use headroom_market::PathMetrics;
use rayon::prelude::*;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// The bits that stand for a blank value (`None`) in a column file: a signalling NaN.
pub const NONE_BITS: u64 = 0x7FF0_0000_0000_0A0A;

/// Bytes a spilled value takes.
pub const VALUE_BYTES: u64 = 8;

/// Values decoded per read when a column is scanned (64 KiB).
const READ_VALUES: usize = 8192;

/// Receives the rows of a run block by block, in path order.
pub trait RowSink: Send {
    /// Rows of paths `first..first + n`: `rows[k][i]` is world `k` (in output order) of path
    /// `first + i`.
    fn block(&mut self, first: u64, rows: &[&[PathMetrics]]) -> Result<()>;
}

/// The per-path rows of a run (or a merge) in column files on disk.
#[derive(Debug)]
pub struct RowStore {
    dir: PathBuf,
    kinds: Vec<WorldKind>,
    first_path: u64,
    len: u64,
    files: Vec<DiskFile>,
    buf: Vec<u8>,
    _temp: Option<tempfile::TempDir>,
}

/// Where a summary row's values come from.
#[derive(Clone, Debug)]
pub enum ColumnSource {
    /// The values of one column file, blanks skipped.
    One(PathBuf),
    /// The paired difference of two column files, value by value (blank if either is).
    Diff(PathBuf, PathBuf),
}

impl RowStore {
    /// A store of the rows of `kinds` from global path `first_path` on, in new files inside the
    /// existing folder `dir` (e.g. a result's staging folder). The files stay until `dir` is
    /// removed.
    pub fn create(dir: &Path, kinds: &[WorldKind], first_path: u64, disk: &Disk) -> Result<Self> {
        let mut files = Vec::new();
        for kind in kinds {
            for m in all_metrics() {
                let f = column_file(dir, *kind, m);
                files.push(disk.create(&f).map_err(|e| Error::write(&f, e))?);
            }
        }
        Ok(RowStore {
            dir: dir.to_path_buf(),
            kinds: kinds.to_vec(),
            first_path,
            len: 0,
            files,
            buf: Vec::new(),
            _temp: None,
        })
    }

    /// A store in a new temporary folder (the system's), removed when the store is dropped:
    /// for library callers that want the rows without writing a result folder.
    pub fn temporary(kinds: &[WorldKind], first_path: u64) -> Result<Self> {
        let temp = tempfile::Builder::new()
            .prefix(".headroom-rows-")
            .tempdir()
            .map_err(|e| Error::write(std::env::temp_dir(), e))?;
        let mut store = Self::create(temp.path(), kinds, first_path, &Disk::real())?;
        store._temp = Some(temp);
        Ok(store)
    }

    /// The worlds, in output order.
    pub fn kinds(&self) -> &[WorldKind] {
        &self.kinds
    }

    /// The first global path index.
    pub fn first_path(&self) -> u64 {
        self.first_path
    }

    /// Paths stored so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no path is stored.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The folder of the column files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The column file of `metric` of world `kind`.
    pub fn column_path(&self, kind: WorldKind, metric: &Metric) -> PathBuf {
        column_file(&self.dir, kind, metric)
    }

    /// The sources of summary.csv's rows, in its order: every metric of every world, then `diff`
    /// (CDP minus P/N, per path) of each shared metric when both worlds ran. Each is (primitive
    /// label, metric, source).
    pub fn summary_sources(&self) -> Vec<(&'static str, &'static Metric, ColumnSource)> {
        let worlds: Vec<(WorldKind, &Path)> = self.kinds.iter().map(|k| (*k, self.dir.as_path())).collect();
        summary_sources_of(&worlds, Rows::All)
    }

    /// summary.csv's rows from the stored columns: one job per row, in parallel, each exact and
    /// in bounded memory (`crate::colstats`); rows in [`RowStore::summary_sources`]' order,
    /// those without values left out.
    /// `se` is how the standard errors are estimated (batch means for overlapping windows).
    pub fn summary(&self, se: SeMethod, cancel: Option<&AtomicBool>) -> Result<Vec<SummaryRow>> {
        self.summary_with(se, cancel, BUDGET, BUCKETS)
    }

    /// [`RowStore::summary`] with a given memory budget (values a job holds) and histogram size.
    pub fn summary_with(
        &self,
        se: SeMethod,
        cancel: Option<&AtomicBool>,
        budget: usize,
        buckets: usize,
    ) -> Result<Vec<SummaryRow>> {
        summarise(self.summary_sources(), se, cancel, budget, buckets)
    }

    /// Reads the stored rows back in paths.csv's order (by path, worlds in output order).
    pub fn rows(&self) -> Result<RowReader> {
        let mut cols = Vec::new();
        for kind in &self.kinds {
            for m in all_metrics() {
                cols.push(ValueReader::open(&self.column_path(*kind, m))?);
            }
        }
        Ok(RowReader {
            cols,
            kinds: self.kinds.clone(),
            next_path: self.first_path,
            end: self.first_path + self.len,
            world: 0,
        })
    }
}

/// Which of summary.csv's rows [`summary_sources_of`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rows {
    /// Every row: each world's metrics, then the paired differences.
    All,
    /// Each world's own metrics only.
    Own,
    /// The paired differences only (`diff`, CDP minus P/N, when both worlds are given).
    Diff,
}

/// The sources of summary.csv's rows of worlds whose column files may lie in folders of their
/// own (`worlds`: each world in output order, with the folder of its columns), in summary.csv's
/// order: every metric of every world, then `diff` of each shared metric when both are given.
/// `rows` keeps a part of them (a sweep's points that share a world's run compute its own rows
/// once and only the differences again).
pub fn summary_sources_of(
    worlds: &[(WorldKind, &Path)],
    rows: Rows,
) -> Vec<(&'static str, &'static Metric, ColumnSource)> {
    let mut jobs = Vec::new();
    if rows != Rows::Diff {
        for (kind, dir) in worlds {
            for m in all_metrics() {
                jobs.push((kind.label(), m, ColumnSource::One(column_file(dir, *kind, m))));
            }
        }
    }
    let dir_of = |k: WorldKind| worlds.iter().find(|(w, _)| *w == k).map(|(_, d)| *d);
    if let (Some(cdp), Some(pn), true) = (dir_of(WorldKind::Cdp), dir_of(WorldKind::Pn), rows != Rows::Own) {
        for m in SHARED.iter() {
            let a = column_file(cdp, WorldKind::Cdp, m);
            let b = column_file(pn, WorldKind::Pn, m);
            jobs.push(("diff", m, ColumnSource::Diff(a, b)));
        }
    }
    jobs
}

/// The summary rows of `sources`, in their order, those without values left out: one job per
/// row, in parallel, each exact and in bounded memory (`crate::colstats`, at most `budget`
/// values and `buckets` counts a job); `se` is how the standard errors are estimated.
pub fn summarise(
    sources: Vec<(&'static str, &'static Metric, ColumnSource)>,
    se: SeMethod,
    cancel: Option<&AtomicBool>,
    budget: usize,
    buckets: usize,
) -> Result<Vec<SummaryRow>> {
    let rows: Vec<Result<Option<SummaryRow>>> = sources
        .into_par_iter()
        .map(|(primitive, m, source)| {
            let col = Spilled { source: &source, cancel };
            let Some(mut stats) = column_stats_with(&col, m.worst, budget, buckets)? else {
                return Ok(None);
            };
            if let SeMethod::BatchMeans { block } = se {
                // One more pass in path order: the block means (the same bits as in memory).
                let mut b = BlockMeans::new(block);
                col.scan(&mut |values| b.extend(values))?;
                stats = stats.with_se(b.se());
            }
            Ok(Some(SummaryRow { primitive, metric: m.name, stats }))
        })
        .collect();
    rows.into_iter().filter_map(Result::transpose).collect()
}

impl RowSink for RowStore {
    fn block(&mut self, first: u64, rows: &[&[PathMetrics]]) -> Result<()> {
        if rows.len() != self.kinds.len() || first != self.first_path + self.len {
            return Err(Error::Merge(format!(
                "rows of paths from {first} given where the store expects {} worlds from path {}",
                self.kinds.len(),
                self.first_path + self.len
            )));
        }
        let n = rows.first().map_or(0, |r| r.len());
        let per_world = all_metrics().count();
        for (k, world_rows) in rows.iter().enumerate() {
            for (j, m) in all_metrics().enumerate() {
                self.buf.clear();
                self.buf.reserve(world_rows.len() * VALUE_BYTES as usize);
                for row in *world_rows {
                    self.buf.extend_from_slice(&encode((m.get)(row)).to_le_bytes());
                }
                let file = &mut self.files[k * per_world + j];
                if let Err(e) = file.write_all(&self.buf) {
                    return Err(Error::write(column_file(&self.dir, self.kinds[k], m), e));
                }
            }
        }
        self.len += n as u64;
        Ok(())
    }
}

/// The file of one column.
fn column_file(dir: &Path, kind: WorldKind, m: &Metric) -> PathBuf {
    dir.join(format!("{}.{}.f64", kind.label(), m.name))
}

/// A value's bits in a column file.
#[inline]
fn encode(v: Option<f64>) -> u64 {
    match v {
        // A NaN that happens to carry the blank's bits is written as the quiet NaN.
        Some(x) if x.to_bits() == NONE_BITS => f64::NAN.to_bits(),
        Some(x) => x.to_bits(),
        None => NONE_BITS,
    }
}

#[inline]
fn decode(bits: u64) -> Option<f64> {
    (bits != NONE_BITS).then(|| f64::from_bits(bits))
}

/// A column file read in path order, a block at a time.
struct ValueReader {
    file: File,
    name: PathBuf,
    bytes: Vec<u8>,
    values: Vec<u64>,
    pos: usize,
}

impl ValueReader {
    fn open(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|e| Error::read(path, e))?;
        Ok(ValueReader {
            file,
            name: path.to_path_buf(),
            bytes: vec![0; READ_VALUES * VALUE_BYTES as usize],
            values: Vec::with_capacity(READ_VALUES),
            pos: 0,
        })
    }

    /// The next block of raw values (empty at the end).
    fn next_block(&mut self) -> Result<&[u64]> {
        let mut filled = 0;
        while filled < self.bytes.len() {
            match self.file.read(&mut self.bytes[filled..]) {
                Ok(0) => break,
                Ok(k) => filled += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::read(&self.name, e)),
            }
        }
        if filled % VALUE_BYTES as usize != 0 {
            return Err(Error::read(
                &self.name,
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a column file ends inside a value"),
            ));
        }
        self.values.clear();
        self.values.extend(
            self.bytes[..filled].chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))),
        );
        self.pos = 0;
        Ok(&self.values)
    }

    /// The next raw value, `None` at the end.
    fn next_value(&mut self) -> Result<Option<u64>> {
        if self.pos == self.values.len() && self.next_block()?.is_empty() {
            return Ok(None);
        }
        let v = self.values[self.pos];
        self.pos += 1;
        Ok(Some(v))
    }
}

impl ColumnSource {
    /// Calls `f` with the source's values in path order, a block at a time; stops with
    /// [`Error::Interrupted`] once `cancel` is set.
    pub fn scan(&self, cancel: Option<&AtomicBool>, f: &mut dyn FnMut(&[f64])) -> Result<()> {
        let mut out: Vec<f64> = Vec::with_capacity(READ_VALUES);
        match self {
            ColumnSource::One(path) => {
                let mut r = ValueReader::open(path)?;
                loop {
                    check_cancel(cancel)?;
                    let block = r.next_block()?;
                    if block.is_empty() {
                        return Ok(());
                    }
                    out.clear();
                    out.extend(block.iter().filter_map(|&b| decode(b)));
                    f(&out);
                }
            }
            ColumnSource::Diff(a, b) => {
                let mut ra = ValueReader::open(a)?;
                let mut rb = ValueReader::open(b)?;
                loop {
                    check_cancel(cancel)?;
                    let xa = ra.next_block()?.to_vec();
                    let xb = rb.next_block()?;
                    if xa.len() != xb.len() {
                        return Err(Error::read(
                            b,
                            std::io::Error::new(
                                std::io::ErrorKind::UnexpectedEof,
                                "the paired columns differ in length",
                            ),
                        ));
                    }
                    if xa.is_empty() {
                        return Ok(());
                    }
                    out.clear();
                    out.extend(xa.iter().zip(xb).filter_map(|(&x, &y)| Some(decode(x)? - decode(y)?)));
                    f(&out);
                }
            }
        }
    }
}

/// [`Error::Interrupted`] once `cancel` is set.
pub fn check_cancel(cancel: Option<&AtomicBool>) -> Result<()> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(Error::Interrupted),
        _ => Ok(()),
    }
}

/// The rows of a [`RowStore`] in paths.csv's order: `(path, world, metrics)`.
pub struct RowReader {
    cols: Vec<ValueReader>,
    kinds: Vec<WorldKind>,
    next_path: u64,
    end: u64,
    world: usize,
}

impl RowReader {
    fn read_row(&mut self) -> Result<(u64, WorldKind, PathMetrics)> {
        let per_world = all_metrics().count();
        let mut m = PathMetrics::default();
        for (j, c) in all_metrics().enumerate() {
            let r = &mut self.cols[self.world * per_world + j];
            let bits = r.next_value()?.ok_or_else(|| {
                Error::read(
                    &r.name,
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "a column file ends early"),
                )
            })?;
            (c.set)(&mut m, decode(bits));
        }
        let row = (self.next_path, self.kinds[self.world], m);
        self.world += 1;
        if self.world == self.kinds.len() {
            self.world = 0;
            self.next_path += 1;
        }
        Ok(row)
    }
}

impl Iterator for RowReader {
    type Item = Result<(u64, WorldKind, PathMetrics)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next_path >= self.end {
            return None;
        }
        let row = self.read_row();
        if row.is_err() {
            self.next_path = self.end;
        }
        Some(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: u64, pn: bool) -> PathMetrics {
        PathMetrics {
            exits: i,
            eth_sold: i as f64 * 0.5,
            fees_usd: -0.0,
            slippage_usd: f64::NAN,
            min_price: 1e-310 * i as f64,
            final_price: f64::INFINITY,
            interest_usd: (!pn).then_some(i as f64),
            premium_usd: pn.then_some(3.25),
            p_drift: None,
            ..PathMetrics::default()
        }
    }

    #[test]
    fn rows_read_back_as_written_and_columns_skip_blanks() {
        let dir = tempfile::tempdir().unwrap();
        let kinds = [WorldKind::Cdp, WorldKind::Pn];
        let mut store = RowStore::create(dir.path(), &kinds, 10, &Disk::real()).unwrap();
        let a: Vec<PathMetrics> = (0..5).map(|i| row(i, false)).collect();
        let b: Vec<PathMetrics> = (0..5).map(|i| row(i, true)).collect();
        store.block(10, &[&a[..3], &b[..3]]).unwrap();
        store.block(13, &[&a[3..], &b[3..]]).unwrap();
        assert!(store.block(10, &[&a, &b]).is_err(), "a block out of order is refused");
        let back: Vec<_> = store.rows().unwrap().map(|r| r.unwrap()).collect();
        assert_eq!(back.len(), 10);
        for (i, (path, kind, m)) in back.iter().enumerate() {
            let p = (i / 2) as u64;
            assert_eq!(*path, 10 + p);
            let want = if i % 2 == 0 { &a[p as usize] } else { &b[p as usize] };
            assert_eq!(*kind, kinds[i % 2]);
            // NaN != NaN: compare the bits through the table.
            for c in all_metrics() {
                assert_eq!((c.get)(m).map(f64::to_bits), (c.get)(want).map(f64::to_bits), "{}", c.name);
            }
        }
        let sources = store.summary_sources();
        assert_eq!(sources.len(), 2 * all_metrics().count() + SHARED.len());
        let interest = sources.iter().find(|(p, m, _)| *p == "pn" && m.name == "interest_usd").unwrap();
        let mut seen = Vec::new();
        interest.2.scan(None, &mut |v| seen.extend_from_slice(v)).unwrap();
        assert!(seen.is_empty(), "a column blank on every row has no values");
        let exits = sources.iter().find(|(p, m, _)| *p == "diff" && m.name == "exits").unwrap();
        exits.2.scan(None, &mut |v| seen.extend_from_slice(v)).unwrap();
        assert_eq!(seen, vec![0.0; 5]);
        let stop = AtomicBool::new(true);
        assert!(matches!(exits.2.scan(Some(&stop), &mut |_| {}), Err(Error::Interrupted)));
    }

    #[test]
    fn a_runs_stored_rows_and_summary_equal_the_in_memory_ones_at_any_budget() {
        use crate::columns::{summary_fields, summary_rows};
        let spec =
            crate::ExperimentSpec::parse(crate::runner::tests::SMALL, Path::new("small.toml")).unwrap();
        let exp = crate::Experiment::build(spec, Path::new("small.toml")).unwrap();
        let opts = crate::RunOptions { paths: 5..exp.spec.paths(), threads: Some(2), ..Default::default() };
        let mem = exp.run(&opts).unwrap();
        let want: Vec<Vec<String>> =
            summary_rows(&mem.kinds, &mem.slices(), SeMethod::Iid).iter().map(summary_fields).collect();
        let mut store = RowStore::temporary(&exp.kinds(), 5).unwrap();
        exp.run_blocks(&opts, &mut store).unwrap();
        assert_eq!(store.len(), exp.spec.paths() - 5);
        for (budget, buckets) in [(1, 2), (16, 8), (100, 1 << 16), (BUDGET, BUCKETS)] {
            let got: Vec<Vec<String>> = store
                .summary_with(SeMethod::Iid, None, budget, buckets)
                .unwrap()
                .iter()
                .map(summary_fields)
                .collect();
            assert_eq!(got, want, "budget {budget}, {buckets} buckets");
        }
        let rows: Vec<_> = store.rows().unwrap().map(|r| r.unwrap()).collect();
        for (i, (path, kind, m)) in rows.iter().enumerate() {
            let k = i % mem.kinds.len();
            assert_eq!((*path, *kind), (5 + (i / mem.kinds.len()) as u64, mem.kinds[k]));
            assert_eq!(*m, mem.metrics[k][i / mem.kinds.len()]);
        }
        let dir = store.dir().to_path_buf();
        drop(store);
        assert!(!dir.exists(), "a temporary store removes its folder");
    }

    #[test]
    fn a_nan_with_the_blanks_bits_stays_a_value() {
        assert_eq!(decode(encode(Some(f64::from_bits(NONE_BITS)))).map(f64::is_nan), Some(true));
        assert_eq!(decode(encode(None)), None);
        assert!(f64::from_bits(NONE_BITS).is_nan());
        // Arithmetic on the blank's bits gives a quiet NaN, never the blank again.
        assert_ne!((f64::from_bits(NONE_BITS) + 1.0).to_bits(), NONE_BITS);
    }
}
