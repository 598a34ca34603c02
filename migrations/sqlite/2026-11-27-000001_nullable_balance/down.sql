-- Back to NOT NULL DEFAULT 0.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE online_accounts_rebuilt (
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
INSERT INTO online_accounts_rebuilt (id, name, account_number, balance, currency_code, online_identifier, account_online_link_id, journal_id, last_sync, fetching_status, inverse_transaction_sign, company_id, last_transaction_identifier, create_date, write_date) SELECT id, name, account_number, COALESCE(balance, 0), currency_code, online_identifier, account_online_link_id, journal_id, last_sync, fetching_status, inverse_transaction_sign, company_id, last_transaction_identifier, create_date, write_date FROM online_accounts;
DROP TABLE online_accounts;
ALTER TABLE online_accounts_rebuilt RENAME TO online_accounts;
CREATE INDEX online_accounts_company ON online_accounts (company_id);
COMMIT;
PRAGMA foreign_keys = ON;
