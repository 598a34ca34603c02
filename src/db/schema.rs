//! The diesel schema shared by both backends (portable types only; see the migrations).

diesel::table! {
    companies (id) {
        id -> BigInt,
        name -> Text,
        country_code -> Nullable<Text>,
        create_date -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        login -> Text,
        name -> Text,
        company_id -> BigInt,
        password_hash -> Nullable<Text>,
        active -> Bool,
        create_date -> Text,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        key_prefix -> Text,
        key_hash -> Text,
        create_date -> Text,
    }
}

diesel::table! {
    ir_models (id) {
        id -> BigInt,
        model -> Text,
        name -> Text,
        transient -> Bool,
    }
}

diesel::joinable!(users -> companies (company_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(companies, users, api_keys, ir_models);
