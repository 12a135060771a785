#pragma once

// Interning of field values to dense small integers, so that the recompute engine's hot loop
// compares and hashes integers instead of strings.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
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

namespace kura::disclosure {

// Interns identifiers (units, holdings). Identifiers of a dataset usually share one shape, a
// fixed prefix and a fixed number of digits ("P0049319"); the first one seen sets the shape, and
// every identifier of that shape is keyed by its number, a smaller and faster key than the
// string. Two different strings of the shape have different numbers, and a string's path
// depends only on the string, so ids stay exact. Ids are dense over both paths. The viewed
// bytes must outlive the interner. Thread-compatible.
class IdInterner {
 public:
  uint32_t Intern(absl::string_view s) {
    if (names_.empty()) SetShape(s);
    const uint32_t next = static_cast<uint32_t>(names_.size());
    uint32_t number = 0;
    if (MatchesShape(s, &number)) {
      if (number < kDirectSize) {
        if (!direct_) {
          direct_.reset(static_cast<uint32_t*>(std::calloc(kDirectSize, sizeof(uint32_t))));
          if (!direct_) std::abort();  // No address space for 64 MiB: nothing to recover.
        }
        uint32_t& slot = direct_.get()[number];
        if (slot == 0) {
          slot = next + 1;
          names_.push_back(s);
        }
        return slot - 1;
      }
      auto [it, inserted] = numbers_.try_emplace(number, next);
      if (inserted) names_.push_back(s);
      return it->second;
    }
    auto [it, inserted] = strings_.try_emplace(s, next);
    if (inserted) names_.push_back(s);
    return it->second;
  }

  size_t size() const { return names_.size(); }
  const std::vector<absl::string_view>& names() const { return names_; }
  void reserve(size_t n) { numbers_.reserve(n); }

 private:
  void SetShape(absl::string_view s) {
    size_t digits = 0;
    while (digits < s.size() && s[s.size() - 1 - digits] >= '0' && s[s.size() - 1 - digits] <= '9')
      ++digits;
    if (digits == 0 || digits > 9) return;
    digits_ = digits;
    prefix_.assign(s.data(), s.size() - digits);
  }

  bool MatchesShape(absl::string_view s, uint32_t* number) const {
    if (digits_ == 0 || s.size() != prefix_.size() + digits_) return false;
    if (!prefix_.empty() && std::memcmp(s.data(), prefix_.data(), prefix_.size()) != 0)
      return false;
    uint32_t n = 0;
    for (size_t i = prefix_.size(); i < s.size(); ++i) {
      const unsigned d = static_cast<unsigned char>(s[i]) - '0';
      if (d > 9) return false;
      n = n * 10 + d;
    }
    *number = n;
    return true;
  }

  // Numbers below kDirectSize index a table (id + 1, 0 for unseen) instead of a hash map. The
  // table is allocated zeroed and lazily by the kernel, so only the pages that numbers fall in
  // cost memory: 4 bytes per number in the used range.
  static constexpr uint32_t kDirectSize = 1u << 24;
  struct Free {
    void operator()(uint32_t* p) const { std::free(p); }
  };

  std::unique_ptr<uint32_t, Free> direct_;
  std::string prefix_;
  size_t digits_ = 0;  // 0: no shape, every identifier goes by its string.
  absl::flat_hash_map<uint32_t, uint32_t> numbers_;
  absl::flat_hash_map<absl::string_view, uint32_t> strings_;
  std::vector<absl::string_view> names_;
};

}  // namespace kura::disclosure
