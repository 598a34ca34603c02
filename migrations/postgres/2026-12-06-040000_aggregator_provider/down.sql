DROP INDEX online_institutions_provider;
ALTER TABLE saltedge_return_states DROP COLUMN authorization_ref;
ALTER TABLE online_accounts DROP COLUMN session_account_id;
ALTER TABLE online_links DROP COLUMN balances_read_at;
ALTER TABLE online_links DROP COLUMN bank_reads;
ALTER TABLE online_links DROP COLUMN provider;
ALTER TABLE online_institutions DROP COLUMN provider;
