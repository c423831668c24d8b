//! State machine of a desk request, from arrival to closure.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestState {
    New,
    Assigned,
    InProgress,
    WaitingRequester,
    Closed,
}

impl RequestState {
    pub const ALL: [RequestState; 5] = [
        RequestState::New,
        RequestState::Assigned,
        RequestState::InProgress,
        RequestState::WaitingRequester,
        RequestState::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RequestState::New => "new",
            RequestState::Assigned => "assigned",
            RequestState::InProgress => "in_progress",
            RequestState::WaitingRequester => "waiting_requester",
            RequestState::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_it(self) -> &'static str {
        match self {
            RequestState::New => "Da prendere in carico",
            RequestState::Assigned => "Assegnata",
            RequestState::InProgress => "In lavorazione",
            RequestState::WaitingRequester => "In attesa del richiedente",
            RequestState::Closed => "Chiusa",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RequestState::New => "To be taken",
            RequestState::Assigned => "Assigned",
            RequestState::InProgress => "In progress",
            RequestState::WaitingRequester => "Waiting for the requester",
            RequestState::Closed => "Closed",
        }
    }

    /// Report bucket: "to_take" for New and Assigned, "in_progress" for
    /// InProgress and WaitingRequester, "closed".
    pub fn bucket(self) -> &'static str {
        match self {
            RequestState::New | RequestState::Assigned => "to_take",
            RequestState::InProgress | RequestState::WaitingRequester => "in_progress",
            RequestState::Closed => "closed",
        }
    }

    /// The service-level clock stops while waiting for the requester: the
    /// office cannot be late on documents it has not received.
    pub fn clock_paused(self) -> bool {
        self == RequestState::WaitingRequester
    }

    pub fn is_open(self) -> bool {
        self != RequestState::Closed
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestEvent {
    Assign,
    Take,
    AskDocuments,
    RequesterReplied,
    Close,
    Transfer,
}

impl RequestEvent {
    pub const ALL: [RequestEvent; 6] = [
        RequestEvent::Assign,
        RequestEvent::Take,
        RequestEvent::AskDocuments,
        RequestEvent::RequesterReplied,
        RequestEvent::Close,
        RequestEvent::Transfer,
    ];

    pub fn code(self) -> &'static str {
        match self {
            RequestEvent::Assign => "assign",
            RequestEvent::Take => "take",
            RequestEvent::AskDocuments => "ask_documents",
            RequestEvent::RequesterReplied => "requester_replied",
            RequestEvent::Close => "close",
            RequestEvent::Transfer => "transfer",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.code() == code)
    }

    /// The operation as a noun, for messages ("la chiusura non è possibile").
    fn noun_it(self) -> &'static str {
        match self {
            RequestEvent::Assign => "l'assegnazione",
            RequestEvent::Take => "la presa in carico",
            RequestEvent::AskDocuments => "la richiesta di documenti",
            RequestEvent::RequesterReplied => "la risposta del richiedente",
            RequestEvent::Close => "la chiusura",
            RequestEvent::Transfer => "il trasferimento",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub struct WorkflowError {
    pub state: RequestState,
    pub event: RequestEvent,
}

impl fmt::Display for WorkflowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.state == RequestState::Closed {
            return f.write_str("operazione non consentita: la richiesta è chiusa");
        }
        write!(
            f,
            "operazione non consentita: {} non è possibile per una richiesta nello stato «{}»",
            self.event.noun_it(),
            self.state.label_it()
        )
    }
}

/// The state after `event`, or an error if the event is not allowed in
/// `state`. A closed request never changes.
pub fn next(state: RequestState, event: RequestEvent) -> Result<RequestState, WorkflowError> {
    use RequestEvent as E;
    use RequestState as S;
    match (state, event) {
        (S::New | S::Assigned | S::InProgress, E::Assign) => Ok(S::Assigned),
        (S::New | S::Assigned, E::Take) => Ok(S::InProgress),
        (S::InProgress, E::AskDocuments) => Ok(S::WaitingRequester),
        // A message arriving while in progress changes nothing.
        (S::WaitingRequester | S::InProgress, E::RequesterReplied) => Ok(S::InProgress),
        (S::InProgress | S::WaitingRequester, E::Close) => Ok(S::Closed),
        // The request starts again in the receiving office.
        (S::New | S::Assigned | S::InProgress | S::WaitingRequester, E::Transfer) => Ok(S::New),
        _ => Err(WorkflowError { state, event }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestEvent as E;
    use RequestState as S;
    use proptest::prelude::*;

    #[test]
    fn full_transition_table() {
        let allowed = [
            (S::New, E::Assign, S::Assigned),
            (S::New, E::Take, S::InProgress),
            (S::New, E::Transfer, S::New),
            (S::Assigned, E::Assign, S::Assigned),
            (S::Assigned, E::Take, S::InProgress),
            (S::Assigned, E::Transfer, S::New),
            (S::InProgress, E::Assign, S::Assigned),
            (S::InProgress, E::AskDocuments, S::WaitingRequester),
            (S::InProgress, E::RequesterReplied, S::InProgress),
            (S::InProgress, E::Close, S::Closed),
            (S::InProgress, E::Transfer, S::New),
            (S::WaitingRequester, E::RequesterReplied, S::InProgress),
            (S::WaitingRequester, E::Close, S::Closed),
            (S::WaitingRequester, E::Transfer, S::New),
        ];
        for state in S::ALL {
            for event in E::ALL {
                let expected = allowed
                    .iter()
                    .find(|(s, e, _)| *s == state && *e == event)
                    .map(|(_, _, to)| *to);
                match expected {
                    Some(to) => assert_eq!(next(state, event), Ok(to), "{state:?} {event:?}"),
                    None => assert_eq!(
                        next(state, event),
                        Err(WorkflowError { state, event }),
                        "{state:?} {event:?}"
                    ),
                }
            }
        }
    }

    #[test]
    fn messages_are_italian() {
        let closed = next(S::Closed, E::Take).unwrap_err();
        assert_eq!(
            closed.to_string(),
            "operazione non consentita: la richiesta è chiusa"
        );
        let early = next(S::New, E::Close).unwrap_err();
        assert_eq!(
            early.to_string(),
            "operazione non consentita: la chiusura non è possibile per una richiesta nello stato «Da prendere in carico»"
        );
    }

    #[test]
    fn codes_labels_and_buckets() {
        for s in S::ALL {
            assert_eq!(S::from_code(s.code()), Some(s));
            assert!(!s.label_it().is_empty() && !s.label_en().is_empty());
        }
        for e in E::ALL {
            assert_eq!(E::from_code(e.code()), Some(e));
        }
        assert_eq!(S::from_code("open"), None);
        assert_eq!(S::WaitingRequester.code(), "waiting_requester");
        assert_eq!(S::New.label_it(), "Da prendere in carico");
        assert_eq!(S::New.bucket(), "to_take");
        assert_eq!(S::Assigned.bucket(), "to_take");
        assert_eq!(S::InProgress.bucket(), "in_progress");
        assert_eq!(S::WaitingRequester.bucket(), "in_progress");
        assert_eq!(S::Closed.bucket(), "closed");
        let paused: Vec<_> = S::ALL.into_iter().filter(|s| s.clock_paused()).collect();
        assert_eq!(paused, vec![S::WaitingRequester]);
    }

    proptest! {
        /// Whatever operators do, a closed request stays closed and a refused
        /// event leaves the state unchanged.
        #[test]
        fn closed_is_final(events in proptest::collection::vec(0usize..6, 0..40)) {
            let mut state = S::New;
            let mut closed_once = false;
            for i in events {
                let event = E::ALL[i];
                match next(state, event) {
                    Ok(to) => {
                        prop_assert!(state != S::Closed);
                        state = to;
                    }
                    Err(err) => prop_assert_eq!(err.state, state),
                }
                closed_once |= state == S::Closed;
                if closed_once {
                    prop_assert_eq!(state, S::Closed);
                }
            }
        }
    }
}
