//! The OpenAPI document for `/api/v1`, generated from the handlers' annotations.

use crate::api;

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Frontdoor API", description = "The multi-agency children's front door. Every read of personal data is written to the access log."),
    paths(api::token, api::logout, api::me, api::create_contact, api::contact, api::chronology, api::users, api::audit_verify, api::contact_stats,
        api::protocols, api::worklist, api::decide, api::move_contact, api::alerts, api::update_alert, api::flag_child, api::record_settings, api::status_message, api::import_feed,
        api::contact_records, api::link_queue, api::link_decision, api::link_undo, api::upsert_person,
        crate::enquiries::agencies, crate::enquiries::index, crate::enquiries::open, crate::enquiries::show,
        crate::enquiries::contribute, crate::enquiries::amend, crate::enquiries::release, crate::enquiries::conclude,
        crate::cse_http::list, crate::cse_http::show, crate::cse_http::take, crate::cse_http::loads, crate::cse_http::record_support,
        crate::actions_http::index, crate::actions_http::create, crate::actions_http::complete,
        crate::audit_http::index, crate::audit_http::create, crate::audit_http::show, crate::audit_http::finding,
        crate::reports::schools_api, crate::cse_http::notify_api, crate::cse_http::notifications_api),
    components(schemas(
        api::TokenRequest, api::TokenResponse, api::ContactRequest, api::ChildRequest, api::ContactCreated, api::ContactView, api::IndicatorView,
        api::ChronologyView, api::ChronologyItem, api::ChildView, api::MeView, api::UserView, api::VerifyView, api::StatsView, api::CountView,
        api::ReporterRequest, api::AlertView, api::DecisionView, api::DecisionRequest, api::MoveRequest, api::MoveView, api::AlertUpdateRequest, api::FlagRequest, api::SettingsRecorded, api::AdditionView, api::ChildMatchView, api::StatusMessageRequest, crate::cse::SettingsInput,
        api::FlagView, api::WorklistEntry, api::QuestionView, api::ProtocolView, api::FeedContact, api::FeedImported,
        api::LinkDecisionRequest, api::LinkUndoRequest, crate::records::RecordCheck, crate::records::HeldRecord, crate::records::RecordedChild,
        crate::records::QueuedLink, crate::records::EvidenceView, crate::records::RecordRefView, crate::records::PersonUpsert,
        crate::records::UpsertResult, crate::enquiries::EnquiryRequest, crate::enquiries::PersonRequest, crate::enquiries::Created,
        crate::enquiries::ContributionRequest, crate::enquiries::ReleaseRequest, crate::enquiries::OutcomeRequest,
        crate::enquiries::AgencyView, crate::enquiries::ReleaseView, crate::enquiries::ContributionView,
        crate::enquiries::EnquiryView, crate::cse_http::CaseSummary, crate::cse_http::DeadlineView, crate::cse_http::CaseView,
        crate::cse_http::HistoryItem, crate::cse_http::StepTaken, crate::cse_http::WorkerLoad, crate::cse_http::OverrideView,
        crate::cse_http::CaseloadsView, crate::cse_http::SupportView, crate::cse_http::SupportRecorded, crate::cse::SupportInput, crate::actions_http::ActionView, crate::actions_http::ActionRequest,
        crate::actions_http::CompleteRequest, crate::actions_http::ActionCreated, crate::audit_http::AuditView,
        crate::audit_http::SampledCase, crate::audit_http::DrawRequest, crate::audit_http::FindingRequest,
        crate::reports::SchoolView, crate::reports::SchoolReport, crate::cse_http::NotificationView, crate::cse::NotifyInput
    )),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

/// The document as JSON text.
pub fn openapi_json() -> String {
    ApiDoc::openapi().to_pretty_json().unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
