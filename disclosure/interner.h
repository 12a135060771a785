#pragma once

// Interning of field values to dense small integers, so that the recompute engine's hot loop
// compares and hashes integers instead of strings.

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace kura::disclosure {

// Maps strings to ids 0, 1, 2, ... in order of first sight. Strings of up to 15 bytes (almost
// every code, band and identifier) are packed into two machine words and compared as integers;
// longer ones are kept as views. The viewed bytes must outlive the interner. Thread-compatible.
class Interner {
 public:
  uint32_t Intern(absl::string_view s) {
    const uint32_t next = static_cast<uint32_t>(names_.size());
    if (s.size() <= 15) {
      auto [it, inserted] = short_.try_emplace(Pack(s), next);
      if (inserted) names_.push_back(s);
      return it->second;
    }
    auto [it, inserted] = long_.try_emplace(s, next);
    if (inserted) names_.push_back(s);
    return it->second;
  }

  size_t size() const { return names_.size(); }
  absl::string_view name(uint32_t id) const { return names_[id]; }
  const std::vector<absl::string_view>& names() const { return names_; }

 private:
  struct Packed {
    uint64_t a = 0;
    uint64_t b = 0;
    bool operator==(const Packed& o) const { return a == o.a && b == o.b; }
    template <typename H>
    friend H AbslHashValue(H h, const Packed& p) {
      return H::combine(std::move(h), p.a, p.b);
    }
  };

  static Packed Pack(absl::string_view s) {
    Packed p;
    std::memcpy(&p.a, s.data(), std::min<size_t>(8, s.size()));
    if (s.size() > 8) std::memcpy(&p.b, s.data() + 8, s.size() - 8);
    p.b |= static_cast<uint64_t>(s.size()) << 56;
    return p;
  }

  absl::flat_hash_map<Packed, uint32_t> short_;
  absl::flat_hash_map<absl::string_view, uint32_t> long_;
  std::vector<absl::string_view> names_;
};

}  // namespace kura::disclosure
