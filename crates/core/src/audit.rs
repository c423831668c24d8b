//! The audit trail is a hash chain: each event's hash covers its own fields and
//! the previous event's hash, so editing, deleting or reordering any stored
//! event breaks the chain at that point.

use sha2::{Digest, Sha256};

/// Hash that precedes the first event of a trail.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit event as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub seq: i64,
    /// Microseconds since the Unix epoch, UTC.
    pub occurred_at: i64,
    pub actor: String,
    pub acting_organization: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub source_address: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

/// Computes the hash of an event from its content and the previous hash.
/// Fields are length-prefixed so that no two different events share an input.
#[allow(clippy::too_many_arguments)]
pub fn event_hash(
    prev_hash: &str,
    seq: i64,
    occurred_at: i64,
    actor: &str,
    acting_organization: Option<&str>,
    action: &str,
    target: &str,
    detail: &str,
    source_address: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    let mut field = |s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    field(prev_hash);
    field(&seq.to_string());
    field(&occurred_at.to_string());
    field(actor);
    field(acting_organization.unwrap_or("\u{0}none"));
    field(action);
    field(target);
    field(detail);
    field(source_address.unwrap_or("\u{0}none"));
    hex::encode(h.finalize())
}

impl AuditRecord {
    pub fn computed_hash(&self) -> String {
        event_hash(
            &self.prev_hash,
            self.seq,
            self.occurred_at,
            &self.actor,
            self.acting_organization.as_deref(),
            &self.action,
            &self.target,
            &self.detail,
            self.source_address.as_deref(),
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("evento {seq}: il contenuto non corrisponde al suo hash (evento alterato)")]
    Altered { seq: i64 },
    #[error(
        "evento {seq}: l'hash precedente non corrisponde all'evento {previous} (catena interrotta)"
    )]
    Broken { seq: i64, previous: i64 },
    #[error("evento {seq}: atteso il numero {expected} (eventi mancanti o riordinati)")]
    Gap { seq: i64, expected: i64 },
    #[error(
        "la testa della catena indica {head_seq} eventi ma l'ultimo presente è {last_seq} (eventi finali rimossi o testa alterata)"
    )]
    Head { head_seq: i64, last_seq: i64 },
}

/// Walks events in order and checks the chain incrementally, so a caller can
/// stream millions of rows without holding them.
#[derive(Debug)]
pub struct ChainVerifier {
    expected_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            expected_seq: 1,
            prev_hash: GENESIS_HASH.to_string(),
        }
    }
}

impl ChainVerifier {
    pub fn push(&mut self, event: &AuditRecord) -> Result<(), ChainError> {
        if event.seq != self.expected_seq {
            return Err(ChainError::Gap {
                seq: event.seq,
                expected: self.expected_seq,
            });
        }
        if event.prev_hash != self.prev_hash {
            return Err(ChainError::Broken {
                seq: event.seq,
                previous: event.seq - 1,
            });
        }
        if event.computed_hash() != event.hash {
            return Err(ChainError::Altered { seq: event.seq });
        }
        self.expected_seq += 1;
        self.prev_hash = event.hash.clone();
        Ok(())
    }

    /// Checks the stored head (last sequence number and hash) against the walk.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, ChainError> {
        let last_seq = self.expected_seq - 1;
        if head_seq != last_seq || head_hash != self.prev_hash {
            return Err(ChainError::Head { head_seq, last_seq });
        }
        Ok(last_seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = GENESIS_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = AuditRecord {
                    seq,
                    occurred_at: 1_700_000_000_000_000 + seq,
                    actor: format!("user:{seq}"),
                    acting_organization: Some("org:1".into()),
                    action: "user.enable".into(),
                    target: "user:9".into(),
                    detail: "{}".into(),
                    source_address: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                r.hash = r.computed_hash();
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    fn verify(events: &[AuditRecord]) -> Result<i64, ChainError> {
        let mut v = ChainVerifier::default();
        for e in events {
            v.push(e)?;
        }
        let last = events.last();
        v.finish(
            last.map(|e| e.seq).unwrap_or(0),
            last.map(|e| e.hash.as_str()).unwrap_or(GENESIS_HASH),
        )
    }

    #[test]
    fn intact_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    #[test]
    fn edited_event_is_named() {
        let mut events = chain(5);
        events[2].detail = "{\"forged\":true}".into();
        assert_eq!(verify(&events), Err(ChainError::Altered { seq: 3 }));
    }

    #[test]
    fn deleted_event_is_a_gap() {
        let mut events = chain(5);
        events.remove(1);
        assert_eq!(
            verify(&events),
            Err(ChainError::Gap {
                seq: 3,
                expected: 2
            })
        );
    }

    #[test]
    fn rehashed_forgery_breaks_the_link() {
        let mut events = chain(4);
        events[1].actor = "intruder".into();
        events[1].hash = events[1].computed_hash();
        assert_eq!(
            verify(&events),
            Err(ChainError::Broken {
                seq: 3,
                previous: 2
            })
        );
    }

    #[test]
    fn truncated_tail_is_caught_by_the_head() {
        let events = chain(4);
        let mut v = ChainVerifier::default();
        for e in &events[..3] {
            v.push(e).unwrap();
        }
        assert!(matches!(
            v.finish(4, &events[3].hash),
            Err(ChainError::Head { .. })
        ));
    }

    #[test]
    fn optional_fields_are_distinguished_from_text() {
        let a = event_hash(GENESIS_HASH, 1, 0, "a", None, "x", "t", "", None);
        let b = event_hash(GENESIS_HASH, 1, 0, "a", Some(""), "x", "t", "", None);
        assert_ne!(a, b);
    }
}
