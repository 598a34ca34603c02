-- The two statements of the benchmark's search_read on PostgreSQL (80 accounts, every field), as the bridge
-- prepares them, with the caller's and the related ids written in: `pgbench -M prepared -f` this file
-- against the database `scripts/bench.py load` seeded (see BENCHMARKS.md, issue 27's fourth pass).
SELECT t.id, t.name, t.account_number, t.balance, t.currency_code, t.online_identifier, t.account_online_link_id, t.journal_id, t.last_sync, t.fetching_status, t.inverse_transaction_sign, t.company_id, t.create_date, t.write_date, (SELECT 1 FROM users WHERE TRUE AND id = 1 AND company_id = 1 AND credential_generation = 0 AND active = true) AS guard_held FROM online_accounts t WHERE 1=1 AND t.company_id = 1 ORDER BY t.id ASC NULLS LAST LIMIT 80;
SELECT CAST(0 AS BIGINT) AS part, t.id AS id, CAST(t.name AS TEXT) AS label FROM online_links t WHERE t.id IN (1) UNION ALL SELECT CAST(1 AS BIGINT) AS part, t.id AS id, CAST(t.name AS TEXT) AS label FROM companies t WHERE t.id IN (1);
