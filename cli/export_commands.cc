// kura export request|list|show|comment|withdraw|resubmit|download,
// kura review list|show|get|vote|comment, kura verify (docs/export.md, docs/cli.md).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "cli/cli.h"
#include "cli/command_support.h"
#include "cli/release_download.h"
#include "cli/review_render.h"
#include "cli/terminal_text.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/release.h"

namespace kura::cli {
namespace {

constexpr absl::Duration kExportTimeout = absl::Minutes(5);
// Files and releases stream in chunks and may be hundreds of megabytes.
constexpr absl::Duration kTransferTimeout = absl::Hours(2);
// How much of a saved table or text is read back to show it; the rest stays in the file.
constexpr size_t kShowBytes = 8 << 20;

constexpr char kReviewUsage[] =
    "usage: kura review list\n"
    "       kura review show ID [--version N] [--save DIR] [--all-cells]\n"
    "       kura review get ID FILE [--version N] --to PATH\n"
    "       kura review vote ID FILE approve|request_changes|reject [--comment TEXT] "
    "[--override REASON] [--version N]\n"
    "       kura review comment ID [--file F] [--version N] TEXT...";
constexpr char kExportUsage[] =
    "usage: kura export request|list|show|comment|withdraw|resubmit|download (see kura --help)";

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The first `limit` bytes of a file, and whether that is all of it.
absl::StatusOr<std::pair<std::string, bool>> ReadStart(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::string bytes(limit, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(limit));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return std::make_pair(std::move(bytes), in.peek() == std::char_traits<char>::eof());
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

absl::StatusOr<int64_t> ParseId(const std::vector<std::string>& args, size_t at) {
  int64_t id = 0;
  if (args.size() <= at || !absl::SimpleAtoi(args[at], &id)) {
    return absl::InvalidArgumentError("an export request id is needed");
  }
  return id;
}

// Removes "--version N" from `args`: N, or 0 (the latest) when absent.
absl::StatusOr<int> TakeVersion(std::vector<std::string>& args) {
  int version = 0;
  std::optional<std::string> text = TakeOption(args, "--version");
  if (text.has_value() && (!absl::SimpleAtoi(*text, &version) || version < 1)) {
    return absl::InvalidArgumentError("--version needs a version number (1, 2, ...)");
  }
  return version;
}

// Removes a flag without a value; true when it was there.
bool TakeFlag(std::vector<std::string>& args, const std::string& name) {
  for (auto it = args.begin(); it != args.end() && *it != "--"; ++it) {
    if (*it == name) {
      args.erase(it);
      return true;
    }
  }
  return false;
}

absl::Status CallFailure(const ClientConfig& config, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) ForgetToken(config);
  return absl::UnavailableError(ExplainFailure(status, config.gateway));
}

// A request after RequestExport or ResubmitExport: header, files, the checker's report.
void PrintRequest(const ClientConfig& config, const kura::v1::ExportRequest& r) {
  if (config.json) return PrintJson(ExportRequestJson(r, true));
  nlohmann::json report = nlohmann::json::parse(r.report_json(), nullptr, false);
  Print(absl::StrCat(RenderRequestHeader(r), RenderFileList(r), RenderReport(report, false)));
}

void PrintList(const ClientConfig& config, const kura::v1::ListExportsResponse& response) {
  if (config.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& r : response.requests()) list.push_back(ExportRequestJson(r, false));
    return PrintJson(list);
  }
  for (const auto& r : response.requests()) Print(RenderRequestLine(r));
}

// Saves file `request.path()` of a request to `to` (created 0600, never over a file), as
// ReadExportFile streams it, checked against the first chunk's size and SHA-256 and against
// `recorded_sha256` (the request's record) when given.
absl::Status SaveExportFile(GatewayClient& client, const ClientConfig& config,
                            const kura::v1::ReadExportFileRequest& request, const std::string& to,
                            const std::string& recorded_sha256) {
  auto context = client.Context(kTransferTimeout);
  auto reader = client.stub().ReadExportFile(context.get(), request);
  kura::v1::FileChunk first;
  if (!reader->Read(&first)) {
    grpc::Status status = reader->Finish();
    if (!status.ok()) return CallFailure(config, status);
    return absl::DataLossError(absl::StrCat("the gateway sent nothing for ", request.path()));
  }
  absl::Status received;
  if (!recorded_sha256.empty() && absl::AsciiStrToLower(first.sha256()) != recorded_sha256) {
    received = absl::DataLossError(absl::StrCat(request.path(), ": the gateway sent SHA-256 ",
                                                first.sha256(), ", the request records ",
                                                recorded_sha256));
  } else {
    received = ReceiveFile(
        to, first, [&](kura::v1::FileChunk& chunk) { return reader->Read(&chunk); }, 0600);
  }
  if (!received.ok()) context->TryCancel();
  grpc::Status status = reader->Finish();
  if (!received.ok()) return received;
  if (!status.ok()) {
    ::unlink(to.c_str());
    return CallFailure(config, status);
  }
  return absl::OkStatus();
}

// `dir` as a private directory: created 0700 when absent, else it must be a directory.
absl::Status PrepareSaveDir(const std::string& dir) {
  struct stat st;
  if (::lstat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(absl::StrCat(dir, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("mkdir", dir);
  return absl::OkStatus();
}

// Where file `path` of a request is saved under `dir`, its folders created 0700.
absl::StatusOr<std::string> SavePath(const std::string& dir, const std::string& path) {
  if (!gateway::IsPlainRelativePath(path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the gateway named a file with an unsafe path '", Neutralize(path), "'"));
  }
  std::string full = dir;
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    absl::StrAppend(&full, "/", parts[i]);
    if (::mkdir(full.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir", full);
  }
  return absl::StrCat(full, "/", parts.back());
}

// Saves every file of the version shown under `dir` (a file already there with the recorded
// SHA-256 is kept) and renders each. False when any file could not be fetched.
bool ShowFiles(GatewayClient& client, const ClientConfig& config, const kura::v1::ExportRequest& r,
               const nlohmann::json& report, const std::string& dir) {
  if (absl::Status prepared = PrepareSaveDir(dir); !prepared.ok()) {
    Print(absl::StrCat("files: not saved: ", Neutralize(prepared.message()), "\n"));
    return false;
  }
  bool all_ok = true;
  for (const kura::v1::ExportFile& file : r.files()) {
    absl::StatusOr<std::string> to = SavePath(dir, file.path());
    absl::Status saved = to.status();
    if (to.ok() && Sha256FileHex(*to).value_or("") != file.sha256()) {
      kura::v1::ReadExportFileRequest request;
      request.set_id(r.id());
      request.set_version(r.version());
      request.set_path(file.path());
      saved = SaveExportFile(client, config, request, *to, file.sha256());
    }
    if (saved.ok()) {
      const size_t shown = ViewOf(file.path()) == FileView::kSavedOnly ? 0 : kShowBytes;
      absl::StatusOr<std::pair<std::string, bool>> start = ReadStart(*to, shown);
      if (start.ok()) {
        Print(RenderFileContents(file.path(), start->first, start->second,
                                 FindFileReport(report, file.path()), *to, FileLimits()));
        continue;
      }
      saved = start.status();
    }
    all_ok = false;
    Print(absl::StrCat("── ", Neutralize(file.path()),
                       " ──\n  could not be fetched: ", Neutralize(saved.message()), "\n"));
  }
  return all_ok;
}

// kura review show / kura export show: the request rendered for a person (or --json).
int ShowRequest(const Invocation& invocation, std::vector<std::string> args, bool review) {
  const ClientConfig& config = invocation.config;
  const bool all_cells = TakeFlag(args, "--all-cells");
  const bool files = TakeFlag(args, "--files") || review;
  std::optional<std::string> save = TakeOption(args, "--save");
  absl::StatusOr<int> version = TakeVersion(args);
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!version.ok() || !id.ok() || args.size() != 1) {
    return Fail(config, review ? kReviewUsage
                               : "usage: kura export show ID [--version N] [--files] "
                                 "[--save DIR] [--all-cells]");
  }
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ShowExportRequest request;
  request.set_id(*id);
  request.set_version(*version);
  kura::v1::ExportRequest r;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = review ? (*client)->stub().ShowReview(context.get(), request, &r)
                               : (*client)->stub().ShowExport(context.get(), request, &r);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) return PrintJson(ExportRequestJson(r, true)), 0;
  nlohmann::json report = nlohmann::json::parse(r.report_json(), nullptr, false);
  Print(absl::StrCat(RenderRequestHeader(r), RenderFileList(r), RenderVersionHistory(r),
                     RenderReport(report, all_cells)));
  bool files_ok = true;
  if (files) {
    std::string dir = save.value_or(
        absl::StrCat("./kura-", review ? "review-" : "export-", r.id(), "-v", r.version()));
    files_ok = ShowFiles(**client, config, r, report, dir);
  }
  Print(RenderVotesAndComments(r));
  return files_ok ? 0 : 1;
}

// kura review get ID FILE [--version N] --to PATH
int ReviewGet(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  std::optional<std::string> to = TakeOption(args, "--to");
  absl::StatusOr<int> version = TakeVersion(args);
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!to.has_value() || !version.ok() || !id.ok() || args.size() != 2) {
    return Fail(config, kReviewUsage);
  }
  struct stat st;
  if (::lstat(to->c_str(), &st) == 0) {
    return Fail(config, absl::StrCat(*to, " exists; it is not overwritten"));
  }
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ReadExportFileRequest request;
  request.set_id(*id);
  request.set_version(*version);
  request.set_path(args[1]);
  absl::Status saved = SaveExportFile(**client, config, request, *to, "");
  if (!saved.ok()) return FailStatus(config, saved);
  if (config.json) return PrintJson({{"saved", *to}}), 0;
  std::printf("%s of export %lld saved to %s (size and SHA-256 checked)\n",
              Neutralize(args[1]).c_str(), static_cast<long long>(*id), to->c_str());
  return 0;
}

// kura review comment ID [--file F] [--version N] TEXT... and kura export comment ID
// [--file F] TEXT...
int CommentOn(const Invocation& invocation, std::vector<std::string> args, bool review) {
  const ClientConfig& config = invocation.config;
  kura::v1::CommentRequest request;
  request.set_file(TakeOption(args, "--file").value_or(""));
  absl::StatusOr<int> version = review ? TakeVersion(args) : absl::StatusOr<int>(0);
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!version.ok() || !id.ok() || args.size() < 2) {
    return Fail(config, review ? kReviewUsage : "usage: kura export comment ID [--file F] TEXT...");
  }
  request.set_id(*id);
  request.set_version(*version);
  request.set_text(absl::StrJoin(args.begin() + 1, args.end(), " "));
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ExportRequest response;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = (*client)->stub().Comment(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) return PrintJson(ExportRequestJson(response, false)), 0;
  Print(absl::StrCat("comment recorded on ",
                     request.file().empty() ? "the request" : Neutralize(request.file()), "\n",
                     RenderRequestLine(response), RenderVotesAndComments(response)));
  return 0;
}

int ReviewVote(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  kura::v1::VoteRequest request;
  request.set_comment(TakeOption(args, "--comment").value_or(""));
  request.set_override_reason(TakeOption(args, "--override").value_or(""));
  absl::StatusOr<int> version = TakeVersion(args);
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!version.ok() || !id.ok() || args.size() != 3) return Fail(config, kReviewUsage);
  request.set_version(*version);
  request.set_id(*id);
  request.set_file(args[1]);
  request.set_decision(args[2]);
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ExportRequest response;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = (*client)->stub().Vote(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) return PrintJson(ExportRequestJson(response, false)), 0;
  Print(absl::StrCat("vote recorded: ", Neutralize(request.file()), " ",
                     Neutralize(request.decision()), "\n", RenderRequestLine(response),
                     RenderVoteOutcome(response, request.file(), config.user)));
  return 0;
}

int ExportRequest(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  std::optional<std::string> justification = TakeOption(args, "--justification");
  std::vector<std::string> specs = TakeRepeatedOption(args, "--spec");
  absl::StatusOr<std::string> workspace = ChooseWorkspace(config, args);
  if (!workspace.ok()) return FailStatus(config, workspace.status());
  if (!justification.has_value() || args.empty()) {
    return Fail(config,
                "usage: kura export request FILE... --justification TEXT [--spec SPEC.json]...");
  }
  kura::v1::RequestExportRequest request;
  request.set_workspace_id(*workspace);
  request.set_justification(*justification);
  for (const std::string& path : args) {
    request.add_paths(absl::StartsWith(path, "/outputs/") ? path.substr(9) : path);
  }
  for (const std::string& spec : specs) {
    absl::StatusOr<std::string> text = ReadText(spec);
    if (!text.ok()) return FailStatus(config, text.status());
    kura::v1::ExportSpec* out = request.add_specs();
    out->set_name(BaseName(spec));
    out->set_json(*text);
  }
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ExportRequest response;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = (*client)->stub().RequestExport(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  PrintRequest(config, response);
  return 0;
}

// kura export download ID --to DIR: the release streamed into DIR as it arrives, then
// verified; on any failure DIR is left as it was.
int ExportDownload(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  std::optional<std::string> to = TakeOption(args, "--to");
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!id.ok() || !to.has_value() || args.size() != 1) {
    return Fail(config, "usage: kura export download ID --to DIR");
  }
  std::error_code ec;
  if (std::filesystem::exists(*to, ec) &&
      (!std::filesystem::is_directory(*to, ec) || !std::filesystem::is_empty(*to, ec))) {
    return Fail(config, absl::StrCat(*to, " is not an empty directory; give a new one with --to"));
  }
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::DownloadReleaseRequest request;
  request.set_id(*id);
  auto context = (*client)->Context(kTransferTimeout);
  auto reader = (*client)->stub().DownloadRelease(context.get(), request);
  ReleaseWriter writer(*to);
  absl::Status written;
  kura::v1::ReleaseChunk chunk;
  while (written.ok() && reader->Read(&chunk)) written = writer.Receive(chunk);
  if (!written.ok()) context->TryCancel();
  grpc::Status status = reader->Finish();
  if (!written.ok()) {
    return FailStatus(config, Annotate(written, "the release was not saved"));
  }
  if (!status.ok()) {
    writer.Abort();
    return FailCall(config, status);
  }
  absl::StatusOr<ReleaseSummary> summary = writer.Finish();
  if (!summary.ok()) {
    return FailStatus(config, Annotate(summary.status(), "the release was not saved"));
  }
  if (config.json) {
    return PrintJson({{"dir", *to}, {"files", summary->files}, {"bytes", summary->bytes}}), 0;
  }
  std::printf(
      "release of export %lld written to %s (%d files, %llu bytes); it verifies against "
      "the key it came with (release.pub). Check it against the gateway's published key: "
      "kura verify %s --key PUBLISHED_KEY\n",
      static_cast<long long>(*id), to->c_str(), summary->files,
      static_cast<unsigned long long>(summary->bytes), to->c_str());
  return 0;
}

int ExportResubmit(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  kura::v1::ResubmitExportRequest request;
  request.set_justification(TakeOption(args, "--justification").value_or(""));
  for (const std::string& spec : TakeRepeatedOption(args, "--spec")) {
    absl::StatusOr<std::string> text = ReadText(spec);
    if (!text.ok()) return FailStatus(config, text.status());
    kura::v1::ExportSpec* out = request.add_specs();
    out->set_name(BaseName(spec));
    out->set_json(*text);
  }
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!id.ok()) {
    return Fail(config,
                "usage: kura export resubmit ID [FILE...] [--justification TEXT] "
                "[--spec SPEC.json]...");
  }
  request.set_id(*id);
  for (size_t i = 1; i < args.size(); ++i) {
    request.add_paths(absl::StartsWith(args[i], "/outputs/") ? args[i].substr(9) : args[i]);
  }
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ExportRequest response;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = (*client)->stub().ResubmitExport(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  PrintRequest(config, response);
  return 0;
}

}  // namespace

int ExportCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  if (args.empty()) return Fail(config, kExportUsage);
  const std::string verb = args[0];
  args.erase(args.begin());
  if (verb == "request") return ExportRequest(invocation, args);
  if (verb == "download") return ExportDownload(invocation, args);
  if (verb == "resubmit") return ExportResubmit(invocation, args);
  if (verb == "show") return ShowRequest(invocation, args, /*review=*/false);
  if (verb == "comment") return CommentOn(invocation, args, /*review=*/false);
  if (verb != "list" && verb != "withdraw") return Fail(config, kExportUsage);
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  auto context = (*client)->Context(kExportTimeout);
  if (verb == "list") {
    kura::v1::ListExportsRequest request;
    if (auto project = TakeOption(args, "--project")) request.set_project(*project);
    kura::v1::ListExportsResponse response;
    grpc::Status status = (*client)->stub().ListExports(context.get(), request, &response);
    if (!status.ok()) return FailCall(config, status);
    PrintList(config, response);
    return 0;
  }
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!id.ok()) return FailStatus(config, id.status());
  kura::v1::WithdrawExportRequest request;
  request.set_id(*id);
  kura::v1::ExportRequest response;
  grpc::Status status = (*client)->stub().WithdrawExport(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) return PrintJson(ExportRequestJson(response, false)), 0;
  Print(RenderRequestLine(response));
  return 0;
}

int ReviewCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  if (args.empty()) return Fail(config, kReviewUsage);
  const std::string verb = args[0];
  args.erase(args.begin());
  if (verb == "show") return ShowRequest(invocation, args, /*review=*/true);
  if (verb == "get") return ReviewGet(invocation, args);
  if (verb == "vote") return ReviewVote(invocation, args);
  if (verb == "comment") return CommentOn(invocation, args, /*review=*/true);
  if (verb != "list") return Fail(config, kReviewUsage);
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  auto context = (*client)->Context(kExportTimeout);
  kura::v1::ListExportsResponse response;
  grpc::Status status =
      (*client)->stub().ListReviews(context.get(), kura::v1::ListReviewsRequest(), &response);
  if (!status.ok()) return FailCall(config, status);
  PrintList(config, response);
  return 0;
}

int VerifyCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  std::optional<std::string> key_arg = TakeOption(args, "--key");
  if (args.size() != 1) return Fail(config, "usage: kura verify DIR [--key RELEASE_PUB]");
  const std::string dir = args[0];
  bool published = key_arg.has_value();
  std::string key_file = published ? *key_arg : dir + "/release.pub";
  absl::StatusOr<std::string> key_hex = ReadText(key_file);
  if (!key_hex.ok()) return FailStatus(config, key_hex.status());
  absl::StatusOr<std::string> key = HexDecode(absl::StripAsciiWhitespace(*key_hex));
  if (!key.ok() || key->size() != 32) {
    return Fail(config, absl::StrCat(key_file, " is not an Ed25519 public key (64 hex digits)"));
  }
  absl::Status verified = gateway::VerifyReleaseDir(dir, *key);
  if (!verified.ok()) {
    std::fprintf(stderr, "kura: %s does NOT verify:\n%s\n", dir.c_str(),
                 Neutralize(verified.message(), TextKind::kBlock).c_str());
    return 1;
  }
  std::printf("%s verifies: the signature and every file's size and SHA-256 match%s\n", dir.c_str(),
              published ? ""
                        : " (against the key shipped with the release: compare it with the "
                          "gateway's published key, or pass --key)");
  return 0;
}

}  // namespace kura::cli
