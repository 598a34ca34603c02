-- Portable types only: dates and datetimes are ISO text ('YYYY-MM-DD', 'YYYY-MM-DD HH:MM:SS', UTC),
-- so both backends compare and order them the same way.
CREATE TABLE companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    country_code TEXT,
    create_date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    password_hash TEXT,
    active BOOLEAN NOT NULL DEFAULT 1,
    create_date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
);

CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    key_prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    create_date TEXT NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%S', 'now'))
);
CREATE INDEX api_keys_user_prefix ON api_keys (user_id, key_prefix);

CREATE TABLE ir_models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    transient BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE online_institutions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    country_code TEXT,
    status TEXT,
    mode TEXT,
    max_consent_days INTEGER,
    supported_fetch_scopes TEXT,
    logo_url TEXT,
    create_date TEXT,
    write_date TEXT
);
CREATE INDEX online_institutions_country ON online_institutions (country_code, name);

CREATE TABLE online_links (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    institution_id INTEGER REFERENCES online_institutions (id) ON DELETE SET NULL,
    provider_code TEXT,
    state TEXT NOT NULL DEFAULT 'disconnected',
    auto_sync BOOLEAN NOT NULL DEFAULT 1,
    last_refresh TEXT,
    next_refresh TEXT,
    expiring_synchronization_date TEXT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    client_id TEXT,
    connection_identifier TEXT,
    error_message TEXT,
    has_unlinked_accounts BOOLEAN NOT NULL DEFAULT 1,
    renewal_contact_email TEXT,
    renewal_contact_phone TEXT,
    return_url TEXT,
    next_refresh_possible_at TEXT,
    sync_claimed_by TEXT,
    sync_claimed_until TEXT,
    create_date TEXT,
    write_date TEXT
);
CREATE INDEX online_links_company ON online_links (company_id);
CREATE INDEX online_links_connection ON online_links (connection_identifier);

CREATE TABLE online_accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    account_number TEXT,
    balance DOUBLE PRECISION NOT NULL DEFAULT 0,
    currency_code TEXT,
    online_identifier TEXT,
    account_online_link_id INTEGER NOT NULL REFERENCES online_links (id) ON DELETE CASCADE,
    journal_id INTEGER,
    last_sync TEXT,
    fetching_status TEXT,
    inverse_transaction_sign BOOLEAN NOT NULL DEFAULT 0,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    last_transaction_identifier TEXT,
    create_date TEXT,
    write_date TEXT,
    UNIQUE (account_online_link_id, online_identifier)
);
CREATE INDEX online_accounts_company ON online_accounts (company_id);

CREATE TABLE online_transactions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    online_transaction_identifier TEXT NOT NULL,
    date TEXT NOT NULL,
    amount DOUBLE PRECISION NOT NULL,
    currency_code TEXT,
    payment_ref TEXT,
    partner_name TEXT,
    account_number TEXT,
    status TEXT NOT NULL DEFAULT 'posted',
    online_account_id INTEGER NOT NULL REFERENCES online_accounts (id) ON DELETE CASCADE,
    raw_data TEXT,
    company_id INTEGER NOT NULL REFERENCES companies (id),
    create_date TEXT,
    UNIQUE (online_account_id, online_transaction_identifier)
);
CREATE INDEX online_transactions_account_status ON online_transactions (online_account_id, status, id);
CREATE INDEX online_transactions_company ON online_transactions (company_id, id);

-- Bridge-wide settings (e.g. where the offline sandbox of a running `serve` listens, for `bankbridge sync`).
CREATE TABLE bridge_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
