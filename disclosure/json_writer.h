#pragma once

// A small streaming JSON writer with two-space indentation, for reports with thousands of
// cells where building a document tree first would cost more than the check itself.
// Thread-compatible.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "disclosure/number.h"

namespace kura::disclosure {

class JsonWriter {
 public:
  // Objects and arrays; Key() names the next value inside an object.
  void BeginObject() { Open('{'); }
  void EndObject() { Close('}'); }
  void BeginArray() { Open('['); }
  void EndArray() { Close(']'); }
  void Key(absl::string_view key) {
    Separate();
    String(key, /*as_value=*/false);
    out_ += ": ";
    after_key_ = true;
  }

  void Value(absl::string_view s) { Separate(), String(s, true); }
  void Value(const char* s) { Value(absl::string_view(s)); }
  void Value(const std::string& s) { Value(absl::string_view(s)); }
  void Value(bool b) { Separate(), out_ += b ? "true" : "false"; }
  void Value(int64_t n) { Separate(), absl::StrAppend(&out_, n); }
  void Value(int n) { Value(static_cast<int64_t>(n)); }
  void Value(double d) { Separate(), out_ += FormatNumber(d); }
  void Null() { Separate(), out_ += "null"; }

  std::string Take() { return std::move(out_); }

 private:
  void Open(char c) {
    Separate();
    out_.push_back(c);
    first_.push_back(true);
  }
  void Close(char c) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) Newline();
    out_.push_back(c);
  }
  // Before a value or key: a comma unless first in its container, then a new line.
  void Separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (first_.empty()) return;
    if (!first_.back()) out_.push_back(',');
    first_.back() = false;
    Newline();
  }
  void Newline() {
    out_.push_back('\n');
    out_.append(2 * first_.size(), ' ');
  }
  void String(absl::string_view s, bool) {
    out_.push_back('"');
    for (char c : s) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_.push_back('\\');
        out_.push_back(c);
      } else if (u < 0x20) {
        static constexpr char kHex[] = "0123456789abcdef";
        out_ += "\\u00";
        out_.push_back(kHex[u >> 4]);
        out_.push_back(kHex[u & 15]);
      } else {
        out_.push_back(c);
      }
    }
    out_.push_back('"');
  }

  std::string out_;
  std::vector<bool> first_;
  bool after_key_ = false;
};

}  // namespace kura::disclosure
