#include "node/revocation.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/pki_files.h"

namespace kura::node {
namespace {

std::string FormatUtc(absl::Time time) {
  return absl::FormatTime(absl::RFC3339_sec, time, absl::UTCTimeZone());
}

absl::Status Prefixed(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat(path, ": ", status.message()));
}

}  // namespace

CertificateRevocation::CertificateRevocation(Options options, gateway::RevocationList list,
                                             std::string pem)
    : options_(std::move(options)), list_(std::move(list)), pem_(std::move(pem)) {}

absl::StatusOr<gateway::RevocationList> CertificateRevocation::Verify(const Options& options,
                                                                      absl::string_view pem,
                                                                      absl::Time now) {
  absl::StatusOr<gateway::RevocationList> list =
      gateway::VerifyRevocationList(pem, options.ca_pem, now);
  if (!list.ok()) return Prefixed(options.crl_path, list.status());
  return list;
}

absl::StatusOr<std::unique_ptr<CertificateRevocation>> CertificateRevocation::Load(
    Options options) {
  KURA_ASSIGN_OR_RETURN(std::string pem, gateway::ReadTextFile(options.crl_path));
  absl::Time now = absl::Now();
  KURA_ASSIGN_OR_RETURN(gateway::RevocationList list, Verify(options, pem, now));
  KURA_LOG(Info) << "certificate revocation list " << options.crl_path << ": "
                 << list.revoked_serials.size() << " revoked serials, next update "
                 << FormatUtc(list.next_update);
  auto revocation = std::unique_ptr<CertificateRevocation>(
      new CertificateRevocation(std::move(options), std::move(list), std::move(pem)));
  absl::MutexLock lock(&revocation->mu_);
  revocation->last_read_ = now;
  return revocation;
}

void CertificateRevocation::MaybeReload(absl::Time now) {
  if (now - last_read_ < options_.reload_period) return;
  last_read_ = now;
  absl::StatusOr<std::string> pem = gateway::ReadTextFile(options_.crl_path);
  if (!pem.ok()) {
    // Reported once per disappearance, not on every check.
    if (!pem_.empty()) {
      KURA_LOG(Error) << "keeping the revocation list in force: " << pem.status();
    }
    pem_.clear();
    return;
  }
  if (*pem == pem_) return;
  pem_ = *std::move(pem);  // a bad replacement is reported once, not on every check
  absl::StatusOr<gateway::RevocationList> list = Verify(options_, pem_, now);
  if (list.ok() && list->this_update < list_.this_update) {
    // An older list may predate a revocation: installing it would undo that revocation.
    list = absl::FailedPreconditionError(
        absl::StrCat(options_.crl_path, ": issued ", FormatUtc(list->this_update),
                     ", before the list in force (", FormatUtc(list_.this_update), ")"));
  }
  if (!list.ok()) {
    KURA_LOG(Error) << "ignored a replaced revocation list, keeping the one in force: "
                    << list.status();
    return;
  }
  list_ = *std::move(list);
  expiry_logged_ = false;
  KURA_LOG(Info) << "reloaded the certificate revocation list " << options_.crl_path << ": "
                 << list_.revoked_serials.size() << " revoked serials, next update "
                 << FormatUtc(list_.next_update);
}

absl::Status CertificateRevocation::Check(absl::string_view serial, absl::string_view who) {
  absl::Time now = absl::Now();
  absl::MutexLock lock(&mu_);
  MaybeReload(now);
  if (now >= list_.next_update) {
    // Fail closed: past nextUpdate the list may be missing revocations made since.
    if (!expiry_logged_) {
      KURA_LOG(Error) << "THE CERTIFICATE REVOCATION LIST " << options_.crl_path << " EXPIRED AT "
                      << FormatUtc(list_.next_update)
                      << ": refusing every call until a fresh one (kura-admin pki crl) is "
                         "installed there";
      expiry_logged_ = true;
    }
    return absl::UnauthenticatedError(
        absl::StrCat("the node's certificate revocation list expired at ",
                     FormatUtc(list_.next_update), "; the node refuses calls until it is renewed"));
  }
  if (list_.revoked_serials.contains(serial)) {
    return absl::UnauthenticatedError(
        absl::StrCat("the ", who, "'s certificate (serial ", serial, ") is revoked"));
  }
  return absl::OkStatus();
}

}  // namespace kura::node
