//! Odoo's client actions, built in one place: what a button's answer (`sync::Answer`) looks like to Odoo.

use crate::sync::{Answer, Level, Notice};
use crate::types::Value;

pub fn odoo_action(answer: Answer) -> Value {
    match answer {
        Answer::OpenPage { url, link_id } => Value::map([
            ("type", Value::str("ir.actions.act_url")),
            ("url", Value::str(url)),
            ("target", Value::str("self")),
            ("res_model", Value::str("account.online.link")),
            ("res_id", Value::Int(link_id)),
        ]),
        Answer::Notice(Notice { title, message, level, counts }) => Value::map([
            ("type", Value::str("ir.actions.client")),
            ("tag", Value::str("display_notification")),
            (
                "params",
                Value::map([
                    ("title", Value::str(title)),
                    ("message", Value::str(message)),
                    ("type", Value::str(level_name(level))),
                    ("sticky", Value::Bool(false)),
                    ("counts", Value::Map(counts.into_iter().map(|(k, v)| (k, Value::Int(v))).collect())),
                ]),
            ),
        ]),
    }
}

/// Odoo's `display_notification` types.
fn level_name(level: Level) -> &'static str {
    match level {
        Level::Info => "info",
        Level::Success => "success",
        Level::Warning => "warning",
    }
}
