#include "gateway/pki.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <algorithm>
#include <functional>
#include <sstream>
#include <string>

#include "absl/strings/ascii.h"
#include "gateway/admin.h"
#include "gateway/crl.h"
#include "gateway/pki_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::TempDir;
using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

CertificateRequest Request(PeerRole role, std::string id, TerminalClass klass,
                           absl::Time not_before, absl::Time not_after) {
  CertificateRequest request;
  request.role = role;
  request.id = std::move(id);
  request.terminal_class = klass;
  request.not_before = not_before;
  request.not_after = not_after;
  return request;
}

CertificateRequest Valid(PeerRole role, std::string id,
                         TerminalClass klass = TerminalClass::kNone) {
  return Request(role, std::move(id), klass, TestNow() - absl::Hours(1),
                 TestNow() + absl::Hours(24 * 365));
}

// Re-signs `pem` with kura's CA after replacing its SubjectAltName and ExtendedKeyUsage
// (nullptr: remove it): a certificate kura's CA "issued" with conflicting identity markers.
std::string Resign(const KeyAndCertificate& ca, const std::string& pem, const char* san,
                   const char* eku) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(ca.key_pem.data(), static_cast<int>(ca.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr || key == nullptr) abort();
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, san}, {NID_ext_key_usage, eku}}) {
    int index = X509_get_ext_by_NID(cert, nid, -1);
    if (index >= 0) X509_EXTENSION_free(X509_delete_ext(cert, index));
    if (value == nullptr) continue;
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, nullptr, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) abort();
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(cert, key, EVP_sha256()) == 0) abort();
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(length));
  BIO_free(bio);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

class PkiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = CreateCertificateAuthority("kura test CA", TestNow() - absl::Hours(2),
                                         absl::Hours(24 * 3650));
    ASSERT_THAT(ca, IsOk());
    ca_ = *ca;
  }
  KeyAndCertificate Issue(const CertificateRequest& request) {
    auto issued = IssueCertificate(ca_, request);
    EXPECT_THAT(issued, IsOk());
    return issued.ok() ? *issued : KeyAndCertificate{};
  }
  KeyAndCertificate ca_;
};

TEST_F(PkiTest, TerminalCertificateCarriesRoleIdAndClass) {
  KeyAndCertificate terminal =
      Issue(Valid(PeerRole::kTerminal, "vdi-07", TerminalClass::kDedicated));
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity identity, ParsePeerIdentity(terminal.certificate_pem));
  EXPECT_EQ(identity.role, PeerRole::kTerminal);
  EXPECT_EQ(identity.id, "vdi-07");
  EXPECT_EQ(identity.terminal_class, TerminalClass::kDedicated);
  EXPECT_EQ(identity.fingerprint.size(), 64u);
  EXPECT_FALSE(identity.serial.empty());
  EXPECT_EQ(identity.not_after, TestNow() + absl::Hours(24 * 365));

  KeyAndCertificate other = Issue(Valid(PeerRole::kTerminal, "vdi-07", TerminalClass::kStandard));
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity second, ParsePeerIdentity(other.certificate_pem));
  EXPECT_EQ(second.terminal_class, TerminalClass::kStandard);
  EXPECT_NE(second.serial, identity.serial);
  EXPECT_NE(second.fingerprint, identity.fingerprint);
}

TEST_F(PkiTest, GatewayCertificateNamesHostsForTls) {
  CertificateRequest request = Valid(PeerRole::kGateway, "gw");
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1", "::1"};
  KeyAndCertificate gateway = Issue(request);
  BIO* bio = BIO_new_mem_buf(gateway.certificate_pem.data(),
                             static_cast<int>(gateway.certificate_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(X509_check_host(cert, "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_NE(X509_check_host(cert, "example.org", 0, 0, nullptr), 1);
  X509_free(cert);
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity identity, ParsePeerIdentity(gateway.certificate_pem));
  EXPECT_EQ(identity.role, PeerRole::kGateway);
  EXPECT_EQ(identity.id, "gw");
  EXPECT_EQ(identity.terminal_class, TerminalClass::kNone);
}

TEST_F(PkiTest, VerificationRefusesWhatItMust) {
  auto other_ca =
      CreateCertificateAuthority("another CA", TestNow() - absl::Hours(2), absl::Hours(24 * 3650));
  ASSERT_THAT(other_ca, IsOk());
  KeyAndCertificate terminal =
      Issue(Valid(PeerRole::kTerminal, "vdi-01", TerminalClass::kStandard));
  KeyAndCertificate node = Issue(Valid(PeerRole::kNode, "node-a"));
  KeyAndCertificate expired =
      Issue(Request(PeerRole::kTerminal, "vdi-02", TerminalClass::kStandard,
                    TestNow() - absl::Hours(48), TestNow() - absl::Hours(24)));
  KeyAndCertificate future = Issue(Request(PeerRole::kNode, "node-b", TerminalClass::kNone,
                                           TestNow() + absl::Hours(1), TestNow() + absl::Hours(2)));
  auto forged =
      IssueCertificate(*other_ca, Valid(PeerRole::kTerminal, "vdi-01", TerminalClass::kDedicated));
  ASSERT_THAT(forged, IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity revoked_id, ParsePeerIdentity(node.certificate_pem));

  struct Case {
    const char* name;
    std::string pem;
    PeerRole role;
    absl::flat_hash_set<std::string> revoked;
    const char* error;  // nullptr: accepted
  };
  const Case cases[] = {
      {"terminal as terminal", terminal.certificate_pem, PeerRole::kTerminal, {}, nullptr},
      {"node as node", node.certificate_pem, PeerRole::kNode, {}, nullptr},
      {"terminal as node", terminal.certificate_pem, PeerRole::kNode, {}, "cannot act as a node"},
      {"node as terminal",
       node.certificate_pem,
       PeerRole::kTerminal,
       {},
       "cannot act as a terminal"},
      {"terminal as gateway", terminal.certificate_pem, PeerRole::kGateway, {}, "cannot act"},
      {"other CA", forged->certificate_pem, PeerRole::kTerminal, {}, "not issued by kura's CA"},
      {"expired", expired.certificate_pem, PeerRole::kTerminal, {}, "expired"},
      {"not yet valid", future.certificate_pem, PeerRole::kNode, {}, "not valid before"},
      {"revoked", node.certificate_pem, PeerRole::kNode, {revoked_id.serial}, "revoked"},
      {"the CA itself", ca_.certificate_pem, PeerRole::kTerminal, {}, "not a kura peer"},
      {"garbage",
       "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
       PeerRole::kTerminal,
       {},
       "not a PEM certificate"},
  };
  for (const Case& c : cases) {
    auto result = VerifyPeerCertificate(c.pem, ca_.certificate_pem, c.revoked, TestNow(), c.role);
    if (c.error == nullptr) {
      EXPECT_THAT(result, IsOk()) << c.name;
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(c.error)))
          << c.name;
    }
  }
  EXPECT_THAT(VerifyPeerCertificate(terminal.certificate_pem, terminal.certificate_pem, {},
                                    TestNow(), PeerRole::kTerminal),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a CA")));
}

TEST_F(PkiTest, ConflictingIdentityMarkersAreRefusedEvenFromKurasCa) {
  const std::string terminal_eku = std::string("clientAuth,") + kTerminalRoleOid;
  const std::string node_eku = std::string("serverAuth,clientAuth,") + kNodeRoleOid;
  const std::string both_eku = terminal_eku + "," + kNodeRoleOid;
  const std::string unknown_eku = std::string("clientAuth,") + kKuraRoleOidArc + ".9";
  const std::string pem =
      Issue(Valid(PeerRole::kTerminal, "vdi-01", TerminalClass::kStandard)).certificate_pem;
  struct Case {
    const char* name;
    const char* san;
    const char* eku;
    const char* error;
  };
  const Case cases[] = {
      {"terminal role, node URI", "URI:kura://node/vdi-01", terminal_eku.c_str(),
       "does not match its kura role terminal"},
      {"node role, terminal URI", "URI:kura://terminal/n?class=dedicated", node_eku.c_str(),
       "does not match its kura role node"},
      {"two kura URIs",
       "URI:kura://terminal/a?class=standard,URI:kura://terminal/b?class=dedicated",
       terminal_eku.c_str(), "exactly one kura:// URI, carries 2"},
      {"two roles", "URI:kura://terminal/a?class=standard", both_eku.c_str(),
       "exactly one kura role, carries 2"},
      {"no kura role", "URI:kura://terminal/a?class=standard", "clientAuth",
       "exactly one kura role, carries 0"},
      {"no EKU", "URI:kura://terminal/a?class=standard", nullptr, "no ExtendedKeyUsage"},
      {"unknown role", "URI:kura://terminal/a?class=standard", unknown_eku.c_str(),
       "unknown kura role"},
      {"terminal without class", "URI:kura://terminal/a", terminal_eku.c_str(), "has no class"},
      {"terminal with a made-up class", "URI:kura://terminal/a?class=root", terminal_eku.c_str(),
       "must be 'standard' or 'dedicated'"},
      {"node URI with a class", "URI:kura://node/a?class=dedicated", node_eku.c_str(),
       "has a query"},
      {"id with a slash", "URI:kura://terminal/a/b?class=standard", terminal_eku.c_str(),
       "may contain only"},
      {"no kura URI", "DNS:vdi-01", terminal_eku.c_str(), "exactly one kura:// URI, carries 0"},
      {"no SAN", nullptr, terminal_eku.c_str(), "no kura:// SubjectAltName"},
  };
  for (const Case& c : cases) {
    std::string forged = Resign(ca_, pem, c.san, c.eku);
    EXPECT_THAT(ParsePeerIdentity(forged),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.name;
    EXPECT_THAT(
        VerifyPeerCertificate(forged, ca_.certificate_pem, {}, TestNow(), PeerRole::kTerminal),
        StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("not a kura peer")))
        << c.name;
  }
  // The helper itself keeps a certificate valid when nothing conflicts.
  std::string same =
      Resign(ca_, pem, "URI:kura://terminal/vdi-01?class=dedicated", terminal_eku.c_str());
  KURA_ASSERT_OK_AND_ASSIGN(
      PeerIdentity identity,
      VerifyPeerCertificate(same, ca_.certificate_pem, {}, TestNow(), PeerRole::kTerminal));
  EXPECT_EQ(identity.terminal_class, TerminalClass::kDedicated);
}

TEST_F(PkiTest, InconsistentRequestsAreRefused) {
  struct Case {
    const char* name;
    CertificateRequest request;
    const char* error;
  };
  CertificateRequest bad_ip = Valid(PeerRole::kGateway, "gw");
  bad_ip.ip_addresses = {"300.1.1.1"};
  CertificateRequest terminal_dns = Valid(PeerRole::kTerminal, "t", TerminalClass::kStandard);
  terminal_dns.dns_names = {"localhost"};
  const Case cases[] = {
      {"terminal without class", Valid(PeerRole::kTerminal, "t"), "needs a class"},
      {"node with class", Valid(PeerRole::kNode, "n", TerminalClass::kDedicated), "only terminal"},
      {"empty id", Valid(PeerRole::kNode, ""), "1 to 64"},
      {"id with slash", Valid(PeerRole::kNode, "a/b"), "may contain only"},
      {"id with query", Valid(PeerRole::kTerminal, "t?class=dedicated", TerminalClass::kStandard),
       "may contain only"},
      {"dash id", Valid(PeerRole::kNode, "-n"), "must not start"},
      {"inverted validity",
       Request(PeerRole::kNode, "n", TerminalClass::kNone, TestNow(), TestNow() - absl::Seconds(1)),
       "ends before"},
      {"bad ip", bad_ip, "invalid IP"},
      {"terminal with dns", terminal_dns, "no DNS"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(IssueCertificate(ca_, c.request),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.error)))
        << c.name;
  }
  KeyAndCertificate wrong_key = ca_;
  wrong_key.key_pem = Issue(Valid(PeerRole::kNode, "n")).key_pem;
  EXPECT_THAT(IssueCertificate(wrong_key, Valid(PeerRole::kNode, "n2")),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("does not belong")));
}

TEST_F(PkiTest, FilesKeepKeysPrivateAndNeverOverwrite) {
  TempDir dir;
  PkiPaths paths = PeerPaths(dir.path(), PeerRole::kTerminal, "vdi-01");
  EXPECT_EQ(paths.certificate, dir.path() + "/terminals/vdi-01.crt");
  KeyAndCertificate pair = Issue(Valid(PeerRole::kTerminal, "vdi-01", TerminalClass::kStandard));
  ASSERT_THAT(WriteKeyAndCertificate(paths, pair), IsOk());
  struct stat st;
  ASSERT_EQ(::stat(paths.key.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(paths.certificate.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_THAT(WriteKeyAndCertificate(paths, pair), StatusIs(absl::StatusCode::kAlreadyExists));
  KURA_ASSERT_OK_AND_ASSIGN(std::string back, ReadTextFile(paths.certificate));
  EXPECT_EQ(back, pair.certificate_pem);

  ASSERT_THAT(WriteKeyAndCertificate(CaPaths(dir.path()), ca_), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(KeyAndCertificate loaded, LoadCertificateAuthority(dir.path()));
  EXPECT_EQ(loaded.key_pem, ca_.key_pem);
  EXPECT_THAT(LoadCertificateAuthority(dir.File("missing")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing/ca.crt")));
}

// The DER of a PEM CRL, `edit`ed, back as PEM: what an attacker who can write the node's CRL
// file but not sign could produce.
std::string EditCrlDer(const std::string& pem, const std::function<void(std::string&)>& edit) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509_CRL* crl = PEM_read_bio_X509_CRL(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (crl == nullptr) abort();
  unsigned char* der = nullptr;
  int length = i2d_X509_CRL(crl, &der);
  X509_CRL_free(crl);
  if (length <= 0) abort();
  std::string bytes(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  edit(bytes);
  const unsigned char* p = reinterpret_cast<const unsigned char*>(bytes.data());
  crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()));
  if (crl == nullptr) abort();
  bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509_CRL(bio, crl);
  char* data = nullptr;
  long out_length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(out_length));
  BIO_free(bio);
  X509_CRL_free(crl);
  return out;
}

// Flips the last byte of `needle` (hex) where it occurs in the DER.
void FlipSerialByte(std::string& der, const std::string& serial_hex) {
  std::string needle;
  for (size_t i = 0; i + 1 < serial_hex.size(); i += 2) {
    needle.push_back(static_cast<char>(std::stoi(serial_hex.substr(i, 2), nullptr, 16)));
  }
  auto at = std::search(der.begin(), der.end(), needle.begin(), needle.end());
  if (at == der.end()) abort();
  *(at + static_cast<long>(needle.size()) - 1) ^= 0x01;
}

TEST_F(PkiTest, RevocationListVerifiesAgainstItsCaAndListsTheSerial) {
  KeyAndCertificate gateway = Issue(Valid(PeerRole::kGateway, "gateway"));
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity identity, ParsePeerIdentity(gateway.certificate_pem));
  std::string upper = absl::AsciiStrToUpper(identity.serial);
  KURA_ASSERT_OK_AND_ASSIGN(std::string pem, BuildRevocationList(ca_, {upper, "0abc"}, TestNow(),
                                                                 TestNow() + absl::Hours(24 * 7)));
  EXPECT_THAT(pem, HasSubstr("-----BEGIN X509 CRL-----"));
  KURA_ASSERT_OK_AND_ASSIGN(RevocationList list,
                            VerifyRevocationList(pem, ca_.certificate_pem, TestNow()));
  EXPECT_TRUE(list.revoked_serials.contains(identity.serial));
  EXPECT_TRUE(list.revoked_serials.contains("0abc"));
  EXPECT_EQ(list.revoked_serials.size(), 2u);
  EXPECT_EQ(list.this_update, TestNow());
  EXPECT_EQ(list.next_update, TestNow() + absl::Hours(24 * 7));

  KURA_ASSERT_OK_AND_ASSIGN(std::string empty,
                            BuildRevocationList(ca_, {}, TestNow(), TestNow() + absl::Hours(1)));
  KURA_ASSERT_OK_AND_ASSIGN(RevocationList none,
                            VerifyRevocationList(empty, ca_.certificate_pem, TestNow()));
  EXPECT_TRUE(none.revoked_serials.empty());
}

TEST_F(PkiTest, RevocationListsKuraDidNotSignAreRefused) {
  KeyAndCertificate gateway = Issue(Valid(PeerRole::kGateway, "gateway"));
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity identity, ParsePeerIdentity(gateway.certificate_pem));
  absl::Time next = TestNow() + absl::Hours(24);
  KURA_ASSERT_OK_AND_ASSIGN(std::string good,
                            BuildRevocationList(ca_, {identity.serial}, TestNow(), next));
  // Another CA, even one with kura's CA's very name, does not speak for kura.
  KURA_ASSERT_OK_AND_ASSIGN(KeyAndCertificate impostor,
                            CreateCertificateAuthority("kura test CA", TestNow(), absl::Hours(48)));
  KURA_ASSERT_OK_AND_ASSIGN(KeyAndCertificate other,
                            CreateCertificateAuthority("another CA", TestNow(), absl::Hours(48)));
  KURA_ASSERT_OK_AND_ASSIGN(std::string by_impostor,
                            BuildRevocationList(impostor, {}, TestNow(), next));
  KURA_ASSERT_OK_AND_ASSIGN(std::string by_other, BuildRevocationList(other, {}, TestNow(), next));
  // The revoked serial changed in the signed bytes: the attacker "unrevokes" the gateway.
  std::string serial_edited =
      EditCrlDer(good, [&](std::string& der) { FlipSerialByte(der, identity.serial); });
  // The nextUpdate pushed out (the list re-encoded, its signature kept).
  std::string extended = EditCrlDer(good, [&](std::string& der) {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
    X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
    ASN1_TIME* later = ASN1_TIME_set(nullptr, absl::ToTimeT(next + absl::Hours(24 * 365)));
    X509_CRL_set1_nextUpdate(crl, later);
    X509_CRL_sort(crl);  // marks the signed part modified, so i2d encodes it anew
    unsigned char* out = nullptr;
    int length = i2d_X509_CRL(crl, &out);
    der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(length));
    OPENSSL_free(out);
    ASN1_TIME_free(later);
    X509_CRL_free(crl);
  });
  ASSERT_NE(serial_edited, good);
  ASSERT_NE(extended, good);

  struct Case {
    const char* name;
    std::string pem;
    absl::StatusCode code;
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"impostor CA", by_impostor, absl::StatusCode::kUnauthenticated, "does not verify"},
           {"other CA", by_other, absl::StatusCode::kUnauthenticated, "not issued by kura's CA"},
           {"serial edited", serial_edited, absl::StatusCode::kUnauthenticated, "does not verify"},
           {"nextUpdate extended", extended, absl::StatusCode::kUnauthenticated, "does not verify"},
           {"not a CRL", gateway.certificate_pem, absl::StatusCode::kInvalidArgument,
            "not a PEM certificate revocation list"},
           {"empty", "", absl::StatusCode::kInvalidArgument, "not a PEM"},
       }) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(VerifyRevocationList(c.pem, ca_.certificate_pem, TestNow()),
                StatusIs(c.code, HasSubstr(c.message)));
  }
  // A leaf certificate is no CA to verify against.
  EXPECT_THAT(VerifyRevocationList(good, gateway.certificate_pem, TestNow()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(PkiTest, RevocationListIsRefusedOutsideItsValidity) {
  absl::Time next = TestNow() + absl::Hours(24);
  KURA_ASSERT_OK_AND_ASSIGN(std::string pem, BuildRevocationList(ca_, {"01"}, TestNow(), next));
  EXPECT_THAT(VerifyRevocationList(pem, ca_.certificate_pem, next - absl::Seconds(1)), IsOk());
  EXPECT_THAT(VerifyRevocationList(pem, ca_.certificate_pem, next),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired at")));
  EXPECT_THAT(VerifyRevocationList(pem, ca_.certificate_pem, next + absl::Hours(24 * 30)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("expired at")));
  EXPECT_THAT(VerifyRevocationList(pem, ca_.certificate_pem, TestNow() - absl::Hours(1)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not valid before")));
  EXPECT_THAT(BuildRevocationList(ca_, {"01"}, TestNow(), TestNow()),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildRevocationList(ca_, {"01:02"}, TestNow(), next),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not hexadecimal")));
}

// `kura-admin pki revoke --dir` and `pki crl` publish every serial the store holds as revoked.
TEST_F(PkiTest, AdminWritesTheRevocationListOfTheStore) {
  TempDir dir;
  std::string pki = dir.File("pki");
  std::string store = dir.File("state.db");
  std::ostringstream out, err;
  AdminEnvironment env{out, err, [] { return TestNow(); }, "os-user:tester"};
  auto run = [&](std::vector<std::string> args) {
    out.str("");
    err.str("");
    return RunAdmin(args, env);
  };
  ASSERT_EQ(run({"pki", "init", "--dir", pki}), kAdminExitOk) << err.str();
  ASSERT_EQ(run({"pki", "issue-gateway", "--dir", pki, "--dns", "localhost"}), kAdminExitOk)
      << err.str();
  KURA_ASSERT_OK_AND_ASSIGN(std::string ca_pem, ReadTextFile(pki + "/ca.crt"));
  KURA_ASSERT_OK_AND_ASSIGN(std::string gateway_pem, ReadTextFile(pki + "/gateway.crt"));
  KURA_ASSERT_OK_AND_ASSIGN(PeerIdentity gateway, ParsePeerIdentity(gateway_pem));

  ASSERT_EQ(run({"pki", "crl", "--dir", pki, "--store", store}), kAdminExitOk) << err.str();
  KURA_ASSERT_OK_AND_ASSIGN(std::string first, ReadTextFile(pki + "/crl.pem"));
  KURA_ASSERT_OK_AND_ASSIGN(RevocationList empty, VerifyRevocationList(first, ca_pem, TestNow()));
  EXPECT_TRUE(empty.revoked_serials.empty());
  EXPECT_EQ(empty.next_update, TestNow() + absl::Hours(24 * 7));

  ASSERT_EQ(run({"pki", "revoke", "--store", store, "--cert", pki + "/gateway.crt", "--dir", pki}),
            kAdminExitOk)
      << err.str();
  EXPECT_THAT(out.str(), HasSubstr("crl.pem"));
  KURA_ASSERT_OK_AND_ASSIGN(std::string second, ReadTextFile(pki + "/crl.pem"));
  KURA_ASSERT_OK_AND_ASSIGN(RevocationList listed, VerifyRevocationList(second, ca_pem, TestNow()));
  EXPECT_TRUE(listed.revoked_serials.contains(gateway.serial));

  std::string elsewhere = dir.File("published.pem");
  ASSERT_EQ(run({"pki", "crl", "--dir", pki, "--store", store, "--out", elsewhere, "--days", "2"}),
            kAdminExitOk)
      << err.str();
  KURA_ASSERT_OK_AND_ASSIGN(std::string third, ReadTextFile(elsewhere));
  KURA_ASSERT_OK_AND_ASSIGN(RevocationList two_days,
                            VerifyRevocationList(third, ca_pem, TestNow()));
  EXPECT_TRUE(two_days.revoked_serials.contains(gateway.serial));
  EXPECT_EQ(two_days.next_update, TestNow() + absl::Hours(48));
  struct stat st;
  ASSERT_EQ(::stat(elsewhere.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
}

}  // namespace
}  // namespace kura::gateway
