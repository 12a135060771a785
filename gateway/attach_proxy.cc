#include "gateway/attach_proxy.h"

#include <utility>

namespace kura::gateway {

AttachProxy::AttachProxy(grpc::CallbackServerContext* context, Hooks hooks)
    : server_context_(context), hooks_(std::move(hooks)) {
  StartRead(&from_researcher_);
}

void AttachProxy::OnReadDone(bool ok) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  if (finished_) return;
  if (!node_started_) {
    if (!ok || from_researcher_.input_case() != kura::v1::AttachInput::kStart) {
      FinishLocked(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                "an attach must begin with the workspace to attach to"));
      return;
    }
    absl::StatusOr<std::shared_ptr<kura::v1::NodeAgent::Stub>> stub =
        hooks_.open(from_researcher_.start());
    if (!stub.ok()) {
      FinishLocked(hooks_.to_grpc(stub.status()));
      return;
    }
    StartNode(*stub);
    return;
  }
  if (!ok) {
    // The researcher closed their side (after the exit code) or went away.
    node_.StartWritesDone();
    ReleaseNodeHoldLocked();
    return;
  }
  if (from_researcher_.input_case() == kura::v1::AttachInput::kStart) {
    StartRead(&from_researcher_);
    return;
  }
  to_node_ = std::move(from_researcher_);
  node_.StartWrite(&to_node_);
}

void AttachProxy::StartNode(const std::shared_ptr<kura::v1::NodeAgent::Stub>& stub) {
  node_context_ = grpc::ClientContext::FromCallbackServerContext(*server_context_);
  node_started_ = true;
  stub->async()->Attach(node_context_.get(), &node_);
  to_node_ = std::move(from_researcher_);
  node_.StartWrite(&to_node_);
  node_reading_ = true;
  node_.StartRead(&from_node_);
  // Keeps the node call open while researcher input may still come.
  node_.AddHold();
  node_.StartCall();
}

void AttachProxy::NodeWriteDone(bool ok) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  if (ok && !finished_) {
    StartRead(&from_researcher_);
  } else {
    ReleaseNodeHoldLocked();
  }
}

void AttachProxy::NodeReadDone(bool ok) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  node_reading_ = false;
  if (!ok) {
    node_read_ended_ = true;
    return;  // NodeDone follows
  }
  if (from_node_.output_case() == kura::v1::AttachOutput::kData) {
    if (pending_data_.empty()) {
      pending_data_.swap(*from_node_.mutable_data());
    } else {
      pending_data_.append(from_node_.data());
    }
  } else if (from_node_.output_case() == kura::v1::AttachOutput::kExitCode) {
    pending_exit_code_ = from_node_.exit_code();
    exit_code_ = pending_exit_code_;
  }
  FlushLocked();
  if (!finished_ && pending_data_.size() < kMaxPendingBytes) {
    node_reading_ = true;
    node_.StartRead(&from_node_);
  }
}

void AttachProxy::NodeDone(const grpc::Status& status) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  node_done_ = true;
  node_status_ = status;
  FlushLocked();
  MaybeDelete(lock);
}

void AttachProxy::FlushLocked() {
  if (writing_ || finished_) return;
  if (!pending_data_.empty()) {
    if (pending_data_.size() <= kMaxMessageBytes) {
      to_researcher_.mutable_data()->swap(pending_data_);
      pending_data_.clear();
    } else {
      to_researcher_.set_data(pending_data_.substr(0, kMaxMessageBytes));
      pending_data_.erase(0, kMaxMessageBytes);
    }
  } else if (pending_exit_code_ >= 0) {
    to_researcher_.set_exit_code(pending_exit_code_);
    pending_exit_code_ = -1;
  } else {
    if (node_done_) {
      grpc::Status status = node_status_;
      // A node call cut short after the exit code was delivered ended normally.
      if (status.error_code() == grpc::StatusCode::CANCELLED && exit_code_ >= 0) {
        status = grpc::Status::OK;
      }
      FinishLocked(status.ok() ? status : hooks_.to_grpc(absl::Status(
                                             static_cast<absl::StatusCode>(status.error_code()),
                                             status.error_message())));
    }
    return;
  }
  writing_ = true;
  StartWrite(&to_researcher_);
}

void AttachProxy::OnWriteDone(bool ok) {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  writing_ = false;
  if (!ok) {
    // The researcher is gone: stop the node's side too.
    if (node_context_ != nullptr) node_context_->TryCancel();
    FinishLocked(grpc::Status::CANCELLED);
    return;
  }
  FlushLocked();
  if (!finished_ && !node_reading_ && !node_read_ended_ && node_started_ &&
      pending_data_.size() < kMaxPendingBytes) {
    node_reading_ = true;
    node_.StartRead(&from_node_);
  }
}

void AttachProxy::FinishLocked(const grpc::Status& status) {
  if (finished_) return;
  finished_ = true;
  if (node_started_) ReleaseNodeHoldLocked();
  hooks_.done(exit_code_, absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                                       status.error_message()));
  Finish(status);
}

void AttachProxy::ReleaseNodeHoldLocked() {
  if (node_hold_released_) return;
  node_hold_released_ = true;
  node_.RemoveHold();
}

void AttachProxy::OnCancel() {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  if (node_context_ != nullptr) node_context_->TryCancel();
}

void AttachProxy::OnDone() {
  std::unique_lock<std::recursive_mutex> lock(mu_);
  server_done_ = true;
  if (node_started_ && !node_done_) {
    // The researcher's call ended first; make sure the node's ends too.
    node_context_->TryCancel();
    ReleaseNodeHoldLocked();
  }
  MaybeDelete(lock);
}

void AttachProxy::MaybeDelete(std::unique_lock<std::recursive_mutex>& lock) {
  if (!server_done_ || (node_started_ && !node_done_)) return;
  lock.unlock();
  delete this;
}

}  // namespace kura::gateway
