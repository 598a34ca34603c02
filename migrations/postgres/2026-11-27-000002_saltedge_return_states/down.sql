ALTER TABLE online_links DROP COLUMN sync_progress;
DROP TABLE saltedge_return_states;
DROP TABLE saltedge_customers;
