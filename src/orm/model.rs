//! Model and field descriptions: the data the generic ORM methods work from. A model is a table plus the
//! fields clients may see, their Odoo types and attributes. A model's own methods (buttons) belong to the
//! models layer (`crate::models::button`), which knows what they act on.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldType {
    Char,
    Text,
    Integer,
    Float,
    Boolean,
    Date,
    Datetime,
    Selection(&'static [(&'static str, &'static str)]),
    Many2one(&'static str),
    /// `(comodel, inverse many2one field on the comodel)`
    One2many(&'static str, &'static str),
}

impl FieldType {
    /// Odoo's type name as `fields_get` reports it.
    pub fn odoo_name(self) -> &'static str {
        match self {
            FieldType::Char => "char",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Float => "float",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Selection(_) => "selection",
            FieldType::Many2one(_) => "many2one",
            FieldType::One2many(..) => "one2many",
        }
    }

    pub fn comodel(self) -> Option<&'static str> {
        match self {
            FieldType::Many2one(m) | FieldType::One2many(m, _) => Some(m),
            _ => None,
        }
    }

    /// Whether the field is a column of the model's table.
    pub fn is_stored(self) -> bool {
        !matches!(self, FieldType::One2many(..))
    }
}

/// Where a field's value comes from when a record is created without it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    None,
    Bool(bool),
    Str(&'static str),
    Int(i64),
    Float(f64),
    /// The calling user's company.
    UserCompany,
    /// The current UTC datetime.
    Now,
}

#[derive(Clone, Debug)]
pub struct Field {
    pub name: &'static str,
    pub string: &'static str,
    pub ftype: FieldType,
    pub help: &'static str,
    pub required: bool,
    /// Read-only for clients: set by the bridge itself (sync state, Salt Edge data).
    pub readonly: bool,
    pub default: Default,
}

impl Field {
    pub const fn new(name: &'static str, string: &'static str, ftype: FieldType) -> Field {
        Field { name, string, ftype, help: "", required: false, readonly: false, default: Default::None }
    }
    pub const fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub const fn readonly(mut self) -> Field {
        self.readonly = true;
        self
    }
    pub const fn help(mut self, help: &'static str) -> Field {
        self.help = help;
        self
    }
    pub const fn default(mut self, default: Default) -> Field {
        self.default = default;
        self
    }
    pub fn is_stored(&self) -> bool {
        self.ftype.is_stored()
    }
}

/// Which records of a model a user may see: the multi-company rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompanyScope {
    /// Shared by every company (e.g. institutions).
    Global,
    /// Records whose `company_id` column is the user's company.
    CompanyField,
    /// The company records themselves: only the user's own.
    OwnCompany,
}

/// What RPC users may do with a model (Odoo's `ir.model.access` for the bridge's one user group).
#[derive(Clone, Copy, Debug)]
pub struct Access {
    pub read: bool,
    pub write: bool,
    pub create: bool,
    pub unlink: bool,
}

impl Access {
    pub const ALL: Access = Access { read: true, write: true, create: true, unlink: true };
    pub const READ_ONLY: Access = Access { read: true, write: false, create: false, unlink: false };
}

pub struct Model {
    pub name: &'static str,
    pub description: &'static str,
    pub table: &'static str,
    pub fields: Vec<Field>,
    /// The field used as display name.
    pub rec_name: &'static str,
    /// Default `order` clause, validated like a client's.
    pub order: &'static str,
    pub scope: CompanyScope,
    pub access: Access,
}

/// Fields every model has, as in Odoo.
pub const ID: Field = Field::new("id", "ID", FieldType::Integer).readonly();
pub const DISPLAY_NAME: Field = Field::new("display_name", "Display Name", FieldType::Char).readonly();

impl Model {
    pub fn field(&self, name: &str) -> Option<&Field> {
        match name {
            "id" => Some(&ID),
            "display_name" => Some(&DISPLAY_NAME),
            _ => self.fields.iter().find(|f| f.name == name),
        }
    }

    /// Every field as `fields_get` lists them: declared fields, then `id` and `display_name`.
    pub fn all_fields(&self) -> impl Iterator<Item = &Field> {
        self.fields.iter().chain([&ID, &DISPLAY_NAME])
    }

    /// Stored columns in a fixed order: `id` first, then stored declared fields.
    pub fn columns(&self) -> impl Iterator<Item = &Field> {
        std::iter::once(&ID).chain(self.fields.iter().filter(|f| f.is_stored()))
    }
}
