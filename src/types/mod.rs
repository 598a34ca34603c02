//! Shared data types, below every other layer: the wire-neutral `Value` that the wire, models, ORM and
//! sync engine pass between them, the states records carry and the one transition function of a link's
//! states, Odoo's date and datetime text, the one cleaning point for text before it is stored, and who a
//! request comes from (`client_address`), and a row a read checks in its own statement (`row_guard`).

pub mod client_address;
pub mod log_text;
pub mod records;
pub mod row_guard;
pub mod state;
pub mod text;
pub mod time;
pub mod transition;
pub mod value;

pub use records::{Member, Records};
pub use row_guard::{GuardSeen, RowGuard};
pub use state::{LinkState, Provider, TransactionStatus};
pub use text::clean_text;
pub use transition::{Failure, LinkEvent, LinkFacts, Origin, Refused};
pub use value::Value;
