#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura {

// SHA-256 of `data` as 64 lowercase hex digits. Thread-safe.
std::string Sha256Hex(absl::string_view data);

// SHA-256 of a file's contents, read in chunks. NotFound / PermissionDenied name the path.
absl::StatusOr<std::string> Sha256FileHex(const std::string& path);

// `size` bytes from the kernel's CSPRNG (OpenSSL RAND_bytes). Thread-safe.
absl::StatusOr<std::string> RandomBytes(size_t size);

// Lowercase hex of arbitrary bytes.
std::string HexEncode(absl::string_view bytes);

}  // namespace kura
