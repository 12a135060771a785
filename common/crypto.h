#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura {

// SHA-256 of `data` as 64 lowercase hex digits. Thread-safe.
std::string Sha256Hex(absl::string_view data);

// SHA-256 over data given in pieces. Thread-compatible; movable, not copyable.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(Sha256Hasher&& other) noexcept;
  Sha256Hasher& operator=(Sha256Hasher&& other) noexcept;

  void Update(absl::string_view data);
  // The digest of everything given, as 64 lowercase hex digits; the hasher starts over.
  std::string FinishHex();

 private:
  void* ctx_;  // EVP_MD_CTX
};

// SHA-256 of a file's contents, read in chunks. NotFound / PermissionDenied name the path.
absl::StatusOr<std::string> Sha256FileHex(const std::string& path);

// `size` bytes from the kernel's CSPRNG (OpenSSL RAND_bytes). Thread-safe.
absl::StatusOr<std::string> RandomBytes(size_t size);

// Lowercase hex of arbitrary bytes.
std::string HexEncode(absl::string_view bytes);

// HMAC of `data` under `key` with the named digest ("SHA1", "SHA256"). InvalidArgument for an
// unknown digest. Thread-safe.
absl::StatusOr<std::string> Hmac(absl::string_view digest, absl::string_view key,
                                 absl::string_view data);

// Compares two byte strings in time that depends only on their lengths (CRYPTO_memcmp), so a
// secret's prefix cannot be found by timing.
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

// RFC 4648 base32 with the standard alphabet, no padding (as authenticator apps expect).
std::string Base32Encode(absl::string_view bytes);
// Accepts upper or lower case, ignores '=' padding and spaces. InvalidArgument on other characters.
absl::StatusOr<std::string> Base32Decode(absl::string_view text);

// RFC 4648 base64url without padding; the decoder refuses characters outside that alphabet.
std::string Base64UrlEncode(absl::string_view bytes);
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text);

// Lowercase or uppercase hex to bytes. InvalidArgument on odd length or a non-hex character.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

// AES-256-GCM with a fresh random 96-bit nonce per call. Returns nonce (12 bytes) ‖ ciphertext ‖
// tag (16 bytes). `aad` is authenticated but not encrypted: AesGcmOpen must be given the same.
// InvalidArgument when `key` is not 32 bytes. Thread-safe.
inline constexpr size_t kAesGcmKeySize = 32;
inline constexpr size_t kAesGcmNonceSize = 12;
inline constexpr size_t kAesGcmTagSize = 16;
absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view plaintext,
                                       absl::string_view aad);

// The plaintext of what AesGcmSeal returned under the same `key` and `aad`. InvalidArgument when
// `key` is not 32 bytes; DataLoss when `sealed` is too short, was changed, or was sealed under
// another key or `aad` (GCM cannot tell these apart). Thread-safe.
absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view sealed,
                                       absl::string_view aad);

// An Ed25519 key pair as raw 32-byte strings (RFC 8032 encodings).
struct Ed25519KeyPair {
  std::string private_key;
  std::string public_key;
};

// Generates a fresh key pair from the CSPRNG.
absl::StatusOr<Ed25519KeyPair> Ed25519GenerateKeyPair();

// Signs `message` with a raw 32-byte private key; returns the 64-byte signature.
absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message);

// OK when `signature` is a valid Ed25519 signature of `message` under the raw 32-byte public
// key; Unauthenticated when it is not; InvalidArgument when the key is malformed.
absl::Status Ed25519Verify(absl::string_view public_key, absl::string_view message,
                           absl::string_view signature);

}  // namespace kura
