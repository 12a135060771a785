#include "gateway/broker_assertion.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/pki.h"

namespace kura::gateway {
namespace {

absl::Status ValidateNonce(absl::string_view nonce) {
  bool ok = nonce.size() >= 16 && nonce.size() <= 128;
  for (char c : nonce) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_');
  }
  if (!ok) {
    return absl::InvalidArgumentError("assertion nonce must be 16 to 128 of [A-Za-z0-9_-]");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> BrokerAssertionSignedBytes(const BrokerAssertion& assertion) {
  KURA_RETURN_IF_ERROR(Annotate(ValidatePeerId(assertion.user), "assertion user"));
  KURA_RETURN_IF_ERROR(Annotate(ValidatePeerId(assertion.terminal_id), "assertion terminal"));
  KURA_RETURN_IF_ERROR(ValidateNonce(assertion.nonce));
  return absl::StrCat("kura-vdi-assertion-v1\nuser=", assertion.user,
                      "\nterminal=", assertion.terminal_id, "\ntime=", assertion.time_unix_seconds,
                      "\nnonce=", assertion.nonce, "\n");
}

std::string EncodeBrokerAssertion(const BrokerAssertion& assertion) {
  nlohmann::json json = {{"user", assertion.user},
                         {"terminal", assertion.terminal_id},
                         {"time", assertion.time_unix_seconds},
                         {"nonce", assertion.nonce},
                         {"signature", Base64UrlEncode(assertion.signature)}};
  return json.dump();
}

absl::StatusOr<BrokerAssertion> ParseBrokerAssertion(absl::string_view text) {
  BrokerAssertion assertion;
  std::string signature;
  try {
    nlohmann::json json = nlohmann::json::parse(text.begin(), text.end());
    assertion.user = json.at("user").get<std::string>();
    assertion.terminal_id = json.at("terminal").get<std::string>();
    if (!json.at("time").is_number_integer()) {
      return absl::InvalidArgumentError("assertion time must be an integer");
    }
    assertion.time_unix_seconds = json.at("time").get<int64_t>();
    assertion.nonce = json.at("nonce").get<std::string>();
    signature = json.at("signature").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("malformed broker assertion: ", e.what()));
  }
  absl::StatusOr<std::string> raw_signature = Base64UrlDecode(signature);
  if (!raw_signature.ok()) {
    return absl::InvalidArgumentError("assertion signature is not base64url");
  }
  assertion.signature = *std::move(raw_signature);
  return assertion;
}

absl::StatusOr<BrokerAssertion> SignBrokerAssertion(BrokerAssertion assertion,
                                                    absl::string_view broker_private_key) {
  KURA_ASSIGN_OR_RETURN(std::string bytes, BrokerAssertionSignedBytes(assertion));
  KURA_ASSIGN_OR_RETURN(assertion.signature, Ed25519Sign(broker_private_key, bytes));
  return assertion;
}

absl::Status CheckBrokerAssertion(const BrokerAssertion& assertion,
                                  absl::string_view broker_public_key, absl::string_view user,
                                  absl::string_view terminal_id, absl::Time now,
                                  absl::Duration max_age) {
  absl::StatusOr<std::string> bytes = BrokerAssertionSignedBytes(assertion);
  if (!bytes.ok()) return absl::UnauthenticatedError(bytes.status().message());
  absl::Status signature = Ed25519Verify(broker_public_key, *bytes, assertion.signature);
  if (absl::IsUnauthenticated(signature)) {
    return absl::UnauthenticatedError("the assertion is not signed by the registered VDI broker");
  }
  KURA_RETURN_IF_ERROR(signature);
  if (assertion.user != user) {
    return absl::UnauthenticatedError(
        absl::StrCat("the assertion vouches for '", assertion.user, "', not '", user, "'"));
  }
  if (assertion.terminal_id != terminal_id) {
    return absl::UnauthenticatedError(absl::StrCat("the assertion was made for terminal '",
                                                   assertion.terminal_id, "', not '", terminal_id,
                                                   "'"));
  }
  absl::Duration age = now - absl::FromUnixSeconds(assertion.time_unix_seconds);
  if (age > max_age) {
    return absl::UnauthenticatedError(absl::StrCat("the assertion is stale: made ",
                                                   absl::FormatDuration(age), " ago, more than ",
                                                   absl::FormatDuration(max_age)));
  }
  if (-age > max_age) {
    return absl::UnauthenticatedError(absl::StrCat("the assertion is dated ",
                                                   absl::FormatDuration(-age),
                                                   " in the future; check the broker's clock"));
  }
  return absl::OkStatus();
}

}  // namespace kura::gateway
