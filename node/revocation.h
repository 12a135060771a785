#pragma once

// The certificate revocation list a node enforces on the gateway (`kura-node serve --crl`).
// The list comes from the operator, signed by kura's CA (`kura-admin pki crl`), never from the
// gateway: a thief holding the gateway's key would not pass on its revocation.
//
// CertificateRevocation owns the list in force. Check() is called on every call from the
// gateway and on every answer from the gateway's NodeRegistry; at most once per
// `reload_period` it reads the file again (a few KiB) and, when its bytes changed, verifies
// it. (Bytes, not stat(2): a replacement can reuse the inode, size and a coarse mtime.) A
// replacement that does not verify (malformed, another CA, expired, or older than the list in
// force) is logged once and ignored: the last good list stays. Once the list in force is past
// its nextUpdate every check fails (fail closed) until a fresh list is installed. Thread-safe.

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "gateway/crl.h"

namespace kura::node {

class CertificateRevocation final {
 public:
  struct Options {
    std::string crl_path;  // the CRL file, PEM
    std::string ca_pem;    // kura's CA: the only signer accepted
    absl::Duration reload_period = absl::Seconds(5);
  };

  // Reads and verifies the file. The errors of gateway::VerifyRevocationList (InvalidArgument,
  // Unauthenticated, FailedPrecondition), or NotFound/PermissionDenied for the file, each
  // prefixed with the path: the node must not start on them.
  static absl::StatusOr<std::unique_ptr<CertificateRevocation>> Load(Options options);

  // OK when a certificate with `serial` (PeerIdentity::serial) is not revoked. Unauthenticated
  // "the <who>'s certificate (serial X) is revoked", or, once the list has expired and no
  // fresh one has arrived, Unauthenticated saying so.
  absl::Status Check(absl::string_view serial, absl::string_view who);

 private:
  CertificateRevocation(Options options, gateway::RevocationList list, std::string pem);

  // Verifies `pem`, read from the file, at `now`; errors name the file.
  static absl::StatusOr<gateway::RevocationList> Verify(const Options& options,
                                                        absl::string_view pem, absl::Time now);
  void MaybeReload(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Mutex mu_;
  gateway::RevocationList list_ ABSL_GUARDED_BY(mu_);
  std::string pem_ ABSL_GUARDED_BY(mu_);  // the file as last read, good or not
  absl::Time last_read_ ABSL_GUARDED_BY(mu_);
  bool expiry_logged_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace kura::node
