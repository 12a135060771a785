#pragma once

// The PKI directory on disk, as `kura-admin pki` lays it out:
//   DIR/ca.crt, DIR/ca.key                      kura's CA
//   DIR/gateway.crt, DIR/gateway.key            the gateway's certificate
//   DIR/nodes/<id>.crt, DIR/nodes/<id>.key      node certificates
//   DIR/terminals/<id>.crt, DIR/terminals/<id>.key
//   DIR/vdi-broker.pub                          the VDI broker's Ed25519 public key, hex
//   DIR/crl.pem                                 the CA's latest certificate revocation list
// Keys are written mode 0600, certificates 0644; nothing is ever overwritten (AlreadyExists),
// so a second `pki init` cannot replace a CA that certificates already chain to. The one
// exception is the revocation list, which each `pki crl` replaces whole (ReplaceFile).
// Thread-compatible (plain file I/O).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/pki.h"

namespace kura::gateway {

// Reads a whole (small) file. NotFound / PermissionDenied name the path.
absl::StatusOr<std::string> ReadTextFile(const std::string& path);

// Creates `path` with `mode` and writes `contents`; AlreadyExists if it exists. The file is
// created with O_EXCL and the mode given to open(2), so a key is never readable by others,
// not even for an instant.
absl::Status WriteNewFile(const std::string& path, absl::string_view contents, mode_t mode);

// Replaces `path` with `contents` (mode `mode`) atomically: written and fsynced beside it,
// then renamed over it, so a reader sees the old file or the new one, never a part.
absl::Status ReplaceFile(const std::string& path, absl::string_view contents, mode_t mode);

// Creates `dir` (mode 0700) if missing; OK when it exists.
absl::Status EnsureDirectory(const std::string& dir);

// Paths of the files for one peer, e.g. {DIR/nodes/n1.crt, DIR/nodes/n1.key}.
struct PkiPaths {
  std::string certificate;
  std::string key;
};
PkiPaths CaPaths(const std::string& dir);
PkiPaths PeerPaths(const std::string& dir, PeerRole role, absl::string_view id);

// DIR/vdi-broker.pub: where `kura-admin pki register-broker` puts the broker's key.
std::string VdiBrokerKeyPath(const std::string& dir);

// DIR/crl.pem: where `kura-admin pki crl` writes the revocation list by default.
std::string RevocationListPath(const std::string& dir);

// Writes a key (0600) and its certificate (0644), creating parent directories.
absl::Status WriteKeyAndCertificate(const PkiPaths& paths, const KeyAndCertificate& pair);

// Reads the CA's key and certificate from `dir`.
absl::StatusOr<KeyAndCertificate> LoadCertificateAuthority(const std::string& dir);

}  // namespace kura::gateway
