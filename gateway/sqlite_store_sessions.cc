// SqliteStore: sessions, one-time nonces and the audit table.

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/audit.h"
#include "gateway/sqlite_store.h"
#include "gateway/sqlite_store_internal.h"

namespace kura::gateway {

using sqlite_internal::Micros;
using sqlite_internal::NotFound;
using sqlite_internal::Text;
using sqlite_internal::TimeAt;

namespace {

constexpr char kSessionColumns[] =
    "id, token_hash, user, terminal_id, terminal_fingerprint, created_us, last_used_us, revoked";

SessionRecord SessionFromRow(const SqlRow& row) {
  SessionRecord session;
  session.id = row.Int(0);
  session.token_hash = row.Text(1);
  session.user = row.Text(2);
  session.terminal_id = row.Text(3);
  session.terminal_fingerprint = row.Text(4);
  session.created = TimeAt(row, 5);
  session.last_used = TimeAt(row, 6);
  session.revoked = row.Int(7) != 0;
  return session;
}

AuditEvent AuditEventFromRow(const SqlRow& row) {
  AuditEvent event;
  event.seq = row.Int(0);
  event.time = TimeAt(row, 1);
  event.entry.actor = row.Text(2);
  event.entry.action = row.Text(3);
  event.entry.subject = row.Text(4);
  event.entry.outcome = row.Text(5);
  event.entry.details_json = row.Text(6);
  event.prev_hash = row.Text(7);
  event.hash = row.Text(8);
  return event;
}

}  // namespace

// ---- sessions -------------------------------------------------------------------------------

absl::StatusOr<int64_t> SqliteStore::CreateSession(const SessionRecord& session) {
  if (session.token_hash.size() != 64) {
    return absl::InvalidArgumentError("a session is stored by its token's SHA-256");
  }
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", session.user));
  KURA_RETURN_IF_ERROR(
      db_->Execute("INSERT INTO sessions (token_hash, user, terminal_id, terminal_fingerprint, "
                   "created_us, last_used_us, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                   {Text(session.token_hash), Text(session.user), Text(session.terminal_id),
                    Text(session.terminal_fingerprint), Micros(session.created),
                    Micros(session.last_used), int64_t{session.revoked}})
          .status());
  return db_->LastInsertRowId();
}

absl::StatusOr<SessionRecord> SqliteStore::GetSessionByTokenHash(absl::string_view token_hash) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kSessionColumns, " FROM sessions WHERE token_hash = ?"),
                 {Text(token_hash)}));
  // The hash is not echoed: it is as good as the token to anyone reading the logs.
  if (rows.empty()) return absl::NotFoundError("no such session");
  return SessionFromRow(rows[0]);
}

absl::StatusOr<std::vector<SessionRecord>> SqliteStore::ListSessions(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query(absl::StrCat("SELECT ", kSessionColumns,
                                                " FROM sessions WHERE user = ? "
                                                "ORDER BY id"),
                                   {Text(user)}));
  std::vector<SessionRecord> sessions;
  for (const SqlRow& row : rows) sessions.push_back(SessionFromRow(row));
  return sessions;
}

absl::Status SqliteStore::TouchSession(int64_t id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      int changed,
      db_->Execute("UPDATE sessions SET last_used_us = MAX(last_used_us, ?) WHERE id = ?",
                   {Micros(now), id}));
  if (changed == 0) return NotFound("session", absl::StrCat(id));
  return absl::OkStatus();
}

absl::Status SqliteStore::RevokeSession(int64_t id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(int changed,
                        db_->Execute("UPDATE sessions SET revoked = 1 WHERE id = ?", {id}));
  if (changed == 0) return NotFound("session", absl::StrCat(id));
  return absl::OkStatus();
}

absl::StatusOr<int> SqliteStore::RevokeUserSessions(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", user));
  return db_->Execute("UPDATE sessions SET revoked = 1 WHERE user = ? AND revoked = 0",
                      {Text(user)});
}

// ---- nonces ---------------------------------------------------------------------------------

absl::Status SqliteStore::ConsumeNonce(absl::string_view scope, absl::string_view nonce,
                                       absl::Time expires, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return db_->Transaction([&]() -> absl::Status {
    KURA_RETURN_IF_ERROR(
        db_->Execute("DELETE FROM nonces WHERE expires_us <= ?", {Micros(now)}).status());
    absl::Status inserted =
        db_->Execute("INSERT INTO nonces (scope, nonce, expires_us) VALUES (?, ?, ?)",
                     {Text(scope), Text(nonce), Micros(expires)})
            .status();
    if (absl::IsAlreadyExists(inserted)) {
      return absl::AlreadyExistsError("this nonce was already used (replay)");
    }
    return inserted;
  });
}

// ---- audit ----------------------------------------------------------------------------------

absl::StatusOr<AuditEvent> SqliteStore::AppendAuditEvent(const AuditEntry& entry, absl::Time now) {
  absl::MutexLock lock(&mu_);
  AuditEvent event;
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(
        std::vector<SqlRow> last,
        db_->Query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"));
    int64_t seq = last.empty() ? 1 : last[0].Int(0) + 1;
    std::string prev_hash = last.empty() ? std::string(kAuditGenesisHash) : last[0].Text(1);
    KURA_ASSIGN_OR_RETURN(event, SealAuditEvent(seq, prev_hash, entry, now));
    return db_
        ->Execute(
            "INSERT INTO audit_events (seq, time_us, actor, action, subject, "
            "outcome, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {event.seq, Micros(event.time), Text(event.entry.actor), Text(event.entry.action),
             Text(event.entry.subject), Text(event.entry.outcome), Text(event.entry.details_json),
             Text(event.prev_hash), Text(event.hash)})
        .status();
  }));
  return event;
}

absl::StatusOr<std::vector<AuditEvent>> SqliteStore::ListAuditEvents() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT seq, time_us, actor, action, subject, outcome, "
                                   "details, prev_hash, hash FROM audit_events ORDER BY seq"));
  std::vector<AuditEvent> events;
  events.reserve(rows.size());
  for (const SqlRow& row : rows) events.push_back(AuditEventFromRow(row));
  return events;
}

}  // namespace kura::gateway
