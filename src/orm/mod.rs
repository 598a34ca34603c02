//! The ORM layer: model descriptions, the registry, Odoo's domain language, and the generic methods
//! (`search`, `read`, `write`, …) written once for every model.

pub mod convert;
pub mod domain;
pub mod methods;
pub mod model;
pub mod registry;
pub mod sql;

pub use methods::{Call, Env};
pub use model::{Access, CompanyScope, Default, Field, FieldType, Model};
pub use registry::Registry;
