// kura export request|list|show|withdraw|download, kura review list|show|vote, kura verify
// (docs/export.md).

#include <cstdio>
#include <fstream>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/cli.h"
#include "cli/command_support.h"
#include "common/crypto.h"
#include "gateway/release.h"

namespace kura::cli {
namespace {

constexpr absl::Duration kExportTimeout = absl::Minutes(5);

absl::StatusOr<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string BaseName(const std::string& path) { return path.substr(path.rfind('/') + 1); }

nlohmann::json ToJson(const kura::v1::ExportRequest& r) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files()) {
    files.push_back(
        {{"path", f.path()}, {"size", f.size()}, {"sha256", f.sha256()}, {"verdict", f.verdict()}});
  }
  nlohmann::json votes = nlohmann::json::array();
  for (const auto& v : r.votes()) {
    votes.push_back({{"reviewer", v.reviewer()},
                     {"file", v.file()},
                     {"decision", v.decision()},
                     {"comment", v.comment()},
                     {"override_reason", v.override_reason()}});
  }
  return {{"id", r.id()},           {"version", r.version()},
          {"project", r.project()}, {"author", r.author()},
          {"state", r.state()},     {"verdict", r.verdict()},
          {"files", files},         {"votes", votes},
          {"justification", r.justification()},
          {"required_reviewers", r.required_reviewers()}};
}

void PrintRequest(const ClientConfig& config, const kura::v1::ExportRequest& r, bool full) {
  if (config.json) {
    nlohmann::json j = ToJson(r);
    if (full) j["report"] = nlohmann::json::parse(r.report_json(), nullptr, false);
    PrintJson(j);
    return;
  }
  std::printf("export %lld v%d  %s  %s  by %s  checker: %s  reviewers needed: %d\n",
              static_cast<long long>(r.id()), r.version(), r.state().c_str(),
              r.project().c_str(), r.author().c_str(), r.verdict().c_str(),
              r.required_reviewers());
  if (!full) return;
  std::printf("justification: %s\n", r.justification().c_str());
  for (const auto& f : r.files()) {
    std::printf("  %-6s %10llu  %s  %s\n", f.verdict().c_str(),
                static_cast<unsigned long long>(f.size()), f.sha256().substr(0, 16).c_str(),
                f.path().c_str());
  }
  for (const auto& v : r.votes()) {
    std::printf("  vote: %s %s %s%s%s\n", v.reviewer().c_str(), v.decision().c_str(),
                v.file().c_str(), v.comment().empty() ? "" : (" — " + v.comment()).c_str(),
                v.override_reason().empty() ? "" : (" (override: " + v.override_reason() + ")").c_str());
  }
  std::printf("checker's report:\n%s", r.report_json().c_str());
}

absl::StatusOr<int64_t> ParseId(const std::vector<std::string>& args, size_t at) {
  int64_t id = 0;
  if (args.size() <= at || !absl::SimpleAtoi(args[at], &id)) {
    return absl::InvalidArgumentError("an export request id is needed");
  }
  return id;
}

int ExportRequest(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  std::optional<std::string> justification = TakeOption(args, "--justification");
  std::vector<std::string> specs = TakeRepeatedOption(args, "--spec");
  absl::StatusOr<std::string> workspace = ChooseWorkspace(config, args);
  if (!workspace.ok()) return FailStatus(config, workspace.status());
  if (!justification.has_value() || args.empty()) {
    return Fail(config, "usage: kura export request FILE... --justification TEXT [--spec SPEC.json]...");
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
  PrintRequest(config, response, true);
  return 0;
}

int ExportDownload(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  std::optional<std::string> to = TakeOption(args, "--to");
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!id.ok() || !to.has_value()) return Fail(config, "usage: kura export download ID --to DIR");
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::DownloadReleaseRequest request;
  request.set_id(*id);
  kura::v1::Release release;
  auto context = (*client)->Context(kExportTimeout);
  grpc::Status status = (*client)->stub().DownloadRelease(context.get(), request, &release);
  if (!status.ok()) return FailCall(config, status);
  std::map<std::string, std::string> files;
  for (const auto& f : release.files()) files[f.path()] = f.data();
  absl::Status written =
      gateway::WriteReleaseDir(*to, release.manifest_json(), release.signature(), files);
  if (!written.ok()) return FailStatus(config, written);
  std::ofstream(*to + "/release.pub") << HexEncode(release.public_key()) << "\n";
  std::printf("release of export %lld written to %s (%d files); check it with: kura verify %s "
              "--key PUBLISHED_KEY\n",
              static_cast<long long>(*id), to->c_str(), release.files_size(), to->c_str());
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
    return Fail(config, "usage: kura export resubmit ID [FILE...] [--justification TEXT] "
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
  PrintRequest(config, response, true);
  return 0;
}

}  // namespace

int ExportCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  if (args.empty()) return Fail(config, "usage: kura export request|list|show|withdraw|download");
  const std::string verb = args[0];
  args.erase(args.begin());
  if (verb == "request") return ExportRequest(invocation, args);
  if (verb == "download") return ExportDownload(invocation, args);
  if (verb == "resubmit") return ExportResubmit(invocation, args);
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  auto context = (*client)->Context(kExportTimeout);
  if (verb == "list") {
    kura::v1::ListExportsRequest request;
    if (auto project = TakeOption(args, "--project")) request.set_project(*project);
    kura::v1::ListExportsResponse response;
    grpc::Status status = (*client)->stub().ListExports(context.get(), request, &response);
    if (!status.ok()) return FailCall(config, status);
    if (config.json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& r : response.requests()) list.push_back(ToJson(r));
      PrintJson(list);
      return 0;
    }
    for (const auto& r : response.requests()) PrintRequest(config, r, false);
    return 0;
  }
  absl::StatusOr<int64_t> id = ParseId(args, 0);
  if (!id.ok()) return FailStatus(config, id.status());
  kura::v1::ExportRequest response;
  grpc::Status status;
  if (verb == "show") {
    kura::v1::ShowExportRequest request;
    request.set_id(*id);
    status = (*client)->stub().ShowExport(context.get(), request, &response);
  } else if (verb == "withdraw") {
    kura::v1::WithdrawExportRequest request;
    request.set_id(*id);
    status = (*client)->stub().WithdrawExport(context.get(), request, &response);
  } else {
    return Fail(config, "usage: kura export request|list|show|withdraw|download");
  }
  if (!status.ok()) return FailCall(config, status);
  PrintRequest(config, response, verb == "show");
  return 0;
}

int ReviewCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  const char* usage =
      "usage: kura review list | show ID | vote ID FILE approve|request_changes|reject "
      "[--comment TEXT] [--override REASON] [--version N]";
  if (args.empty()) return Fail(config, usage);
  const std::string verb = args[0];
  args.erase(args.begin());
  auto client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  auto context = (*client)->Context(kExportTimeout);
  if (verb == "list") {
    kura::v1::ListExportsResponse response;
    grpc::Status status =
        (*client)->stub().ListReviews(context.get(), kura::v1::ListReviewsRequest(), &response);
    if (!status.ok()) return FailCall(config, status);
    for (const auto& r : response.requests()) PrintRequest(config, r, false);
    return 0;
  }
  kura::v1::ExportRequest response;
  grpc::Status status;
  if (verb == "show") {
    absl::StatusOr<int64_t> id = ParseId(args, 0);
    if (!id.ok()) return Fail(config, usage);
    kura::v1::ShowExportRequest request;
    request.set_id(*id);
    status = (*client)->stub().ShowReview(context.get(), request, &response);
  } else if (verb == "vote" || verb == "comment") {
    kura::v1::VoteRequest request;
    request.set_comment(TakeOption(args, "--comment").value_or(""));
    request.set_override_reason(TakeOption(args, "--override").value_or(""));
    int version = 0;
    if (auto v = TakeOption(args, "--version"); v && !absl::SimpleAtoi(*v, &version)) {
      return Fail(config, usage);
    }
    request.set_version(version);
    absl::StatusOr<int64_t> id = ParseId(args, 0);
    if (!id.ok() || args.size() != 3) return Fail(config, usage);
    request.set_id(*id);
    request.set_file(args[1]);
    request.set_decision(args[2]);
    status = (*client)->stub().Vote(context.get(), request, &response);
  } else {
    return Fail(config, usage);
  }
  if (!status.ok()) return FailCall(config, status);
  PrintRequest(config, response, true);
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
                 std::string(verified.message()).c_str());
    return 1;
  }
  std::printf("%s verifies: the signature and every file's size and SHA-256 match%s\n",
              dir.c_str(),
              published ? ""
                        : " (against the key shipped with the release: compare it with the "
                          "gateway's published key, or pass --key)");
  return 0;
}

}  // namespace kura::cli
