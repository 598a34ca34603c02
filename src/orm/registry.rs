//! The model registry: every model the bridge exposes, looked up by its Odoo name.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::orm::model::{FieldType, Model};

pub struct Registry {
    models: BTreeMap<&'static str, Model>,
}

impl Registry {
    /// Builds the registry and checks that every relation names a registered model and inverse field.
    pub fn new(models: Vec<Model>) -> Registry {
        let registry = Registry { models: models.into_iter().map(|m| (m.name, m)).collect() };
        for model in registry.models.values() {
            for field in &model.fields {
                if let Some(comodel) = field.ftype.comodel() {
                    let target = registry.models.get(comodel);
                    assert!(target.is_some(), "{}.{} points to unknown model {comodel}", model.name, field.name);
                    if let (FieldType::One2many(_, inverse), Some(target)) = (field.ftype, target) {
                        assert!(
                            target.fields.iter().any(|f| f.name == inverse),
                            "{}.{}: inverse {comodel}.{inverse} missing",
                            model.name,
                            field.name
                        );
                    }
                }
            }
        }
        registry
    }

    pub fn model(&self, name: &str) -> Result<&Model> {
        self.models.get(name).ok_or_else(|| Error::user(format!("Object {name} doesn't exist")))
    }

    pub fn models(&self) -> impl Iterator<Item = &Model> {
        self.models.values()
    }
}
