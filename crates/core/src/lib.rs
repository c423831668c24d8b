//! Pure domain rules of Sportello. Nothing here performs I/O, so every rule is
//! unit- and property-tested without a database or a network.

pub mod audit;
pub mod authz;
pub mod catalogue;
pub mod desk;
pub mod filings;
pub mod fiscal_code;
pub mod identity;
pub mod kb;
pub mod password_policy;
pub mod pdf;
pub mod registration;
pub mod retry;
pub mod vat_number;

pub use fiscal_code::FiscalCode;
pub use vat_number::VatNumber;
