//! Odoo's date and datetime text (UTC, to the second), the one format the bridge stores and sends.

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
    }
}
