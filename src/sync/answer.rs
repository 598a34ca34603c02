//! What the buttons of `sync::actions` and the aggregators' flows answer, for `models` to turn into an
//! Odoo action (below both, so that neither reaches up into the other).

use std::collections::BTreeMap;

/// What a button answers, for `models` to turn into Odoo's action: a page for the browser to open (the
/// aggregator's connect page), or a notice.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    OpenPage { url: String, link_id: i64 },
    Notice(Notice),
}

/// A notice for the user, with counts for programs (`accounts_added`, …).
#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub title: String,
    pub message: String,
    pub level: Level,
    pub counts: BTreeMap<String, i64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Success,
    Warning,
}

impl Answer {
    pub fn notice(title: &str, message: impl Into<String>, level: Level) -> Answer {
        Answer::Notice(Notice { title: title.to_string(), message: message.into(), level, counts: BTreeMap::new() })
    }

    pub fn open_page(url: &str, link_id: i64) -> Answer {
        Answer::OpenPage { url: url.to_string(), link_id }
    }

    pub fn with_counts(mut self, counts: &[(&str, usize)]) -> Answer {
        if let Answer::Notice(notice) = &mut self {
            notice.counts.extend(counts.iter().map(|(k, v)| (k.to_string(), *v as i64)));
        }
        self
    }
}
