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
        credential_generation -> BigInt,
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

diesel::table! {
    web_sessions (sid_hash) {
        sid_hash -> Text,
        user_id -> BigInt,
        login -> Text,
        credential_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    login_throttle (key_hash) {
        key_hash -> Text,
        failures -> BigInt,
        window_start -> BigInt,
    }
}

diesel::joinable!(users -> companies (company_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(web_sessions -> users (user_id));
diesel::allow_tables_to_appear_in_same_query!(companies, users, api_keys, ir_models, web_sessions);

diesel::table! {
    online_institutions (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        country_code -> Nullable<Text>,
        status -> Nullable<Text>,
        mode -> Nullable<Text>,
        max_consent_days -> Nullable<BigInt>,
        supported_fetch_scopes -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        create_date -> Nullable<Text>,
        write_date -> Nullable<Text>,
        provider -> Text,
    }
}

diesel::table! {
    online_links (id) {
        id -> BigInt,
        name -> Nullable<Text>,
        institution_id -> Nullable<BigInt>,
        provider_code -> Nullable<Text>,
        state -> Text,
        auto_sync -> Bool,
        last_refresh -> Nullable<Text>,
        next_refresh -> Nullable<Text>,
        expiring_synchronization_date -> Nullable<Text>,
        company_id -> BigInt,
        client_id -> Nullable<Text>,
        connection_identifier -> Nullable<Text>,
        error_message -> Nullable<Text>,
        has_unlinked_accounts -> Bool,
        renewal_contact_email -> Nullable<Text>,
        renewal_contact_phone -> Nullable<Text>,
        return_url -> Nullable<Text>,
        next_refresh_possible_at -> Nullable<Text>,
        sync_claimed_by -> Nullable<Text>,
        sync_claimed_until -> Nullable<Text>,
        followed_by -> Nullable<Text>,
        followed_until -> Nullable<Text>,
        follow_marker -> Nullable<Text>,
        create_date -> Nullable<Text>,
        write_date -> Nullable<Text>,
        sync_progress -> Nullable<Text>,
        provider -> Text,
        bank_reads -> Nullable<Text>,
        balances_read_at -> Nullable<Text>,
    }
}

diesel::table! {
    online_accounts (id) {
        id -> BigInt,
        name -> Text,
        account_number -> Nullable<Text>,
        balance -> Nullable<Double>,
        currency_code -> Nullable<Text>,
        online_identifier -> Nullable<Text>,
        account_online_link_id -> BigInt,
        journal_id -> Nullable<BigInt>,
        last_sync -> Nullable<Text>,
        fetching_status -> Nullable<Text>,
        inverse_transaction_sign -> Bool,
        company_id -> BigInt,
        last_transaction_identifier -> Nullable<Text>,
        create_date -> Nullable<Text>,
        write_date -> Nullable<Text>,
        session_account_id -> Nullable<Text>,
    }
}

diesel::table! {
    online_transactions (id) {
        id -> BigInt,
        online_transaction_identifier -> Text,
        date -> Text,
        amount -> Double,
        currency_code -> Nullable<Text>,
        payment_ref -> Nullable<Text>,
        partner_name -> Nullable<Text>,
        account_number -> Nullable<Text>,
        status -> Text,
        online_account_id -> BigInt,
        raw_data -> Nullable<Text>,
        company_id -> BigInt,
        create_date -> Nullable<Text>,
    }
}

diesel::table! {
    bridge_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    saltedge_customers (company_id) {
        company_id -> BigInt,
        customer_id -> Text,
        identifier -> Text,
    }
}

diesel::table! {
    saltedge_return_states (state_hash) {
        state_hash -> Text,
        link_id -> BigInt,
        company_id -> BigInt,
        kind -> Text,
        return_to -> Nullable<Text>,
        created_at -> Text,
        expires_at -> Text,
        used_at -> Nullable<Text>,
        authorization_ref -> Nullable<Text>,
    }
}

diesel::joinable!(online_accounts -> online_links (account_online_link_id));
diesel::joinable!(online_transactions -> online_accounts (online_account_id));
diesel::allow_tables_to_appear_in_same_query!(online_links, online_accounts, online_transactions, online_institutions);
