// Where the kura command takes its settings from: flags over the environment over config.json,
// paths relative to the configuration directory, and a token file nobody else can read.

#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>

#include "cli/config.h"
#include "gtest/gtest.h"
#include "tests/e2e/stack.h"

namespace kura::cli {
namespace {

class ClientConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    unsetenv("KURA_GATEWAY");
    unsetenv("KURA_CONFIG_DIR");
    std::ofstream(dir_.path() + "/config.json")
        << R"({"gateway": "from-file:1", "ca": "ca.crt", "cert": "/abs/t.crt",)"
        << R"( "key": "t.key", "user": "alice"})";
  }
  void TearDown() override {
    unsetenv("KURA_GATEWAY");
    unsetenv("KURA_CONFIG_DIR");
  }
  e2e::ScratchDir dir_;
};

TEST_F(ClientConfigTest, FileGivesDefaultsWithPathsRelativeToItsDirectory) {
  ConfigFlags flags;
  flags.config_dir = dir_.path();
  absl::StatusOr<ClientConfig> config = LoadClientConfig(flags);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->gateway, "from-file:1");
  EXPECT_EQ(config->ca_path, dir_.path() + "/ca.crt");
  EXPECT_EQ(config->cert_path, "/abs/t.crt");
  EXPECT_EQ(config->user, "alice");
}

TEST_F(ClientConfigTest, EnvironmentOverridesFileAndFlagsOverrideBoth) {
  setenv("KURA_CONFIG_DIR", dir_.path().c_str(), 1);
  setenv("KURA_GATEWAY", "from-env:2", 1);
  absl::StatusOr<ClientConfig> from_env = LoadClientConfig({});
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  EXPECT_EQ(from_env->config_dir, dir_.path());
  EXPECT_EQ(from_env->gateway, "from-env:2");
  ConfigFlags flags;
  flags.gateway = "from-flag:3";
  flags.key_path = "/flag.key";
  absl::StatusOr<ClientConfig> from_flags = LoadClientConfig(flags);
  ASSERT_TRUE(from_flags.ok());
  EXPECT_EQ(from_flags->gateway, "from-flag:3");
  EXPECT_EQ(from_flags->key_path, "/flag.key");
}

TEST_F(ClientConfigTest, MalformedFileIsRefusedByName) {
  std::ofstream(dir_.path() + "/config.json") << "[not an object";
  ConfigFlags flags;
  flags.config_dir = dir_.path();
  absl::StatusOr<ClientConfig> config = LoadClientConfig(flags);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ClientConfigTest, TokenIsSavedPrivatelyAndForgotten) {
  ClientConfig config;
  config.config_dir = dir_.path() + "/fresh";
  EXPECT_FALSE(LoadToken(config).ok());
  ASSERT_TRUE(SaveToken(config, "kura_secret").ok());
  struct stat st {};
  ASSERT_EQ(stat((config.config_dir + "/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(LoadToken(config).value_or(""), "kura_secret");
  ForgetToken(config);
  EXPECT_FALSE(LoadToken(config).ok());
}

}  // namespace
}  // namespace kura::cli
