//! Charts as inline SVG, drawn on the server: a laboratory trend with its reference range,
//! and the visit timeline with one lane per hospital. No script, so they print, and an old
//! hospital PC draws them as fast as text.

use crate::view::{Series, Visit};
use maud::{Markup, html};

const W: f64 = 360.0;
const H: f64 = 120.0;
const PAD: f64 = 28.0;

/// A trend line: the reference range shaded, abnormal values in red with their flag, each
/// point titled with date, value and hospital.
pub fn trend(s: &Series) -> Markup {
    let values: Vec<f64> = s.points.iter().map(|p| p.value).collect();
    let mut lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let mut hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    for bound in [s.low, s.high].into_iter().flatten() {
        lo = lo.min(bound);
        hi = hi.max(bound);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return html! {};
    }
    if (hi - lo).abs() < f64::EPSILON {
        hi = lo + 1.0;
    }
    let margin = (hi - lo) * 0.1;
    let (lo, hi) = (lo - margin, hi + margin);
    let n = s.points.len();
    let x = |i: usize| {
        if n <= 1 {
            W / 2.0
        } else {
            PAD + (W - 2.0 * PAD) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: f64| H - PAD / 2.0 - (H - PAD) * (v - lo) / (hi - lo);
    let line: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
        .collect();
    let label = format!("{} ({})", s.name, s.unit);
    html! {
        svg.trend viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(label) {
            @if let (Some(l), Some(h)) = (s.low, s.high) {
                rect.range x=(PAD) y=(format!("{:.1}", y(h))) width=(W - 2.0 * PAD)
                    height=(format!("{:.1}", (y(l) - y(h)).max(0.5))) {}
                text.axis x="2" y=(format!("{:.1}", y(h) + 4.0)) { (fmt(h)) }
                text.axis x="2" y=(format!("{:.1}", y(l) + 4.0)) { (fmt(l)) }
            }
            polyline points=(line.join(" ")) {}
            @for (i, p) in s.points.iter().enumerate() {
                circle class=(if p.flag.is_some() { "pt abnormal" } else { "pt" })
                    cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(p.value))) r="4" {
                    title { (p.date) " " (p.shown) " " (s.unit) " " (p.hospital)
                        @if let Some(f) = &p.flag { " [" (f) "]" } }
                }
                @if let Some(f) = &p.flag {
                    text.flag x=(format!("{:.1}", x(i) + 5.0)) y=(format!("{:.1}", y(p.value) - 5.0)) { (f) }
                }
            }
        }
    }
}

/// The visits as dots on a time axis, one lane per hospital.
pub fn timeline(visits: &[Visit], hospitals: &[String]) -> Markup {
    if visits.is_empty() {
        return html! {};
    }
    let lane_h = 26.0;
    let left = 170.0;
    let width = 720.0;
    let height = lane_h * hospitals.len() as f64 + 24.0;
    let days: Vec<i64> = visits.iter().filter_map(|v| day_number(&v.date)).collect();
    let (first, last) = (
        days.iter().copied().min().unwrap_or(0),
        days.iter().copied().max().unwrap_or(0),
    );
    let span = (last - first).max(1) as f64;
    let x = |d: i64| left + (width - left - 12.0) * (d - first) as f64 / span;
    let first_year = visits
        .iter()
        .map(|v| &v.date)
        .min()
        .cloned()
        .unwrap_or_default();
    let last_year = visits
        .iter()
        .map(|v| &v.date)
        .max()
        .cloned()
        .unwrap_or_default();
    html! {
        svg.timeline viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label="visits by hospital over time" {
            @for (lane, h) in hospitals.iter().enumerate() {
                @let cy = lane_h * lane as f64 + lane_h / 2.0 + 4.0;
                text.lane x="4" y=(format!("{:.1}", cy + 4.0)) { (h) }
                line.lane x1=(left) x2=(width - 8.0) y1=(format!("{cy:.1}")) y2=(format!("{cy:.1}")) {}
                @for v in visits.iter().filter(|v| &v.hospital == h) {
                    @if let Some(d) = day_number(&v.date) {
                        circle class=(format!("visit {}", v.class.to_ascii_lowercase()))
                            cx=(format!("{:.1}", x(d))) cy=(format!("{cy:.1}")) r="5" {
                            title { (v.date) " " (v.department)
                                @if let Some(r) = &v.reason { " · " (r) } }
                        }
                    }
                }
            }
            text.axis x=(left) y=(format!("{:.1}", height - 4.0)) { (first_year.get(..7).unwrap_or_default()) }
            text.axis x=(width - 60.0) y=(format!("{:.1}", height - 4.0)) { (last_year.get(..7).unwrap_or_default()) }
        }
    }
}

/// Days since 1970-01-01 of a FHIR date.
fn day_number(date: &str) -> Option<i64> {
    fhir::time::parse_range(date).map(|(lo, _)| lo.div_euclid(86_400_000))
}

fn fmt(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
