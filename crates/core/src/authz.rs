//! Authorization is decided in one place: `decide(actor, action)`. Handlers
//! ask it and never reason about roles themselves.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Dipartimento delle Finanze: defines applications, appoints local administrators.
    CentralAdmin,
    /// Amministratore locale delle utenze of one organization (and the bodies under it).
    LocalAdmin,
    /// Gestore dell'ufficio: receives and assigns an office's requests.
    OfficeManager,
    /// Operatore: works requests to closure.
    Operator,
    /// Gestore regionale: reports for a region.
    RegionalManager,
    /// Gestore centrale: reports for the whole service.
    CentralManager,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::CentralAdmin,
        Role::LocalAdmin,
        Role::OfficeManager,
        Role::Operator,
        Role::RegionalManager,
        Role::CentralManager,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Role::CentralAdmin => "central_admin",
            Role::LocalAdmin => "local_admin",
            Role::OfficeManager => "office_manager",
            Role::Operator => "operator",
            Role::RegionalManager => "regional_manager",
            Role::CentralManager => "central_manager",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.code() == code)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A role held by a user, with its scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub organization_id: Option<i64>,
    pub office_id: Option<i64>,
    pub region: Option<String>,
}

/// Who is acting. `None` as actor means an anonymous visitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub organization_id: Option<i64>,
    pub grants: Vec<Grant>,
}

impl Actor {
    pub fn has(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }
}

/// What is being attempted, with the facts about the resource that the
/// decision needs (loaded by the caller).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action<'a> {
    /// See the operations pages: outbox, dead letters, audit trail.
    ViewOperations,
    /// Re-queue a dead letter.
    RetryOutbox,
    /// See one's own reserved area ("I miei servizi").
    ViewOwnArea,
    /// Manage the users of an organization; `org_path` is the organization
    /// and its ancestors, nearest first.
    ManageUsersOf { org_path: &'a [i64] },
    /// Edit the application catalogue (applications, profiles, rules).
    ManageCatalogue,
    /// Approve or reject requests to appoint local administrators; revoke them.
    DecideAppointments,
    /// Read the audit history of an organization (and the bodies under it).
    ViewAuditOf { org_path: &'a [i64] },
    /// Work the requests of an office.
    WorkOffice { office_id: i64 },
    /// See reports of a region.
    ViewRegionReports { region: &'a str },
    /// See reports of the whole country.
    ViewNationalReports,
    /// Configure assistance channels and load notices.
    ManageChannels,
    /// Export the daily protocol register.
    ExportRegister,
    /// Submit an assistance request; `eligible` is the channel's audience
    /// rule applied to the actor (category, enablement, office association).
    SubmitRequest { eligible: bool },
    /// Read one request: its requester, the staff of its office, the
    /// managers of its region and the central managers.
    ViewRequest {
        requester_id: Option<i64>,
        office_id: i64,
        region: &'a str,
    },
    /// Assign an office's requests and see its reports (office manager).
    ManageOffice { office_id: i64 },
    /// Work for any of these offices: register phone requests, sort inbound mail.
    WorkAnyOffice { office_ids: &'a [i64] },
    /// Define integrated services and agency connectors.
    ManageIntegratedServices,
    /// See self-registrations, approve or refuse those that wait for it.
    ManageRegistrations,
    /// Write articles of the knowledge base (FAQ): drafts and new versions.
    EditKnowledgeBase,
    /// Publish or withdraw an article of the knowledge base.
    PublishKnowledgeBase,
    /// Work on a filing of `owner_id`: the owner himself, or a collaborator
    /// he sub-delegated (`delegators` are the users who sub-delegated the
    /// integrated services to the actor). `capable` says whether the profile
    /// held carries the capability the act needs (prepare or send).
    Filing {
        owner_id: i64,
        delegators: &'a [i64],
        capable: bool,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Not logged in: the caller should ask for authentication.
    NeedsLogin,
    /// Logged in but not allowed; the reason is for the log and the audit.
    Deny(&'static str),
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

pub fn decide(actor: Option<&Actor>, action: &Action<'_>) -> Decision {
    let Some(actor) = actor else {
        return Decision::NeedsLogin;
    };
    let allowed = match action {
        Action::ViewOwnArea => true,
        Action::ViewOperations
        | Action::RetryOutbox
        | Action::ManageCatalogue
        | Action::DecideAppointments => actor.has(Role::CentralAdmin),
        Action::ManageUsersOf { org_path } | Action::ViewAuditOf { org_path } => {
            actor.has(Role::CentralAdmin)
                || actor.grants.iter().any(|g| {
                    g.role == Role::LocalAdmin
                        && g.organization_id.is_some_and(|o| org_path.contains(&o))
                })
        }
        Action::WorkOffice { office_id } => works_office(actor, *office_id),
        Action::ViewRegionReports { region } => region_manager(actor, region),
        Action::ViewNationalReports => actor.has(Role::CentralManager),
        Action::ManageChannels | Action::ManageIntegratedServices | Action::ManageRegistrations => {
            actor.has(Role::CentralAdmin)
        }
        Action::Filing {
            owner_id,
            delegators,
            capable,
        } => *capable && (actor.user_id == *owner_id || delegators.contains(owner_id)),
        Action::ExportRegister => actor.has(Role::CentralAdmin) || actor.has(Role::CentralManager),
        // The desk's staff write the answers they give every day; the
        // coordinators (office, regional and central managers) and the
        // central administrator decide what the public reads.
        Action::EditKnowledgeBase => {
            actor.has(Role::CentralAdmin) || actor.has(Role::Operator) || kb_coordinator(actor)
        }
        Action::PublishKnowledgeBase => actor.has(Role::CentralAdmin) || kb_coordinator(actor),
        Action::SubmitRequest { eligible } => *eligible,
        Action::ViewRequest {
            requester_id,
            office_id,
            region,
        } => {
            *requester_id == Some(actor.user_id)
                || works_office(actor, *office_id)
                || region_manager(actor, region)
        }
        Action::ManageOffice { office_id } => actor
            .grants
            .iter()
            .any(|g| g.role == Role::OfficeManager && g.office_id == Some(*office_id)),
        Action::WorkAnyOffice { office_ids } => {
            actor.has(Role::CentralManager) || office_ids.iter().any(|o| works_office(actor, *o))
        }
    };
    if allowed {
        Decision::Allow
    } else {
        Decision::Deny(match action {
            Action::ViewOperations
            | Action::RetryOutbox
            | Action::ManageCatalogue
            | Action::DecideAppointments => "reserved to the central administrator",
            Action::ManageUsersOf { .. } | Action::ViewAuditOf { .. } => {
                "organization outside the administrator's scope"
            }
            Action::WorkOffice { .. }
            | Action::ManageOffice { .. }
            | Action::WorkAnyOffice { .. } => "office outside the actor's assignment",
            Action::ViewRegionReports { .. } => "region outside the manager's scope",
            Action::ViewNationalReports => "reserved to the central managers",
            Action::ManageChannels
            | Action::ManageIntegratedServices
            | Action::ManageRegistrations => "reserved to the central administrator",
            Action::Filing { capable: false, .. } => "profile without the needed capability",
            Action::Filing { .. } => "filing of another user who did not sub-delegate the actor",
            Action::ExportRegister => "reserved to the register's keepers",
            Action::EditKnowledgeBase => "reserved to the assistance desk's staff",
            Action::PublishKnowledgeBase => {
                "reserved to the desk's coordinators and the central administrator"
            }
            Action::SubmitRequest { .. } => "not among the channel's requesters",
            Action::ViewRequest { .. } => "request outside the actor's scope",
            Action::ViewOwnArea => "not allowed",
        })
    }
}

/// Operators and managers of the office.
fn works_office(actor: &Actor, office_id: i64) -> bool {
    actor.grants.iter().any(|g| {
        matches!(g.role, Role::OfficeManager | Role::Operator) && g.office_id == Some(office_id)
    })
}

/// Coordinators of the assistance desk: office, regional and central managers.
fn kb_coordinator(actor: &Actor) -> bool {
    actor.has(Role::OfficeManager)
        || actor.has(Role::RegionalManager)
        || actor.has(Role::CentralManager)
}

/// Central managers see every region; regional managers their own.
fn region_manager(actor: &Actor, region: &str) -> bool {
    actor.has(Role::CentralManager)
        || actor
            .grants
            .iter()
            .any(|g| g.role == Role::RegionalManager && g.region.as_deref() == Some(region))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(grants: Vec<Grant>) -> Actor {
        Actor {
            user_id: 1,
            organization_id: Some(10),
            grants,
        }
    }

    fn grant(role: Role, org: Option<i64>, office: Option<i64>, region: Option<&str>) -> Grant {
        Grant {
            role,
            organization_id: org,
            office_id: office,
            region: region.map(str::to_string),
        }
    }

    #[test]
    fn anonymous_must_log_in() {
        assert_eq!(decide(None, &Action::ViewOwnArea), Decision::NeedsLogin);
        assert_eq!(decide(None, &Action::ViewOperations), Decision::NeedsLogin);
    }

    #[test]
    fn local_admin_reaches_own_org_and_bodies_under_it_only() {
        let la = actor(vec![grant(Role::LocalAdmin, Some(10), None, None)]);
        // The concessionaire (20) hangs under the municipality (10).
        assert!(
            decide(
                Some(&la),
                &Action::ManageUsersOf {
                    org_path: &[20, 10, 1]
                }
            )
            .is_allowed()
        );
        assert!(decide(Some(&la), &Action::ManageUsersOf { org_path: &[10, 1] }).is_allowed());
        // A sibling municipality and the parent region are out of scope.
        assert!(!decide(Some(&la), &Action::ManageUsersOf { org_path: &[11, 1] }).is_allowed());
        assert!(!decide(Some(&la), &Action::ManageUsersOf { org_path: &[1] }).is_allowed());
        assert!(!decide(Some(&la), &Action::ViewOperations).is_allowed());
    }

    #[test]
    fn office_and_region_scopes() {
        let op = actor(vec![grant(Role::Operator, Some(5), Some(7), None)]);
        assert!(decide(Some(&op), &Action::WorkOffice { office_id: 7 }).is_allowed());
        assert!(!decide(Some(&op), &Action::WorkOffice { office_id: 8 }).is_allowed());
        let rm = actor(vec![grant(
            Role::RegionalManager,
            None,
            None,
            Some("Emilia-Romagna"),
        )]);
        assert!(
            decide(
                Some(&rm),
                &Action::ViewRegionReports {
                    region: "Emilia-Romagna"
                }
            )
            .is_allowed()
        );
        assert!(!decide(Some(&rm), &Action::ViewRegionReports { region: "Lazio" }).is_allowed());
        let cm = actor(vec![grant(Role::CentralManager, None, None, None)]);
        assert!(decide(Some(&cm), &Action::ViewRegionReports { region: "Lazio" }).is_allowed());
    }

    #[test]
    fn only_central_admin_sees_operations() {
        for role in Role::ALL {
            let a = actor(vec![grant(role, Some(1), Some(1), Some("Lazio"))]);
            let expected = role == Role::CentralAdmin;
            assert_eq!(
                decide(Some(&a), &Action::ViewOperations).is_allowed(),
                expected,
                "{role}"
            );
            assert_eq!(
                decide(Some(&a), &Action::RetryOutbox).is_allowed(),
                expected,
                "{role}"
            );
        }
        let plain = actor(vec![]);
        assert!(decide(Some(&plain), &Action::ViewOwnArea).is_allowed());
        assert!(matches!(
            decide(Some(&plain), &Action::ViewOperations),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn desk_requests_are_seen_by_requester_office_and_region_only() {
        let view =
            |requester: Option<i64>, office: i64, region: &'static str| Action::ViewRequest {
                requester_id: requester,
                office_id: office,
                region,
            };
        let requester = actor(vec![]); // user 1
        assert!(decide(Some(&requester), &view(Some(1), 7, "Lazio")).is_allowed());
        assert!(!decide(Some(&requester), &view(Some(2), 7, "Lazio")).is_allowed());
        assert!(!decide(Some(&requester), &view(None, 7, "Lazio")).is_allowed());
        let op = actor(vec![grant(Role::Operator, Some(5), Some(7), None)]);
        assert!(decide(Some(&op), &view(Some(2), 7, "Lazio")).is_allowed());
        assert!(!decide(Some(&op), &view(Some(2), 8, "Lazio")).is_allowed());
        // Operators work but do not assign; managers do both.
        assert!(!decide(Some(&op), &Action::ManageOffice { office_id: 7 }).is_allowed());
        let mgr = actor(vec![grant(Role::OfficeManager, Some(5), Some(7), None)]);
        assert!(decide(Some(&mgr), &Action::ManageOffice { office_id: 7 }).is_allowed());
        assert!(!decide(Some(&mgr), &Action::ManageOffice { office_id: 8 }).is_allowed());
        let rm = actor(vec![grant(
            Role::RegionalManager,
            None,
            None,
            Some("Lazio"),
        )]);
        assert!(decide(Some(&rm), &view(Some(2), 9, "Lazio")).is_allowed());
        assert!(!decide(Some(&rm), &view(Some(2), 9, "Umbria")).is_allowed());
        assert!(!decide(Some(&rm), &Action::ViewNationalReports).is_allowed());
        assert!(!decide(Some(&rm), &Action::WorkOffice { office_id: 9 }).is_allowed());
        let cm = actor(vec![grant(Role::CentralManager, None, None, None)]);
        assert!(decide(Some(&cm), &Action::ViewNationalReports).is_allowed());
        assert!(decide(Some(&cm), &Action::ExportRegister).is_allowed());
        assert!(!decide(Some(&cm), &Action::ManageChannels).is_allowed());
        assert!(
            decide(
                Some(&op),
                &Action::WorkAnyOffice {
                    office_ids: &[3, 7]
                }
            )
            .is_allowed()
        );
        assert!(!decide(Some(&op), &Action::WorkAnyOffice { office_ids: &[3] }).is_allowed());
        assert!(!decide(Some(&requester), &Action::SubmitRequest { eligible: false }).is_allowed());
        assert!(decide(Some(&requester), &Action::SubmitRequest { eligible: true }).is_allowed());
        assert_eq!(
            decide(None, &Action::SubmitRequest { eligible: true }),
            Decision::NeedsLogin
        );
    }

    #[test]
    fn filings_are_the_owners_and_his_sub_delegates_only() {
        let filing = |owner_id: i64, delegators: &'static [i64], capable: bool| Action::Filing {
            owner_id,
            delegators,
            capable,
        };
        let owner = actor(vec![]); // user 1
        assert!(decide(Some(&owner), &filing(1, &[], true)).is_allowed());
        assert!(!decide(Some(&owner), &filing(1, &[], false)).is_allowed());
        assert!(!decide(Some(&owner), &filing(2, &[], true)).is_allowed());
        // User 2 sub-delegated user 1: his filings are open to user 1, others' are not.
        assert!(decide(Some(&owner), &filing(2, &[2], true)).is_allowed());
        assert!(!decide(Some(&owner), &filing(3, &[2], true)).is_allowed());
        // The central administrator defines services but does not read filings.
        let admin = actor(vec![grant(Role::CentralAdmin, Some(5), None, None)]);
        assert!(decide(Some(&admin), &Action::ManageIntegratedServices).is_allowed());
        assert!(!decide(Some(&admin), &filing(2, &[], true)).is_allowed());
        assert!(!decide(Some(&owner), &Action::ManageIntegratedServices).is_allowed());
        assert!(decide(Some(&admin), &Action::ManageRegistrations).is_allowed());
        assert!(!decide(Some(&owner), &Action::ManageRegistrations).is_allowed());
        assert!(!decide(None, &Action::ManageRegistrations).is_allowed());
    }

    #[test]
    fn knowledge_base_is_written_by_the_desk_staff_and_published_by_coordinators() {
        let op = actor(vec![grant(Role::Operator, Some(5), Some(7), None)]);
        let om = actor(vec![grant(Role::OfficeManager, Some(5), Some(7), None)]);
        let ca = actor(vec![grant(Role::CentralAdmin, None, None, None)]);
        let la = actor(vec![grant(Role::LocalAdmin, Some(10), None, None)]);
        let citizen = actor(vec![]);
        assert!(decide(Some(&op), &Action::EditKnowledgeBase).is_allowed());
        assert!(!decide(Some(&op), &Action::PublishKnowledgeBase).is_allowed());
        for a in [&om, &ca] {
            assert!(decide(Some(a), &Action::EditKnowledgeBase).is_allowed());
            assert!(decide(Some(a), &Action::PublishKnowledgeBase).is_allowed());
        }
        for a in [&la, &citizen] {
            assert!(!decide(Some(a), &Action::EditKnowledgeBase).is_allowed());
            assert!(!decide(Some(a), &Action::PublishKnowledgeBase).is_allowed());
        }
        assert_eq!(
            decide(None, &Action::EditKnowledgeBase),
            Decision::NeedsLogin
        );
    }
}
