#pragma once

// The reader interface behind which a schema's tables sit. CSV is the embedded default
// (csv_reader.h); other formats implement TableReader the same way.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kura::disclosure {

// Receives the records of one part of a table.
class RowVisitor {
 public:
  virtual ~RowVisitor() = default;
  // Called once per data record, in file order within a part, with one view per column. The
  // views stay valid as long as the reader that produced them. A non-OK status stops the scan;
  // the reader prefixes its message with the file and line of the record.
  virtual absl::Status OnRow(absl::Span<const absl::string_view> fields) = 0;
};

// A table split into parts that can be scanned independently. The header is read at open.
// Scanning different parts from different threads at the same time is safe; scanning the same
// part twice concurrently is not.
class TableReader {
 public:
  virtual ~TableReader() = default;
  virtual const std::string& path() const = 0;
  virtual const std::vector<std::string>& columns() const = 0;
  virtual int part_count() const = 0;
  // Size of a part in bytes, for sizing buffers.
  virtual size_t part_bytes(int part) const = 0;
  // Visits every record of `part` (0 <= part < part_count()). Malformed records give
  // InvalidArgument naming the file, line and field.
  virtual absl::Status ScanPart(int part, RowVisitor& visitor) = 0;

  // Tells the reader that the caller is done reading in bulk: its memory may be given back.
  // Views it produced stay valid. The default does nothing.
  virtual void ReleaseResidentData() {}

  // Index of `column` in columns(), or -1.
  int ColumnIndex(absl::string_view column) const;
};

}  // namespace kura::disclosure
