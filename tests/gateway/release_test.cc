// Signed releases: only an approved request has a manifest, and any change to a released file
// or the manifest, or a manifest replayed with other files, is detected offline.

#include "gateway/release.h"

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::TempDir;
using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

const std::string kTable = "region,count\nA,15\nB,20\n";
const std::string kNotes = "method notes\n";

ExportRecord Approved() {
  ExportRecord r;
  r.id = 7;
  r.version = 1;
  r.project = "cardio";
  r.author = "alice";
  r.justification = "fig 2";
  r.state = ExportState::kApproved;
  r.snapshot_id = std::string(64, 'b');
  nlohmann::json files = nlohmann::json::array(
      {{{"path", "t.csv"}, {"size", kTable.size()}, {"sha256", Sha256Hex(kTable)}},
       {{"path", "doc/notes.md"}, {"size", kNotes.size()}, {"sha256", Sha256Hex(kNotes)}}});
  r.files_json = files.dump();
  r.report_json = R"({"files": [{"path": "t.csv", "verdict": "pass"}]})";
  r.verdict = "pass";
  r.policy_name = "acro-default";
  r.policy_sha256 = std::string(64, 'c');
  r.checker_version = "0.1.0";
  r.schemas_json = R"([{"name": "claims", "manifest_sha256": "dd", "data_class": "anonymized"}])";
  r.required_reviewers = 1;
  r.image_json = R"({"name": "host:Debian 12", "digest": "sha256:1234", "components": []})";
  r.created = r.updated = TestNow();
  return r;
}

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto key = LoadOrCreateReleaseKey(dir_.File("pki"));
    ASSERT_THAT(key.status(), IsOk());
    key_ = *key;
    ExportVoteRecord vote;
    vote.request_id = 7;
    vote.reviewer = "bob";
    vote.file = "t.csv";
    vote.time = TestNow();
    auto manifest = BuildReleaseManifest(Approved(), {vote});
    ASSERT_THAT(manifest.status(), IsOk());
    manifest_ = *manifest;
    auto sig = Ed25519Sign(key_.private_key, manifest_);
    ASSERT_THAT(sig.status(), IsOk());
    release_ = dir_.File("release");
    ASSERT_THAT(WriteReleaseDir(release_, manifest_, *sig,
                                {{"t.csv", kTable}, {"doc/notes.md", kNotes}}),
                IsOk());
  }
  void Write(const std::string& rel, const std::string& data) {
    std::ofstream(release_ + "/" + rel, std::ios::binary | std::ios::trunc) << data;
  }

  TempDir dir_;
  Ed25519KeyPair key_;
  std::string manifest_, release_;
};

TEST_F(ReleaseTest, ManifestCarriesWhatAReviewerAndAnAuditorNeed) {
  nlohmann::json m = nlohmann::json::parse(manifest_);
  EXPECT_EQ(m["request"]["id"], 7);
  EXPECT_EQ(m["request"]["version"], 1);
  EXPECT_EQ(m["files"][0]["sha256"], Sha256Hex(kTable));
  EXPECT_EQ(m["policy"]["name"], "acro-default");
  EXPECT_EQ(m["checker_version"], "0.1.0");
  EXPECT_EQ(m["schemas"][0]["manifest_sha256"], "dd");
  EXPECT_EQ(m["reviewers"][0]["name"], "bob");
  EXPECT_EQ(m["report"]["files"][0]["verdict"], "pass");
  EXPECT_EQ(m["report_sha256"], Sha256Hex(Approved().report_json));
  EXPECT_EQ(m["workspace_image"]["digest"], "sha256:1234");
  EXPECT_EQ(m["reviewers"][0]["votes"][0]["override"], false);
  EXPECT_FALSE(m["reviewers"][0]["votes"][0].contains("comment"));
  ExportRecord pending = Approved();
  pending.state = ExportState::kInReview;
  EXPECT_THAT(BuildReleaseManifest(pending, {}).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not approved")));
}

// The checker's evidence describes the micro-data (a suppressed cell's true count, a patient's
// cost); reviewers see it inside kura, and none of it leaves in a manifest.
TEST_F(ReleaseTest, TheReleasedReportCarriesNoCellOrEvidence) {
  nlohmann::json report = nlohmann::json::parse(R"({
    "checker": {"name": "kura-sdc", "version": "0.1.0"},
    "policy": {"name": "acro-default", "sha256": "ab"}, "verdict": "fail",
    "files": [{"path": "t.csv", "sha256": "ee", "verdict": "fail", "verified": true,
               "spec": "t.spec.json", "statistic": "mean",
               "reasons": [{"rule": "absent_cells", "verdict": "pass",
                            "detail": "2 cells with records are not in the table"}],
               "cells": [{"key": {"prefecture": "31", "sex": "F"}, "value": 131700,
                          "verdict": "fail",
                          "rules": [{"rule": "threshold", "verdict": "fail",
                                     "detail": "1 distinct units < 10"},
                                    {"rule": "dominance", "verdict": "fail",
                                     "detail": "largest 2 units hold 100%"}],
                          "evidence": {"units": 1, "top": [395100]}},
                         {"key": {"prefecture": "01", "sex": "M"}, "value": 20,
                          "verdict": "pass", "rules": [], "evidence": {"units": 40}}],
               "mitigation": {"method": "suppress", "actions": [{"key": "31/F"}]}}]})");
  nlohmann::json out = ReleasedReport(report);
  const std::string text = out.dump();
  for (const char* secret : {"395100", "131700", "\"31\"", "evidence", "distinct units",
                             "largest 2", "cells with records", "31/F", "\"units\""}) {
    EXPECT_THAT(text, ::testing::Not(HasSubstr(secret))) << secret;
  }
  const nlohmann::json& f = out["files"][0];
  EXPECT_EQ(f["verdict"], "fail");
  EXPECT_EQ(f["verified"], true);
  EXPECT_EQ(f["spec"], "t.spec.json");
  EXPECT_EQ(f["cells_by_verdict"]["fail"], 1);
  EXPECT_EQ(f["cells_by_verdict"]["pass"], 1);
  EXPECT_EQ(f["cell_rules"]["threshold"]["fail"], 1);
  EXPECT_EQ(f["reasons"][0]["rule"], "absent_cells");
  EXPECT_EQ(f["mitigation"]["method"], "suppress");
  EXPECT_EQ(out["policy"]["sha256"], "ab");
}

TEST_F(ReleaseTest, TheKeyIsKeptAcrossUses) {
  auto again = LoadOrCreateReleaseKey(dir_.File("pki"));
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->public_key, key_.public_key);
  EXPECT_EQ(std::filesystem::status(dir_.File("pki/release.key")).permissions() &
                std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

TEST_F(ReleaseTest, AnUntouchedReleaseVerifies) {
  EXPECT_THAT(VerifyReleaseDir(release_, key_.public_key), IsOk());
}

TEST_F(ReleaseTest, ATamperedFileIsNamed) {
  Write("files/t.csv", "region,count\nA,15\nB,2\n");
  EXPECT_THAT(VerifyReleaseDir(release_, key_.public_key),
              StatusIs(absl::StatusCode::kDataLoss,
                       AllOf(HasSubstr("files/t.csv: 22 bytes, the manifest says 23"),
                             HasSubstr("files/t.csv: SHA-256"))));
}

TEST_F(ReleaseTest, ATamperedManifestBreaksTheSignature) {
  std::string changed = manifest_;
  changed.replace(changed.find("fig 2"), 5, "fig 3");
  Write("manifest.json", changed);
  EXPECT_THAT(VerifyReleaseDir(release_, key_.public_key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not match")));
  // Another key's signature is no better.
  auto other = Ed25519GenerateKeyPair();
  ASSERT_THAT(other.status(), IsOk());
  Write("manifest.json", manifest_);
  EXPECT_THAT(VerifyReleaseDir(release_, other->public_key),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not match")));
}

TEST_F(ReleaseTest, AManifestReplayedWithOtherFilesIsDetected) {
  std::error_code ec;
  std::filesystem::remove(release_ + "/files/doc/notes.md", ec);
  Write("files/extra.csv", "patient,diagnosis\np1,C50\n");
  Write("files/t.csv", "region,count\nA,1\nB,2\nC,33\n");
  absl::Status status = VerifyReleaseDir(release_, key_.public_key);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kDataLoss,
                               AllOf(HasSubstr("files/doc/notes.md: missing"),
                                     HasSubstr("files/extra.csv: not in the manifest"),
                                     HasSubstr("files/t.csv: SHA-256"))));
  EXPECT_THAT(status.message(), ::testing::Not(HasSubstr("signature")));
}

TEST(PlainRelativePathTest, KeepsEveryPathInsideItsDirectory) {
  for (const char* good : {"t.csv", "a/b/c.csv", "a..b", ".hidden"}) {
    EXPECT_TRUE(IsPlainRelativePath(good)) << good;
  }
  for (const char* bad : {"", "/etc/passwd", "../x", "a/../b", "./a", "a/", "a//b", "..", "."}) {
    EXPECT_FALSE(IsPlainRelativePath(bad)) << bad;
  }
}

TEST_F(ReleaseTest, RefusesUnsafePaths) {
  EXPECT_THAT(WriteReleaseDir(dir_.File("r2"), manifest_, "sig", {{"../x.csv", "x"}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(WriteReleaseDir(release_, manifest_, "sig", {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

}  // namespace
}  // namespace kura::gateway
