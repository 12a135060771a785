#include "gateway/admin.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "gateway/pki.h"
#include "gateway/pki_files.h"
#include "gateway/release.h"
#include "gateway/sqlite_store.h"
#include "gateway/totp.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::TempDir;
using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::testing::HasSubstr;

class AdminTest : public ::testing::Test {
 protected:
  // Runs kura-admin with `args` (store and pki dir substituted for STORE and PKI).
  int Run(std::vector<std::string> args) {
    for (std::string& a : args) {
      if (a == "STORE") a = store_;
      if (a == "PKI") a = pki_;
    }
    out_.str("");
    err_.str("");
    AdminEnvironment env{out_, err_, [] { return TestNow(); }, "os-user:tester"};
    return RunAdmin(args, env);
  }
  // Writes directory `name` with a one-table schema.json declaring `data_class` and column
  // "patient_id" with `role`, and the table's CSV; returns the directory.
  std::string WriteSchemaDir(const std::string& name, const std::string& data_class,
                             const std::string& role = "unit_id") {
    return WriteSchemaFiles(
        name, absl::StrCat(R"({"name": ")", name, R"(", "data_class": ")", data_class,
                           R"(", "tables": [{"name": "claims", "file": "claims.csv", )",
                           R"("columns": [{"name": "patient_id", "role": ")", role, R"("}]}]})"));
  }
  // Writes directory `name` with `manifest` as its schema.json and the table's CSV.
  std::string WriteSchemaFiles(const std::string& name, const std::string& manifest) {
    const std::string dir = dir_.File(name);
    EXPECT_THAT(EnsureDirectory(dir), IsOk());
    EXPECT_THAT(WriteNewFile(dir + "/claims.csv", "patient_id,cost\nP1,100\nP2,200\n", 0644),
                IsOk());
    EXPECT_THAT(WriteNewFile(dir + "/schema.json", manifest, 0644), IsOk());
    return dir;
  }
  std::vector<SchemaRecord> Schemas() {
    auto store = SqliteStore::Open(store_);
    EXPECT_THAT(store, IsOk());
    auto schemas = (*store)->ListSchemas();
    EXPECT_THAT(schemas, IsOk());
    return *schemas;
  }
  std::vector<AuditEvent> Events() {
    auto store = SqliteStore::Open(store_);
    EXPECT_THAT(store, IsOk());
    auto events = (*store)->ListAuditEvents();
    EXPECT_THAT(events, IsOk());
    return *events;
  }

  TempDir dir_;
  std::string store_ = dir_.File("kura.db");
  std::string pki_ = dir_.File("pki");
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(AdminTest, OperatorWalkThroughIsAudited) {
  ASSERT_EQ(Run({"pki", "init", "--dir", "PKI"}), kAdminExitOk) << err_.str();
  struct stat st;
  ASSERT_EQ(::stat((pki_ + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // The release key comes with the CA, its public half printed for publishing.
  ASSERT_EQ(::stat((pki_ + "/release.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto release = LoadOrCreateReleaseKey(pki_);
  ASSERT_THAT(release, IsOk());
  EXPECT_THAT(out_.str(), HasSubstr(HexEncode(release->public_key)));
  EXPECT_EQ(Run({"pki", "init", "--dir", "PKI"}), kAdminExitFailed);
  EXPECT_THAT(err_.str(), HasSubstr("already exists"));

  ASSERT_EQ(
      Run({"pki", "issue-gateway", "--dir", "PKI", "--dns", "localhost", "--ip", "127.0.0.1"}),
      kAdminExitOk)
      << err_.str();
  ASSERT_EQ(Run({"pki", "issue-node", "--dir", "PKI", "--id", "node-a"}), kAdminExitOk);
  ASSERT_EQ(Run({"pki", "issue-terminal", "--dir", "PKI", "--id", "vdi-01", "--class", "dedicated",
                 "--store", "STORE"}),
            kAdminExitOk)
      << err_.str();
  auto ca = LoadCertificateAuthority(pki_);
  ASSERT_THAT(ca, IsOk());
  auto node_pem = ReadTextFile(pki_ + "/nodes/node-a.crt");
  ASSERT_THAT(node_pem, IsOk());
  EXPECT_THAT(VerifyPeerCertificate(*node_pem, ca->certificate_pem, {}, TestNow(), PeerRole::kNode),
              IsOk());

  auto broker = Ed25519GenerateKeyPair();
  ASSERT_THAT(broker, IsOk());
  ASSERT_EQ(Run({"pki", "register-broker", "--dir", "PKI", "--public-key",
                 HexEncode(broker->public_key)}),
            kAdminExitOk)
      << err_.str();
  auto registered = ReadTextFile(VdiBrokerKeyPath(pki_));
  ASSERT_THAT(registered, IsOk());
  EXPECT_EQ(*registered, HexEncode(broker->public_key) + "\n");
  EXPECT_EQ(Run({"pki", "register-broker", "--dir", "PKI", "--public-key", "abcd"}),
            kAdminExitUsage);

  ASSERT_EQ(Run({"users", "add", "alice", "--role", "researcher", "--store", "STORE"}),
            kAdminExitOk);
  std::string output = out_.str();
  size_t at = output.find("secret=");
  ASSERT_NE(at, std::string::npos) << output;
  std::string secret_b32 = output.substr(at + 7, output.find('&', at) - at - 7);
  auto secret = Base32Decode(secret_b32);
  ASSERT_THAT(secret, IsOk());
  EXPECT_EQ(secret->size(), 20u);

  ASSERT_EQ(Run({"projects", "add", "cancer", "--store", "STORE"}), kAdminExitOk);
  ASSERT_EQ(Run({"projects", "add-member", "cancer", "alice", "--store", "STORE"}), kAdminExitOk);
  const std::string claims = WriteSchemaDir("claims", "pseudonymized");
  ASSERT_EQ(Run({"schemas", "add", "claims", "--path", claims, "--store", "STORE"}), kAdminExitOk)
      << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("registered schema 'claims' (pseudonymized)"));
  ASSERT_EQ(Run({"grants", "add", "cancer", "claims", "--from", "2026-01-01", "--to",
                 "2026-12-31T23:59:59Z", "--store", "STORE"}),
            kAdminExitOk)
      << err_.str();
  EXPECT_EQ(Run({"users", "unlock", "alice", "--store", "STORE"}), kAdminExitOk);
  EXPECT_EQ(Run({"users", "unlock", "nobody", "--store", "STORE"}), kAdminExitFailed);
  EXPECT_THAT(err_.str(), HasSubstr("no user 'nobody'"));
  {
    auto store = SqliteStore::Open(store_);
    ASSERT_THAT(store, IsOk());
    for (char c : {'1', '2'}) {
      ASSERT_THAT((*store)->CreateSession({0, std::string(64, c), "alice", "vdi-01", "fp",
                                           TestNow(), TestNow(), false}),
                  IsOk());
    }
  }
  EXPECT_EQ(Run({"sessions", "revoke", "alice", "--id", "99", "--store", "STORE"}),
            kAdminExitFailed);
  EXPECT_THAT(err_.str(), HasSubstr("'alice' has no session 99"));
  ASSERT_EQ(Run({"sessions", "revoke", "alice", "--id", "1", "--store", "STORE"}), kAdminExitOk);
  ASSERT_EQ(Run({"users", "lock", "alice", "--store", "STORE"}), kAdminExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("ended 1 session(s)"));
  ASSERT_EQ(Run({"sessions", "list", "alice", "--store", "STORE"}), kAdminExitOk);
  EXPECT_THAT(out_.str(), ::testing::Not(HasSubstr("live")));
  ASSERT_EQ(Run({"terminals", "revoke", "vdi-01", "--store", "STORE"}), kAdminExitOk);
  ASSERT_EQ(Run({"terminals", "list", "--store", "STORE"}), kAdminExitOk);
  EXPECT_THAT(out_.str(), HasSubstr("vdi-01\tdedicated"));
  EXPECT_THAT(out_.str(), HasSubstr("revoked"));

  std::vector<AuditEvent> events = Events();
  std::vector<std::string> actions;
  for (const AuditEvent& e : events) actions.push_back(e.entry.action + ":" + e.entry.outcome);
  EXPECT_THAT(actions, ::testing::ElementsAre(
                           "pki.issue-terminal:ok", "users.add:ok", "projects.add:ok",
                           "projects.add-member:ok", "schemas.add:ok", "grants.add:ok",
                           "users.unlock:ok", "users.unlock:failed", "sessions.revoke:failed",
                           "sessions.revoke:ok", "users.lock:ok", "terminals.revoke:ok"));
  EXPECT_EQ(events[1].entry.actor, "os-user:tester");
  EXPECT_THAT(events[1].entry.details_json, ::testing::Not(HasSubstr(secret_b32)));

  ASSERT_EQ(Run({"audit", "verify", "--store", "STORE"}), kAdminExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("intact: 12 events"));
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(store_.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "DROP TRIGGER audit_events_no_update;"
                         "UPDATE audit_events SET actor = 'os-user:someone' WHERE seq = 4;",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  EXPECT_EQ(Run({"audit", "verify", "--store", "STORE"}), kAdminExitAuditBroken);
  EXPECT_THAT(err_.str(), HasSubstr("BROKEN at seq 4"));
}

TEST_F(AdminTest, SchemasAddRecordsTheManifestsClassAndTheNodesDigest) {
  const std::string claims = WriteSchemaDir("claims", "anonymized");
  const std::string linked = WriteSchemaDir("claims_linked", "pseudonymized");
  ASSERT_EQ(Run({"schemas", "add", "claims", "--path", claims, "--store", "STORE"}), kAdminExitOk)
      << err_.str();
  // --class and --manifest-sha256, when given, only confirm what the manifest says.
  auto bytes = ReadTextFile(linked + "/schema.json");
  ASSERT_THAT(bytes, IsOk());
  std::string upper = Sha256Hex(*bytes);
  for (char& c : upper) c = static_cast<char>(toupper(c));
  ASSERT_EQ(Run({"schemas", "add", "claims_linked", "--class", "pseudonymized", "--path", linked,
                 "--manifest-sha256", upper, "--store", "STORE"}),
            kAdminExitOk)
      << err_.str();

  std::vector<SchemaRecord> schemas = Schemas();
  ASSERT_EQ(schemas.size(), 2u);
  for (const SchemaRecord& s : schemas) {
    auto manifest = ReadTextFile(s.path + "/schema.json");
    ASSERT_THAT(manifest, IsOk());
    // The digest the node compares before it mounts the schema (VerifySchemaManifest).
    auto on_disk = Sha256FileHex(s.path + "/schema.json");
    ASSERT_THAT(on_disk, IsOk());
    EXPECT_EQ(s.manifest_sha256, Sha256Hex(*manifest)) << s.name;
    EXPECT_EQ(s.manifest_sha256, *on_disk) << s.name;
  }
  EXPECT_EQ(schemas[0].name == "claims" ? schemas[0].data_class : schemas[1].data_class,
            DataClass::kAnonymized);
  EXPECT_EQ(schemas[0].name == "claims" ? schemas[1].data_class : schemas[0].data_class,
            DataClass::kPseudonymized);
}

TEST_F(AdminTest, SchemasAddRefusesWhatTheNodeOrTheCheckerWouldRefuse) {
  const std::string identifier = WriteSchemaDir("identified", "anonymized", "direct_identifier");
  const std::string malformed = WriteSchemaFiles("malformed", R"({"name": "malformed", )");
  const std::string pseudonymized = WriteSchemaDir("linked", "pseudonymized");
  const std::string anonymized = WriteSchemaDir("plain", "anonymized");
  const std::string missing_column = WriteSchemaDir("nocol", "anonymized");
  ASSERT_EQ(::unlink((missing_column + "/claims.csv").c_str()), 0);
  ASSERT_THAT(WriteNewFile(missing_column + "/claims.csv", "id,cost\nP1,1\n", 0644), IsOk());
  // schema.json a symbolic link to a valid manifest elsewhere.
  const std::string linked_manifest = dir_.File("symlinked");
  ASSERT_THAT(EnsureDirectory(linked_manifest), IsOk());
  ASSERT_THAT(WriteNewFile(linked_manifest + "/claims.csv", "patient_id\nP1\n", 0644), IsOk());
  ASSERT_EQ(
      ::symlink((anonymized + "/schema.json").c_str(), (linked_manifest + "/schema.json").c_str()),
      0);
  const std::string linked_dir = dir_.File("dirlink");
  ASSERT_EQ(::symlink(anonymized.c_str(), linked_dir.c_str()), 0);

  struct Case {
    std::vector<std::string> args;
    int exit;
    std::vector<std::string> messages;
  };
  const Case cases[] = {
      {{"--path", identifier},
       kAdminExitUsage,
       {"columns[0].role: direct identifiers are refused"}},
      {{"--path", malformed}, kAdminExitUsage, {"malformed/schema.json: invalid JSON"}},
      {{"--path", missing_column}, kAdminExitUsage, {"\"patient_id\" is not in the header"}},
      {{"--path", pseudonymized, "--class", "anonymized"},
       kAdminExitUsage,
       {"--class anonymized disagrees", "data_class is pseudonymized"}},
      {{"--path", anonymized, "--class", "pseudonymized"},
       kAdminExitUsage,
       {"--class pseudonymized disagrees", "data_class is anonymized"}},
      {{"--path", anonymized, "--class", "secret"}, kAdminExitUsage, {"secret"}},
      {{"--path", anonymized, "--manifest-sha256", std::string(64, 'a')},
       kAdminExitUsage,
       {"is not the SHA-256 of", "the manifest has changed"}},
      {{"--path", linked_manifest}, kAdminExitUsage, {"schema.json is a symbolic link"}},
      {{"--path", linked_dir}, kAdminExitUsage, {"dirlink is not a directory"}},
      {{"--path", "schemas/plain"}, kAdminExitUsage, {"is not absolute"}},
      {{"--path", dir_.File("absent")}, kAdminExitFailed, {"lstat", "absent"}},
      {{}, kAdminExitUsage, {"--path is required"}},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"schemas", "add", "s1", "--store", "STORE"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    EXPECT_EQ(Run(args), c.exit) << ::testing::PrintToString(c.args);
    for (const std::string& message : c.messages) {
      EXPECT_THAT(err_.str(), HasSubstr(message)) << ::testing::PrintToString(c.args);
    }
  }
  EXPECT_THAT(Schemas(), ::testing::IsEmpty());
  for (const AuditEvent& e : Events()) EXPECT_EQ(e.entry.outcome, "failed") << e.entry.action;
}

TEST_F(AdminTest, UsageErrorsAndFailuresHaveTheirExitCodes) {
  struct Case {
    std::vector<std::string> args;
    int exit;
    const char* message;
  };
  const Case cases[] = {
      {{}, kAdminExitUsage, "usage: kura-admin"},
      {{"users"}, kAdminExitUsage, "usage: kura-admin"},
      {{"users", "add", "--store", "STORE"}, kAdminExitUsage, "expected 1 argument"},
      {{"users", "add", "bob", "--store", "STORE", "--colour", "red"},
       kAdminExitUsage,
       "unknown option --colour"},
      {{"users", "add", "bob", "--store"}, kAdminExitUsage, "--store needs a value"},
      {{"users", "add", "bob", "--role", "researcher"}, kAdminExitUsage, "--store is required"},
      {{"users", "add", "bob", "--store", "STORE"}, kAdminExitUsage, "at least one --role"},
      {{"users", "add", "bob", "--role", "admin", "--store", "STORE"},
       kAdminExitUsage,
       "role must be researcher, reviewer or operator"},
      {{"grants", "add", "p", "s", "--from", "yesterday", "--to", "2026-01-01", "--store", "STORE"},
       kAdminExitUsage,
       "--from 'yesterday' is not YYYY-MM-DD"},
      {{"pki", "issue-node", "--dir", "PKI", "--id", "n1"}, kAdminExitFailed, "ca.crt"},
      {{"nodes", "cordon", "node-z", "--store", "STORE"}, kAdminExitFailed, "no node 'node-z'"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Run(c.args), c.exit) << ::testing::PrintToString(c.args);
    EXPECT_THAT(err_.str(), HasSubstr(c.message)) << ::testing::PrintToString(c.args);
  }
}

}  // namespace
}  // namespace kura::gateway
