//! A small bar chart as inline SVG, drawn on the server (R-WEB-13): no
//! JavaScript, no assets. The numbers are also in a table below it, for
//! screen readers and for reading exact values.

use maud::{Markup, html};

const WIDTH: f64 = 480.0;
const HEIGHT: f64 = 120.0;
/// Room under the bars for the hour labels.
const AXIS: f64 = 16.0;

/// One bar: its label (an hour) and its value.
pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// `bars` as an SVG bar chart titled `title` (values in `unit`), with id
/// `id` for its title and table.
pub fn bars(id: &str, title: &str, unit: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let step = WIDTH / bars.len().max(1) as f64;
    let scale = if max > 0.0 { (HEIGHT - AXIS - 4.0) / max } else { 0.0 };
    html! {
        figure id=(id) {
            figcaption id=(format!("{id}-title")) { (title) " (" (unit) "; highest " (shown(max)) ")" }
            svg.chart viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-labelledby=(format!("{id}-title")) {
                line x1="0" y1=(HEIGHT - AXIS) x2=(WIDTH) y2=(HEIGHT - AXIS) stroke="#d0d7de" {}
                @for (i, b) in bars.iter().enumerate() {
                    @let h = b.value * scale;
                    rect x=(i as f64 * step + 1.0) y=(HEIGHT - AXIS - h) width=(step - 2.0) height=(h) fill="#0969da" {
                        title { (b.label) ": " (shown(b.value)) }
                    }
                    @if i % 6 == 0 {
                        text x=(i as f64 * step) y=(HEIGHT - 3.0) font-size="10" fill="#57606a" { (b.label) }
                    }
                }
            }
            details {
                summary { "The numbers" }
                table {
                    thead { tr { th scope="col" { "Hour (UTC)" } th scope="col" { (unit) } } }
                    tbody { @for b in bars { tr { th scope="row" { (b.label) } td { (shown(b.value)) } } } }
                }
            }
        }
    }
}

/// A value with at most two decimals, without trailing zeros.
fn shown(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
