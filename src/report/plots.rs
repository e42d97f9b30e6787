//! The report's SVG charts, drawn with plotters' SVG backend into strings.
//!
//! The SVG backend writes text as `<text>` elements and lays it out with plotters' built-in size
//! estimate, so no font file is needed. Long series are thinned before drawing (keeping each
//! bucket's first, lowest, highest and last point, so wicks and jumps survive).

use super::WorldTrace;
use plotters::coord::types::RangedCoordf64;
use plotters::element::ComposedElement;
use plotters::prelude::*;

/// The legend mark of a line (an anchor and two strokes).
type LegendMark<DB> = ComposedElement<(i32, i32), DB, PathElement<(i32, i32)>, PathElement<(i32, i32)>>;

/// Colour of a world's series.
pub fn world_color(world: &str) -> RGBColor {
    match world {
        "cdp" => RGBColor(200, 55, 45),
        "pn" => RGBColor(35, 95, 190),
        "diff" => RGBColor(90, 90, 90),
        _ => RGBColor(40, 140, 70),
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

fn draw_err<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
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

/// A compact tick label: `950`, `1.2k`, `3.5M`, `0.25`.
pub fn tick(v: &f64) -> String {
    let v = *v;
    let a = v.abs();
    let (x, suffix) = if a >= 1e9 {
        (v / 1e9, "B")
    } else if a >= 1e6 {
        (v / 1e6, "M")
    } else if a >= 1e4 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    let s = if x == 0.0 {
        "0".to_string()
    } else if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else if x.abs() >= 10.0 {
        format!("{x:.1}")
    } else if x.abs() >= 0.01 {
        format!("{x:.2}")
    } else {
        format!("{x:.1e}")
    };
    let s = if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{suffix}")
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

/// The empirical CDF of `values` as a step line, thinned to about [`MAX_POINTS`] steps and
/// extended flat at 1 to `x_end`: points (x, fraction of values <= x).
pub fn ecdf_steps(values: &[f64], x_end: f64) -> Vec<(f64, f64)> {
    let mut xs: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if xs.is_empty() {
        return Vec::new();
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let k = MAX_POINTS.min(n);
    let mut pts = vec![(xs[0], 0.0)];
    let mut last_idx = usize::MAX;
    for j in 0..=k {
        let idx = if k == 0 { 0 } else { j * (n - 1) / k };
        let x = xs[idx];
        let count = xs.partition_point(|v| *v <= x);
        if count == last_idx {
            continue;
        }
        last_idx = count;
        let prev = pts.last().map_or(0.0, |p| p.1);
        pts.push((x, prev));
        pts.push((x, count as f64 / n as f64));
    }
    if x_end > xs[n - 1] {
        pts.push((x_end, 1.0));
    }
    pts
}

/// The legend mark of a line: one stroke, or two for a dashed line.
fn legend_line<DB: DrawingBackend>(
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
        let mut chart = ChartBuilder::on(&root)
            .caption(frame.title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(75)
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
            let style = c.color.stroke_width(2);
            let anno = if c.dashed {
                chart.draw_series(DashedLineSeries::new(c.points.iter().copied(), 7, 5, style))
            } else {
                chart.draw_series(LineSeries::new(c.points.iter().copied(), style))
            }
            .map_err(draw_err)?;
            anno.label(c.label.as_str()).legend(legend_line(c.color, c.dashed));
        }
        chart
            .configure_series_labels()
            .position(frame.legend.clone())
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

fn mesh(chart: &mut Chart<'_, '_>, frame: &Frame<'_>) -> Result<(), String> {
    chart
        .configure_mesh()
        .x_desc(frame.x_desc)
        .y_desc(frame.y_desc)
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(frame.x_fmt)
        .y_label_formatter(frame.y_fmt)
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 16))
        .light_line_style(BLACK.mix(0.06))
        .bold_line_style(BLACK.mix(0.15))
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
    let (y0, y1) = padded(lo, hi, 0.05);
    let (x0, x1) = padded(t.times_days[0], t.times_days[n - 1], 0.0);
    let exits_max = t.exits_cumulative.iter().copied().max().unwrap_or(0);
    let e1 = if exits_max == 0 { 1.0 } else { exits_max as f64 * 1.08 };

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
        let mut chart = ChartBuilder::on(&root)
            .caption(l.title, ("sans-serif", 22))
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(75)
            .right_y_label_area_size(70)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(draw_err)?
            .set_secondary_coord(x0..x1, 0.0..e1);
        let x_fmt = tick;
        let y_fmt = tick;
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
            .draw_series(LineSeries::new(keep_price.iter().map(|&i| (t.times_days[i], t.price[i])), c.stroke_width(2)))
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
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .label_font(("sans-serif", 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.4))
            .draw()
            .map_err(draw_err)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}
