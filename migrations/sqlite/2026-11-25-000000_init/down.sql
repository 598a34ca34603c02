DROP TABLE online_transactions;
DROP TABLE online_accounts;
DROP TABLE online_links;
DROP TABLE online_institutions;
DROP TABLE ir_models;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE companies;
