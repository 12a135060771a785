#include "disclosure/file_checks.h"

#include <algorithm>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace kura::disclosure {
namespace {

constexpr const char* kIdentifierNames[] = {
    "id",        "patientid",     "personid",   "subjectid",   "mrn",
    "nhsnumber", "name",          "fullname",   "firstname",   "lastname",
    "surname",   "address",       "phone",      "telephone",   "email",
    "birthdate", "dateofbirth",   "dob",        "insuranceno", "insurancenumber",
    "mynumber",  "hokenshabango", "kanjabango", "zipcode",     "postcode"};

std::string Normalize(absl::string_view name) {
  std::string out;
  for (char c : name) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)))
      out.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

bool IsDigits(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsCandidate(absl::string_view token) {
  if (token.size() < 2 || token.size() > 64) return false;
  bool letter = false, digit = false;
  for (char c : token) {
    letter = letter || absl::ascii_isalpha(static_cast<unsigned char>(c));
    digit = digit || absl::ascii_isdigit(static_cast<unsigned char>(c));
  }
  return (letter && digit) || (IsDigits(token) && token.size() >= 6);
}

// Words of free text: maximal runs of letters, digits, '_' and '-'.
template <typename Fn>
void ForEachWord(absl::string_view text, Fn fn) {
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && !(absl::ascii_isalnum(static_cast<unsigned char>(text[i])) ||
                                text[i] == '_' || text[i] == '-' || text[i] == '/'))
      ++i;
    size_t j = i;
    while (j < text.size() && (absl::ascii_isalnum(static_cast<unsigned char>(text[j])) ||
                               text[j] == '_' || text[j] == '-' || text[j] == '/'))
      ++j;
    if (j > i) fn(text.substr(i, j - i));
    i = j;
  }
}

Verdict ActionVerdict(RuleAction action) {
  return action == RuleAction::kFail
             ? Verdict::kFail
             : (action == RuleAction::kReview ? Verdict::kReview : Verdict::kPass);
}

class IdentifierScanner final : public RowVisitor {
 public:
  IdentifierScanner(std::vector<int> columns, const absl::flat_hash_set<std::string>& candidates)
      : columns_(std::move(columns)), candidates_(candidates) {}
  absl::Status OnRow(absl::Span<const absl::string_view> fields) override {
    for (int c : columns_) {
      const absl::string_view v = fields[static_cast<size_t>(c)];
      if (v.size() >= 2 && candidates_.contains(v)) found.insert(std::string(v));
    }
    return absl::OkStatus();
  }
  absl::flat_hash_set<std::string> found;

 private:
  std::vector<int> columns_;
  const absl::flat_hash_set<std::string>& candidates_;
};

}  // namespace

std::string FileExtension(absl::string_view path) {
  const size_t slash = path.rfind('/');
  const absl::string_view base = slash == absl::string_view::npos ? path : path.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == absl::string_view::npos || dot == 0) return "";
  return absl::AsciiStrToLower(base.substr(dot + 1));
}

FileKind KindOf(absl::string_view extension) {
  if (extension == "csv" || extension == "tsv") return FileKind::kTable;
  if (extension == "txt" || extension == "md") return FileKind::kText;
  if (extension == "json") return FileKind::kJson;
  if (extension == "png" || extension == "pdf") return FileKind::kFigure;
  return FileKind::kOther;
}

bool LooksLikeDayDate(absl::string_view t) {
  auto d = [&](size_t i) { return i < t.size() && t[i] >= '0' && t[i] <= '9'; };
  auto sep = [&](size_t i) { return i < t.size() && (t[i] == '-' || t[i] == '/' || t[i] == '.'); };
  // YYYY-MM-DD (or /, .)
  if (t.size() >= 10 && d(0) && d(1) && d(2) && d(3) && sep(4) && d(5) && d(6) && sep(7) && d(8) &&
      d(9))
    return true;
  // DD/MM/YYYY
  if (t.size() >= 10 && d(0) && d(1) && sep(2) && d(3) && d(4) && sep(5) && d(6) && d(7) && d(8) &&
      d(9))
    return true;
  // 2023年1月5日
  return absl::StrContains(t, "\xE5\xB9\xB4") && absl::StrContains(t, "\xE6\x9C\x88") &&
         absl::StrContains(t, "\xE6\x97\xA5");
}

std::vector<Finding> CheckTypeAndSize(absl::string_view path, absl::string_view content,
                                      const Policy& policy) {
  std::vector<Finding> out;
  const std::string ext = FileExtension(path);
  if (std::find(policy.allowed_types.begin(), policy.allowed_types.end(), ext) ==
      policy.allowed_types.end()) {
    out.push_back(
        {"file_type", Verdict::kFail,
         absl::StrCat("type \"", ext.empty() ? "(none)" : ext, "\" is not allowed (allowed: ",
                      absl::StrJoin(policy.allowed_types, ", "), ")")});
  } else if (ext == "png" && !absl::StartsWith(content, "\x89PNG\r\n\x1a\n")) {
    out.push_back({"file_type", Verdict::kFail, "named .png but its content is not a PNG image"});
  } else if (ext == "pdf" && !absl::StartsWith(content, "%PDF-")) {
    out.push_back({"file_type", Verdict::kFail, "named .pdf but its content is not a PDF"});
  } else if (KindOf(ext) != FileKind::kFigure && KindOf(ext) != FileKind::kOther &&
             content.find('\0') != absl::string_view::npos) {
    out.push_back({"file_type", Verdict::kFail, "a text file holding binary data (NUL bytes)"});
  }
  if (static_cast<int64_t>(content.size()) > policy.max_file_bytes) {
    out.push_back({"size", Verdict::kFail,
                   absl::StrCat(content.size(), " bytes > the cap of ", policy.max_file_bytes)});
  }
  return out;
}

std::vector<Finding> CheckTableContent(const CsvDocument& doc, const Schema& schema,
                                       const Policy& policy) {
  std::vector<Finding> out;
  if (static_cast<int64_t>(doc.rows.size()) > policy.max_rows) {
    out.push_back({"rows", Verdict::kFail,
                   absl::StrCat(doc.rows.size(), " rows > the cap of ", policy.max_rows)});
  }
  absl::flat_hash_set<std::string> identifiers(std::begin(kIdentifierNames),
                                               std::end(kIdentifierNames));
  for (const auto& table : schema.tables) {
    for (const auto& c : table.columns) {
      if (c.role == ColumnRole::kUnitId || c.role == ColumnRole::kHoldingId)
        identifiers.insert(Normalize(c.name));
    }
  }
  for (const auto& column : doc.header) {
    if (identifiers.contains(Normalize(column))) {
      out.push_back({"identifier_column", Verdict::kFail,
                     absl::StrCat("column \"", column, "\" is named like an identifier")});
    }
  }
  for (size_t r = 0; r < doc.rows.size(); ++r) {
    for (size_t c = 0; c < doc.rows[r].size(); ++c) {
      if (LooksLikeDayDate(doc.rows[r][c])) {
        if (policy.day_dates != RuleAction::kAllow) {
          out.push_back({"day_date", ActionVerdict(policy.day_dates),
                         absl::StrCat("line ", doc.lines[r], ", column ", doc.header[c], ": \"",
                                      doc.rows[r][c], "\" is a day-level date")});
        }
        return out;
      }
    }
  }
  return out;
}

std::vector<Finding> CheckTextContent(absl::string_view text, const Policy& policy) {
  std::vector<Finding> out;
  bool found = false;
  ForEachWord(text, [&](absl::string_view word) {
    if (!found && LooksLikeDayDate(word) && policy.day_dates != RuleAction::kAllow) {
      found = true;
      out.push_back({"day_date", ActionVerdict(policy.day_dates),
                     absl::StrCat("\"", word, "\" is a day-level date")});
    }
  });
  return out;
}

void CollectIdentifierCandidates(const CsvDocument& doc, absl::flat_hash_set<std::string>* out) {
  for (const auto& row : doc.rows) {
    for (const auto& field : row) {
      if (IsCandidate(field)) out->insert(field);
    }
  }
}

void CollectIdentifierCandidates(absl::string_view text, absl::flat_hash_set<std::string>* out) {
  ForEachWord(text, [&](absl::string_view word) {
    if (IsCandidate(word)) out->insert(std::string(word));
  });
}

absl::StatusOr<absl::flat_hash_set<std::string>> FindIdentifierValues(
    const Schema& schema, const absl::flat_hash_set<std::string>& candidates, int threads) {
  absl::flat_hash_set<std::string> found;
  if (candidates.empty()) return found;
  for (const auto& table : schema.tables) {
    KURA_ASSIGN_OR_RETURN(auto reader, CsvTableReader::Open(table.path, threads));
    std::vector<int> columns;
    for (const auto& c : table.columns) {
      if (c.role == ColumnRole::kUnitId || c.role == ColumnRole::kHoldingId)
        columns.push_back(reader->ColumnIndex(c.name));
    }
    if (columns.empty()) continue;
    std::vector<std::unique_ptr<IdentifierScanner>> scanners;
    std::vector<absl::Status> results(static_cast<size_t>(reader->part_count()));
    std::vector<std::thread> workers;
    for (int p = 0; p < reader->part_count(); ++p) {
      scanners.push_back(std::make_unique<IdentifierScanner>(columns, candidates));
      workers.emplace_back([&, p] {
        results[static_cast<size_t>(p)] = reader->ScanPart(p, *scanners[static_cast<size_t>(p)]);
      });
    }
    for (auto& w : workers) w.join();
    for (size_t p = 0; p < results.size(); ++p) {
      KURA_RETURN_IF_ERROR(results[p]);
      found.insert(scanners[p]->found.begin(), scanners[p]->found.end());
    }
  }
  return found;
}

}  // namespace kura::disclosure
