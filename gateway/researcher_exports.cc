// The Researcher service's export and review calls (docs/export.md): the gateway keeps the
// request and enforces the state machine and the review rules (export_review.h); the node
// snapshots the files and runs the checker.

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/call_identity.h"
#include "gateway/export_review.h"
#include "gateway/grpc_edge.h"
#include "gateway/release.h"
#include "gateway/researcher_service.h"
#include "gateway/workspace_access.h"
#include "nlohmann/json.hpp"

namespace kura::gateway {
namespace {

constexpr absl::Duration kNodeSnapshotDeadline = absl::Seconds(300);
constexpr size_t kMaxJustification = 10000;

kura::v1::ExportRequest ExportToProto(const ExportRecord& r,
                                      const std::vector<ExportVoteRecord>& visible_votes) {
  kura::v1::ExportRequest p;
  p.set_id(r.id);
  p.set_version(r.version);
  p.set_project(r.project);
  p.set_author(r.author);
  p.set_workspace_id(r.workspace);
  p.set_justification(r.justification);
  p.set_state(std::string(ExportStateName(r.state)));
  auto verdicts = FileVerdicts(r.report_json);
  nlohmann::json files = nlohmann::json::parse(r.files_json, nullptr, false);
  if (files.is_array()) {
    for (const nlohmann::json& f : files) {
      kura::v1::ExportFile* out = p.add_files();
      out->set_path(f.value("path", ""));
      out->set_size(f.value("size", uint64_t{0}));
      out->set_sha256(f.value("sha256", ""));
      if (verdicts.ok() && verdicts->count(out->path()))
        out->set_verdict(verdicts->at(out->path()));
    }
  }
  nlohmann::json schemas = nlohmann::json::parse(r.schemas_json, nullptr, false);
  if (schemas.is_array()) {
    for (const nlohmann::json& s : schemas) {
      kura::v1::SchemaRef* ref = p.add_schemas();
      ref->set_name(s.value("name", ""));
      ref->set_data_class(s.value("data_class", ""));
      ref->set_manifest_sha256(s.value("manifest_sha256", ""));
    }
  }
  p.set_report_json(r.report_json);
  p.set_verdict(r.verdict);
  p.set_policy_name(r.policy_name);
  p.set_policy_sha256(r.policy_sha256);
  p.set_checker_version(r.checker_version);
  p.set_required_reviewers(r.required_reviewers);
  for (const ExportVoteRecord& v : visible_votes) {
    kura::v1::ExportVote* out = p.add_votes();
    out->set_reviewer(v.reviewer);
    out->set_file(v.file);
    out->set_decision(std::string(VoteDecisionName(v.decision)));
    out->set_comment(v.comment);
    out->set_override_reason(v.override_reason);
    out->set_time_unix(absl::ToUnixSeconds(v.time));
    out->set_round(v.round);
  }
  p.set_created_unix(absl::ToUnixSeconds(r.created));
  p.set_updated_unix(absl::ToUnixSeconds(r.updated));
  p.set_snapshot_id(r.snapshot_id);
  p.set_latest_version(r.version);
  nlohmann::json image = nlohmann::json::parse(r.image_json, nullptr, false);
  if (image.is_object()) {
    p.mutable_image()->set_name(image.value("name", ""));
    p.mutable_image()->set_digest(image.value("digest", ""));
    for (const nlohmann::json& c : image.value("components", nlohmann::json::array())) {
      if (c.is_string()) p.mutable_image()->add_components(c.get<std::string>());
    }
  }
  return p;
}

// Version `r` of a request as `viewer` may see it: the votes and comments blinding leaves them
// (export_review.h) and the history of every version.
absl::StatusOr<kura::v1::ExportRequest> ViewOf(Store& store, const ExportRecord& r,
                                               const std::string& viewer) {
  KURA_ASSIGN_OR_RETURN(std::vector<ExportVoteRecord> votes,
                        store.ListExportVotes(r.id, r.version));
  KURA_ASSIGN_OR_RETURN(std::vector<ExportCommentRecord> comments,
                        store.ListExportComments(r.id, r.version));
  KURA_ASSIGN_OR_RETURN(std::vector<ExportRecord> versions, store.ListExportVersions(r.id));
  std::vector<std::string> files = ExportFilePaths(r);
  kura::v1::ExportRequest p = ExportToProto(r, VisibleVotes(votes, viewer, files, r.state));
  for (const ExportCommentRecord& c : VisibleComments(comments, votes, r, viewer, files)) {
    kura::v1::ExportComment* out = p.add_comments();
    out->set_author(c.author);
    out->set_file(c.file);
    out->set_text(c.text);
    out->set_time_unix(absl::ToUnixSeconds(c.time));
    out->set_version(c.version);
  }
  for (const ExportRecord& v : versions) {
    kura::v1::ExportRequest summary = ExportToProto(v, {});
    kura::v1::ExportVersion* out = p.add_versions();
    out->set_version(v.version);
    out->set_state(summary.state());
    out->set_verdict(v.verdict);
    out->set_snapshot_id(v.snapshot_id);
    *out->mutable_files() = summary.files();
    out->set_justification(v.justification);
    out->set_created_unix(absl::ToUnixSeconds(v.created));
    out->set_updated_unix(absl::ToUnixSeconds(v.updated));
  }
  if (!versions.empty()) p.set_latest_version(versions.back().version);
  return p;
}

// The record the node's snapshot makes, checked and awaiting reviewers. The number of reviewers
// follows the data class the operator registered for each schema, never only what the node
// read in the schema's own manifest: a manifest that says less than the registration cannot
// lower the bar, and one that names an unregistered schema or another manifest is refused.
absl::StatusOr<ExportRecord> RecordFromSnapshot(Store& store,
                                                const kura::v1::NodeSnapshotResponse& reply) {
  ExportRecord r;
  r.state = ExportState::kChecked;
  r.snapshot_id = reply.snapshot_id();
  nlohmann::json files = nlohmann::json::array();
  for (const kura::v1::OutputFile& f : reply.files()) {
    files.push_back({{"path", f.path()}, {"size", f.size()}, {"sha256", f.sha256()}});
  }
  r.files_json = files.dump();
  r.report_json = reply.report_json();
  KURA_RETURN_IF_ERROR(FileVerdicts(r.report_json).status());
  r.verdict = reply.verdict();
  r.policy_name = reply.policy_name();
  r.policy_sha256 = reply.policy_sha256();
  r.checker_version = reply.checker_version();
  nlohmann::json schemas = nlohmann::json::array();
  std::vector<DataClass> classes;
  for (const kura::v1::SchemaIdentity& s : reply.schemas()) {
    schemas.push_back({{"name", s.name()},
                       {"manifest_sha256", s.manifest_sha256()},
                       {"data_class", s.data_class()}});
    KURA_ASSIGN_OR_RETURN(DataClass c, ParseDataClass(s.data_class()));
    classes.push_back(c);
    absl::StatusOr<SchemaRecord> registered = store.GetSchema(s.name());
    if (!registered.ok() || registered->manifest_sha256 != s.manifest_sha256()) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema '", s.name(), "' as the node reports it is not the one registered"));
    }
    classes.push_back(registered->data_class);
  }
  r.schemas_json = schemas.dump();
  r.required_reviewers = RequiredReviewers(classes);
  nlohmann::json components = nlohmann::json::array();
  for (const std::string& c : reply.image().components()) components.push_back(c);
  r.image_json = nlohmann::json{
      {"name", reply.image().name()},
      {"digest", reply.image().digest()},
      {"components",
       components}}.dump();
  return r;
}

// Asks the workspace's node to snapshot `paths` and check them; the record that makes.
absl::StatusOr<ExportRecord> SnapshotAndCheck(
    GatewayState& state, const WorkspaceRecord& workspace,
    const google::protobuf::RepeatedPtrField<std::string>& paths,
    const google::protobuf::RepeatedPtrField<kura::v1::ExportSpec>& specs) {
  KURA_ASSIGN_OR_RETURN(auto stub, state.NodeStub(workspace.node));
  kura::v1::NodeSnapshotRequest node_request;
  node_request.set_workspace_id(workspace.id);
  *node_request.mutable_paths() = paths;
  for (const kura::v1::ExportSpec& spec : specs) {
    kura::v1::TableSpecDocument* doc = node_request.add_specs();
    doc->set_name(spec.name());
    doc->set_json(spec.json());
  }
  grpc::ClientContext node_context;
  node_context.set_deadline(absl::ToChronoTime(absl::Now() + kNodeSnapshotDeadline));
  kura::v1::NodeSnapshotResponse reply;
  KURA_RETURN_IF_ERROR(
      FromNodeStatus(workspace.node, stub->SnapshotOutputs(&node_context, node_request, &reply)));
  return RecordFromSnapshot(state.store(), reply);
}

bool IsMember(Store& store, absl::string_view user, absl::string_view project) {
  return RequireProjectMember(store, user, project).ok();
}

}  // namespace

grpc::Status ResearcherService::RequestExport(grpc::ServerContext* context,
                                              const kura::v1::RequestExportRequest* request,
                                              kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                          UsableWorkspace(caller, request->workspace_id(), "export.request"));
    std::string subject = absl::StrCat("workspace:", workspace.id);
    if (request->justification().empty() || request->justification().size() > kMaxJustification) {
      return Refuse(caller, "export.request", subject,
                    absl::InvalidArgumentError("an export request needs a justification"));
    }
    if (request->paths().empty()) {
      return Refuse(caller, "export.request", subject,
                    absl::InvalidArgumentError("an export request needs at least one file"));
    }
    absl::StatusOr<ExportRecord> checked =
        SnapshotAndCheck(state_, workspace, request->paths(), request->specs());
    if (!checked.ok()) return Refuse(caller, "export.request", subject, checked.status());
    ExportRecord record = *std::move(checked);
    record.project = workspace.project;
    record.author = caller.session.user;
    record.workspace = workspace.id;
    record.justification = request->justification();
    record.created = record.updated = state_.Now();
    KURA_ASSIGN_OR_RETURN(record.id, state_.store().CreateExport(record));
    state_.Audit({caller.actor, "export.request", absl::StrCat("export:", record.id), "ok",
                  JsonObject({{"workspace", workspace.id},
                              {"snapshot", record.snapshot_id},
                              {"files", record.files_json}})});
    state_.Audit({Actor("node", workspace.node), "export.check", absl::StrCat("export:", record.id),
                  "ok",
                  JsonObject({{"verdict", record.verdict},
                              {"policy", record.policy_name},
                              {"policy_sha256", record.policy_sha256}})});
    *response = ExportToProto(record, {});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("RequestExport", status);
}

grpc::Status ResearcherService::ListExports(grpc::ServerContext* context,
                                            const kura::v1::ListExportsRequest* request,
                                            kura::v1::ListExportsResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(std::vector<ExportRecord> all,
                          state_.store().ListExports(request->project()));
    for (const ExportRecord& r : all) {
      if (r.author == caller.session.user) *response->add_requests() = ExportToProto(r, {});
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListExports", status);
}

absl::StatusOr<ExportRecord> ResearcherService::OwnExport(const Caller& caller, int64_t id) {
  absl::StatusOr<ExportRecord> r = state_.store().GetExport(id);
  // Someone else's request answers as one that does not exist: ids leak nothing.
  if (!r.ok() || r->author != caller.session.user) {
    return absl::NotFoundError(absl::StrCat("no export request ", id));
  }
  return r;
}

grpc::Status ResearcherService::ShowExport(grpc::ServerContext* context,
                                           const kura::v1::ShowExportRequest* request,
                                           kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(ExportRecord latest, OwnExport(caller, request->id()));
    KURA_ASSIGN_OR_RETURN(ExportRecord r, ExportVersion(latest, request->version()));
    KURA_ASSIGN_OR_RETURN(*response, ViewOf(state_.store(), r, caller.session.user));
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ShowExport", status);
}

grpc::Status ResearcherService::WithdrawExport(grpc::ServerContext* context,
                                               const kura::v1::WithdrawExportRequest* request,
                                               kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(ExportRecord r, OwnExport(caller, request->id()));
    std::string subject = absl::StrCat("export:", r.id);
    if (IsFinal(r.state)) {
      return Refuse(caller, "export.withdraw", subject,
                    absl::FailedPreconditionError(absl::StrCat(
                        "export request ", r.id, " is already ", ExportStateName(r.state))));
    }
    absl::Status moved =
        state_.store().SetExportState(r.id, r.state, ExportState::kWithdrawn, state_.Now());
    if (!moved.ok()) return Refuse(caller, "export.withdraw", subject, moved);
    state_.Audit({caller.actor, "export.withdraw", subject, "ok",
                  JsonObject({{"from", std::string(ExportStateName(r.state))}})});
    r.state = ExportState::kWithdrawn;
    *response = ExportToProto(r, {});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("WithdrawExport", status);
}

grpc::Status ResearcherService::ResubmitExport(grpc::ServerContext* context,
                                               const kura::v1::ResubmitExportRequest* request,
                                               kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(ExportRecord r, OwnExport(caller, request->id()));
    std::string subject = absl::StrCat("export:", r.id);
    if (r.state != ExportState::kChecked && r.state != ExportState::kInReview &&
        r.state != ExportState::kConsolidation && r.state != ExportState::kChangesRequested) {
      return Refuse(caller, "export.resubmit", subject,
                    absl::FailedPreconditionError(absl::StrCat(
                        "export request ", r.id, " is ", ExportStateName(r.state),
                        "; only an undecided request or one sent back for changes takes a new "
                        "version")));
    }
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                          UsableWorkspace(caller, r.workspace, "export.resubmit"));
    google::protobuf::RepeatedPtrField<std::string> paths = request->paths();
    if (paths.empty()) {
      for (const std::string& p : ExportFilePaths(r)) *paths.Add() = p;
    }
    absl::StatusOr<ExportRecord> checked =
        SnapshotAndCheck(state_, workspace, paths, request->specs());
    if (!checked.ok()) return Refuse(caller, "export.resubmit", subject, checked.status());
    if (checked->snapshot_id == r.snapshot_id) {
      return Refuse(caller, "export.resubmit", subject,
                    absl::FailedPreconditionError(
                        "the files are unchanged since the latest version; nothing to resubmit"));
    }
    ExportRecord next = *std::move(checked);
    next.id = r.id;
    next.project = r.project;
    next.author = r.author;
    next.workspace = r.workspace;
    next.justification =
        request->justification().empty() ? r.justification : request->justification();
    next.created = r.created;
    next.updated = state_.Now();
    // Stored only if no vote decided the request and no other version came in meanwhile.
    absl::StatusOr<int> version = state_.store().AddExportVersion(next, r.version);
    if (!version.ok()) return Refuse(caller, "export.resubmit", subject, version.status());
    next.version = *version;
    state_.Audit({caller.actor, "export.resubmit", subject, "ok",
                  JsonObject({{"version", absl::StrCat(next.version)},
                              {"snapshot", next.snapshot_id},
                              {"verdict", next.verdict}})});
    *response = ExportToProto(next, {});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ResubmitExport", status);
}

absl::StatusOr<ExportRecord> ResearcherService::ReviewableExport(const Caller& caller, int64_t id) {
  absl::StatusOr<ExportRecord> r = state_.store().GetExport(id);
  if (!r.ok()) return absl::NotFoundError(absl::StrCat("no export request ", id));
  KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(caller.session.user));
  if (r->author == user.name) {
    return absl::PermissionDeniedError("the author of an export request cannot review it");
  }
  if (!user.HasRole(Role::kReviewer) || !IsMember(state_.store(), user.name, r->project)) {
    return absl::PermissionDeniedError(
        absl::StrCat(user.name, " is not a reviewer of project '", r->project, "'"));
  }
  return r;
}

grpc::Status ResearcherService::ListReviews(grpc::ServerContext* context,
                                            const kura::v1::ListReviewsRequest*,
                                            kura::v1::ListExportsResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(caller.session.user));
    if (!user.HasRole(Role::kReviewer)) {
      return Refuse(caller, "review.list", "exports",
                    absl::PermissionDeniedError(absl::StrCat(user.name, " is not a reviewer")));
    }
    KURA_ASSIGN_OR_RETURN(std::vector<std::string> projects,
                          state_.store().ListProjectsOfUser(user.name));
    for (const std::string& project : projects) {
      KURA_ASSIGN_OR_RETURN(std::vector<ExportRecord> all, state_.store().ListExports(project));
      for (const ExportRecord& r : all) {
        if (r.author == user.name || IsFinal(r.state)) continue;
        *response->add_requests() = ExportToProto(r, {});
      }
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListReviews", status);
}

grpc::Status ResearcherService::ShowReview(grpc::ServerContext* context,
                                           const kura::v1::ShowExportRequest* request,
                                           kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    absl::StatusOr<ExportRecord> latest = ReviewableExport(caller, request->id());
    if (!latest.ok()) {
      return Refuse(caller, "review.show", absl::StrCat("export:", request->id()), latest.status());
    }
    KURA_ASSIGN_OR_RETURN(ExportRecord r, ExportVersion(*latest, request->version()));
    KURA_ASSIGN_OR_RETURN(*response, ViewOf(state_.store(), r, caller.session.user));
    state_.Audit({caller.actor, "review.show", absl::StrCat("export:", r.id), "ok",
                  JsonObject({{"version", absl::StrCat(r.version)}})});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ShowReview", status);
}

grpc::Status ResearcherService::Vote(grpc::ServerContext* context,
                                     const kura::v1::VoteRequest* request,
                                     kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    std::string subject = absl::StrCat("export:", request->id());
    KURA_ASSIGN_OR_RETURN(ExportRecord r, FoundExport(caller, request->id(), "export.vote"));
    KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(caller.session.user));
    absl::Status may = CheckMayVote(r, user, IsMember(state_.store(), user.name, r.project));
    if (!may.ok()) return Refuse(caller, "export.vote", subject, may);
    ExportVoteRecord vote;
    vote.request_id = r.id;
    vote.version = request->version() == 0 ? r.version : request->version();
    vote.reviewer = user.name;
    vote.file = request->file();
    absl::StatusOr<VoteDecision> decision = ParseVoteDecision(request->decision());
    if (!decision.ok()) return Refuse(caller, "export.vote", subject, decision.status());
    vote.decision = *decision;
    vote.comment = request->comment();
    vote.override_reason = request->override_reason();
    vote.time = state_.Now();
    KURA_ASSIGN_OR_RETURN(auto verdicts, FileVerdicts(r.report_json));
    absl::Status fits = CheckVote(r, verdicts, vote);
    if (!fits.ok()) return Refuse(caller, "export.vote", subject, fits);
    // The store checks again, atomically, that the version is the latest and takes the vote.
    absl::StatusOr<int> round = state_.store().AddExportVote(vote);
    if (!round.ok()) return Refuse(caller, "export.vote", subject, round.status());
    vote.round = *round;
    state_.Audit({caller.actor, "export.vote", subject, "ok",
                  JsonObject({{"version", absl::StrCat(vote.version)},
                              {"file", vote.file},
                              {"decision", std::string(VoteDecisionName(vote.decision))},
                              {"round", absl::StrCat(vote.round)},
                              {"comment", vote.comment},
                              {"override_reason", vote.override_reason}})});
    KURA_RETURN_IF_ERROR(SettleVotes(r));
    KURA_ASSIGN_OR_RETURN(*response, ViewOf(state_.store(), r, user.name));
    return absl::OkStatus();
  }();
  return ToGrpcStatus("Vote", status);
}

absl::StatusOr<ExportRecord> ResearcherService::ExportVersion(const ExportRecord& latest,
                                                              int version) {
  if (version == 0 || version == latest.version) return latest;
  KURA_ASSIGN_OR_RETURN(std::vector<ExportRecord> versions,
                        state_.store().ListExportVersions(latest.id));
  for (const ExportRecord& v : versions) {
    if (v.version == version) return v;
  }
  return absl::NotFoundError(
      absl::StrCat("export request ", latest.id, " has no version ", version));
}

absl::StatusOr<ExportRecord> ResearcherService::FoundExport(const Caller& caller, int64_t id,
                                                            absl::string_view action) {
  absl::StatusOr<ExportRecord> found = state_.store().GetExport(id);
  if (found.ok()) return found;
  return Refuse(caller, action, absl::StrCat("export:", id),
                absl::NotFoundError(absl::StrCat("no export request ", id)));
}

absl::Status ResearcherService::SettleVotes(ExportRecord& r) {
  if (r.state == ExportState::kChecked) {
    absl::Status moved = state_.store().SetExportState(r.id, ExportState::kChecked,
                                                       ExportState::kInReview, state_.Now());
    // Lost to a concurrent vote, which moved it already.
    if (!moved.ok() && !absl::IsFailedPrecondition(moved)) return moved;
  }
  for (;;) {
    KURA_ASSIGN_OR_RETURN(ExportRecord current, state_.store().GetExport(r.id));
    r = current;
    if (r.state != ExportState::kInReview && r.state != ExportState::kConsolidation) {
      return absl::OkStatus();
    }
    KURA_ASSIGN_OR_RETURN(std::vector<ExportVoteRecord> votes,
                          state_.store().ListExportVotes(r.id, r.version));
    ExportState decided = Tally(votes, ExportFilePaths(r), r.required_reviewers);
    if (decided == r.state || decided == ExportState::kInReview) return absl::OkStatus();
    absl::Status moved = state_.store().SetExportState(r.id, r.state, decided, state_.Now());
    if (absl::IsFailedPrecondition(moved)) continue;  // someone else moved it: look again
    KURA_RETURN_IF_ERROR(moved);
    state_.Audit({Actor("gateway", "review"), "export.decide", absl::StrCat("export:", r.id), "ok",
                  JsonObject({{"state", std::string(ExportStateName(decided))},
                              {"from", std::string(ExportStateName(r.state))},
                              {"version", absl::StrCat(r.version)}})});
    r.state = decided;
    return absl::OkStatus();
  }
}

grpc::Status ResearcherService::Comment(grpc::ServerContext* context,
                                        const kura::v1::CommentRequest* request,
                                        kura::v1::ExportRequest* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    std::string subject = absl::StrCat("export:", request->id());
    KURA_ASSIGN_OR_RETURN(ExportRecord r, FoundExport(caller, request->id(), "export.comment"));
    KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(caller.session.user));
    absl::Status may = CheckMayComment(r, user, IsMember(state_.store(), user.name, r.project));
    if (may.ok() && request->version() != 0 && request->version() != r.version) {
      may = absl::FailedPreconditionError(absl::StrCat("export request ", r.id, " is at version ",
                                                       r.version, " now; comment on that version"));
    }
    if (may.ok() && (request->text().empty() || request->text().size() > kMaxJustification)) {
      may = absl::InvalidArgumentError("a comment needs text (at most 10000 bytes)");
    }
    std::vector<std::string> files = ExportFilePaths(r);
    if (may.ok() && !request->file().empty() &&
        std::find(files.begin(), files.end(), request->file()) == files.end()) {
      may = absl::InvalidArgumentError(
          absl::StrCat("'", request->file(), "' is not a file of export request ", r.id));
    }
    if (!may.ok()) return Refuse(caller, "export.comment", subject, may);
    ExportCommentRecord comment{r.id,        r.version, user.name, request->file(), request->text(),
                                state_.Now()};
    KURA_RETURN_IF_ERROR(state_.store().AddExportComment(comment));
    state_.Audit({caller.actor, "export.comment", subject, "ok",
                  JsonObject({{"version", absl::StrCat(r.version)},
                              {"file", comment.file},
                              {"text", comment.text}})});
    KURA_ASSIGN_OR_RETURN(*response, ViewOf(state_.store(), r, user.name));
    return absl::OkStatus();
  }();
  return ToGrpcStatus("Comment", status);
}

}  // namespace kura::gateway
