// `kura export download` and `kura review get` on disk: a streamed release written in chunks
// verifies with gateway::VerifyReleaseDir; unsafe paths, wrong sizes or hashes and broken
// streams leave nothing behind. Real files in a temporary directory, real Ed25519 keys.

#include "cli/release_download.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/release.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/status_matchers.h"

namespace kura::cli {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

struct SourceFile {
  std::string path;
  std::string data;
};

class ReleaseWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kura-release-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    auto keys = Ed25519GenerateKeyPair();
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
    files_ = {{"t1.csv", "prefecture,sex,value\n01,F,41\n01,M,45\n"},
              {"figs/plot.png", std::string("\x89PNG\r\n\x1a\n", 8) + std::string(3000, 'p')},
              {"empty.txt", ""}};
  }
  void TearDown() override { fs::remove_all(root_); }

  // The header of a release of `files_`, signed with `keys_`.
  kura::v1::ReleaseChunk Header(const std::vector<std::string>& extra_paths = {}) {
    nlohmann::json listed = nlohmann::json::array();
    for (const SourceFile& f : files_) {
      listed.push_back({{"path", f.path}, {"size", f.data.size()}, {"sha256", Sha256Hex(f.data)}});
    }
    for (const std::string& path : extra_paths) {
      listed.push_back({{"path", path}, {"size", 1}, {"sha256", Sha256Hex("x")}});
    }
    nlohmann::json manifest = {{"format", "kura-release-1"}, {"files", listed}};
    kura::v1::ReleaseChunk chunk;
    chunk.mutable_header()->set_manifest_json(manifest.dump(2) + "\n");
    chunk.mutable_header()->set_signature(
        *Ed25519Sign(keys_.private_key, chunk.header().manifest_json()));
    chunk.mutable_header()->set_public_key(keys_.public_key);
    return chunk;
  }

  // `data` as file chunks of at most `piece` bytes; the first names the path, size and hash.
  static std::vector<kura::v1::ReleaseChunk> FileChunks(const std::string& path,
                                                        const std::string& data, size_t piece,
                                                        uint64_t size, const std::string& sha) {
    std::vector<kura::v1::ReleaseChunk> chunks;
    size_t at = 0;
    do {
      kura::v1::ReleaseChunk chunk;
      kura::v1::FileChunk* file = chunk.mutable_file();
      if (chunks.empty()) {
        file->set_path(path);
        file->set_size(size);
        file->set_sha256(sha);
      }
      file->set_data(data.substr(at, piece));
      at += piece;
      chunks.push_back(std::move(chunk));
    } while (at < data.size());
    return chunks;
  }

  std::vector<kura::v1::ReleaseChunk> Release(size_t piece = 1000) {
    std::vector<kura::v1::ReleaseChunk> chunks = {Header()};
    for (const SourceFile& f : files_) {
      for (auto& c : FileChunks(f.path, f.data, piece, f.data.size(), Sha256Hex(f.data))) {
        chunks.push_back(std::move(c));
      }
    }
    return chunks;
  }

  // Feeds `chunks` in order; the first error, or Finish's status.
  static absl::Status Feed(ReleaseWriter& writer,
                           const std::vector<kura::v1::ReleaseChunk>& chunks) {
    for (const auto& chunk : chunks) {
      absl::Status status = writer.Receive(chunk);
      if (!status.ok()) return status;
    }
    return writer.Finish().status();
  }

  // Everything under root_, relative.
  std::vector<std::string> Contents() {
    std::vector<std::string> found;
    for (const auto& entry : fs::recursive_directory_iterator(root_)) {
      found.push_back(fs::relative(entry.path(), root_).string());
    }
    return found;
  }

  std::string root_;
  Ed25519KeyPair keys_;
  std::vector<SourceFile> files_;
};

TEST_F(ReleaseWriterTest, AStreamedReleaseVerifies) {
  const std::string dir = root_ + "/rel";
  ReleaseWriter writer(dir);
  for (const auto& chunk : Release(/*piece=*/7)) ASSERT_THAT(writer.Receive(chunk), IsOk());
  absl::StatusOr<ReleaseSummary> summary = writer.Finish();
  ASSERT_THAT(summary, IsOk());
  EXPECT_EQ(summary->files, 3);
  EXPECT_EQ(summary->bytes, files_[0].data.size() + files_[1].data.size());
  EXPECT_THAT(gateway::VerifyReleaseDir(dir, keys_.public_key), IsOk());
  EXPECT_EQ(ReadAll(dir + "/files/figs/plot.png"), files_[1].data);
  EXPECT_EQ(ReadAll(dir + "/release.pub"), HexEncode(keys_.public_key) + "\n");
  EXPECT_EQ(ReadAll(dir + "/manifest.json"), Header().header().manifest_json());
}

TEST_F(ReleaseWriterTest, AnEmptyExistingDirectoryIsUsedAndLeftEmptyOnFailure) {
  const std::string dir = root_ + "/rel";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  {
    ReleaseWriter writer(dir);
    auto chunks = Release();
    chunks.pop_back();  // the stream breaks before the last file's last chunk
    chunks.pop_back();
    for (const auto& chunk : chunks) ASSERT_THAT(writer.Receive(chunk), IsOk());
  }  // destroyed without Finish, as when the gateway's stream fails
  EXPECT_TRUE(fs::is_directory(dir));
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST_F(ReleaseWriterTest, RefusesANonEmptyDirectoryAndKeepsWhatIsThere) {
  const std::string dir = root_ + "/rel";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  std::ofstream(dir + "/mine.txt") << "keep me";
  ReleaseWriter writer(dir);
  EXPECT_THAT(writer.Receive(Header()), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ReadAll(dir + "/mine.txt"), "keep me");
}

TEST_F(ReleaseWriterTest, UnsafePathsAreRefusedAndNothingIsLeft) {
  struct Case {
    std::string path;
    bool listed;  // in the manifest too, which Begin must already refuse
  };
  const std::vector<Case> cases = {
      {"../x", false},     {root_ + "/abs", false},  {"a/../../x", false},
      {"./t1.csv", false}, {"a//b", false},          {"", false},
      {"../x", true},      {root_ + "/abs", true},   {"../../x", false},
      {"../../x", true},   {"not-listed.csv", false}};
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path + (c.listed ? " (listed)" : ""));
    const std::string dir = root_ + "/rel";
    {
      ReleaseWriter writer(dir);
      std::vector<kura::v1::ReleaseChunk> chunks = {
          Header(c.listed ? std::vector<std::string>{c.path} : std::vector<std::string>{})};
      auto first = FileChunks(files_[0].path, files_[0].data, 10, files_[0].data.size(),
                              Sha256Hex(files_[0].data));
      chunks.insert(chunks.end(), first.begin(), first.end());
      auto bad = FileChunks(c.path, "x", 10, 1, Sha256Hex("x"));
      // An empty path continues the current file, so it is judged as t1.csv's extra byte.
      if (c.path.empty()) bad.front().mutable_file()->clear_path();
      chunks.insert(chunks.end(), bad.begin(), bad.end());
      absl::Status status = Feed(writer, chunks);
      EXPECT_FALSE(status.ok());
    }
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(fs::exists(root_ + "/x"));
    EXPECT_FALSE(fs::exists(root_ + "/abs"));
    EXPECT_TRUE(Contents().empty());
  }
}

TEST_F(ReleaseWriterTest, SizeAndHashMismatchesAreRefusedAndNothingIsLeft) {
  const SourceFile& f = files_[0];
  struct Case {
    std::string name;
    std::string sent;
    uint64_t size;
    std::string sha256;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"short", f.data.substr(0, 10), f.data.size(), Sha256Hex(f.data),
       "received 10 bytes, its first chunk announced"},
      {"long", f.data + "extra", f.data.size(), Sha256Hex(f.data), "more than the"},
      {"changed", std::string(f.data.size(), 'z'), f.data.size(), Sha256Hex(f.data),
       absl::StrCat("SHA-256 ", Sha256Hex(std::string(f.data.size(), 'z')),
                    ", its first chunk announced")},
      {"no hash", f.data, f.data.size(), "", "no SHA-256"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = root_ + "/rel";
    {
      ReleaseWriter writer(dir);
      std::vector<kura::v1::ReleaseChunk> chunks = {Header()};
      auto bad = FileChunks(f.path, c.sent, 4, c.size, c.sha256);
      chunks.insert(chunks.end(), bad.begin(), bad.end());
      // The second file's start is where the first one is judged at the latest.
      auto next = FileChunks(files_[2].path, "", 4, 0, Sha256Hex(""));
      chunks.insert(chunks.end(), next.begin(), next.end());
      absl::Status status = Feed(writer, chunks);
      EXPECT_FALSE(status.ok());
      EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
    }
    EXPECT_TRUE(Contents().empty());
  }
}

TEST_F(ReleaseWriterTest, AReleaseThatDoesNotVerifyIsRemoved) {
  kura::v1::ReleaseChunk header = Header();
  header.mutable_header()->set_public_key(Ed25519GenerateKeyPair()->public_key);
  std::vector<kura::v1::ReleaseChunk> chunks = Release();
  chunks[0] = header;
  ReleaseWriter writer(root_ + "/rel");
  EXPECT_THAT(Feed(writer, chunks),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("signature does not match")));
  EXPECT_TRUE(Contents().empty());
}

TEST_F(ReleaseWriterTest, AMissingFileIsRefused) {
  std::vector<kura::v1::ReleaseChunk> chunks = Release();
  chunks.pop_back();  // empty.txt: one chunk
  ReleaseWriter writer(root_ + "/rel");
  EXPECT_THAT(Feed(writer, chunks), StatusIs(absl::StatusCode::kDataLoss, HasSubstr("missing")));
  EXPECT_TRUE(Contents().empty());
}

TEST_F(ReleaseWriterTest, OutOfOrderChunksAreRefused) {
  std::vector<kura::v1::ReleaseChunk> chunks = Release();
  ReleaseWriter before_header(root_ + "/a");
  EXPECT_THAT(before_header.Receive(chunks[1]), StatusIs(absl::StatusCode::kInvalidArgument));
  ReleaseWriter twice(root_ + "/b");
  ASSERT_THAT(twice.Receive(chunks[0]), IsOk());
  EXPECT_THAT(twice.Receive(chunks[0]), StatusIs(absl::StatusCode::kInvalidArgument));
  ReleaseWriter repeated(root_ + "/c");
  chunks.push_back(chunks[1]);  // t1.csv again
  EXPECT_THAT(Feed(repeated, chunks),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_TRUE(Contents().empty());
}

TEST_F(ReleaseWriterTest, ReceiveFileNeverOverwritesAndChecksTheFile) {
  const std::string data = "a,b\n1,2\n";
  kura::v1::FileChunk first;
  first.set_size(data.size());
  first.set_sha256(Sha256Hex(data));
  first.set_data(data.substr(0, 3));
  const auto rest = [&, sent = false](kura::v1::FileChunk& chunk) mutable {
    if (sent) return false;
    chunk.set_data(data.substr(3));
    return sent = true;
  };
  const std::string path = root_ + "/one.csv";
  ASSERT_THAT(ReceiveFile(path, first, rest, 0600), IsOk());
  EXPECT_EQ(ReadAll(path), data);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  const auto nothing = [](kura::v1::FileChunk&) { return false; };
  EXPECT_THAT(ReceiveFile(path, first, nothing, 0600), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_EQ(ReadAll(path), data);

  const std::string cut = root_ + "/cut.csv";
  EXPECT_THAT(ReceiveFile(cut, first, nothing, 0600), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_FALSE(fs::exists(cut));
}

}  // namespace
}  // namespace kura::cli
