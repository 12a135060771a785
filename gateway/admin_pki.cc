// kura-admin pki ...: creating the CA and issuing and revoking certificates.

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/admin_commands.h"
#include "gateway/crl.h"
#include "gateway/pki.h"
#include "gateway/pki_files.h"
#include "gateway/release.h"
#include "gateway/sqlite_store.h"

namespace kura::gateway::admin {
namespace {

absl::StatusOr<absl::Duration> Validity(const CommandContext& context, int default_days) {
  std::optional<std::string> days = context.args.Flag("days");
  if (!days.has_value()) return absl::Hours(24) * default_days;
  int value = 0;
  if (!absl::SimpleAtoi(*days, &value) || value <= 0 || value > 36500) {
    return absl::InvalidArgumentError(absl::StrCat("--days must be 1 to 36500, not '", *days, "'"));
  }
  return absl::Hours(24) * value;
}

// Issues, writes and reports one certificate; returns its identity.
absl::StatusOr<PeerIdentity> IssueAndWrite(CommandContext& context, CertificateRequest request) {
  KURA_ASSIGN_OR_RETURN(std::string dir, context.args.Required("dir"));
  KURA_ASSIGN_OR_RETURN(absl::Duration validity, Validity(context, 365));
  request.not_before = context.now - absl::Minutes(5);
  request.not_after = context.now + validity;
  request.dns_names = context.args.Flags("dns");
  request.ip_addresses = context.args.Flags("ip");
  KURA_ASSIGN_OR_RETURN(KeyAndCertificate ca, LoadCertificateAuthority(dir));
  KURA_ASSIGN_OR_RETURN(KeyAndCertificate issued, IssueCertificate(ca, request));
  PkiPaths paths = PeerPaths(dir, request.role, request.id);
  KURA_RETURN_IF_ERROR(WriteKeyAndCertificate(paths, issued));
  KURA_ASSIGN_OR_RETURN(PeerIdentity identity, ParsePeerIdentity(issued.certificate_pem));
  context.out << "issued " << PeerRoleName(identity.role) << " certificate for '" << identity.id
              << "'\n  certificate " << paths.certificate << "\n  key         " << paths.key
              << " (mode 0600)\n  serial      " << identity.serial << "\n  sha256      "
              << identity.fingerprint << "\n  valid until "
              << absl::FormatTime(absl::RFC3339_sec, identity.not_after, absl::UTCTimeZone())
              << "\n";
  return identity;
}

// Writes the CA's revocation list of every serial the store holds as revoked, valid from now
// for --days (7 by default), to --out or DIR/crl.pem; reports it and returns its audit details.
absl::StatusOr<nlohmann::json> WriteRevocationList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string dir, context.args.Required("dir"));
  std::string out = context.args.Flag("out").value_or(RevocationListPath(dir));
  KURA_ASSIGN_OR_RETURN(absl::Duration validity, Validity(context, 7));
  KURA_ASSIGN_OR_RETURN(std::vector<std::string> stored, context.store->ListRevokedSerials());
  std::vector<std::string> serials;
  for (const std::string& serial : stored) {
    // A serial that is not hex matches no certificate (the gateway compares the hex form), so
    // leaving it out changes nothing; refusing would block every later list.
    if (!CanonicalSerial(serial).ok()) {
      context.out << "skipped '" << serial << "': not a hexadecimal serial\n";
      continue;
    }
    serials.push_back(serial);
  }
  KURA_ASSIGN_OR_RETURN(KeyAndCertificate ca, LoadCertificateAuthority(dir));
  absl::Time next_update = context.now + validity;
  KURA_ASSIGN_OR_RETURN(std::string pem,
                        BuildRevocationList(ca, serials, context.now, next_update));
  KURA_RETURN_IF_ERROR(ReplaceFile(out, pem, 0644));
  std::string until = absl::FormatTime(absl::RFC3339_sec, next_update, absl::UTCTimeZone());
  context.out << "wrote the revocation list (" << serials.size() << " serials) to " << out
              << "\n  next update " << until
              << "\n(copy it to every node's --crl file before then: a node refuses all calls once"
                 " it expires)\n";
  return nlohmann::json{{"crl", out}, {"serials", serials.size()}, {"next_update", until}};
}

CommandOutcome IssuedOutcome(const PeerIdentity& identity) {
  nlohmann::json details = {{"serial", identity.serial},
                            {"fingerprint", identity.fingerprint},
                            {"not_after", absl::ToUnixSeconds(identity.not_after)}};
  if (identity.role == PeerRole::kTerminal) {
    details["class"] = std::string(TerminalClassName(identity.terminal_class));
  }
  return {absl::StrCat(PeerRoleName(identity.role), ":", identity.id), details.dump()};
}

}  // namespace

absl::StatusOr<CommandOutcome> PkiInit(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string dir, context.args.Required("dir"));
  KURA_ASSIGN_OR_RETURN(absl::Duration validity, Validity(context, 3650));
  KURA_RETURN_IF_ERROR(EnsureDirectory(dir));
  KURA_ASSIGN_OR_RETURN(KeyAndCertificate ca,
                        CreateCertificateAuthority("kura CA", context.now, validity));
  PkiPaths paths = CaPaths(dir);
  KURA_RETURN_IF_ERROR(WriteKeyAndCertificate(paths, ca));
  KURA_ASSIGN_OR_RETURN(Ed25519KeyPair release, LoadOrCreateReleaseKey(dir));
  KURA_RETURN_IF_ERROR(LoadSecretsKey(SecretsKeyPath(dir), /*create=*/true).status());
  context.out << "created kura's CA (ECDSA P-256)\n  certificate " << paths.certificate
              << "\n  key         " << paths.key << " (mode 0600; keep it offline)\n"
              << "created the release key (Ed25519) in " << dir
              << "/release.key; publish its public key, against which releases verify:\n  "
              << HexEncode(release.public_key) << "\n"
              << "the key sealing TOTP secrets is " << SecretsKeyPath(dir)
              << " (mode 0600; back it up apart from the store:\n"
              << "  without it no one logs in by TOTP)\n";
  return CommandOutcome{"pki:ca", nlohmann::json{{"dir", dir}}.dump()};
}

absl::StatusOr<CommandOutcome> PkiIssueGateway(CommandContext& context) {
  CertificateRequest request;
  request.role = PeerRole::kGateway;
  request.id = context.args.Flag("id").value_or("gateway");
  if (context.args.Flags("dns").empty() && context.args.Flags("ip").empty()) {
    return absl::InvalidArgumentError(
        "the gateway's certificate needs at least one --dns or --ip its clients connect to");
  }
  KURA_ASSIGN_OR_RETURN(PeerIdentity identity, IssueAndWrite(context, request));
  return IssuedOutcome(identity);
}

absl::StatusOr<CommandOutcome> PkiIssueNode(CommandContext& context) {
  CertificateRequest request;
  request.role = PeerRole::kNode;
  KURA_ASSIGN_OR_RETURN(request.id, context.args.Required("id"));
  KURA_ASSIGN_OR_RETURN(PeerIdentity identity, IssueAndWrite(context, request));
  return IssuedOutcome(identity);
}

absl::StatusOr<CommandOutcome> PkiIssueTerminal(CommandContext& context) {
  CertificateRequest request;
  request.role = PeerRole::kTerminal;
  KURA_ASSIGN_OR_RETURN(request.id, context.args.Required("id"));
  KURA_ASSIGN_OR_RETURN(std::string klass, context.args.Required("class"));
  KURA_ASSIGN_OR_RETURN(request.terminal_class, ParseTerminalClass(klass));
  KURA_ASSIGN_OR_RETURN(PeerIdentity identity, IssueAndWrite(context, request));
  if (context.store != nullptr) {
    TerminalRecord terminal;
    terminal.id = identity.id;
    terminal.terminal_class = identity.terminal_class;
    terminal.certificate_serial = identity.serial;
    terminal.registered = context.now;
    KURA_RETURN_IF_ERROR(context.store->AddTerminal(terminal));
    context.out << "registered terminal '" << identity.id << "' (" << klass << ")\n";
  }
  return IssuedOutcome(identity);
}

absl::StatusOr<CommandOutcome> PkiRevoke(CommandContext& context) {
  std::string serial = context.args.Flag("serial").value_or("");
  if (std::optional<std::string> cert = context.args.Flag("cert"); cert.has_value()) {
    KURA_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(*cert));
    KURA_ASSIGN_OR_RETURN(PeerIdentity identity, ParsePeerIdentity(pem));
    serial = identity.serial;
  }
  if (serial.empty()) return absl::InvalidArgumentError("give --serial HEX or --cert FILE");
  std::string reason = context.args.Flag("reason").value_or("revoked by an operator");
  KURA_RETURN_IF_ERROR(context.store->RevokeCertificate(serial, reason, context.now));
  KURA_ASSIGN_OR_RETURN(std::vector<TerminalRecord> terminals, context.store->ListTerminals());
  for (const TerminalRecord& terminal : terminals) {
    if (terminal.certificate_serial == serial) {
      KURA_RETURN_IF_ERROR(context.store->RevokeTerminal(terminal.id, context.now));
      context.out << "terminal '" << terminal.id << "' revoked\n";
    }
  }
  context.out << "certificate " << serial << " revoked\n";
  nlohmann::json details = {{"reason", reason}};
  if (context.args.Flag("dir").has_value()) {
    absl::StatusOr<nlohmann::json> crl = WriteRevocationList(context);
    if (!crl.ok()) {
      // The revocation stands (the gateway enforces it); only the nodes' copy is missing.
      return absl::Status(crl.status().code(),
                          absl::StrCat("certificate ", serial,
                                       " is revoked in the store, but the revocation list was "
                                       "not written (run `kura-admin pki crl`): ",
                                       crl.status().message()));
    }
    details["crl"] = *std::move(crl);
  } else {
    context.out << "(give --dir DIR, or run `kura-admin pki crl`, to publish it to the nodes)\n";
  }
  return CommandOutcome{absl::StrCat("certificate:", serial), details.dump()};
}

absl::StatusOr<CommandOutcome> PkiCrl(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(nlohmann::json details, WriteRevocationList(context));
  return CommandOutcome{"pki:crl", details.dump()};
}

absl::StatusOr<CommandOutcome> PkiRegisterBroker(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string dir, context.args.Required("dir"));
  KURA_ASSIGN_OR_RETURN(std::string hex, context.args.Required("public-key"));
  absl::StatusOr<std::string> key = HexDecode(hex);
  if (!key.ok() || key->size() != 32) {
    return absl::InvalidArgumentError(
        "--public-key must be the broker's raw Ed25519 public key: 64 hex digits");
  }
  std::string path = VdiBrokerKeyPath(dir);
  KURA_RETURN_IF_ERROR(WriteNewFile(path, absl::StrCat(HexEncode(*key), "\n"), 0644));
  context.out
      << "registered the VDI broker's key in " << path
      << "\n(the gateway reads it at start; to rotate, remove the file and register again)\n";
  return CommandOutcome{"vdi-broker", nlohmann::json{{"public_key", HexEncode(*key)}}.dump()};
}

}  // namespace kura::gateway::admin
