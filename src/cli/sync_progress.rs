//! How `bankbridge sync` shows its progress: a bar on a terminal, plain lines otherwise (cron, logs), and
//! the figures in them (rows, rate, ETA).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bankbridge::sync;

/// How `bankbridge sync` shows its progress: a bar on a terminal, plain lines otherwise (cron, logs).
enum ProgressDisplay {
    Bar(indicatif::ProgressBar),
    Lines { every: Duration, last: Mutex<Instant> },
}

/// The link being fetched: rows so far, and the rows expected when the bank reports its counts.
struct LinkProgress {
    link: i64,
    started: Instant,
    rows: u64,
    expected: Option<u64>,
}

/// Progress of `bankbridge sync`, fed by the sync engine page by page.
pub struct SyncProgress {
    display: ProgressDisplay,
    current: Mutex<LinkProgress>,
    total_rows: AtomicU64,
}

impl SyncProgress {
    /// Rows fetched over every link so far.
    pub fn total_rows(&self) -> u64 {
        self.total_rows.load(Ordering::Relaxed)
    }
}

impl SyncProgress {
    pub fn new(on_terminal: bool, every: Duration) -> Self {
        let display = if on_terminal {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            ProgressDisplay::Bar(bar)
        } else {
            ProgressDisplay::Lines { every, last: Mutex::new(Instant::now()) }
        };
        let current = LinkProgress { link: 0, started: Instant::now(), rows: 0, expected: None };
        SyncProgress { display, current: Mutex::new(current), total_rows: AtomicU64::new(0) }
    }

    fn current(&self) -> MutexGuard<'_, LinkProgress> {
        self.current.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn start_link(&self, link: i64) {
        *self.current() = LinkProgress { link, started: Instant::now(), rows: 0, expected: None };
        if let ProgressDisplay::Bar(bar) = &self.display {
            bar.set_message(format!("link {link}: starting"));
        }
    }

    /// A line above the bar, or on standard error without a terminal: shown in every mode.
    pub fn say(&self, line: &str) {
        match &self.display {
            ProgressDisplay::Bar(bar) => bar.suspend(|| eprintln!("{line}")),
            ProgressDisplay::Lines { .. } => eprintln!("{line}"),
        }
    }

    pub fn show(&self, forced: bool) {
        let line = {
            let current = self.current();
            status_line(current.link, current.rows, current.expected, current.started.elapsed())
        };
        match &self.display {
            ProgressDisplay::Bar(bar) => bar.set_message(line),
            ProgressDisplay::Lines { every, last } => {
                let mut last = last.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if forced || last.elapsed() >= *every {
                    *last = Instant::now();
                    eprintln!("{line}");
                }
            }
        }
    }

    pub fn finish(&self) {
        if let ProgressDisplay::Bar(bar) = &self.display {
            bar.finish_and_clear();
        }
    }
}

impl sync::Progress for SyncProgress {
    fn stage(&self, text: &str) {
        let link = self.current().link;
        self.say(&format!("link {link}: {text}"));
    }

    fn expect(&self, rows: u64) {
        self.current().expected = Some(rows);
        self.show(false);
    }

    fn page(&self, _account: i64, rows: usize) {
        self.current().rows += rows as u64;
        self.total_rows.fetch_add(rows as u64, Ordering::Relaxed);
        self.show(false);
    }
}

/// `5625` → `5,625`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Rows per second over `elapsed`, e.g. `5,625 rows/s`.
pub fn format_rate(rows: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64().max(0.001);
    format!("{} rows/s", group_thousands((rows as f64 / secs).round() as u64))
}

/// A short duration for humans: `7s`, `1m 05s`, `2h 03m`.
fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m {:02}s", secs / 60, secs % 60),
        _ => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// One progress line: rows so far, the expected total and an ETA when known, and the rate.
fn status_line(link: i64, rows: u64, expected: Option<u64>, elapsed: Duration) -> String {
    let rate = format_rate(rows, elapsed);
    match expected {
        Some(total) if total > 0 => {
            let done = rows.min(total);
            let percent = done * 100 / total;
            let per_sec = rows as f64 / elapsed.as_secs_f64().max(0.001);
            let eta = if rows == 0 || per_sec <= 0.0 {
                "ETA unknown".to_string()
            } else {
                format!("ETA {}", format_duration(Duration::from_secs_f64((total - done) as f64 / per_sec)))
            };
            format!(
                "link {link}: {} of {} rows ({percent}%), {rate}, {eta}",
                group_thousands(done),
                group_thousands(total)
            )
        }
        _ => format!("link {link}: {} rows, {rate}", group_thousands(rows)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_by_commas() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(5_625), "5,625");
        assert_eq!(group_thousands(100_000), "100,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn rate_is_rounded_rows_per_second() {
        assert_eq!(format_rate(11_250, Duration::from_secs(2)), "5,625 rows/s");
        assert_eq!(format_rate(0, Duration::ZERO), "0 rows/s");
    }

    #[test]
    fn durations_read_as_seconds_minutes_or_hours() {
        assert_eq!(format_duration(Duration::from_secs(7)), "7s");
        assert_eq!(format_duration(Duration::from_secs(65)), "1m 05s");
        assert_eq!(format_duration(Duration::from_secs(2 * 3600 + 3 * 60 + 9)), "2h 03m");
    }

    #[test]
    fn status_line_shows_total_percentage_and_eta_when_the_count_is_known() {
        assert_eq!(
            status_line(3, 5_000, Some(20_000), Duration::from_secs(2)),
            "link 3: 5,000 of 20,000 rows (25%), 2,500 rows/s, ETA 6s"
        );
        assert_eq!(
            status_line(3, 0, Some(20_000), Duration::from_secs(1)),
            "link 3: 0 of 20,000 rows (0%), 0 rows/s, ETA unknown"
        );
        // More rows than announced (new transactions meanwhile): never above 100 %.
        assert_eq!(
            status_line(3, 21_000, Some(20_000), Duration::from_secs(3)),
            "link 3: 20,000 of 20,000 rows (100%), 7,000 rows/s, ETA 0s"
        );
    }

    #[test]
    fn status_line_without_a_count_shows_rows_and_rate() {
        assert_eq!(status_line(4, 12_000, None, Duration::from_secs(4)), "link 4: 12,000 rows, 3,000 rows/s");
        assert_eq!(status_line(4, 1, Some(0), Duration::from_secs(1)), "link 4: 1 rows, 1 rows/s");
    }
}
