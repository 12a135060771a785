#include "cli/terminal_text.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace kura::cli {
namespace {

// One decoded UTF-8 sequence: its code point and length; length 0 when the bytes at the
// start are not valid UTF-8 (bad lead or continuation byte, overlong form, surrogate, beyond
// U+10FFFF, or cut short).
struct CodePoint {
  uint32_t value = 0;
  size_t length = 0;
};

CodePoint Decode(absl::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  const uint8_t lead = byte(0);
  if (lead < 0x80) return {lead, 1};
  size_t length = 0;
  uint32_t value = 0;
  uint32_t min = 0;
  if ((lead & 0xe0) == 0xc0) {
    length = 2, value = lead & 0x1f, min = 0x80;
  } else if ((lead & 0xf0) == 0xe0) {
    length = 3, value = lead & 0x0f, min = 0x800;
  } else if ((lead & 0xf8) == 0xf0) {
    length = 4, value = lead & 0x07, min = 0x10000;
  } else {
    return {};
  }
  if (text.size() < length) return {};
  for (size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return {};
    value = (value << 6) | (byte(i) & 0x3f);
  }
  if (value < min || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) return {};
  return {value, length};
}

// Codes that reorder the text around them: shown, the bytes would not read as they are.
bool IsBidiControl(uint32_t c) {
  return c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
         (c >= 0x2066 && c <= 0x2069);
}

bool IsWide(uint32_t c) {
  return (c >= 0x1100 && c <= 0x115f) || (c >= 0x2e80 && c <= 0xa4cf && c != 0x303f) ||
         (c >= 0xac00 && c <= 0xd7a3) || (c >= 0xf900 && c <= 0xfaff) ||
         (c >= 0xfe30 && c <= 0xfe4f) || (c >= 0xff00 && c <= 0xff60) ||
         (c >= 0xffe0 && c <= 0xffe6) || (c >= 0x1f300 && c <= 0x1faff) ||
         (c >= 0x20000 && c <= 0x3fffd);
}

bool Keeps(TextKind kind, uint32_t c) {
  if (c == '\t') return kind != TextKind::kCell;
  if (c == '\n') return kind == TextKind::kBlock;
  return false;
}

}  // namespace

std::string Neutralize(absl::string_view text, TextKind kind) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    CodePoint c = Decode(text);
    if (c.length == 0) {
      absl::StrAppendFormat(&out, "\\x%02x", static_cast<uint8_t>(text[0]));
      text.remove_prefix(1);
      continue;
    }
    if ((c.value < 0x20 && !Keeps(kind, c.value)) || c.value == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c.value);
    } else if ((c.value >= 0x80 && c.value <= 0x9f) || IsBidiControl(c.value)) {
      absl::StrAppendFormat(&out, "\\u%04x", c.value);
    } else {
      out.append(text.data(), c.length);
    }
    text.remove_prefix(c.length);
  }
  return out;
}

size_t DisplayWidth(absl::string_view text) {
  size_t width = 0;
  while (!text.empty()) {
    CodePoint c = Decode(text);
    if (c.length == 0) c = {'?', 1};
    width += IsWide(c.value) ? 2 : 1;
    text.remove_prefix(c.length);
  }
  return width;
}

std::string FitWidth(absl::string_view text, size_t width) {
  if (DisplayWidth(text) <= width) return std::string(text);
  if (width == 0) return "";
  std::string out;
  size_t used = 0;
  while (!text.empty()) {
    CodePoint c = Decode(text);
    if (c.length == 0) c = {'?', 1};
    size_t w = IsWide(c.value) ? 2 : 1;
    if (used + w > width - 1) break;  // one column for the ellipsis
    out.append(text.data(), c.length);
    used += w;
    text.remove_prefix(c.length);
  }
  return out + "…";
}

std::string Pad(absl::string_view text, size_t width, bool align_right) {
  size_t used = DisplayWidth(text);
  std::string fill(used < width ? width - used : 0, ' ');
  return align_right ? fill + std::string(text) : std::string(text) + fill;
}

}  // namespace kura::cli
