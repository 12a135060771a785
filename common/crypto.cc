#include "common/crypto.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string Finish(EVP_MD_CTX* ctx) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

}  // namespace

std::string HexEncode(absl::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string Sha256Hex(absl::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new());
  // Allocation failure of a digest context is not recoverable; a broken invariant aborts.
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) std::abort();
  EVP_DigestUpdate(ctx.get(), data.data(), data.size());
  return Finish(ctx.get());
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new()) {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

Sha256Hasher::Sha256Hasher(Sha256Hasher&& other) noexcept : ctx_(other.ctx_) {
  other.ctx_ = nullptr;
}

Sha256Hasher& Sha256Hasher::operator=(Sha256Hasher&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

void Sha256Hasher::Update(absl::string_view data) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size());
}

std::string Sha256Hasher::FinishHex() {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  std::string hex = Finish(ctx);
  if (EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) != 1) std::abort();
  return hex;
}

absl::StatusOr<std::string> Sha256FileHex(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError("open", path);
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) std::abort();
  char buffer[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read", path);
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buffer, static_cast<size_t>(n));
  }
  return Finish(ctx.get());
}

absl::StatusOr<std::string> RandomBytes(size_t size) {
  std::string out(size, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(size)) != 1) {
    return absl::InternalError("RAND_bytes failed");
  }
  return out;
}

// ---- HMAC, encodings and Ed25519 ----------------------------------------------------------

namespace {

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

absl::StatusOr<std::string> Hmac(absl::string_view digest, absl::string_view key,
                                 absl::string_view data) {
  const EVP_MD* md = EVP_get_digestbyname(std::string(digest).c_str());
  if (md == nullptr) return absl::InvalidArgumentError("unknown HMAC digest");
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (HMAC(md, key.data(), static_cast<int>(key.size()), Bytes(data), data.size(), out, &length) ==
      nullptr) {
    return absl::InternalError("HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool ConstantTimeEquals(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Base32Encode(absl::string_view bytes) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

absl::StatusOr<std::string> Base32Decode(absl::string_view text) {
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=' || c == ' ') continue;
    char upper = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    const char* pos = std::strchr(kBase32Alphabet, upper);
    if (upper == '\0' || pos == nullptr) {
      return absl::InvalidArgumentError("invalid base32 character");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(pos - kBase32Alphabet);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view bytes) { return absl::WebSafeBase64Escape(bytes); }

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view text) {
  std::string out;
  // absl also takes '=' padding; kura never writes it, and refuses it like any stray character.
  if (absl::StrContains(text, '=') || !absl::WebSafeBase64Unescape(text, &out)) {
    return absl::InvalidArgumentError("invalid base64url character");
  }
  return out;
}

absl::StatusOr<std::string> HexDecode(absl::string_view hex) {
  if (hex.size() % 2 != 0) return absl::InvalidArgumentError("hex string of odd length");
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexValue(hex[i]);
    int lo = HexValue(hex[i + 1]);
    if (hi < 0 || lo < 0) return absl::InvalidArgumentError("invalid hex character");
    out.push_back(static_cast<char>(hi << 4 | lo));
  }
  return out;
}

absl::StatusOr<Ed25519KeyPair> Ed25519GenerateKeyPair() {
  PkeyCtx ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr));
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 || EVP_PKEY_keygen(ctx.get(), &raw) != 1) {
    return absl::InternalError("Ed25519 key generation failed");
  }
  Pkey key(raw);
  Ed25519KeyPair pair;
  pair.private_key.resize(32);
  pair.public_key.resize(32);
  size_t private_length = 32;
  size_t public_length = 32;
  if (EVP_PKEY_get_raw_private_key(key.get(),
                                   reinterpret_cast<unsigned char*>(pair.private_key.data()),
                                   &private_length) != 1 ||
      EVP_PKEY_get_raw_public_key(key.get(),
                                  reinterpret_cast<unsigned char*>(pair.public_key.data()),
                                  &public_length) != 1) {
    return absl::InternalError("Ed25519 key export failed");
  }
  return pair;
}

absl::StatusOr<std::string> Ed25519Sign(absl::string_view private_key, absl::string_view message) {
  if (private_key.size() != 32) {
    return absl::InvalidArgumentError("Ed25519 private key must be 32 bytes");
  }
  Pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, Bytes(private_key), 32));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return absl::InternalError("Ed25519 signing setup failed");
  }
  std::string signature(64, '\0');
  size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     Bytes(message), message.size()) != 1) {
    return absl::InternalError("Ed25519 signing failed");
  }
  signature.resize(length);
  return signature;
}

absl::Status Ed25519Verify(absl::string_view public_key, absl::string_view message,
                           absl::string_view signature) {
  if (public_key.size() != 32) {
    return absl::InvalidArgumentError("Ed25519 public key must be 32 bytes");
  }
  Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, Bytes(public_key), 32));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!key || !ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) {
    return absl::InvalidArgumentError("Ed25519 public key is not valid");
  }
  if (EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(), Bytes(message),
                       message.size()) != 1) {
    return absl::UnauthenticatedError("Ed25519 signature does not verify");
  }
  return absl::OkStatus();
}

// ---- AES-256-GCM ---------------------------------------------------------------------------

namespace {

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

unsigned char* MutableBytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

}  // namespace

absl::StatusOr<std::string> AesGcmSeal(absl::string_view key, absl::string_view plaintext,
                                       absl::string_view aad) {
  if (key.size() != kAesGcmKeySize) {
    return absl::InvalidArgumentError("an AES-256-GCM key is 32 bytes");
  }
  KURA_ASSIGN_OR_RETURN(std::string nonce, RandomBytes(kAesGcmNonceSize));
  std::string out = nonce;
  out.resize(kAesGcmNonceSize + plaintext.size() + kAesGcmTagSize);
  unsigned char* body = MutableBytes(out) + kAesGcmNonceSize;
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1 ||
      EVP_EncryptUpdate(ctx.get(), body, &length, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), body + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kAesGcmTagSize,
                          body + plaintext.size()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(absl::string_view key, absl::string_view sealed,
                                       absl::string_view aad) {
  if (key.size() != kAesGcmKeySize) {
    return absl::InvalidArgumentError("an AES-256-GCM key is 32 bytes");
  }
  if (sealed.size() < kAesGcmNonceSize + kAesGcmTagSize) {
    return absl::DataLossError("sealed data is shorter than an AES-GCM nonce and tag");
  }
  absl::string_view nonce = sealed.substr(0, kAesGcmNonceSize);
  absl::string_view ciphertext =
      sealed.substr(kAesGcmNonceSize, sealed.size() - kAesGcmNonceSize - kAesGcmTagSize);
  std::string tag(sealed.substr(sealed.size() - kAesGcmTagSize));
  std::string plaintext(ciphertext.size(), '\0');
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  int length = 0;
  int final_length = 0;
  if (!ctx ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, Bytes(key), Bytes(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &length, Bytes(aad), static_cast<int>(aad.size())) !=
          1 ||
      EVP_DecryptUpdate(ctx.get(), MutableBytes(plaintext), &length, Bytes(ciphertext),
                        static_cast<int>(ciphertext.size())) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kAesGcmTagSize, tag.data()) != 1) {
    return absl::InternalError("AES-256-GCM decryption setup failed");
  }
  // The tag is checked here; until it passes, nothing decrypted above may be used.
  if (EVP_DecryptFinal_ex(ctx.get(), MutableBytes(plaintext) + length, &final_length) != 1) {
    OPENSSL_cleanse(plaintext.data(), plaintext.size());
    return absl::DataLossError(
        "sealed data does not authenticate (changed, or sealed under another key or context)");
  }
  return plaintext;
}

}  // namespace kura
