//! A sweep pays once for what its points share. A world's rows depend only on its own inputs:
//! the experiment without the other world's table (each world has its own market and stream,
//! and both read the same exogenous draws: crate::runner). So the points whose world has the
//! inputs of an earlier point's read that run's columns and summary rows instead of running it
//! again: a sweep over P/N keys runs the CDP world once, one over the depth of the market runs
//! each world once per depth. Each point's summary rows are the ones a run of that point alone
//! gives (the same columns, summarised by the same jobs), in summary.csv's order: each world's
//! own rows, then the paired differences, computed from the two runs' columns.

use super::Sweep;
use crate::colstats::{BUCKETS, BUDGET};
use crate::columns::SummaryRow;
use crate::error::{Error, Result};
use crate::runner::{Experiment, RunOptions};
use crate::spec::WorldKind;
use crate::spill::{check_cancel, summarise, summary_sources_of, RowStore, Rows};
use crate::staging::Disk;
use std::path::{Path, PathBuf};

/// One world's run, read by one or more points.
#[derive(Clone, Debug, PartialEq, Eq)]
struct WorldRun {
    kind: WorldKind,
    /// The point whose experiment runs it (the first that has its inputs).
    point: usize,
    /// The last point that reads it.
    last: usize,
    paths: u64,
}

/// Which world runs a sweep makes, and which each point reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    runs: Vec<WorldRun>,
    /// Each point's worlds in output order, as indices into `runs`.
    uses: Vec<Vec<usize>>,
}

/// The text of every input of world `kind`'s rows in `exp`: the resolved experiment as if it
/// ran that world alone, without what no row depends on (its name and description, the report
/// switch, the reference figures).
fn world_inputs(exp: &Experiment, kind: WorldKind) -> String {
    let mut s = exp.spec.clone();
    s.name.clear();
    s.description.clear();
    s.report = false;
    s.reference.clear();
    s.sweep = None;
    s.worlds = vec![kind];
    match kind {
        WorldKind::Cdp => s.pn = None,
        WorldKind::Pn => s.cdp = None,
    }
    format!("{:?}", (s, &exp.file))
}

impl Plan {
    /// The plan of `sweep`'s points: a world runs at the first point with its inputs.
    pub fn new(sweep: &Sweep) -> Plan {
        let mut runs: Vec<WorldRun> = Vec::new();
        let mut by_inputs = std::collections::HashMap::new();
        let mut uses = Vec::with_capacity(sweep.points.len());
        for (i, (_, exp)) in sweep.points.iter().enumerate() {
            let mut mine = Vec::new();
            for kind in exp.kinds() {
                let r = *by_inputs.entry(world_inputs(exp, kind)).or_insert_with(|| {
                    runs.push(WorldRun { kind, point: i, last: i, paths: exp.spec.paths() });
                    runs.len() - 1
                });
                runs[r].last = i;
                mine.push(r);
            }
            uses.push(mine);
        }
        Plan { runs, uses }
    }

    /// How many world runs the sweep makes (a sweep without sharing makes one per point and
    /// world).
    pub fn runs(&self) -> usize {
        self.runs.len()
    }

    /// The most paths of world rows kept on disk at once (each world's columns stay until the
    /// last point that reads them is summarised).
    pub fn peak_world_paths(&self) -> u64 {
        (0..self.uses.len())
            .map(|i| self.runs.iter().filter(|r| r.point <= i && i <= r.last).map(|r| r.paths).sum::<u64>())
            .max()
            .unwrap_or(0)
    }
}

/// Runs the points of `sweep` by `plan` in order and gives each point's summary rows to `done`
/// as soon as they are complete. The runs' columns go into folders inside `base` (one per point
/// that runs a world), each removed once no later point reads it. `run` gives the threads,
/// progress (every point's paths, run or read) and cancellation.
pub(crate) fn run_points(
    sweep: &Sweep,
    plan: &Plan,
    run: &RunOptions,
    base: &Path,
    disk: &Disk,
    mut done: impl FnMut(Vec<SummaryRow>) -> Result<()>,
) -> Result<()> {
    let mut folder: Vec<Option<PathBuf>> = vec![None; plan.runs.len()];
    let mut own: Vec<Vec<SummaryRow>> = vec![Vec::new(); plan.runs.len()];
    // The last point that reads a point's folder.
    let mut folder_last = vec![0; sweep.points.len()];
    let mut ran = vec![false; sweep.points.len()];
    for r in &plan.runs {
        folder_last[r.point] = folder_last[r.point].max(r.last);
        ran[r.point] = true;
    }
    for (i, (_, exp)) in sweep.points.iter().enumerate() {
        check_cancel(run.cancel)?;
        let se = exp.se_method();
        let new: Vec<usize> = plan.uses[i].iter().copied().filter(|&r| plan.runs[r].point == i).collect();
        if new.is_empty() {
            if let Some(p) = run.progress {
                p(exp.spec.paths());
            }
        } else {
            let dir = base.join(format!("point-{i}"));
            std::fs::create_dir(&dir).map_err(|e| Error::write(&dir, e))?;
            let kinds: Vec<WorldKind> = new.iter().map(|&r| plan.runs[r].kind).collect();
            let mut store = RowStore::create(&dir, &kinds, 0, disk)?;
            let opts = RunOptions { paths: 0..exp.spec.paths(), event_paths: 0, ..*run };
            with_worlds(exp, &kinds).run_blocks(&opts, &mut store)?;
            for &r in &new {
                let sources = summary_sources_of(&[(plan.runs[r].kind, &dir)], Rows::Own);
                own[r] = summarise(sources, se, run.cancel, BUDGET, BUCKETS)?;
                folder[r] = Some(dir.clone());
            }
        }
        let mut rows: Vec<SummaryRow> = plan.uses[i].iter().flat_map(|&r| own[r].iter().cloned()).collect();
        let worlds: Vec<(WorldKind, &Path)> =
            plan.uses[i].iter().filter_map(|&r| Some((plan.runs[r].kind, folder[r].as_deref()?))).collect();
        rows.extend(summarise(summary_sources_of(&worlds, Rows::Diff), se, run.cancel, BUDGET, BUCKETS)?);
        done(rows)?;
        for &r in &plan.uses[i] {
            if plan.runs[r].last == i {
                own[r] = Vec::new();
                folder[r] = None;
            }
        }
        for p in (0..=i).filter(|&p| ran[p] && folder_last[p] == i) {
            let dir = base.join(format!("point-{p}"));
            std::fs::remove_dir_all(&dir).map_err(|e| Error::write(&dir, e))?;
        }
    }
    Ok(())
}

/// `exp` with only the worlds `kinds` (each world's rows are those of the full experiment).
fn with_worlds(exp: &Experiment, kinds: &[WorldKind]) -> Experiment {
    let mut part = exp.clone();
    if !kinds.contains(&WorldKind::Cdp) {
        part.cdp = None;
    }
    if !kinds.contains(&WorldKind::Pn) {
        part.pn = None;
    }
    part.spec.worlds = part.kinds();
    part
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builds::Builds;
    use crate::columns::summary_fields;
    use crate::runner::tests::SMALL;
    use crate::spec::ExperimentSpec;
    use crate::sweep::load_sweep_text;

    fn sweep(grid: &str) -> Sweep {
        let text = SMALL.replace("paths = 130", "paths = 70") + "\n[sweep]\n" + grid;
        load_sweep_text(&text, Path::new("small.toml"), None, None).unwrap()
    }

    /// Each point's summary as summary.csv's fields, from a plain build and run of that point.
    fn alone(exp: &Experiment) -> Vec<Vec<String>> {
        let plain = Experiment::build(exp.spec.clone(), Path::new("small.toml")).unwrap();
        let mut store = RowStore::temporary(&plain.kinds(), 0).unwrap();
        let opts = RunOptions { paths: 0..plain.spec.paths(), threads: Some(2), ..Default::default() };
        plain.run_blocks(&opts, &mut store).unwrap();
        store.summary(plain.se_method(), None).unwrap().iter().map(summary_fields).collect()
    }

    #[test]
    fn points_that_share_a_world_read_its_run_and_give_a_plain_runs_bytes() {
        // The roll trigger is the P/N world's alone, the depth both worlds': 2 CDP runs (one
        // per depth) and 6 P/N runs, where a sweep without sharing makes 12.
        let sw = sweep(
            "\"market.liquidity.depth_eth\" = [5000.0, 300.0]\n\"pn.roll_trigger\" = [1.15, 1.25, 1.5]\n",
        );
        let plan = Plan::new(&sw);
        assert_eq!(plan.runs(), 8);
        assert_eq!(plan.peak_world_paths(), 70 * 2, "one depth's CDP run and one P/N run at a time");
        for threads in [1, 2] {
            let run = RunOptions { threads: Some(threads), ..Default::default() };
            let got = crate::sweep::sweep_summaries(&sw, &run).unwrap();
            assert_eq!(got.len(), 6);
            for ((values, exp), rows) in sw.points.iter().zip(&got) {
                let fields: Vec<Vec<String>> = rows.iter().map(summary_fields).collect();
                assert_eq!(fields, alone(exp), "point {values:?} at {threads} threads");
            }
        }
        // Points differ where they should: the trigger moves the P/N world's rows, not the CDP's.
        let got = crate::sweep::sweep_summaries(&sw, &RunOptions::default()).unwrap();
        let row = |p: usize, prim: &str, m: &str| {
            got[p].iter().find(|r| r.primitive == prim && r.metric == m).map(|r| r.stats.mean).unwrap()
        };
        assert_eq!(row(0, "cdp", "exits"), row(2, "cdp", "exits"));
        assert_ne!(row(0, "pn", "exits"), row(2, "pn", "exits"));
    }

    #[test]
    fn runs_are_kept_until_their_last_reader() {
        // Each key is one world's: every CDP run is read by two points, every P/N run by two
        // points two apart, so a folder outlives the next point's.
        let sw = sweep("\"cdp.bonus\" = [0.05, 0.08]\n\"pn.roll_trigger\" = [1.15, 1.5]\n");
        let plan = Plan::new(&sw);
        assert_eq!(plan.runs(), 4);
        assert_eq!(plan.peak_world_paths(), 70 * 3, "at the third point: its CDP run and both P/N runs");
        let base = tempfile::tempdir().unwrap();
        let mut got = Vec::new();
        let mut live = Vec::new();
        run_points(&sw, &plan, &RunOptions::default(), base.path(), &Disk::real(), |rows| {
            let mut names: Vec<String> = std::fs::read_dir(base.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            live.push(names.join(" "));
            got.push(rows);
            Ok(())
        })
        .unwrap();
        for ((values, exp), rows) in sw.points.iter().zip(&got) {
            assert_eq!(rows.iter().map(summary_fields).collect::<Vec<_>>(), alone(exp), "point {values:?}");
        }
        // Point 0 runs both worlds, 1 the second trigger, 2 the second bonus, 3 nothing; point
        // 0's folder goes once point 2 has read its P/N run, every folder at the end.
        let expected = ["point-0", "point-0 point-1", "point-0 point-1 point-2", "point-1 point-2"];
        assert_eq!(live, expected);
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }

    #[test]
    fn identical_points_run_once_and_each_world_alone_shares_too() {
        // A key that only the absent world reads: every point is the same run.
        let text = SMALL
            .replace("paths = 130", "paths = 40")
            .replace("worlds = [\"cdp\", \"pn\"]", "worlds = [\"cdp\"]")
            + "\n[sweep]\n\"pn.fee\" = [0.001, 0.002, 0.003]\n";
        let sw = load_sweep_text(&text, Path::new("small.toml"), None, None).unwrap();
        let plan = Plan::new(&sw);
        assert_eq!(plan.runs(), 1);
        let seen = std::sync::atomic::AtomicU64::new(0);
        let tick = |k: u64| {
            seen.fetch_add(k, std::sync::atomic::Ordering::Relaxed);
        };
        let got =
            crate::sweep::sweep_summaries(&sw, &RunOptions { progress: Some(&tick), ..Default::default() })
                .unwrap();
        assert_eq!(seen.into_inner(), 3 * 40, "progress counts the points read as well as run");
        for ((_, exp), rows) in sw.points.iter().zip(&got) {
            assert_eq!(rows.iter().map(summary_fields).collect::<Vec<_>>(), alone(exp));
        }
    }

    #[test]
    fn the_shared_build_builds_each_part_once_and_gives_separate_builds_bytes() {
        let grid = "\"market.liquidity.depth_eth\" = [5000.0, 300.0]\n\"pn.roll_trigger\" = [1.15, 1.5]\n";
        let text = SMALL.replace("paths = 130", "paths = 50") + "\n[sweep]\n" + grid;
        let base = ExperimentSpec::parse(&text, Path::new("small.toml")).unwrap();
        let mut builds = Builds::default();
        let sw = load_sweep_text(&text, Path::new("small.toml"), None, None).unwrap();
        for (values, exp) in &sw.points {
            let shared =
                Experiment::build_shared(exp.spec.clone(), Path::new("small.toml"), &mut builds).unwrap();
            let opts = RunOptions { paths: 0..50, threads: Some(2), ..Default::default() };
            let a = shared.run(&opts).unwrap();
            let b = Experiment::build(exp.spec.clone(), Path::new("small.toml")).unwrap().run(&opts).unwrap();
            assert_eq!(format!("{:?}", a.metrics), format!("{:?}", b.metrics), "point {values:?}");
            assert_eq!(alone(&shared), alone(exp));
        }
        // One process and one cohort; the depth is the market's, not a world's input: one CDP
        // world; the trigger is the P/N world's: two.
        assert_eq!((builds.exo.made, builds.cohorts.made, builds.cdp.made, builds.pn.made), (1, 1, 1, 2));
        // A cohort key builds a cohort, and worlds, per value.
        let mut builds = Builds::default();
        for hf in [1.01, 1.2, 1.01] {
            let mut spec = base.clone();
            if let crate::spec::CohortSpec::Ladder { hf_min, .. } = &mut spec.cohort {
                *hf_min = hf;
            }
            Experiment::build_shared(spec, Path::new("small.toml"), &mut builds).unwrap();
        }
        assert_eq!((builds.exo.made, builds.cohorts.made, builds.cdp.made, builds.pn.made), (1, 2, 2, 2));
    }
}
