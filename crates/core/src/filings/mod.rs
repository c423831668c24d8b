//! Integrated filings (seed 004): one form, several recipient agencies. A
//! filing counts as started at an agency only once that agency has given its
//! protocol number; a delivery that failed for technical reasons is re-sent,
//! by hand, to that agency alone.

pub mod mapping;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where one delivery (filing x recipient) stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Queued, not yet attempted.
    Pending,
    /// Attempted without success; the portal tries again by itself.
    Retrying,
    /// The agency has it; its protocol number is still to come.
    Received,
    /// The agency gave its protocol number: the filing is started there.
    TakenInCharge,
    /// The agency's outcome: accepted.
    Accepted,
    /// The agency's outcome, or its refusal of the payload: rejected, with a reason.
    Rejected,
    /// Technical failure after the retries: the user resends by hand.
    Failed,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 7] = [
        DeliveryState::Pending,
        DeliveryState::Retrying,
        DeliveryState::Received,
        DeliveryState::TakenInCharge,
        DeliveryState::Accepted,
        DeliveryState::Rejected,
        DeliveryState::Failed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Retrying => "retrying",
            DeliveryState::Received => "received",
            DeliveryState::TakenInCharge => "taken_in_charge",
            DeliveryState::Accepted => "accepted",
            DeliveryState::Rejected => "rejected",
            DeliveryState::Failed => "failed",
        }
    }

    /// The Italian label shown to the user.
    pub fn label(self) -> &'static str {
        match self {
            DeliveryState::Pending => "In consegna",
            DeliveryState::Retrying => "Consegna in corso (nuovo tentativo)",
            DeliveryState::Received => "Ricevuta, in attesa di protocollo",
            DeliveryState::TakenInCharge => "Presa in carico",
            DeliveryState::Accepted => "Accolta",
            DeliveryState::Rejected => "Respinta",
            DeliveryState::Failed => "Consegna non riuscita: da reinviare",
        }
    }

    /// The agency has taken charge (it gave a protocol number).
    pub fn is_started(self) -> bool {
        matches!(
            self,
            DeliveryState::TakenInCharge | DeliveryState::Accepted | DeliveryState::Rejected
        )
    }

    /// The portal is still trying to hand it over.
    pub fn is_in_flight(self) -> bool {
        matches!(self, DeliveryState::Pending | DeliveryState::Retrying)
    }

    /// The user must do something: resend it, or read why it was rejected.
    pub fn needs_action(self) -> bool {
        matches!(self, DeliveryState::Failed | DeliveryState::Rejected)
    }

    /// The portal should ask the agency for news (a protocol or an outcome).
    pub fn awaits_news(self) -> bool {
        matches!(self, DeliveryState::Received | DeliveryState::TakenInCharge)
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        DeliveryState::ALL
            .into_iter()
            .find(|d| d.code() == s)
            .ok_or_else(|| format!("stato di consegna sconosciuto «{s}»"))
    }
}

/// What an agency says about a delivery: its answer to the delivery, a
/// callback, or a poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum News {
    Received,
    TakenInCharge {
        protocol: String,
    },
    Accepted {
        protocol: Option<String>,
    },
    Rejected {
        protocol: Option<String>,
        reason: String,
    },
}

/// What the portal itself observed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// A technical failure; `give_up` when the retries are spent or the error
    /// will not go away by retrying.
    Failed { give_up: bool },
    /// The user resends a failed delivery.
    ResendByHand,
}

/// The recorded state of a delivery, as far as transitions care.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub state: DeliveryState,
    pub protocol: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing new (a repeated callback, a stale answer).
    None,
    To {
        state: DeliveryState,
        protocol: Option<String>,
        reason: Option<String>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Contradiction {
    #[error("l'ente ha già dato il protocollo {recorded}, non {offered}")]
    OtherProtocol { recorded: String, offered: String },
    #[error("esito senza numero di protocollo: la pratica non risulta presa in carico")]
    OutcomeWithoutProtocol,
    #[error("la pratica ha già l'esito «{0}»")]
    OutcomeAlreadyGiven(&'static str),
    #[error("solo le consegne non riuscite si reinviano (stato attuale: {0})")]
    NotResendable(&'static str),
    #[error("numero di protocollo dell'ente vuoto o troppo lungo")]
    BadProtocol,
}

const PROTOCOL_MAX: usize = 100;

/// The next state of a delivery after news from its agency.
pub fn on_news(d: &Delivery, news: &News) -> Result<Change, Contradiction> {
    use DeliveryState as S;
    let check = |offered: &Option<String>| -> Result<Option<String>, Contradiction> {
        match (offered, &d.protocol) {
            (Some(p), _) if p.trim().is_empty() || p.len() > PROTOCOL_MAX => {
                Err(Contradiction::BadProtocol)
            }
            (Some(p), Some(r)) if p != r => Err(Contradiction::OtherProtocol {
                recorded: r.clone(),
                offered: p.clone(),
            }),
            (Some(p), _) => Ok(Some(p.clone())),
            (None, r) => Ok(r.clone()),
        }
    };
    let to = |state, protocol, reason| Change::To {
        state,
        protocol,
        reason,
    };
    match news {
        News::Received => Ok(match d.state {
            S::Pending | S::Retrying | S::Failed => to(S::Received, None, None),
            _ => Change::None,
        }),
        News::TakenInCharge { protocol } => {
            let protocol = check(&Some(protocol.clone()))?;
            Ok(match d.state {
                S::Pending | S::Retrying | S::Received | S::Failed => {
                    to(S::TakenInCharge, protocol, None)
                }
                S::TakenInCharge | S::Accepted | S::Rejected => Change::None,
            })
        }
        News::Accepted { protocol } => {
            let protocol = check(protocol)?;
            match d.state {
                S::Accepted => Ok(Change::None),
                S::Rejected => Err(Contradiction::OutcomeAlreadyGiven("respinta")),
                _ if protocol.is_none() => Err(Contradiction::OutcomeWithoutProtocol),
                _ => Ok(to(S::Accepted, protocol, None)),
            }
        }
        News::Rejected { protocol, reason } => {
            let protocol = check(protocol)?;
            match d.state {
                S::Rejected => Ok(Change::None),
                S::Accepted => Err(Contradiction::OutcomeAlreadyGiven("accolta")),
                _ => Ok(to(S::Rejected, protocol, Some(reason.clone()))),
            }
        }
    }
}

/// The next state of a delivery after something the portal did.
pub fn on_attempt(d: &Delivery, attempt: &Attempt) -> Result<Change, Contradiction> {
    use DeliveryState as S;
    match attempt {
        Attempt::Failed { give_up } => Ok(match d.state {
            S::Pending | S::Retrying => Change::To {
                state: if *give_up { S::Failed } else { S::Retrying },
                protocol: None,
                reason: None,
            },
            // A late failure after the agency answered changes nothing.
            _ => Change::None,
        }),
        Attempt::ResendByHand => match d.state {
            S::Failed => Ok(Change::To {
                state: S::Pending,
                protocol: None,
                reason: None,
            }),
            other => Err(Contradiction::NotResendable(other.label())),
        },
    }
}

/// Where a filing sits on the user's desk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tray {
    /// Saved drafts, and sent filings no recipient could be reached for.
    Drafts,
    /// Sent filings on their way or started at the agencies.
    InProgress,
    /// Filed away by the user; still searchable.
    Archive,
}

impl Tray {
    pub fn code(self) -> &'static str {
        match self {
            Tray::Drafts => "drafts",
            Tray::InProgress => "in_progress",
            Tray::Archive => "archive",
        }
    }

    pub fn parse(s: &str) -> Option<Tray> {
        [Tray::Drafts, Tray::InProgress, Tray::Archive]
            .into_iter()
            .find(|t| t.code() == s)
    }
}

/// The tray of a filing: `sent` once submitted, with its deliveries' states.
pub fn tray(sent: bool, archived: bool, deliveries: &[DeliveryState]) -> Tray {
    if archived {
        Tray::Archive
    } else if !sent || undeliverable(deliveries) {
        Tray::Drafts
    } else {
        Tray::InProgress
    }
}

/// Sent, but no recipient could be reached: it goes back among the drafts
/// (seed 004) to be resent.
pub fn undeliverable(deliveries: &[DeliveryState]) -> bool {
    !deliveries.is_empty() && deliveries.iter().all(|d| *d == DeliveryState::Failed)
}

/// Every recipient has given its protocol number.
pub fn all_started(deliveries: &[DeliveryState]) -> bool {
    !deliveries.is_empty() && deliveries.iter().all(|d| d.is_started())
}

/// An authorization a recipient requires at its agency: an application and,
/// optionally, one of its profiles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub recipient: String,
    pub application: String,
    pub profile: Option<String>,
}

/// The recipients for which the filer lacks the authorization, given the
/// (application, profile) pairs he holds. Checked before he starts.
pub fn missing_authorizations<'a>(
    requirements: &'a [Requirement],
    held: &[(String, String)],
) -> Vec<&'a Requirement> {
    requirements
        .iter()
        .filter(|r| {
            !held.iter().any(|(app, profile)| {
                *app == r.application && r.profile.as_ref().is_none_or(|p| p == profile)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeliveryState as S;
    use proptest::prelude::*;

    fn d(state: S, protocol: Option<&str>) -> Delivery {
        Delivery {
            state,
            protocol: protocol.map(str::to_string),
        }
    }

    fn taken(p: &str) -> News {
        News::TakenInCharge {
            protocol: p.to_string(),
        }
    }

    #[test]
    fn protocol_marks_the_start_and_repeats_change_nothing() {
        let c = on_news(&d(S::Pending, None), &taken("INPS-1")).unwrap();
        assert_eq!(
            c,
            Change::To {
                state: S::TakenInCharge,
                protocol: Some("INPS-1".into()),
                reason: None
            }
        );
        assert_eq!(
            on_news(&d(S::TakenInCharge, Some("INPS-1")), &taken("INPS-1")),
            Ok(Change::None)
        );
        assert!(matches!(
            on_news(&d(S::TakenInCharge, Some("INPS-1")), &taken("INPS-2")),
            Err(Contradiction::OtherProtocol { .. })
        ));
        // A "received" arriving after the protocol is stale.
        assert_eq!(
            on_news(&d(S::TakenInCharge, Some("INPS-1")), &News::Received),
            Ok(Change::None)
        );
        // A filing the agency got although the portal gave up is started there.
        assert!(matches!(
            on_news(&d(S::Failed, None), &taken("INAIL-9")),
            Ok(Change::To {
                state: S::TakenInCharge,
                ..
            })
        ));
        assert_eq!(
            on_news(&d(S::Pending, None), &taken(" ")),
            Err(Contradiction::BadProtocol)
        );
    }

    #[test]
    fn outcomes_need_a_protocol_and_do_not_flip() {
        let accepted = News::Accepted { protocol: None };
        assert_eq!(
            on_news(&d(S::Received, None), &accepted),
            Err(Contradiction::OutcomeWithoutProtocol)
        );
        assert!(matches!(
            on_news(&d(S::TakenInCharge, Some("P")), &accepted),
            Ok(Change::To {
                state: S::Accepted,
                ..
            })
        ));
        let rejected = News::Rejected {
            protocol: None,
            reason: "posizione non trovata".into(),
        };
        assert_eq!(
            on_news(&d(S::Accepted, Some("P")), &rejected),
            Err(Contradiction::OutcomeAlreadyGiven("accolta"))
        );
        // The agency refusing the payload: rejected without a protocol.
        assert_eq!(
            on_news(&d(S::Pending, None), &rejected),
            Ok(Change::To {
                state: S::Rejected,
                protocol: None,
                reason: Some("posizione non trovata".into())
            })
        );
        assert_eq!(on_news(&d(S::Rejected, None), &rejected), Ok(Change::None));
    }

    #[test]
    fn only_failed_deliveries_are_resent_by_hand() {
        assert!(matches!(
            on_attempt(&d(S::Failed, None), &Attempt::ResendByHand),
            Ok(Change::To {
                state: S::Pending,
                ..
            })
        ));
        for s in [
            S::Pending,
            S::Retrying,
            S::Received,
            S::TakenInCharge,
            S::Accepted,
            S::Rejected,
        ] {
            assert!(
                on_attempt(&d(s, None), &Attempt::ResendByHand).is_err(),
                "{s}"
            );
        }
        assert!(matches!(
            on_attempt(&d(S::Retrying, None), &Attempt::Failed { give_up: true }),
            Ok(Change::To {
                state: S::Failed,
                ..
            })
        ));
        assert_eq!(
            on_attempt(
                &d(S::TakenInCharge, Some("P")),
                &Attempt::Failed { give_up: true }
            ),
            Ok(Change::None)
        );
    }

    #[test]
    fn trays_follow_the_seed() {
        assert_eq!(tray(false, false, &[]), Tray::Drafts);
        assert_eq!(tray(true, false, &[S::Failed, S::Failed]), Tray::Drafts);
        assert_eq!(
            tray(true, false, &[S::Failed, S::TakenInCharge]),
            Tray::InProgress
        );
        assert_eq!(tray(true, true, &[S::Failed]), Tray::Archive);
        assert!(all_started(&[S::TakenInCharge, S::Accepted, S::Rejected]));
        assert!(!all_started(&[S::TakenInCharge, S::Received]));
        assert!(!all_started(&[]));
    }

    #[test]
    fn missing_authorizations_name_the_recipient() {
        let reqs = vec![
            Requirement {
                recipient: "INPS".into(),
                application: "INPS-IMPRESE".into(),
                profile: None,
            },
            Requirement {
                recipient: "INAIL".into(),
                application: "INAIL-IMPRESE".into(),
                profile: Some("datore_lavoro".into()),
            },
        ];
        let held = vec![
            ("INPS-IMPRESE".to_string(), "delegato".to_string()),
            ("INAIL-IMPRESE".to_string(), "consultazione".to_string()),
        ];
        let missing = missing_authorizations(&reqs, &held);
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].recipient, "INAIL");
    }

    fn any_state() -> impl Strategy<Value = S> {
        proptest::sample::select(S::ALL.to_vec())
    }

    fn any_news() -> impl Strategy<Value = News> {
        prop_oneof![
            Just(News::Received),
            "[AB]".prop_map(|p| News::TakenInCharge { protocol: p }),
            proptest::option::of("[AB]").prop_map(|p| News::Accepted { protocol: p }),
            proptest::option::of("[AB]").prop_map(|p| News::Rejected {
                protocol: p,
                reason: "r".into()
            }),
        ]
    }

    proptest! {
        /// Once an agency has taken charge, no news or failure takes it back,
        /// and its protocol number never changes.
        #[test]
        fn a_started_delivery_stays_started_with_its_protocol(
            state in any_state(), protocol in proptest::option::of("[AB]"), news in proptest::collection::vec(any_news(), 0..8), fail in any::<bool>()
        ) {
            let mut cur = d(state, protocol.as_deref());
            let mut first: Option<String> = cur.state.is_started().then(|| cur.protocol.clone()).flatten();
            for n in &news {
                let before = cur.clone();
                let change = if fail { on_attempt(&cur, &Attempt::Failed { give_up: true }) } else { on_news(&cur, n) };
                if let Ok(Change::To { state, protocol, .. }) = change {
                    cur = Delivery { state, protocol: protocol.or(before.protocol.clone()) };
                }
                if before.state.is_started() {
                    prop_assert!(cur.state.is_started());
                }
                if let (Some(f), Some(p)) = (&first, &cur.protocol) {
                    prop_assert_eq!(f, p);
                }
                if first.is_none() && cur.state.is_started() {
                    first = cur.protocol.clone();
                }
            }
        }
    }
}
