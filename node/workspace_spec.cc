#include "node/workspace_spec.h"

#include <sys/stat.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"

namespace kura::node {
namespace {

v1::Mount Bind(const std::string& source, const std::string& target, bool read_only) {
  v1::Mount m;
  m.set_kind(v1::Mount::BIND);
  m.set_source(source);
  m.set_target(target);
  m.set_read_only(read_only);
  return m;
}

}  // namespace

absl::Status VerifySchemaManifest(const v1::MountSchema& schema) {
  struct stat st;
  if (::lstat(schema.host_path().c_str(), &st) != 0) {
    return Annotate(ErrnoError("lstat", schema.host_path()),
                    absl::StrCat("schema ", schema.name()));
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("schema ", schema.name(), ": ", schema.host_path(), " is not a directory"));
  }
  std::string manifest = schema.host_path() + "/schema.json";
  if (::lstat(manifest.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return absl::NotFoundError(
        absl::StrCat("schema ", schema.name(), ": no manifest at ", manifest));
  }
  KURA_ASSIGN_OR_RETURN(std::string digest, Sha256FileHex(manifest));
  if (digest != absl::AsciiStrToLower(schema.manifest_sha256())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "schema ", schema.name(), ": manifest SHA-256 is ", digest, ", the approved one is ",
        schema.manifest_sha256(), "; refusing to mount a changed schema"));
  }
  return absl::OkStatus();
}

std::vector<std::string> WorkspaceEnvironment(const v1::NodeOpenWorkspaceRequest& request,
                                              const WorkspaceGpus& gpus) {
  std::vector<std::string> env = {
      absl::StrCat("HOME=/home/", request.user()),
      absl::StrCat("USER=", request.user()),
      absl::StrCat("LOGNAME=", request.user()),
      "PATH=/usr/local/bin:/usr/bin:/bin",
      "LANG=C.UTF-8",
      "SHELL=/bin/bash",
      absl::StrCat("KURA_WORKSPACE=", request.workspace_id()),
      absl::StrCat("KURA_PROJECT=", request.project()),
      absl::StrCat("PYTHONPATH=", kPythonDirInside),
  };
  if (!gpus.cuda_visible_devices.empty()) {
    env.push_back(absl::StrCat("CUDA_VISIBLE_DEVICES=", gpus.cuda_visible_devices));
  }
  return env;
}

v1::SandboxSpec BuildWorkspaceSpec(const v1::NodeOpenWorkspaceRequest& request,
                                   const NodeDirs& dirs, const WorkspacePolicy& policy,
                                   const WorkspaceGpus& gpus) {
  const std::string& id = request.workspace_id();
  v1::SandboxSpec spec;
  spec.add_argv(kInitPathInside);
  spec.add_argv(kInitSocketInside);
  for (const std::string& e : WorkspaceEnvironment(request, gpus)) spec.add_env(e);
  spec.set_cwd(absl::StrCat("/home/", request.user()));
  spec.set_hostname("workspace");
  spec.set_host_rootfs(true);
  for (const v1::MountSchema& s : request.schemas()) {
    *spec.add_mounts() = Bind(s.host_path(), absl::StrCat("/data/", s.name()), true);
  }
  *spec.add_mounts() = Bind(dirs.HomeDir(request.project(), request.user()),
                            absl::StrCat("/home/", request.user()), false);
  *spec.add_mounts() = Bind(dirs.OutputsDir(id), "/outputs", false);
  v1::Mount* tmp = spec.add_mounts();
  tmp->set_kind(v1::Mount::TMPFS);
  tmp->set_target("/tmp");
  tmp->set_size_bytes(policy.tmp_bytes);
  *spec.add_mounts() = Bind(policy.init_binary, kInitPathInside, true);
  *spec.add_mounts() = Bind(dirs.CtlDir(id), kCtlDirInside, false);
  if (!policy.python_dir.empty()) {
    *spec.add_mounts() = Bind(policy.python_dir, kPythonDirInside, true);
  }
  for (const std::string& node : gpus.device_nodes) spec.add_devices(node);
  spec.set_uid(request.uid());
  spec.set_gid(request.uid());
  v1::Limits* limits = spec.mutable_limits();
  limits->set_memory_bytes(request.resources().memory_bytes());
  limits->set_cpus(request.resources().cpus());
  limits->set_pids(policy.pids);
  limits->set_nofile(policy.nofile);
  // The sandbox caps tmpfs mounts only; the home and outputs it binds are capped by the agent's
  // disk images (node/workspace_disk.h) where the node has loop devices. RLIMIT_FSIZE bounds
  // every single file written either way, the only bound on a node without them.
  limits->set_disk_bytes(policy.disk_bytes);
  limits->set_file_size_bytes(policy.disk_bytes);
  spec.set_seccomp_profile("analysis");
  return spec;
}

}  // namespace kura::node
