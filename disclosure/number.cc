#include "disclosure/number.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>

namespace kura::disclosure {
namespace {

constexpr double kPowersOfTen[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

absl::string_view Trim(absl::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// The common case, "-?digits(.digits)?" with at most 15 significant digits, is exact: both the
// integer mantissa and the power of ten are exact doubles, and one division rounds correctly.
bool ParseSimpleDecimal(absl::string_view s, double* value) {
  size_t i = 0;
  bool negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) negative = s[i++] == '-';
  uint64_t mantissa = 0;
  int digits = 0;
  int fraction = 0;
  bool seen_point = false;
  bool any = false;
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      if (digits > 0 || c != '0') ++digits;
      if (digits > 15) return false;
      mantissa = mantissa * 10 + static_cast<uint64_t>(c - '0');
      if (seen_point) ++fraction;
      any = true;
    } else if (c == '.' && !seen_point) {
      seen_point = true;
    } else {
      return false;
    }
  }
  if (!any || fraction > 22) return false;
  double v = static_cast<double>(mantissa) / kPowersOfTen[fraction];
  *value = negative ? -v : v;
  return true;
}

}  // namespace

bool IsMissing(absl::string_view field) {
  field = Trim(field);
  return field.empty() || field == "NA" || field == "N/A" || field == "NaN" || field == "nan" ||
         field == "null" || field == "NULL" || field == "None";
}

bool ParseNumber(absl::string_view field, double* value) {
  field = Trim(field);
  if (field.empty()) return false;
  if (field.size() <= 22 && ParseSimpleDecimal(field, value)) return true;
  const char* begin = field.data();
  if (*begin == '+') ++begin;
  double parsed = 0;
  auto [end, ec] = std::from_chars(begin, field.data() + field.size(), parsed);
  if (ec != std::errc() || end != field.data() + field.size() || !std::isfinite(parsed)) {
    return false;
  }
  *value = parsed;
  return true;
}

std::string FormatNumber(double value) {
  if (value == 0) return "0";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
  if (ec != std::errc()) return "nan";
  return std::string(buffer, end);
}

}  // namespace kura::disclosure
