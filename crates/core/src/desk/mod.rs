//! Rules of the assistance desk: requests arrive on channels (CIVIS, BDNA,
//! ...), get a protocol number, are routed to an office and worked by
//! operators against a service-level target counted in opening hours.
//! Everything is configured as text an administrator edits, so each parser
//! has a canonical printer that reads back to the same value.

pub mod form;
pub mod hours;
pub mod protocol;
pub mod routing;
pub mod sla;
pub mod workflow;
