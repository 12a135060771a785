#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "common/child_process.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"

namespace kura {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(StatusTest, ErrnoErrorNamesCallAndArgument) {
  absl::Status status = ErrnoError("openat", "/data/claims", ENOENT);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("openat(/data/claims)")));
  EXPECT_THAT(ErrnoError("mount", "/x", EPERM), StatusIs(absl::StatusCode::kPermissionDenied));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  KURA_ASSIGN_OR_RETURN(int half, Half(x));
  KURA_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UniqueFdTest, ClosesOnDestructionAndMove) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    UniqueFd moved = std::move(fd);
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(moved.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(ChildProcessTest, ReportsExitCodeAndSignal) {
  KURA_ASSERT_OK_AND_ASSIGN(auto ok, ChildProcess::Spawn({"sh", "-c", "exit 7"}, {}));
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, ok.Wait());
  EXPECT_FALSE(status.signaled);
  EXPECT_EQ(status.code, 7);

  KURA_ASSERT_OK_AND_ASSIGN(auto sleeper, ChildProcess::Spawn({"sleep", "30"}, {}));
  ASSERT_THAT(sleeper.Signal(SIGTERM), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(status, sleeper.Wait());
  EXPECT_TRUE(status.signaled);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.ShellCode(), 128 + SIGTERM);
  EXPECT_THAT(sleeper.Signal(SIGTERM), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ChildProcessTest, DestructorKillsAndReapsAnUnwaitedChild) {
  pid_t pid;
  {
    KURA_ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn({"sleep", "30"}, {}));
    pid = child.pid();
    KURA_ASSERT_OK_AND_ASSIGN(auto still_running, child.TryWait());
    EXPECT_FALSE(still_running.has_value());
  }
  // Reaped: the pid no longer names our child.
  EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(ChildProcessTest, EnvironmentIsExactlyWhatWasGiven) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ::setenv("KURA_TEST_SECRET", "launcher-only", 1);
  ChildProcess::Options options;
  options.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
  options.stdout_fd = write_end.get();
  KURA_ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn({"env"}, options));
  write_end.Reset();
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof(buf))) > 0) out.append(buf, n);
  ASSERT_THAT(child.Wait(), IsOk());
  EXPECT_EQ(out, "PATH=/usr/bin:/bin\nONLY=this\n");
}

TEST(CryptoTest, Sha256MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char path[] = "/tmp/kura-sha-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "abc", 3), 3);
  ::close(fd);
  KURA_ASSERT_OK_AND_ASSIGN(std::string digest, Sha256FileHex(path));
  ::unlink(path);
  EXPECT_EQ(digest, Sha256Hex("abc"));
  EXPECT_THAT(Sha256FileHex("/nonexistent/kura"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(CryptoTest, RandomBytesDiffer) {
  KURA_ASSERT_OK_AND_ASSIGN(std::string a, RandomBytes(32));
  KURA_ASSERT_OK_AND_ASSIGN(std::string b, RandomBytes(32));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kura

// ---- HMAC, encodings, constant-time compare and Ed25519 -------------------------------------

namespace kura {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;

TEST(CryptoTest, HmacMatchesRfc2202AndRfc4231) {
  struct Case {
    const char* digest;
    std::string key;
    std::string data;
    const char* hex;
  };
  const Case cases[] = {
      {"SHA1", std::string(20, '\x0b'), "Hi There", "b617318655057264e28bc0b6fb378c8ef146be00"},
      {"SHA1", "Jefe", "what do ya want for nothing?", "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
      {"SHA256", std::string(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
  };
  for (const Case& c : cases) {
    KURA_ASSERT_OK_AND_ASSIGN(std::string mac, Hmac(c.digest, c.key, c.data));
    EXPECT_EQ(HexEncode(mac), c.hex) << c.digest << " " << c.data;
  }
  EXPECT_THAT(Hmac("NOPE", "k", "d"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CryptoTest, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(CryptoTest, AesGcmRoundTripsWithAFreshNonceEachTime) {
  const std::string key(32, 'k');
  KURA_ASSERT_OK_AND_ASSIGN(std::string first, AesGcmSeal(key, "totp secret", "alice"));
  KURA_ASSERT_OK_AND_ASSIGN(std::string second, AesGcmSeal(key, "totp secret", "alice"));
  EXPECT_EQ(first.size(), kAesGcmNonceSize + 11 + kAesGcmTagSize);
  EXPECT_NE(first, second);
  EXPECT_EQ(first.find("totp secret"), std::string::npos);
  for (const std::string& sealed : {first, second}) {
    KURA_ASSERT_OK_AND_ASSIGN(std::string opened, AesGcmOpen(key, sealed, "alice"));
    EXPECT_EQ(opened, "totp secret");
  }
  KURA_ASSERT_OK_AND_ASSIGN(std::string empty, AesGcmSeal(key, "", ""));
  KURA_ASSERT_OK_AND_ASSIGN(std::string opened_empty, AesGcmOpen(key, empty, ""));
  EXPECT_EQ(opened_empty, "");
}

TEST(CryptoTest, AesGcmRefusesWhatItDidNotSeal) {
  const std::string key(32, 'k');
  KURA_ASSERT_OK_AND_ASSIGN(std::string sealed, AesGcmSeal(key, "totp secret", "alice"));
  struct Case {
    const char* what;
    std::string key;
    std::string sealed;
    std::string aad;
    absl::StatusCode code;
  };
  std::string flipped_body = sealed;
  flipped_body[kAesGcmNonceSize] ^= 0x01;
  std::string flipped_tag = sealed;
  flipped_tag.back() ^= 0x80;
  std::string flipped_nonce = sealed;
  flipped_nonce[0] ^= 0x01;
  const std::vector<Case> cases = {
      {"tampered ciphertext", key, flipped_body, "alice", absl::StatusCode::kDataLoss},
      {"tampered tag", key, flipped_tag, "alice", absl::StatusCode::kDataLoss},
      {"tampered nonce", key, flipped_nonce, "alice", absl::StatusCode::kDataLoss},
      {"wrong associated data", key, sealed, "bob", absl::StatusCode::kDataLoss},
      {"wrong key", std::string(32, 'x'), sealed, "alice", absl::StatusCode::kDataLoss},
      {"truncated", key, sealed.substr(0, sealed.size() - 1), "alice", absl::StatusCode::kDataLoss},
      {"shorter than nonce and tag", key, sealed.substr(0, 27), "alice",
       absl::StatusCode::kDataLoss},
      {"empty", key, "", "alice", absl::StatusCode::kDataLoss},
      {"short key", std::string(16, 'k'), sealed, "alice", absl::StatusCode::kInvalidArgument},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(AesGcmOpen(c.key, c.sealed, c.aad), StatusIs(c.code)) << c.what;
  }
  EXPECT_THAT(AesGcmSeal(std::string(31, 'k'), "x", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CryptoTest, Base32MatchesRfc4648) {
  const std::pair<std::string, std::string> cases[] = {
      {"", ""},         {"f", "MY"},         {"fo", "MZXQ"},           {"foo", "MZXW6"},
      {"foob", "MZXW6YQ"}, {"fooba", "MZXW6YTB"}, {"foobar", "MZXW6YTBOI"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base32Encode(plain), encoded);
    KURA_ASSERT_OK_AND_ASSIGN(std::string decoded, Base32Decode(encoded));
    EXPECT_EQ(decoded, plain);
  }
  KURA_ASSERT_OK_AND_ASSIGN(std::string lower, Base32Decode("mzxw6ytboi======"));
  EXPECT_EQ(lower, "foobar");
  EXPECT_THAT(Base32Decode("MZ1W"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CryptoTest, Base64UrlAndHexRoundTrip) {
  const std::string bytes = std::string("\xfb\xff\x00\x01 kura", 9);
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  KURA_ASSERT_OK_AND_ASSIGN(std::string back, Base64UrlDecode(Base64UrlEncode(bytes)));
  EXPECT_EQ(back, bytes);
  EXPECT_THAT(Base64UrlDecode("ab+c"), StatusIs(absl::StatusCode::kInvalidArgument));
  KURA_ASSERT_OK_AND_ASSIGN(std::string hex_back, HexDecode(HexEncode(bytes)));
  EXPECT_EQ(hex_back, bytes);
  EXPECT_THAT(HexDecode("abc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(HexDecode("zz"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(CryptoTest, Ed25519MatchesRfc8032TestOneAndRefusesForgeries) {
  // RFC 8032 section 7.1, TEST 1 (empty message).
  KURA_ASSERT_OK_AND_ASSIGN(
      std::string secret,
      HexDecode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  KURA_ASSERT_OK_AND_ASSIGN(
      std::string public_key,
      HexDecode("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"));
  KURA_ASSERT_OK_AND_ASSIGN(std::string signature, Ed25519Sign(secret, ""));
  EXPECT_EQ(HexEncode(signature),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46bd25bf5f0595bbe24655141438e7a100b");
  EXPECT_THAT(Ed25519Verify(public_key, "", signature), IsOk());

  KURA_ASSERT_OK_AND_ASSIGN(Ed25519KeyPair pair, Ed25519GenerateKeyPair());
  KURA_ASSERT_OK_AND_ASSIGN(std::string sig, Ed25519Sign(pair.private_key, "kura"));
  EXPECT_THAT(Ed25519Verify(pair.public_key, "kura", sig), IsOk());
  EXPECT_THAT(Ed25519Verify(pair.public_key, "kurb", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Ed25519Verify(public_key, "kura", sig),
              StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(Ed25519Verify("short", "kura", sig), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kura
