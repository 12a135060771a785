#pragma once

// The one place where the gateway turns an absl::Status into what a gRPC caller sees.
// Unauthenticated, PermissionDenied, InvalidArgument, NotFound, AlreadyExists,
// FailedPrecondition, ResourceExhausted, Unavailable, Cancelled and DeadlineExceeded carry
// messages written for the caller and pass through; every other code is an internal failure: logged here with `call`, and the
// caller gets only "internal error". Thread-safe.

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace kura::gateway {

grpc::Status ToGrpcStatus(absl::string_view call, const absl::Status& status);

// The reverse, for statuses a node returned to the gateway; the node's messages are trusted
// (the node is), but its internal failures are not shown to researchers either.
absl::Status FromNodeStatus(absl::string_view node, const grpc::Status& status);

}  // namespace kura::gateway
