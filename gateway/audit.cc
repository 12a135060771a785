#include "gateway/audit.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"

namespace kura::gateway {
namespace {

void AppendField(std::string& out, absl::string_view name, absl::string_view value) {
  absl::StrAppend(&out, name, "=", value.size(), ":", value, "\n");
}

AuditChainReport Broken(AuditChainReport report, int64_t seq, std::string problem) {
  report.intact = false;
  report.broken_seq = seq;
  report.problem = std::move(problem);
  return report;
}

}  // namespace

absl::StatusOr<std::string> CanonicalAuditDetails(absl::string_view details_json) {
  nlohmann::json details;
  try {
    details = nlohmann::json::parse(details_json.begin(), details_json.end());
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("audit details are not JSON: ", e.what()));
  }
  if (!details.is_object()) {
    return absl::InvalidArgumentError("audit details must be a JSON object");
  }
  return details.dump();
}

std::string AuditCanonicalForm(const AuditEvent& event) {
  std::string out = "kura-audit-v1\n";
  absl::StrAppend(&out, "seq=", event.seq, "\n");
  absl::StrAppend(&out, "time=", absl::ToUnixMicros(event.time), "\n");
  AppendField(out, "actor", event.entry.actor);
  AppendField(out, "action", event.entry.action);
  AppendField(out, "subject", event.entry.subject);
  AppendField(out, "outcome", event.entry.outcome);
  AppendField(out, "details", event.entry.details_json);
  absl::StrAppend(&out, "prev=", event.prev_hash, "\n");
  return out;
}

absl::StatusOr<AuditEvent> SealAuditEvent(int64_t seq, absl::string_view prev_hash,
                                          const AuditEntry& entry, absl::Time now) {
  if (entry.actor.empty() || entry.action.empty() || entry.outcome.empty()) {
    return absl::InvalidArgumentError("an audit event needs an actor, an action and an outcome");
  }
  AuditEvent event;
  event.seq = seq;
  event.time = absl::FromUnixMicros(absl::ToUnixMicros(now));
  event.entry = entry;
  KURA_ASSIGN_OR_RETURN(
      event.entry.details_json,
      CanonicalAuditDetails(entry.details_json.empty() ? "{}" : entry.details_json));
  event.prev_hash = std::string(prev_hash);
  event.hash = Sha256Hex(AuditCanonicalForm(event));
  return event;
}

AuditChainReport VerifyAuditChain(const std::vector<AuditEvent>& events,
                                  const std::optional<AuditAnchor>& anchor) {
  AuditChainReport report;
  int64_t expected_seq = 1;
  std::string prev_hash = kAuditGenesisHash;
  bool anchor_seen = false;
  for (const AuditEvent& event : events) {
    if (event.seq != expected_seq) {
      return Broken(
          report, expected_seq,
          event.seq > expected_seq
              ? absl::StrCat("events ", expected_seq, "..", event.seq - 1, " are missing (deleted)")
              : absl::StrCat("seq ", event.seq, " appears out of order"));
    }
    if (event.prev_hash != prev_hash) {
      return Broken(report, event.seq,
                    absl::StrCat("prev_hash is not the hash of event ", event.seq - 1,
                                 " (an event was deleted, inserted or reordered)"));
    }
    if (Sha256Hex(AuditCanonicalForm(event)) != event.hash) {
      return Broken(report, event.seq, "hash does not match the event's contents (edited)");
    }
    if (anchor.has_value() && anchor->seq == event.seq) {
      if (anchor->hash != event.hash) {
        return Broken(report, event.seq, "event differs from the recorded anchor");
      }
      anchor_seen = true;
    }
    ++report.events;
    prev_hash = event.hash;
    ++expected_seq;
  }
  if (anchor.has_value() && !anchor_seen) {
    return Broken(report, anchor->seq,
                  absl::StrCat("the anchored event ", anchor->seq,
                               " is gone (events at the end were deleted)"));
  }
  report.head_seq = expected_seq - 1;
  report.head_hash = prev_hash;
  return report;
}

}  // namespace kura::gateway
