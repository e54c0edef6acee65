//! A latency scatter: one dot per trace at its start time (x) and duration (y, logarithmic),
//! errors in red, the selected trace marked, as on Jaeger's search page.
//!
//! The dots are binned into a braille grid (2×4 dots a cell) when the rows change, so drawing
//! costs the cells on screen whatever the number of traces.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};

use crate::format;
use crate::tui::theme::{DIM, put};

/// Columns of the duration labels at the left.
const LABEL_W: u16 = 9;
const DOT: Style = Style::new().fg(Color::Cyan);
const ERROR_DOT: Style = Style::new().fg(Color::Red);
const SELECTED_DOT: Style = Style::new().fg(Color::Yellow);

/// One trace to plot.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    pub start: u64,
    pub duration: u64,
    pub error: bool,
}

/// The binned dots of a set of traces, for one plot size.
#[derive(Clone, Debug, Default)]
pub struct Scatter {
    /// Plot size in cells (labels excluded).
    cols: u16,
    rows: u16,
    /// Per cell: the braille dot bits of ordinary traces and of traces with errors.
    dots: Vec<u8>,
    errors: Vec<u8>,
    t0: u64,
    t1: u64,
    d0: u64,
    d1: u64,
    pub count: usize,
}

impl Scatter {
    /// Bins `points` for a plot of `area` (labels included).
    #[must_use]
    pub fn new(points: impl Iterator<Item = Point> + Clone, area: Rect) -> Self {
        let cols = area.width.saturating_sub(LABEL_W);
        let rows = area.height.saturating_sub(1);
        let mut s = Self {
            cols,
            rows,
            dots: vec![0; usize::from(cols) * usize::from(rows)],
            errors: vec![0; usize::from(cols) * usize::from(rows)],
            t0: u64::MAX,
            t1: 0,
            d0: u64::MAX,
            d1: 0,
            count: 0,
        };
        for p in points.clone() {
            s.t0 = s.t0.min(p.start);
            s.t1 = s.t1.max(p.start);
            s.d0 = s.d0.min(p.duration.max(1));
            s.d1 = s.d1.max(p.duration.max(1));
            s.count += 1;
        }
        if s.count == 0 || cols == 0 || rows == 0 {
            return s;
        }
        for p in points {
            if let Some((x, y)) = s.dot(p.start, p.duration) {
                let cell = usize::from(y / 4) * usize::from(cols) + usize::from(x / 2);
                let bit = braille_bit(x % 2, y % 4);
                if p.error {
                    s.errors[cell] |= bit;
                } else {
                    s.dots[cell] |= bit;
                }
            }
        }
        s
    }

    /// The dot (x, y; y down from the top) of a trace.
    fn dot(&self, start: u64, duration: u64) -> Option<(u16, u16)> {
        let (w, h) = (u64::from(self.cols) * 2, u64::from(self.rows) * 4);
        if w == 0 || h == 0 {
            return None;
        }
        let x = if self.t1 > self.t0 {
            u128::from(start.saturating_sub(self.t0)) * u128::from(w - 1)
                / u128::from(self.t1 - self.t0)
        } else {
            u128::from(w / 2)
        };
        #[allow(clippy::cast_precision_loss)]
        let (lo, hi, d) = (
            (self.d0 as f64).ln(),
            (self.d1 as f64).ln(),
            (duration.max(1) as f64).ln(),
        );
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let up = if hi > lo {
            (((d - lo) / (hi - lo)) * (h - 1) as f64).round() as u64
        } else {
            h / 2
        };
        let y = (h - 1).saturating_sub(up.min(h - 1));
        Some((u16::try_from(x).ok()?, u16::try_from(y).ok()?))
    }

    /// Draws the plot, marking `selected` (a trace's start and duration).
    pub fn render(&self, selected: Option<(u64, u64)>, area: Rect, buf: &mut Buffer) {
        if area.height < 2 || area.width <= LABEL_W || self.count == 0 {
            return;
        }
        let rows = self.rows.min(area.height - 1);
        let cols = self.cols.min(area.width - LABEL_W);
        let x0 = area.x + LABEL_W;
        let label = |d: u64| format!("{:>8} ", format::duration_short(d));
        put(buf, area.x, area.y, &label(self.d1), LABEL_W, DIM);
        if rows > 1 {
            put(
                buf,
                area.x,
                area.y + rows - 1,
                &label(self.d0),
                LABEL_W,
                DIM,
            );
        }
        for row in 0..rows {
            for col in 0..cols {
                let cell = usize::from(row) * usize::from(self.cols) + usize::from(col);
                let (d, e) = (self.dots[cell], self.errors[cell]);
                if d | e == 0 {
                    continue;
                }
                let ch = char::from_u32(0x2800 + u32::from(d | e)).unwrap_or('·');
                let style = if e != 0 { ERROR_DOT } else { DOT };
                buf[(x0 + col, area.y + row)].set_char(ch).set_style(style);
            }
        }
        if let Some((start, duration)) = selected
            && let Some((x, y)) = self.dot(start, duration)
            && x / 2 < cols
            && y / 4 < rows
        {
            buf[(x0 + x / 2, area.y + y / 4)]
                .set_char('◆')
                .set_style(SELECTED_DOT);
        }
        // Time axis: the first and the last start.
        let y = area.y + rows;
        let first = format::time_of_day(self.t0);
        put(buf, x0, y, &first, cols, DIM);
        let last = format::time_of_day(self.t1);
        let w = last.chars().count() as u16;
        if cols > w * 2 + 2 {
            put(buf, x0 + cols - w, y, &last, w, DIM);
        }
        let note = " duration (log) over start time · S hides ";
        let nw = note.chars().count() as u16;
        if cols > w * 2 + nw + 4 {
            put(buf, x0 + (cols - nw) / 2, y, note, nw, DIM);
        }
    }
}

/// The braille bit of dot (x 0..2, y 0..4) in a cell.
fn braille_bit(x: u16, y: u16) -> u8 {
    match (x, y) {
        (0, 0) => 0x01,
        (0, 1) => 0x02,
        (0, 2) => 0x04,
        (0, 3) => 0x40,
        (1, 0) => 0x08,
        (1, 1) => 0x10,
        (1, 2) => 0x20,
        _ => 0x80,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(buf: &Buffer) -> Vec<String> {
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_owned())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn slow_traces_sit_high_late_ones_right_and_errors_are_red() {
        let ms = 1_000_000;
        let points = [
            Point {
                start: 0,
                duration: ms,
                error: false,
            },
            Point {
                start: 1_000 * ms,
                duration: 1_000 * ms,
                error: true,
            },
        ];
        let area = Rect::new(0, 0, 30, 5);
        let s = Scatter::new(points.iter().copied(), area);
        let mut buf = Buffer::empty(area);
        s.render(None, area, &mut buf);
        let lines = text(&buf);
        // The fast early trace: bottom left of the plot; the slow late one: top right, red.
        let plot_bottom = &lines[3];
        let plot_top = &lines[0];
        assert!(plot_top.starts_with("      1s"), "{lines:#?}");
        assert_ne!(plot_bottom.chars().nth(9), Some(' '), "{lines:#?}");
        assert_ne!(plot_top.chars().nth(29), Some(' '), "{lines:#?}");
        assert_eq!(buf[(29, 0)].fg, Color::Red);
        assert_eq!(buf[(9, 3)].fg, Color::Cyan);
        // The selection is marked where its dot is.
        s.render(Some((0, ms)), area, &mut buf);
        assert_eq!(buf[(9, 3)].symbol(), "◆");
    }
}
