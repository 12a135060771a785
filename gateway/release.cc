#include "gateway/release.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/status.h"
#include "gateway/export_review.h"
#include "nlohmann/json.hpp"

namespace kura::gateway {
namespace {

absl::StatusOr<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  return std::string(std::istreambuf_iterator<char>(in), {});
}

absl::Status WriteWhole(const std::string& path, const std::string& data, mode_t mode) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  if (::chmod(path.c_str(), mode) != 0) return ErrnoError("chmod", path);
  return absl::OkStatus();
}

}  // namespace

bool IsPlainRelativePath(absl::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

nlohmann::json ReleasedReport(const nlohmann::json& report) {
  nlohmann::json out = {{"checker", report.value("checker", nlohmann::json::object())},
                        {"policy", report.value("policy", nlohmann::json::object())},
                        {"verdict", report.value("verdict", "")}};
  nlohmann::json files = nlohmann::json::array();
  for (const nlohmann::json& f : report.value("files", nlohmann::json::array())) {
    if (!f.is_object()) continue;
    nlohmann::json file = nlohmann::json::object();
    for (const char* key : {"path", "sha256", "verdict", "verified", "spec", "statistic"}) {
      if (f.contains(key)) file[key] = f[key];
    }
    nlohmann::json reasons = nlohmann::json::array();
    for (const nlohmann::json& r : f.value("reasons", nlohmann::json::array())) {
      if (r.is_object())
        reasons.push_back({{"rule", r.value("rule", "")}, {"verdict", r.value("verdict", "")}});
    }
    file["reasons"] = reasons;
    std::map<std::string, int64_t> cells_by_verdict;
    std::map<std::string, std::map<std::string, int64_t>> rules;
    for (const nlohmann::json& c : f.value("cells", nlohmann::json::array())) {
      if (!c.is_object()) continue;
      ++cells_by_verdict[c.value("verdict", "")];
      for (const nlohmann::json& r : c.value("rules", nlohmann::json::array())) {
        if (r.is_object()) ++rules[r.value("rule", "")][r.value("verdict", "")];
      }
    }
    file["cells_by_verdict"] = cells_by_verdict;
    file["cell_rules"] = rules;
    if (f.contains("mitigation") && f["mitigation"].is_object()) {
      file["mitigation"] = {{"method", f["mitigation"].value("method", "")}};
    }
    files.push_back(std::move(file));
  }
  out["files"] = std::move(files);
  return out;
}

absl::StatusOr<std::string> BuildReleaseManifest(const ExportRecord& r,
                                                 const std::vector<ExportVoteRecord>& votes) {
  if (r.state != ExportState::kApproved) {
    return absl::FailedPreconditionError(
        absl::StrCat("export request ", r.id, " is ", ExportStateName(r.state), ", not approved"));
  }
  nlohmann::json files = nlohmann::json::parse(r.files_json, nullptr, false);
  nlohmann::json report = nlohmann::json::parse(r.report_json, nullptr, false);
  nlohmann::json schemas = nlohmann::json::parse(r.schemas_json, nullptr, false);
  nlohmann::json image = nlohmann::json::parse(r.image_json, nullptr, false);
  if (files.is_discarded() || !report.is_object() || schemas.is_discarded() ||
      image.is_discarded()) {
    return absl::DataLossError(absl::StrCat("stored export request ", r.id, " is malformed"));
  }
  // Reviewers' comments and override reasons are free text written inside kura about the
  // data; they stay in the gateway's store and audit log and never leave with a release.
  std::map<std::string, nlohmann::json> reviewers;
  bool consolidated = false;
  for (const ExportVoteRecord& v : CurrentVotes(votes)) {
    nlohmann::json& entry = reviewers[v.reviewer];
    entry["name"] = v.reviewer;
    consolidated = consolidated || v.round > 1;
    entry["votes"].push_back(
        {{"file", v.file},
         {"decision", std::string(VoteDecisionName(v.decision))},
         {"round", v.round},
         {"override", !v.override_reason.empty()},
         {"time", absl::FormatTime(absl::RFC3339_sec, v.time, absl::UTCTimeZone())}});
  }
  nlohmann::json reviewer_list = nlohmann::json::array();
  for (auto& [name, entry] : reviewers) reviewer_list.push_back(entry);
  nlohmann::json manifest = {
      {"format", "kura-release-2"},
      {"request", {{"id", r.id}, {"version", r.version}}},
      {"project", r.project},
      {"author", r.author},
      {"justification", r.justification},
      {"snapshot_id", r.snapshot_id},
      {"files", files},
      {"report", ReleasedReport(report)},
      {"report_sha256", Sha256Hex(r.report_json)},
      {"policy", {{"name", r.policy_name}, {"sha256", r.policy_sha256}}},
      {"checker_version", r.checker_version},
      {"schemas", schemas},
      {"workspace_image", image},
      {"reviewers", reviewer_list},
      {"consolidated", consolidated},
      {"approved_at", absl::FormatTime(absl::RFC3339_sec, r.updated, absl::UTCTimeZone())},
  };
  return manifest.dump(2) + "\n";
}

absl::StatusOr<Ed25519KeyPair> LoadOrCreateReleaseKey(const std::string& pki_dir) {
  const std::string key_path = pki_dir + "/release.key";
  const std::string pub_path = pki_dir + "/release.pub";
  if (std::filesystem::exists(key_path)) {
    KURA_ASSIGN_OR_RETURN(std::string key_hex, ReadWhole(key_path));
    KURA_ASSIGN_OR_RETURN(std::string pub_hex, ReadWhole(pub_path));
    Ed25519KeyPair pair;
    KURA_ASSIGN_OR_RETURN(pair.private_key, HexDecode(absl::StripAsciiWhitespace(key_hex)));
    KURA_ASSIGN_OR_RETURN(pair.public_key, HexDecode(absl::StripAsciiWhitespace(pub_hex)));
    return pair;
  }
  std::error_code ec;
  std::filesystem::create_directories(pki_dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", pki_dir));
  KURA_ASSIGN_OR_RETURN(Ed25519KeyPair pair, Ed25519GenerateKeyPair());
  KURA_RETURN_IF_ERROR(WriteWhole(key_path, HexEncode(pair.private_key) + "\n", 0600));
  KURA_RETURN_IF_ERROR(WriteWhole(pub_path, HexEncode(pair.public_key) + "\n", 0644));
  return pair;
}

absl::Status WriteReleaseDir(const std::string& dir, const std::string& manifest,
                             const std::string& signature,
                             const std::map<std::string, std::string>& files) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    return absl::AlreadyExistsError(absl::StrCat(dir, " is not empty"));
  }
  for (const auto& [path, data] : files) {
    if (!IsPlainRelativePath(path)) {
      return absl::InvalidArgumentError(absl::StrCat("not a plain relative path: ", path));
    }
  }
  std::filesystem::create_directories(dir + "/files", ec);
  if (ec) return absl::InternalError(absl::StrCat("cannot create ", dir, "/files"));
  for (const auto& [path, data] : files) {
    std::string full = absl::StrCat(dir, "/files/", path);
    std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ec);
    KURA_RETURN_IF_ERROR(WriteWhole(full, data, 0644));
  }
  KURA_RETURN_IF_ERROR(WriteWhole(dir + "/manifest.json", manifest, 0644));
  return WriteWhole(dir + "/manifest.sig", HexEncode(signature) + "\n", 0644);
}

absl::Status VerifyReleaseDir(const std::string& dir, const std::string& public_key) {
  std::vector<std::string> problems;
  auto manifest_text = ReadWhole(dir + "/manifest.json");
  auto sig_text = ReadWhole(dir + "/manifest.sig");
  if (!manifest_text.ok()) return absl::DataLossError("manifest.json: missing");
  if (!sig_text.ok()) return absl::DataLossError("manifest.sig: missing");
  auto signature = HexDecode(absl::StripAsciiWhitespace(*sig_text));
  if (!signature.ok()) {
    problems.push_back("manifest.sig: not a hex signature");
  } else if (!Ed25519Verify(public_key, *manifest_text, *signature).ok()) {
    problems.push_back(
        "manifest.json: the signature does not match (the manifest was changed, or signed by "
        "another key)");
  }
  nlohmann::json manifest = nlohmann::json::parse(*manifest_text, nullptr, false);
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array()) {
    problems.push_back("manifest.json: no file list");
    return absl::DataLossError(absl::StrJoin(problems, "\n"));
  }
  std::set<std::string> listed;
  for (const nlohmann::json& f : manifest["files"]) {
    std::string path = f.value("path", "");
    listed.insert(path);
    if (!IsPlainRelativePath(path)) {
      problems.push_back(absl::StrCat("manifest.json: unsafe path '", path, "'"));
      continue;
    }
    std::string full = absl::StrCat(dir, "/files/", path);
    std::error_code ec;
    if (std::filesystem::is_symlink(full, ec) || !std::filesystem::is_regular_file(full, ec)) {
      problems.push_back(absl::StrCat("files/", path, ": missing (or not a regular file)"));
      continue;
    }
    uint64_t size = std::filesystem::file_size(full, ec);
    if (size != f.value("size", uint64_t{0})) {
      problems.push_back(absl::StrCat("files/", path, ": ", size, " bytes, the manifest says ",
                                      f.value("size", uint64_t{0})));
    }
    auto digest = Sha256FileHex(full);
    if (!digest.ok() || *digest != f.value("sha256", "")) {
      problems.push_back(absl::StrCat("files/", path, ": SHA-256 ", digest.value_or("unreadable"),
                                      ", the manifest says ", f.value("sha256", "")));
    }
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir + "/files", ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) continue;
    std::string rel = std::filesystem::relative(it->path(), dir + "/files", ec).string();
    if (!listed.count(rel)) {
      problems.push_back(absl::StrCat("files/", rel, ": not in the manifest"));
    }
  }
  if (problems.empty()) return absl::OkStatus();
  return absl::DataLossError(absl::StrJoin(problems, "\n"));
}

}  // namespace kura::gateway
