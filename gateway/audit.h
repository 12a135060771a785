#pragma once

// The audit log's hash chain, as pure functions: how an event is sealed (its hash over a
// canonical serialisation that includes the previous event's hash) and how a chain is
// verified. Storage is the store's (Store::AppendAuditEvent / ListAuditEvents); the format is
// documented in docs/audit.md. Thread-safe.
//
// Canonical form hashed with SHA-256 (each text field as <byte length>:<bytes>, so no field
// can bleed into the next):
//   kura-audit-v1\n seq=<decimal>\n time=<unix microseconds>\n actor=<n>:<bytes>\n
//   action=<n>:<bytes>\n subject=<n>:<bytes>\n outcome=<n>:<bytes>\n details=<n>:<json>\n
//   prev=<64 hex>\n
// `details` is the JSON object as stored: compact, keys sorted (nlohmann's dump()).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/records.h"

namespace kura::gateway {

// prev_hash of the first event.
inline constexpr char kAuditGenesisHash[] =
    "0000000000000000000000000000000000000000000000000000000000000000";

// Re-serialises a details object compactly with sorted keys. InvalidArgument when
// `details_json` is not a JSON object.
absl::StatusOr<std::string> CanonicalAuditDetails(absl::string_view details_json);

// The canonical bytes hashed for `event` (its own `hash` field is not part of them).
std::string AuditCanonicalForm(const AuditEvent& event);

// Builds event `seq` following an event whose hash is `prev_hash`: time truncated to
// microseconds, details made canonical, hash computed.
absl::StatusOr<AuditEvent> SealAuditEvent(int64_t seq, absl::string_view prev_hash,
                                          const AuditEntry& entry, absl::Time now);

// A point of the chain an operator wrote down earlier (e.g. from `kura-admin audit verify`);
// it lets a verification notice that events at the end were cut off.
struct AuditAnchor {
  int64_t seq = 0;
  std::string hash;
};

struct AuditChainReport {
  bool intact = true;
  int64_t events = 0;      // how many were checked
  int64_t broken_seq = 0;  // the first seq at which the chain breaks (when !intact)
  std::string problem;     // what is wrong there, in words
  int64_t head_seq = 0;    // the last event's seq and hash (when intact)
  std::string head_hash = kAuditGenesisHash;
};

// Walks `events` (in stored seq order) and reports the first break: a seq gap (deleted),
// a prev_hash that is not the predecessor's hash (deleted, inserted or reordered), or a hash
// that does not match the event's contents (edited). With `anchor`, also checks that the
// event at anchor.seq still exists with that hash.
AuditChainReport VerifyAuditChain(const std::vector<AuditEvent>& events,
                                  const std::optional<AuditAnchor>& anchor = std::nullopt);

}  // namespace kura::gateway
