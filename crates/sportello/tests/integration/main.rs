//! The integration suite. It runs on SQLite by default and on PostgreSQL when
//! SPORTELLO_TEST_DATABASE_URL names a server (each test gets its own schema).

mod harness;

mod api;
mod child;
mod cli;
mod cns;
mod delegation;
mod demo_rp;
mod desk;
mod filing_load;
mod filings;
mod filings_crash;
mod identity;
mod imap;
mod import;
mod kb;
mod mail;
mod matrix;
mod oidc;
mod registration;
mod scim;
mod storage;
mod web;
