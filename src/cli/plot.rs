//! Hand-written SVG line charts (no plotting crate): used by `qam scale-test` to plot solve
//! time and quality against the number of agents.

/// One line of a chart.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend label.
    pub label: String,
    /// Points `(x, y)`.
    pub points: Vec<(f64, f64)>,
    /// Stroke colour (CSS).
    pub color: String,
}

/// One panel: title, axis labels, log scales.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Title above the panel.
    pub title: String,
    /// x-axis label.
    pub x_label: String,
    /// y-axis label.
    pub y_label: String,
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// Lines.
    pub series: Vec<Series>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e4 || v.abs() < 1e-2 {
        format!("{v:.0e}")
    } else if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// Ticks for `[lo, hi]`: powers of ten on log axes, about five round steps otherwise.
fn ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
        return (a..=b).map(|e| 10f64.powi(e)).collect();
    }
    let span = (hi - lo).max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(mag * 10.0);
    let mut t = (lo / step).floor() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(t);
        t += step;
    }
    out
}

/// Renders panels side by side as one SVG document.
pub fn render(panels: &[Panel], title: &str) -> String {
    let (pw, ph) = (460.0, 340.0);
    let (ml, mr, mt, mb) = (70.0, 20.0, 50.0, 60.0);
    let width = pw * panels.len() as f64;
    let height = ph + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        width / 2.0,
        esc(title)
    );
    for (pi, panel) in panels.iter().enumerate() {
        let x0 = pi as f64 * pw + ml;
        let y0 = 30.0 + mt;
        let w = pw - ml - mr;
        let h = ph - mt - mb;
        let pts: Vec<(f64, f64)> = panel
            .series
            .iter()
            .flat_map(|s| s.points.iter().copied())
            .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!panel.x_log || x > 0.0) && (!panel.y_log || y > 0.0))
            .collect();
        if pts.is_empty() {
            continue;
        }
        let tr = |v: f64, log: bool| if log { v.log10() } else { v };
        let (mut xl, mut xh) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.0), a.1.max(p.0)));
        let (mut yl, mut yh) = pts
            .iter()
            .fold((f64::MAX, f64::MIN), |a, p| (a.0.min(p.1), a.1.max(p.1)));
        if !panel.y_log {
            yl = yl.min(0.0);
        }
        let xt = ticks(xl, xh, panel.x_log);
        let yt = ticks(yl, yh, panel.y_log);
        xl = xl.min(xt[0]);
        xh = xh.max(*xt.last().expect("ticks"));
        yl = yl.min(yt[0]);
        yh = yh.max(*yt.last().expect("ticks"));
        let (txl, txh, tyl, tyh) = (
            tr(xl, panel.x_log),
            tr(xh, panel.x_log),
            tr(yl, panel.y_log),
            tr(yh, panel.y_log),
        );
        let sx = |v: f64| x0 + (tr(v, panel.x_log) - txl) / (txh - txl).max(1e-12) * w;
        let sy = |v: f64| y0 + h - (tr(v, panel.y_log) - tyl) / (tyh - tyl).max(1e-12) * h;
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"13\">{}</text>\n",
            x0 + w / 2.0,
            y0 - 12.0,
            esc(&panel.title)
        );
        s += &format!("<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>\n");
        for &t in &xt {
            let x = sx(t);
            s += &format!(
                "<line x1=\"{x:.1}\" y1=\"{y0}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#ddd\"/>\n<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
                y0 + h,
                y0 + h + 16.0,
                fmt_tick(t)
            );
        }
        for &t in &yt {
            let y = sy(t);
            s += &format!(
                "<line x1=\"{x0}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\n",
                x0 + w,
                x0 - 6.0,
                y + 4.0,
                fmt_tick(t)
            );
        }
        s += &format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            x0 + w / 2.0,
            y0 + h + 36.0,
            esc(&panel.x_label)
        );
        s += &format!(
            "<text transform=\"translate({},{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
            x0 - 50.0,
            y0 + h / 2.0,
            esc(&panel.y_label)
        );
        for (si, series) in panel.series.iter().enumerate() {
            let path: Vec<String> = series
                .points
                .iter()
                .filter(|&&(x, y)| {
                    x.is_finite() && y.is_finite() && (!panel.x_log || x > 0.0) && (!panel.y_log || y > 0.0)
                })
                .map(|&(x, y)| format!("{:.1},{:.1}", sx(x), sy(y)))
                .collect();
            s += &format!(
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n",
                path.join(" "),
                esc(&series.color)
            );
            for p in &path {
                let (x, y) = p.split_once(',').expect("x,y");
                s += &format!(
                    "<circle cx=\"{x}\" cy=\"{y}\" r=\"3.5\" fill=\"{}\"/>\n",
                    esc(&series.color)
                );
            }
            let ly = y0 + 14.0 + 16.0 * si as f64;
            s += &format!(
                "<line x1=\"{}\" y1=\"{ly}\" x2=\"{}\" y2=\"{ly}\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                x0 + 8.0,
                x0 + 28.0,
                esc(&series.color),
                x0 + 32.0,
                ly + 4.0,
                esc(&series.label)
            );
        }
    }
    s += "</svg>\n";
    s
}
