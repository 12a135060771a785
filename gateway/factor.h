#pragma once

// Second factors behind one interface. Login = terminal certificate + user name + one factor.
//
//   TotpFactor              RFC 6238 code (totp.h); each step accepted once per user.
//   BrokerAssertionFactor   the VDI broker's signed statement (broker_assertion.h); fresh
//                           within 60 s, each nonce accepted once.
//
// A factor only says yes or no and consumes what it accepted; counting failures, backing off
// and locking are the Authenticator's (login.h, login_guard.h), and so is what the caller is
// told: a factor's reasons are precise (no such user, wrong code, replay) and go to the audit
// log only. For a name that is no user a factor does the work it does for a user (TotpFactor
// computes and compares codes against a stand-in secret), so time does not tell them apart.
// Implementations are thread-safe (their state is in the store, which is).

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/store.h"
#include "gateway/totp.h"

namespace kura::gateway {

// Who claims to be logging in, where and when.
struct FactorChallenge {
  std::string user;
  std::string terminal_id;
  absl::Time now;
};

class SecondFactor {
 public:
  virtual ~SecondFactor() = default;
  // "totp" or "vdi-broker": what a login request names.
  virtual absl::string_view Name() const = 0;
  // OK when `proof` proves the challenge, after recording its use so it can never be
  // presented again. Unauthenticated with the precise reason, or AlreadyExists when the proof
  // was already used (a replay); any other error (Internal: the store, or the key sealing TOTP
  // secrets) is a failure of the gateway.
  virtual absl::Status Verify(const FactorChallenge& challenge, absl::string_view proof) = 0;
};

class TotpFactor final : public SecondFactor {
 public:
  explicit TotpFactor(Store& store, TotpParameters params = {})
      : store_(store), params_(std::move(params)) {}
  absl::string_view Name() const override { return "totp"; }
  absl::Status Verify(const FactorChallenge& challenge, absl::string_view proof) override;

 private:
  Store& store_;
  TotpParameters params_;
};

class BrokerAssertionFactor final : public SecondFactor {
 public:
  // `broker_public_key`: the broker's raw 32-byte Ed25519 public key.
  BrokerAssertionFactor(Store& store, std::string broker_public_key,
                        absl::Duration max_age = absl::Seconds(60))
      : store_(store), broker_public_key_(std::move(broker_public_key)), max_age_(max_age) {}
  absl::string_view Name() const override { return "vdi-broker"; }
  absl::Status Verify(const FactorChallenge& challenge, absl::string_view proof) override;

 private:
  Store& store_;
  std::string broker_public_key_;
  absl::Duration max_age_;
};

}  // namespace kura::gateway
