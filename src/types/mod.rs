//! Shared data types, below every other layer: the wire-neutral `Value` that the wire, models, ORM and
//! sync engine pass between them, and the one cleaning point for text before it is stored.

pub mod text;
pub mod value;

pub use text::clean_text;
pub use value::Value;
