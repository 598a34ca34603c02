//! Shared data types, below every other layer: the wire-neutral `Value` that the wire, models, ORM and
//! sync engine pass between them, the states records carry, and Odoo's date and datetime text.

pub mod log_text;
pub mod state;
pub mod time;
pub mod value;

pub use state::{LinkState, TransactionStatus};
pub use value::Value;
