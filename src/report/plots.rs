//! The report's SVG charts, drawn with plotters' SVG backend into strings.
//!
//! The SVG backend writes text as `<text>` elements and lays it out with plotters' built-in size
//! estimate, so no font file is needed. Long series are thinned before drawing (keeping each
//! bucket's first, lowest, highest and last point, so wicks and jumps survive).

use super::WorldTrace;
use headroom_montecarlo::spec::WorldKind;
use plotters::chart::MeshStyle;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::element::ComposedElement;
use plotters::prelude::*;

/// The legend mark of a line (an anchor and two strokes).
type LegendMark<DB> = ComposedElement<(i32, i32), DB, PathElement<(i32, i32)>, PathElement<(i32, i32)>>;

/// Colour of a world's series.
pub fn world_color(world: WorldKind) -> RGBColor {
    match world {
        WorldKind::Cdp => RGBColor(200, 55, 45),
        WorldKind::Pn => RGBColor(35, 95, 190),
    }
}

/// Green of the exits on the worst-path chart.
const EXITS_COLOR: RGBColor = RGBColor(30, 140, 60);

/// Points kept per series (before the ECDF steps).
const MAX_POINTS: usize = 1500;

/// One line of a chart.
pub struct Curve {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Dashed instead of solid.
    pub dashed: bool,
    /// The points, in drawing order.
    pub points: Vec<(f64, f64)>,
    /// An optional band around it: (x, low, high).
    pub band: Option<Vec<(f64, f64, f64)>>,
    /// Mark each point with a dot (for a few grid points).
    pub markers: bool,
}

/// Axis texts and ranges of a one-axis chart.
pub struct Frame<'a> {
    /// Caption above the chart.
    pub title: &'a str,
    /// x-axis description (with unit).
    pub x_desc: &'a str,
    /// y-axis description (with unit).
    pub y_desc: &'a str,
    /// x range.
    pub x: (f64, f64),
    /// y range.
    pub y: (f64, f64),
    /// Tick label of an x value.
    pub x_fmt: &'a dyn Fn(&f64) -> String,
    /// Tick label of a y value.
    pub y_fmt: &'a dyn Fn(&f64) -> String,
    /// Where the legend goes.
    pub legend: SeriesLabelPosition,
    /// Size in pixels.
    pub size: (u32, u32),
}

pub(super) fn draw_err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// Every chart's grid and axis text: labels at 14 px, axis titles at 16, faint grid lines.
pub(super) fn house_mesh<'m, 'a, 'b, X, Y, DB>(
    mesh: &'m mut MeshStyle<'a, 'b, X, Y, DB>,
) -> &'m mut MeshStyle<'a, 'b, X, Y, DB>
where
    X: Ranged,
    Y: Ranged,
    DB: DrawingBackend,
{
    mesh.label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(BLACK.mix(0.06))
        .bold_line_style(BLACK.mix(0.15))
}

/// A range that plotters can draw: widened when empty or degenerate, finite.
pub fn padded(lo: f64, hi: f64, pad: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo.min(hi), lo.max(hi)) } else { (0.0, 1.0) };
    if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
        let w = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        return (lo - if lo == 0.0 { 0.0 } else { w }, hi + w);
    }
    let w = (hi - lo) * pad;
    (if lo >= 0.0 { (lo - w).max(0.0) } else { lo - w }, hi + w)
}

/// Tick labels of one axis: one unit suffix for the whole axis (`k`, `M`, `B`, chosen from its
/// largest absolute value), at most two decimals, thousands separated.
#[derive(Clone, Copy, Debug)]
pub struct Ticks {
    scale: f64,
    suffix: &'static str,
}

impl Ticks {
    /// The labels of an axis from `lo` to `hi`.
    pub fn for_range(lo: f64, hi: f64) -> Ticks {
        let a = lo.abs().max(hi.abs());
        let (scale, suffix) = if a >= 1e9 {
            (1e9, "B")
        } else if a >= 1e6 {
            (1e6, "M")
        } else if a >= 1e4 {
            (1e3, "k")
        } else {
            (1.0, "")
        };
        Ticks { scale, suffix }
    }

    /// The label of `v`: `2,500`, `12.5k`, `0.25`, `3.0e-4`.
    pub fn label(&self, v: f64) -> String {
        let x = v / self.scale;
        if x == 0.0 || !x.is_finite() {
            return if x.is_finite() { "0".into() } else { String::new() };
        }
        let s = if x.abs() >= 1000.0 {
            let r = format!("{x:.0}");
            let (sign, digits) = r.strip_prefix('-').map_or(("", r.as_str()), |d| ("-", d));
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i) % 3 == 0 {
                    out.push(',');
                }
                out.push(c);
            }
            format!("{sign}{out}")
        } else if x.abs() >= 0.01 {
            let r = format!("{x:.2}");
            r.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            format!("{x:.1e}")
        };
        format!("{s}{}", self.suffix)
    }
}

/// Indices to keep when drawing `ys` with at most about `max` points: per bucket the first,
/// lowest, highest and last.
pub fn thin(ys: &[f64], max: usize) -> Vec<usize> {
    let n = ys.len();
    if n <= max || max < 8 {
        return (0..n).collect();
    }
    let buckets = max / 4;
    let mut keep = Vec::with_capacity(max + 4);
    for b in 0..buckets {
        let lo = b * n / buckets;
        let hi = ((b + 1) * n / buckets).max(lo + 1).min(n);
        let (mut imin, mut imax) = (lo, lo);
        for i in lo..hi {
            if ys[i] < ys[imin] {
                imin = i;
            }
            if ys[i] > ys[imax] {
                imax = i;
            }
        }
        let mut b4 = [lo, imin, imax, hi - 1];
        b4.sort_unstable();
        for i in b4 {
            if keep.last() != Some(&i) {
                keep.push(i);
            }
        }
    }
    keep
}

/// The empirical exceedance curve of `values` on log-log axes: points (x, S(x)) with
/// S(x) = #{values >= x} / n over the positive values x, drawn as steps in increasing x. Zeros
/// count in n but are not drawn, so the curve starts at the fraction of positive values and ends
/// at 1/n (the largest value). Thinned to about [`MAX_POINTS`] ranks, half spaced evenly, half
/// geometrically from the top so the tail keeps every one of its largest values.
pub fn exceedance_steps(values: &[f64]) -> Vec<(f64, f64)> {
    let n = values.len();
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite() && *x > 0.0).collect();
    if v.is_empty() {
        return Vec::new();
    }
    v.sort_by(f64::total_cmp);
    let m = v.len();
    // Indices into v (ascending); rank from the top r = m - i.
    let mut idx: Vec<usize> = Vec::with_capacity(MAX_POINTS + 2);
    let half = MAX_POINTS / 2;
    for k in 0..=half {
        idx.push(k * (m - 1) / half.max(1));
        let r = (m as f64).powf(k as f64 / half as f64).round() as usize;
        idx.push(m - r.clamp(1, m));
    }
    idx.sort_unstable();
    idx.dedup();
    let s_at = |i: usize| {
        let first = v.partition_point(|x| *x < v[i]);
        (m - first) as f64 / n as f64
    };
    let mut pts: Vec<(f64, f64)> = Vec::with_capacity(2 * idx.len());
    for i in idx {
        let s = s_at(i);
        if let Some(&(_, prev)) = pts.last() {
            if prev == s {
                continue;
            }
            pts.push((v[i], prev));
        }
        pts.push((v[i], s));
    }
    pts
}

/// A label for a log axis: `50`, `2k`, `1.5M`, `0.2`.
pub fn compact(v: &f64) -> String {
    let v = *v;
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if x == 0.0 {
        "0".to_string()
    } else if x.abs() >= 0.01 {
        let r = format!("{x:.2}");
        r.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.0e}")
    };
    format!("{s}{suffix}")
}

/// A percentage label for a log axis of fractions: `100%`, `1%`, `0.01%`.
pub fn percent(v: &f64) -> String {
    let p = v * 100.0;
    let r = if p >= 1.0 {
        format!("{p:.0}")
    } else {
        let d = (-p.log10().floor()) as usize;
        let r = format!("{p:.d$}");
        r.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    format!("{r}%")
}

/// Texts of the exceedance chart.
pub struct ExceedanceLabels<'a> {
    /// Caption.
    pub title: &'a str,
    /// Size in pixels.
    pub size: (u32, u32),
}

/// Exceedance curves of per-path values on log-log axes ([`exceedance_steps`]); `curves` hold
/// the steps. Returns `None` when no curve has a point.
pub fn exceedance_chart(l: &ExceedanceLabels<'_>, curves: &[Curve]) -> Result<Option<String>, String> {
    let all = || curves.iter().flat_map(|c| c.points.iter());
    let (Some(x_lo), Some(x_hi)) =
        (all().map(|p| p.0).min_by(f64::total_cmp), all().map(|p| p.0).max_by(f64::total_cmp))
    else {
        return Ok(None);
    };
    let y_lo = all().map(|p| p.1).fold(1.0, f64::min);
    let (x0, x1) = if x_hi > x_lo { (x_lo / 1.25, x_hi * 1.25) } else { (x_lo / 2.0, x_hi * 2.0) };
    // At least a decade on y, so that the log axis has two labelled ticks.
    let (y0, y1) = ((y_lo / 1.5).min(0.05), 1.2);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, l.size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = chart_on(&root, l.title)
            .build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
            .map_err(draw_err)?;
        house_mesh(
            chart
                .configure_mesh()
                .x_desc("USD per path (log scale)")
                .y_desc("share of paths costing at least x (log scale)")
                .x_label_formatter(&compact)
                .y_label_formatter(&percent),
        )
        .draw()
        .map_err(draw_err)?;
        for c in curves.iter().filter(|c| !c.points.is_empty()) {
            draw_curve(&mut chart, c)?;
        }
        legend(&mut chart, SeriesLabelPosition::LowerLeft)?;
        root.present().map_err(draw_err)?;
    }
    Ok(Some(svg))
}

/// A chart as every chart of the report starts: caption, margin and label areas.
fn chart_on<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 22)).margin(15).x_label_area_size(50).y_label_area_size(75);
    b
}

/// A curve's line (dashed or solid) with its legend entry.
fn draw_curve<'a, DB, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    c: &Curve,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = c.color.stroke_width(2);
    let anno = if c.dashed {
        chart.draw_series(DashedLineSeries::new(c.points.iter().copied(), 7, 5, style))
    } else {
        chart.draw_series(LineSeries::new(c.points.iter().copied(), style))
    }
    .map_err(draw_err)?;
    anno.label(c.label.as_str()).legend(legend_line(c.color, c.dashed));
    Ok(())
}

/// The legend box, as every chart draws it, at `at`.
pub(super) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    at: SeriesLabelPosition,
) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(at)
        .label_font(("sans-serif", 15))
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK.mix(0.4))
        .draw()
        .map_err(draw_err)
}

/// The legend mark of a line: one stroke, or two for a dashed line.
pub(super) fn legend_line<DB: DrawingBackend>(
    color: RGBColor,
    dashed: bool,
) -> impl Fn((i32, i32)) -> LegendMark<DB> {
    move |(x, y)| {
        let style = color.stroke_width(2);
        let (a, b) = if dashed { (7, 12) } else { (19, 0) };
        EmptyElement::at((x, y))
            + PathElement::new(vec![(0, 0), (a, 0)], style)
            + PathElement::new(vec![(b, 0), (19, 0)], style)
    }
}

/// Draws a chart with one pair of axes: `curves` (with their bands) and a legend.
pub fn line_chart(frame: &Frame<'_>, curves: &[Curve]) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, frame.size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = chart_on(&root, frame.title)
            .build_cartesian_2d(frame.x.0..frame.x.1, frame.y.0..frame.y.1)
            .map_err(draw_err)?;
        mesh(&mut chart, frame)?;
        for c in curves {
            if let Some(band) = &c.band {
                let mut poly: Vec<(f64, f64)> = band.iter().map(|&(x, lo, _)| (x, lo)).collect();
                poly.extend(band.iter().rev().map(|&(x, _, hi)| (x, hi)));
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.color.mix(0.18).filled())))
                    .map_err(draw_err)?;
            }
        }
        for c in curves {
            draw_curve(&mut chart, c)?;
            if c.markers {
                chart
                    .draw_series(c.points.iter().map(|&p| Circle::new(p, 3, c.color.filled())))
                    .map_err(draw_err)?;
            }
        }
        legend(&mut chart, frame.legend.clone())?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn mesh(chart: &mut Chart<'_, '_>, frame: &Frame<'_>) -> Result<(), String> {
    house_mesh(
        chart
            .configure_mesh()
            .x_desc(frame.x_desc)
            .y_desc(frame.y_desc)
            .x_labels(8)
            .y_labels(8)
            .x_label_formatter(frame.x_fmt)
            .y_label_formatter(frame.y_fmt),
    )
    .draw()
    .map_err(draw_err)
}

/// Labels of the worst-path chart.
pub struct WorstLabels<'a> {
    /// Caption.
    pub title: &'a str,
    /// What an exit is (`liquidations`, `rolls`).
    pub exits: &'a str,
    /// Colour of the world.
    pub color: RGBColor,
    /// Size in pixels.
    pub size: (u32, u32),
}

/// The worst path of a world: market and oracle price (left axis, USD) and cumulative exits
/// (right axis) against time in days.
pub fn worst_path_chart(t: &WorldTrace, l: &WorstLabels<'_>) -> Result<String, String> {
    let n = t.times_days.len();
    let lo = t.price.iter().chain(&t.oracle_price).copied().fold(f64::INFINITY, f64::min);
    let hi = t.price.iter().chain(&t.oracle_price).copied().fold(f64::NEG_INFINITY, f64::max);
    // The top 30% of the plot is left free for the legend.
    let (y0, y1) = padded(lo, hi, 0.05);
    let y1 = y1 + 0.3 * (y1 - y0);
    let (x0, x1) = padded(t.times_days[0], t.times_days[n - 1], 0.0);
    let exits_max = t.exits_cumulative.iter().copied().max().unwrap_or(0);
    let e1 = if exits_max == 0 { 1.0 } else { exits_max as f64 * 1.4 };

    let keep_price = thin(&t.price, MAX_POINTS);
    let keep_oracle = thin(&t.oracle_price, MAX_POINTS);
    let exits_f: Vec<f64> = t.exits_cumulative.iter().map(|&e| e as f64).collect();
    let keep_exits = thin(&exits_f, MAX_POINTS);
    let mut exit_steps: Vec<(f64, f64)> = Vec::with_capacity(2 * keep_exits.len());
    for &i in &keep_exits {
        if let Some(&(_, prev)) = exit_steps.last() {
            exit_steps.push((t.times_days[i], prev));
        }
        exit_steps.push((t.times_days[i], exits_f[i]));
    }

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, l.size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let mut chart = chart_on(&root, l.title)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?
            .set_secondary_coord(x0..x1, 0.0..e1);
        let (xt, yt) = (Ticks::for_range(x0, x1), Ticks::for_range(y0, y1));
        let x_fmt = |v: &f64| xt.label(*v);
        let y_fmt = |v: &f64| yt.label(*v);
        let frame = Frame {
            title: l.title,
            x_desc: "time (days)",
            y_desc: "price (USD per ETH)",
            x: (x0, x1),
            y: (y0, y1),
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            legend: SeriesLabelPosition::UpperRight,
            size: l.size,
        };
        mesh(&mut chart, &frame)?;
        let exits_desc = format!("cumulative {}", l.exits);
        let int_fmt = |v: &f64| if v.fract() == 0.0 { format!("{v:.0}") } else { String::new() };
        chart
            .configure_secondary_axes()
            .y_desc(exits_desc.as_str())
            .y_labels(if exits_max == 0 { 2 } else { 8 })
            .y_label_formatter(&int_fmt)
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .draw()
            .map_err(draw_err)?;
        let c = l.color;
        chart
            .draw_series(LineSeries::new(
                keep_price.iter().map(|&i| (t.times_days[i], t.price[i])),
                c.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("market price")
            .legend(legend_line(c, false));
        let oc = RGBColor(20, 20, 20);
        chart
            .draw_series(DashedLineSeries::new(
                keep_oracle.iter().map(|&i| (t.times_days[i], t.oracle_price[i])),
                7,
                5,
                oc.stroke_width(2),
            ))
            .map_err(draw_err)?
            .label("oracle price")
            .legend(legend_line(oc, true));
        chart
            .draw_secondary_series(LineSeries::new(exit_steps, EXITS_COLOR.stroke_width(2)))
            .map_err(draw_err)?
            .label(format!("cumulative {} (right axis)", l.exits))
            .legend(legend_line(EXITS_COLOR, false));
        legend(&mut chart, SeriesLabelPosition::UpperMiddle)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
