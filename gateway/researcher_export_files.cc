// The Researcher service's calls that move an export's bytes (docs/export.md): a file of a
// request for its reviewers and author, and the signed release of an approved request. Both
// take the bytes from the node's snapshot through the gateway's spool (snapshot_spool.h), so
// what leaves is exactly what was hashed when the request was made.

#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/export_review.h"
#include "gateway/grpc_edge.h"
#include "gateway/release.h"
#include "gateway/researcher_service.h"
#include "gateway/snapshot_spool.h"

namespace kura::gateway {
namespace {

constexpr absl::Duration kNodeReadDeadline = absl::Seconds(300);

std::string SpoolDir(const GatewayState& state) { return state.options().state_dir + "/spool"; }

}  // namespace

absl::StatusOr<ExportRecord> ResearcherService::ReadableExport(const Caller& caller, int64_t id) {
  absl::StatusOr<ExportRecord> r = state_.store().GetExport(id);
  if (r.ok() && r->author == caller.session.user) return r;
  return ReviewableExport(caller, id);
}

grpc::Status ResearcherService::ReadExportFile(grpc::ServerContext* context,
                                               const kura::v1::ReadExportFileRequest* request,
                                               grpc::ServerWriter<kura::v1::FileChunk>* writer) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    std::string subject = absl::StrCat("export:", request->id());
    absl::StatusOr<ExportRecord> latest = ReadableExport(caller, request->id());
    if (!latest.ok()) return Refuse(caller, "export.read", subject, latest.status());
    absl::StatusOr<ExportRecord> r = ExportVersion(*latest, request->version());
    if (!r.ok()) return Refuse(caller, "export.read", subject, r.status());
    const ExportFileEntry* entry = nullptr;
    std::vector<ExportFileEntry> files = ExportFiles(*r);
    for (const ExportFileEntry& f : files) {
      if (f.path == request->path()) entry = &f;
    }
    if (entry == nullptr) {
      return Refuse(
          caller, "export.read", subject,
          absl::NotFoundError(absl::StrCat("export request ", r->id, " version ", r->version,
                                           " has no file '", request->path(), "'")));
    }
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace, state_.store().GetWorkspace(r->workspace));
    KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
    absl::StatusOr<SpooledFile> file =
        SpoolSnapshotFile(*stub, workspace.node, r->snapshot_id, entry->path, entry->size,
                          entry->sha256, SpoolDir(state_), absl::Now() + kNodeReadDeadline);
    if (!file.ok()) {
      state_.Audit({caller.actor, "export.read", subject, "failed",
                    JsonObject({{"file", entry->path}, {"reason", file.status().ToString()}})});
      return file.status();
    }
    state_.Audit({caller.actor, "export.read", subject, "ok",
                  JsonObject({{"version", absl::StrCat(r->version)}, {"file", entry->path}})});
    return SendSpooledFile(*file, [&](const kura::v1::FileChunk& c) { return writer->Write(c); });
  }();
  return ToGrpcStatus("ReadExportFile", status);
}

grpc::Status ResearcherService::DownloadRelease(
    grpc::ServerContext* context, const kura::v1::DownloadReleaseRequest* request,
    grpc::ServerWriter<kura::v1::ReleaseChunk>* writer) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    std::string subject = absl::StrCat("export:", request->id());
    absl::StatusOr<ExportRecord> r = OwnExport(caller, request->id());
    if (!r.ok()) return Refuse(caller, "export.download", subject, r.status());
    KURA_ASSIGN_OR_RETURN(std::vector<ExportVoteRecord> votes,
                          state_.store().ListExportVotes(r->id, r->version));
    absl::StatusOr<std::string> manifest = BuildReleaseManifest(*r, votes);
    if (!manifest.ok()) return Refuse(caller, "export.download", subject, manifest.status());
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace, state_.store().GetWorkspace(r->workspace));
    KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
    // Every file is spooled and checked before the first byte goes out: a release is whole or
    // nothing.
    std::vector<SpooledFile> spooled;
    for (const ExportFileEntry& f : ExportFiles(*r)) {
      absl::StatusOr<SpooledFile> file =
          SpoolSnapshotFile(*stub, workspace.node, r->snapshot_id, f.path, f.size, f.sha256,
                            SpoolDir(state_), absl::Now() + kNodeReadDeadline);
      if (!file.ok()) {
        state_.Audit({caller.actor, "export.download", subject, "failed",
                      JsonObject({{"file", f.path}, {"reason", file.status().ToString()}})});
        return file.status();
      }
      spooled.push_back(*std::move(file));
    }
    KURA_ASSIGN_OR_RETURN(Ed25519KeyPair key,
                          LoadOrCreateReleaseKey(PkiDir(state_.options().state_dir)));
    KURA_ASSIGN_OR_RETURN(std::string signature, Ed25519Sign(key.private_key, *manifest));
    kura::v1::ReleaseChunk header;
    header.mutable_header()->set_manifest_json(*manifest);
    header.mutable_header()->set_signature(signature);
    header.mutable_header()->set_public_key(key.public_key);
    if (!writer->Write(header)) return absl::UnavailableError("the client went away");
    for (const SpooledFile& file : spooled) {
      KURA_RETURN_IF_ERROR(SendSpooledFile(file, [&](const kura::v1::FileChunk& c) {
        kura::v1::ReleaseChunk chunk;
        *chunk.mutable_file() = c;
        return writer->Write(chunk);
      }));
    }
    state_.Audit({caller.actor, "export.download", subject, "ok",
                  JsonObject({{"manifest_sha256", Sha256Hex(*manifest)},
                              {"public_key", HexEncode(key.public_key)}})});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("DownloadRelease", status);
}

}  // namespace kura::gateway
