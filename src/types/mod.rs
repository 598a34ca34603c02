//! Shared data types, below every other layer: the wire-neutral `Value` that the wire, models, ORM and
//! sync engine pass between them.

pub mod value;

pub use value::Value;
