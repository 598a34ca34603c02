//! Odoo's date and datetime text (UTC, to the second), the one format the bridge stores and sends, and
//! the one way a time is written for people.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub const DATE_FORMAT: &str = "%Y-%m-%d";
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

/// `at` as Odoo's datetime text, e.g. `2026-11-27 14:05:00`.
pub fn datetime_string(at: DateTime<Utc>) -> String {
    naive_datetime_string(at.naive_utc())
}

/// A UTC datetime without zone as Odoo's datetime text.
pub fn naive_datetime_string(at: NaiveDateTime) -> String {
    at.format(DATETIME_FORMAT).to_string()
}

/// `day` as Odoo's date text, e.g. `2026-11-27`.
pub fn date_string(day: NaiveDate) -> String {
    day.format(DATE_FORMAT).to_string()
}

/// The current UTC time as Odoo's datetime text.
pub fn now_string() -> String {
    datetime_string(Utc::now())
}

/// A stored datetime text read back as a UTC time (`None` for text in another format).
pub fn parse_stored_datetime(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, DATETIME_FORMAT).ok().map(|t| t.and_utc())
}

/// A time as a person reads it: "27 Nov 2026 at 13:25 UTC" (never a raw `…T13:25:40Z`).
pub fn human_time(at: DateTime<Utc>) -> String {
    at.format("%-d %b %Y at %H:%M UTC").to_string()
}

/// Odoo's date text from a client's date or datetime text (`2026-11-27`, `2026-11-27 10:00:00`).
pub fn parse_date(s: &str) -> Option<String> {
    let s = s.trim();
    let date_part = s.get(..10).unwrap_or(s);
    NaiveDate::parse_from_str(date_part, DATE_FORMAT).ok().map(date_string)
}

/// Odoo's datetime text from a client's text: ISO 8601 (`T`, `Z`, fractions) or a bare date (midnight).
pub fn parse_datetime(s: &str) -> Option<String> {
    let s = s.trim();
    let normalized = s.replacen('T', " ", 1);
    let normalized = normalized.trim_end_matches('Z');
    let without_fraction = normalized.split('.').next().unwrap_or(normalized);
    if let Ok(dt) = NaiveDateTime::parse_from_str(without_fraction, DATETIME_FORMAT) {
        return Some(naive_datetime_string(dt));
    }
    NaiveDate::parse_from_str(without_fraction, DATE_FORMAT).ok().map(|d| format!("{} 00:00:00", date_string(d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odoo_text_to_the_second() {
        let at = DateTime::parse_from_rfc3339("2024-02-29T23:59:58.75+01:00").unwrap().with_timezone(&Utc);
        assert_eq!(datetime_string(at), "2024-02-29 22:59:58");
        assert_eq!(date_string(at.date_naive()), "2024-02-29");
        let now = now_string();
        assert_eq!(NaiveDateTime::parse_from_str(&now, DATETIME_FORMAT).map(naive_datetime_string).unwrap(), now);
        assert_eq!(parse_stored_datetime(&datetime_string(at)).map(|t| t.timestamp()), Some(at.timestamp()));
        assert_eq!(parse_stored_datetime("2024-02-29T22:59:58Z"), None);
    }

    #[test]
    fn human_time_has_no_iso_t() {
        let at = DateTime::parse_from_rfc3339("2026-11-27T13:25:40Z").unwrap().with_timezone(&Utc);
        assert_eq!(human_time(at), "27 Nov 2026 at 13:25 UTC");
    }
}
