#include "disclosure/table_spec.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "disclosure/json_util.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

struct StatisticEntry {
  const char* name;
  Statistic statistic;
};
constexpr StatisticEntry kStatistics[] = {{"count", Statistic::kCount},
                                          {"sum", Statistic::kSum},
                                          {"mean", Statistic::kMean},
                                          {"median", Statistic::kMedian},
                                          {"min", Statistic::kMin},
                                          {"max", Statistic::kMax},
                                          {"std", Statistic::kStd},
                                          {"mode", Statistic::kMode},
                                          {"regression", Statistic::kRegression}};

absl::StatusOr<FilterOp> ParseOp(absl::string_view op, const std::string& where) {
  if (op == "=" || op == "==") return FilterOp::kEq;
  if (op == "!=") return FilterOp::kNe;
  if (op == "<") return FilterOp::kLt;
  if (op == "<=") return FilterOp::kLe;
  if (op == ">") return FilterOp::kGt;
  if (op == ">=") return FilterOp::kGe;
  if (op == "in") return FilterOp::kIn;
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unknown operator \"", op, "\" (expected = != < <= > >= in)"));
}

absl::StatusOr<std::string> ScalarText(const nlohmann::json& v, const std::string& where) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_number()) return FormatNumber(v.get<double>());
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": expected a string or a number, found ", v.type_name()));
}

absl::StatusOr<Filter> ParseFilter(const nlohmann::json& value, const std::string& where) {
  KURA_ASSIGN_OR_RETURN(JsonObject o, JsonObject::Of(value, where, {"column", "op", "value"}));
  Filter f;
  KURA_ASSIGN_OR_RETURN(f.column, o.GetString("column"));
  KURA_ASSIGN_OR_RETURN(std::string op, o.GetString("op"));
  KURA_ASSIGN_OR_RETURN(f.op, ParseOp(op, o.Path("op")));
  const nlohmann::json& v = o.Get("value");
  if (v.is_null()) return absl::InvalidArgumentError(absl::StrCat(o.Path("value"), ": missing"));
  if (f.op == FilterOp::kIn) {
    if (!v.is_array() || v.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(o.Path("value"), ": `in` takes a non-empty array"));
    }
    for (size_t i = 0; i < v.size(); ++i) {
      KURA_ASSIGN_OR_RETURN(std::string text,
                            ScalarText(v[i], absl::StrCat(o.Path("value"), "[", i, "]")));
      f.values.push_back(std::move(text));
    }
  } else {
    KURA_ASSIGN_OR_RETURN(std::string text, ScalarText(v, o.Path("value")));
    f.values.push_back(std::move(text));
  }
  f.numeric = true;
  for (const auto& text : f.values) {
    double d = 0;
    if (!ParseNumber(text, &d)) f.numeric = false;
    f.numbers.push_back(d);
  }
  return f;
}

absl::Status ParseStructuralZeros(const JsonObject& o, TableSpec* spec) {
  const nlohmann::json& zeros = o.Get("structural_zeros");
  if (zeros.is_null()) return absl::OkStatus();
  if (!zeros.is_array())
    return absl::InvalidArgumentError(
        absl::StrCat(o.Path("structural_zeros"), ": expected an array"));
  const std::vector<std::string> dims = spec->Dimensions();
  for (size_t i = 0; i < zeros.size(); ++i) {
    const std::string where = absl::StrCat(o.Path("structural_zeros"), "[", i, "]");
    KURA_ASSIGN_OR_RETURN(JsonObject z, JsonObject::Of(zeros[i], where));
    std::map<std::string, std::string> key;
    for (const auto& item : zeros[i].items()) {
      if (std::find(dims.begin(), dims.end(), item.key()) == dims.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ".", item.key(), ": not a dimension of this table"));
      }
      KURA_ASSIGN_OR_RETURN(key[item.key()], ScalarText(item.value(), z.Path(item.key())));
    }
    spec->structural_zeros.push_back(std::move(key));
  }
  return absl::OkStatus();
}

absl::Status ParseStatistic(const JsonObject& o, TableSpec* spec) {
  KURA_ASSIGN_OR_RETURN(std::string name, o.GetString("statistic"));
  const StatisticEntry* found = nullptr;
  for (const auto& entry : kStatistics) {
    if (name == entry.name) found = &entry;
  }
  if (found == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(o.Path("statistic"), ": unknown statistic \"", name,
                     "\" (expected count, sum, mean, median, min, max, std, mode or regression)"));
  }
  spec->statistic = found->statistic;
  if (spec->statistic == Statistic::kRegression) {
    KURA_ASSIGN_OR_RETURN(spec->value, o.GetString("dependent"));
    KURA_ASSIGN_OR_RETURN(spec->covariates, o.GetStringList("covariates"));
    if (spec->covariates.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(o.Path("covariates"), ": a regression needs at least one covariate"));
    }
  } else if (spec->statistic != Statistic::kCount) {
    KURA_ASSIGN_OR_RETURN(spec->value, o.GetString("value"));
  } else if (o.Has("value")) {
    return absl::InvalidArgumentError(
        absl::StrCat(o.Path("value"), ": count takes no value column (it counts distinct units)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view StatisticName(Statistic statistic) {
  for (const auto& entry : kStatistics) {
    if (entry.statistic == statistic) return entry.name;
  }
  return "count";
}

bool Filter::Matches(absl::string_view field) const {
  double x = 0;
  const bool as_number = numeric && ParseNumber(field, &x);
  auto compare = [&](size_t i) -> int {
    if (as_number) return x < numbers[i] ? -1 : (x > numbers[i] ? 1 : 0);
    const int c = field.compare(values[i]);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  };
  switch (op) {
    case FilterOp::kEq:
      return compare(0) == 0;
    case FilterOp::kNe:
      return compare(0) != 0;
    case FilterOp::kLt:
      return compare(0) < 0;
    case FilterOp::kLe:
      return compare(0) <= 0;
    case FilterOp::kGt:
      return compare(0) > 0;
    case FilterOp::kGe:
      return compare(0) >= 0;
    case FilterOp::kIn:
      for (size_t i = 0; i < values.size(); ++i) {
        if (compare(i) == 0) return true;
      }
      return false;
  }
  return false;
}

std::vector<std::string> TableSpec::Dimensions() const {
  std::vector<std::string> dims = rows;
  dims.insert(dims.end(), cols.begin(), cols.end());
  return dims;
}

bool TableSpec::IsStructuralZero(const std::vector<std::string>& key) const {
  const std::vector<std::string> dims = Dimensions();
  for (const auto& zero : structural_zeros) {
    bool all = true;
    for (size_t d = 0; d < dims.size() && all; ++d) {
      auto it = zero.find(dims[d]);
      if (it != zero.end() && it->second != key[d]) all = false;
    }
    if (all) return true;
  }
  return false;
}

absl::StatusOr<TableSpec> ParseTableSpec(absl::string_view json_text, absl::string_view source) {
  KURA_ASSIGN_OR_RETURN(nlohmann::json json, ParseJson(json_text, source));
  KURA_ASSIGN_OR_RETURN(JsonObject o,
                        JsonObject::Of(json, std::string(source),
                                       {"schema", "table", "output", "rows", "cols", "statistic",
                                        "value", "dependent", "covariates", "filter",
                                        "structural_zeros", "tolerance", "description"}));
  TableSpec spec;
  spec.source = std::string(source);
  KURA_ASSIGN_OR_RETURN(spec.schema, o.GetString("schema"));
  KURA_ASSIGN_OR_RETURN(spec.table, o.GetString("table"));
  KURA_ASSIGN_OR_RETURN(spec.output, o.GetString("output"));
  KURA_ASSIGN_OR_RETURN(spec.rows, o.GetStringList("rows"));
  KURA_ASSIGN_OR_RETURN(spec.cols, o.GetStringList("cols"));
  KURA_RETURN_IF_ERROR(ParseStatistic(o, &spec));
  const std::vector<std::string> dims = spec.Dimensions();
  if (dims.size() > 8)
    return absl::InvalidArgumentError(
        absl::StrCat(o.Path("rows"), ": at most 8 dimensions in rows and cols together"));
  for (size_t i = 0; i < dims.size(); ++i) {
    if (std::count(dims.begin(), dims.end(), dims[i]) > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ": dimension \"", dims[i], "\" appears twice in rows/cols"));
    }
  }
  const nlohmann::json& filters = o.Get("filter");
  if (!filters.is_null() && !filters.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(o.Path("filter"), ": expected an array"));
  }
  for (size_t i = 0; !filters.is_null() && i < filters.size(); ++i) {
    KURA_ASSIGN_OR_RETURN(Filter f,
                          ParseFilter(filters[i], absl::StrCat(o.Path("filter"), "[", i, "]")));
    spec.filters.push_back(std::move(f));
  }
  KURA_RETURN_IF_ERROR(ParseStructuralZeros(o, &spec));
  if (o.Has("tolerance")) {
    KURA_ASSIGN_OR_RETURN(double tolerance, o.GetNumberOr("tolerance", 0));
    if (tolerance < 0)
      return absl::InvalidArgumentError(
          absl::StrCat(o.Path("tolerance"), ": must not be negative"));
    spec.tolerance = tolerance;
  }
  return spec;
}

absl::StatusOr<TableSpec> LoadTableSpec(const std::string& path) {
  KURA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseTableSpec(text, path);
}

absl::Status ValidateTableSpec(const TableSpec& spec, const Schema& schema,
                               const std::vector<std::string>& header) {
  if (spec.schema != schema.name) {
    return absl::InvalidArgumentError(absl::StrCat(spec.source, ".schema: \"", spec.schema,
                                                   "\" but the schema given is \"", schema.name,
                                                   "\""));
  }
  const SchemaTable* table = schema.FindTable(spec.table);
  if (table == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(spec.source, ".table: schema \"", schema.name,
                                                   "\" has no table \"", spec.table, "\""));
  }
  if (table->UnitColumn().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(spec.source, ".table: table \"", spec.table,
                     "\" has no unit_id column, so units cannot be counted"));
  }
  auto check = [&](const std::string& column, absl::string_view field) -> absl::Status {
    if (std::find(header.begin(), header.end(), column) == header.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          spec.source, ".", field, ": table \"", spec.table, "\" has no column \"", column, "\""));
    }
    const ColumnRole role = table->RoleOf(column);
    if (field != "filter" && (role == ColumnRole::kUnitId || role == ColumnRole::kHoldingId)) {
      return absl::InvalidArgumentError(absl::StrCat(spec.source, ".", field, ": \"", column,
                                                     "\" is an identifier (", ColumnRoleName(role),
                                                     ") and cannot be tabulated"));
    }
    return absl::OkStatus();
  };
  for (const auto& c : spec.rows) KURA_RETURN_IF_ERROR(check(c, "rows"));
  for (const auto& c : spec.cols) KURA_RETURN_IF_ERROR(check(c, "cols"));
  if (!spec.value.empty())
    KURA_RETURN_IF_ERROR(
        check(spec.value, spec.statistic == Statistic::kRegression ? "dependent" : "value"));
  for (const auto& c : spec.covariates) KURA_RETURN_IF_ERROR(check(c, "covariates"));
  for (const auto& f : spec.filters) KURA_RETURN_IF_ERROR(check(f.column, "filter"));
  return absl::OkStatus();
}

}  // namespace kura::disclosure
