#pragma once

// One researcher's interactive session, proxied to the workspace's node with gRPC's callback
// API: no thread is held per session, and a keystroke crosses the gateway without waking a
// handler thread in each direction.
//
// Flow: the first AttachInput (AttachStart) is checked by `open` (ownership, grants; it also
// audits), then the node's Attach is started with it. Researcher input goes to the node one
// message at a time (a new read is started only when the node took the last one, which is the
// flow control). Node output is forwarded at once when the researcher's link is idle; what
// arrives while a write is in flight is merged and sent next, so bulk output travels in fewer,
// larger messages. At most kMaxPendingBytes wait; beyond that the node's side waits too.
// The researcher cancelling cancels the node call. Deletes itself when both calls are done.
// Thread-safe: reactions of the two calls may run concurrently; one recursive mutex orders
// them (recursive because gRPC may run a reaction inline from a Start* call).

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/support/server_callback.h>

#include "absl/status/statusor.h"
#include "kura/v1/node.grpc.pb.h"

namespace kura::gateway {

class AttachProxy final
    : public grpc::ServerBidiReactor<kura::v1::AttachInput, kura::v1::AttachOutput> {
 public:
  struct Hooks {
    // Checks the session's first message; the node to attach to, or why not.
    std::function<absl::StatusOr<std::shared_ptr<kura::v1::NodeAgent::Stub>>(
        const kura::v1::AttachStart& start)>
        open;
    // Converts a status for the researcher (grpc_edge.h).
    std::function<grpc::Status(const absl::Status& status)> to_grpc;
    // Called once at the end with the workload's exit code (-1 if none came) and the outcome.
    std::function<void(int exit_code, const absl::Status& status)> done;
  };

  // Starts reading the researcher's first message. `context` must outlive the call (it does:
  // it is the call's).
  AttachProxy(grpc::CallbackServerContext* context, Hooks hooks);

  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  class NodeSide final
      : public grpc::ClientBidiReactor<kura::v1::AttachInput, kura::v1::AttachOutput> {
   public:
    explicit NodeSide(AttachProxy* proxy) : proxy_(proxy) {}
    void OnWriteDone(bool ok) override { proxy_->NodeWriteDone(ok); }
    void OnReadDone(bool ok) override { proxy_->NodeReadDone(ok); }
    void OnWritesDoneDone(bool) override {}
    void OnDone(const grpc::Status& status) override { proxy_->NodeDone(status); }

   private:
    AttachProxy* proxy_;
  };

  static constexpr size_t kMaxPendingBytes = 8 << 20;
  static constexpr size_t kMaxMessageBytes = 1 << 20;

  void StartNode(const std::shared_ptr<kura::v1::NodeAgent::Stub>& stub);
  void NodeWriteDone(bool ok);
  void NodeReadDone(bool ok);
  void NodeDone(const grpc::Status& status);
  // With mu_ held: sends what is pending if nothing is in flight; finishes when all is sent
  // and the node's call has ended.
  void FlushLocked();
  void FinishLocked(const grpc::Status& status);
  void ReleaseNodeHoldLocked();
  // Deletes this once both calls are done.
  void MaybeDelete(std::unique_lock<std::recursive_mutex>& lock);

  grpc::CallbackServerContext* const server_context_;
  const Hooks hooks_;
  std::recursive_mutex mu_;
  std::unique_ptr<grpc::ClientContext> node_context_;
  NodeSide node_{this};
  kura::v1::AttachInput from_researcher_;
  kura::v1::AttachInput to_node_;
  kura::v1::AttachOutput from_node_;
  kura::v1::AttachOutput to_researcher_;
  std::string pending_data_;
  int pending_exit_code_ = -1;
  int exit_code_ = -1;
  bool node_started_ = false;
  bool node_reading_ = false;
  bool node_read_ended_ = false;
  bool node_hold_released_ = false;
  bool node_done_ = false;
  grpc::Status node_status_;
  bool writing_ = false;
  bool finished_ = false;
  bool server_done_ = false;
};

}  // namespace kura::gateway
