#include "gateway/snapshot_spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/grpc_edge.h"
#include "grpcpp/grpcpp.h"

namespace kura::gateway {
namespace {

absl::StatusOr<UniqueFd> UnnamedFile(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir", dir);
  std::string name = dir + "/spool-XXXXXX";
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return ErrnoError("mkostemp", dir);
  if (::unlink(name.c_str()) != 0) return ErrnoError("unlink", name);
  return fd;
}

absl::Status WriteAll(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", "spooled file");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status Mismatch(const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(path, " no longer matches what was reviewed; not released"));
}

}  // namespace

absl::StatusOr<SpooledFile> SpoolSnapshotFile(kura::v1::NodeAgent::StubInterface& stub,
                                              const std::string& node,
                                              const std::string& snapshot_id,
                                              const std::string& path, uint64_t size,
                                              const std::string& sha256,
                                              const std::string& spool_dir, absl::Time deadline) {
  SpooledFile out{path, size, sha256, {}};
  KURA_ASSIGN_OR_RETURN(out.fd, UnnamedFile(spool_dir));
  kura::v1::NodeReadSnapshotFileRequest request;
  request.set_snapshot_id(snapshot_id);
  request.set_path(path);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(deadline));
  std::unique_ptr<grpc::ClientReaderInterface<kura::v1::NodeSnapshotFile>> reader =
      stub.ReadSnapshotFile(&context, request);
  Sha256Hasher hasher;
  uint64_t received = 0;
  bool too_long = false;
  kura::v1::NodeSnapshotFile chunk;
  while (reader->Read(&chunk)) {
    received += chunk.data().size();
    if (received > size) {
      too_long = true;
      context.TryCancel();
      break;
    }
    hasher.Update(chunk.data());
    KURA_RETURN_IF_ERROR(WriteAll(out.fd.get(), chunk.data()));
  }
  grpc::Status finished = reader->Finish();
  if (too_long) return Mismatch(path);
  KURA_RETURN_IF_ERROR(FromNodeStatus(node, finished));
  if (received != size || hasher.FinishHex() != sha256) return Mismatch(path);
  return out;
}

absl::Status SendSpooledFile(const SpooledFile& file,
                             absl::FunctionRef<bool(const kura::v1::FileChunk&)> send) {
  kura::v1::FileChunk chunk;
  chunk.set_path(file.path);
  chunk.set_size(file.size);
  chunk.set_sha256(file.sha256);
  std::vector<char> buffer(kFileChunkBytes);
  uint64_t offset = 0;
  do {
    size_t want = static_cast<size_t>(std::min<uint64_t>(kFileChunkBytes, file.size - offset));
    size_t got = 0;
    while (got < want) {
      ssize_t n =
          ::pread(file.fd.get(), buffer.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("pread", "spooled file");
      if (n == 0) return absl::DataLossError(absl::StrCat("spooled ", file.path, " is short"));
      got += static_cast<size_t>(n);
    }
    chunk.set_data(buffer.data(), got);
    if (!send(chunk)) return absl::UnavailableError("the client went away");
    offset += got;
    chunk.clear_size();
    chunk.clear_sha256();
  } while (offset < file.size);
  return absl::OkStatus();
}

}  // namespace kura::gateway
