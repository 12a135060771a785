#pragma once

// Signed releases (docs/export.md): the manifest of an approved export request, the gateway's
// Ed25519 release key, a release written as a directory, and its offline verification.
// Release directory layout:
//   manifest.json   the manifest, exactly the bytes signed
//   manifest.sig    the Ed25519 signature, hex
//   files/<path>    each released file
// Pure except the key and directory functions, which touch files. Thread-compatible.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/crypto.h"
#include "gateway/records.h"
#include "nlohmann/json.hpp"

namespace kura::gateway {

// True when `path` is plain relative: not empty, not absolute, and no component empty, "." or
// "..", so that DIR/path stays inside DIR. Pure.
bool IsPlainRelativePath(absl::string_view path);

// What of the checker's report `report` (docs/disclosure-report.md) leaves with a release:
// the checker, policy and verdicts, each file's path, hash, verdict, verification, spec and
// statistic, its file-level rules and verdicts, and how many cells had each verdict and each
// rule — never a cell's key, value, evidence or a rule's detail, which describe the micro-data
// (a suppressed cell's true count, a patient's cost) and stay inside kura. Pure.
nlohmann::json ReleasedReport(const nlohmann::json& report);

// The manifest of approved request `request` (JSON text): each file's name, size and SHA-256;
// the checker's report as ReleasedReport gives it, and the SHA-256 of the whole report kept
// at the gateway; policy name and hash; checker version; request id and version; project;
// author; justification; schema manifest hashes; workspace image; snapshot id; reviewers with
// their votes (decision, round, whether an override was given) and times — not their comments
// or override reasons. FailedPrecondition unless the request is approved.
absl::StatusOr<std::string> BuildReleaseManifest(const ExportRecord& request,
                                                  const std::vector<ExportVoteRecord>& votes);

// The release key under `pki_dir` (release.key, 0600, and release.pub, both hex), created on
// first use.
absl::StatusOr<Ed25519KeyPair> LoadOrCreateReleaseKey(const std::string& pki_dir);

// Writes a release into `dir` (created; must be empty or absent): manifest.json, manifest.sig
// and files/<path> for each of `files` (path -> bytes). InvalidArgument for a path that is not
// a plain relative one.
absl::Status WriteReleaseDir(const std::string& dir, const std::string& manifest,
                             const std::string& signature,
                             const std::map<std::string, std::string>& files);

// Checks the release in `dir` against `public_key` (raw 32 bytes): the signature over
// manifest.json, then every file the manifest lists (present, size, SHA-256) and no file
// beyond them. OK, or DataLoss whose message lists every mismatch, one per line.
absl::Status VerifyReleaseDir(const std::string& dir, const std::string& public_key);

}  // namespace kura::gateway
