//! The ORM layer: model descriptions, the registry, Odoo's domain language, and the generic methods
//! (`search`, `read`, `write`, …) written once for every model.

pub mod access;
pub mod args;
pub mod convert;
pub mod domain;
pub mod fields_get;
pub mod methods;
pub mod model;
pub mod read;
pub mod registry;
pub mod rules;
pub mod serie;
pub mod signature;
pub mod sql;
pub mod write;

pub use args::{Call, Env};
pub use model::{Access, CompanyScope, Default, Field, FieldType, Model};
pub use read::{Orm, Search};
pub use registry::Registry;
pub use serie::OdooSerie;
