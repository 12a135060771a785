#pragma once

// Text from the gateway and from reviewed files made safe and measurable for a terminal. A
// hostile file or comment must not drive the reviewer's terminal (escape sequences that move
// the cursor, rewrite lines, retitle the window or hide text) nor reorder what is shown (bidi
// overrides), so every such code is replaced by a visible escape. Pure functions.

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace kura::cli {

// What may stay as it is.
enum class TextKind {
  kCell,   // one table cell: tabs and newlines are escaped too
  kLine,   // one line: tabs stay
  kBlock,  // several lines: tabs and newlines stay
};

// `text` with every C0 control byte (other than those `kind` keeps), DEL, C1 control, bidi
// control and byte that is not valid UTF-8 replaced by an escape: "\x1b", "\u009b", "\u202e".
std::string Neutralize(absl::string_view text, TextKind kind = TextKind::kLine);

// Columns `text` (valid UTF-8 without controls, as Neutralize returns) takes in a terminal:
// East Asian wide characters count two.
size_t DisplayWidth(absl::string_view text);

// `text` cut to at most `width` columns, ending in "…" when it was cut.
std::string FitWidth(absl::string_view text, size_t width);

// `text` padded with spaces to `width` columns, on the right (left-aligned) or on the left.
std::string Pad(absl::string_view text, size_t width, bool align_right = false);

}  // namespace kura::cli
